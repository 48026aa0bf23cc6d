"""Writes reference forward passes made by Hugging Face transformers, for
checking Talon's target forward (src/talon/model/target_model.cpp) in fp32.
Users trust transformers' numbers; if Talon's Llama / Qwen2 / Qwen3 forward
reproduces them, the features it trains drafts on are the ones the model
really computes.

For each of three tiny models with random weights it writes
tests/data/transformers/<name>/ (name: llama, qwen2, qwen3):
  config.json           the config in the layout of published checkpoints
                        (transformers 4.x: rope_theta and rope_scaling, torch_dtype),
                        not transformers 5's save_pretrained layout (rope_parameters, dtype)
  model.safetensors     the model's state dict in fp32 under Hugging Face names,
                        without RoPE inv_freq buffers and without lm_head.weight
                        when the embeddings are tied
  reference.safetensors transformers' forward of the model (fp32, eager attention) on
                        random input_ids, B = 2 rows of L = 16 tokens, no padding:
      input_ids          int64 [B, L]
      logits             fp32  [B, L, V]
      hidden_states.<i>  fp32  [B, L, H], i = 0..num_hidden_layers: the tuple that
                         output_hidden_states=True returns. 0 is the embedding
                         output, i the output of layer i - 1 (the residual stream),
                         except the last, num_hidden_layers: transformers replaces
                         it by last_hidden_state, i.e. model.norm applied to the
                         last layer's output (true in 4.x and, through
                         capture_outputs(tie_last_hidden_states=True), in 5.x;
                         the script checks it)
      final_hidden       fp32  [B, L, H]: model.norm's output (a forward hook), so
                         equal to hidden_states.<num_hidden_layers>
      last_layer_output  fp32  [B, L, H]: model.norm's input, the last layer's
                         output before the final norm, which the tuple lacks
      (metadata: one "made_by" entry naming the transformers and torch versions)
The model is built from the config.json written here, every weight is then
drawn from a seeded generator (norm weights 1 + 0.1 N(0, 1), biases
0.3 N(0, 1), so neither is trivial), and the directory as written, loaded
back with from_pretrained, must reproduce the reference bit for bit.

Checks made on the way, each fatal: hidden_states[i] equals a forward hook's
view of layer i - 1's output, and the last entry model.norm's output;
logits = final_hidden @ lm_head^T; SDPA attention agrees with eager within
1e-6 of each tensor's largest magnitude; the llama3 RoPE scaling changes
the inverse frequencies (on all three branches of its formula, as
make_rope_golden.py's independent formula computes them) and changes the
logits; save_pretrained would save the same tensor names. The script also
prints how save_pretrained's config.json differs from the one written here.

Deterministic: rerunning rewrites byte-identical files, given the same torch
and transformers on the same kind of CPU (one thread, so the fp32 sums run
in a fixed order). Offline: nothing is downloaded.

Usage: .venv/bin/python scripts/goldens/make_transformers_goldens.py [OUT_DIR]
"""
import json
import os
import pathlib
import sys
import tempfile

# Set before transformers is imported: nothing here needs the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM  # noqa: E402

from make_rope_golden import llama3_inv_freq  # noqa: E402  (same directory)

DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/data/transformers"
BATCH, SEQ_LEN = 2, 16
NORM_STD, BIAS_STD = 0.1, 0.3
SDPA_RELATIVE_TOLERANCE = 1e-6

# The keys and their order follow the Hub configs in tests/data/configs
# (llama-3.1-8b-instruct.json, qwen2.5-7b-instruct.json, qwen3-8b.json), with
# the sizes shrunk. Weights are fp32, so torch_dtype says so.
MODELS = {
    # Llama 3.1: GQA 4:2, untied lm_head, llama3 RoPE scaling. head_dim is 12
    # (no head_dim key, as in the Hub config: hidden / heads). With
    # rope_theta 5e5 the 6 wavelengths 2 pi / inv_freq are about 6.3, 56,
    # 499, 4.4e3, 4e4 and 3.5e5; original_max_position_embeddings 64 puts
    # them on all three branches of the llama3 formula (kept below 64 / 4 =
    # 16, interpolated between 16 and 64, divided by factor above 64).
    "llama": {
        "seed": 1001,
        "config": {
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": 1,
            "eos_token_id": [2, 3, 4],
            "hidden_act": "silu",
            "hidden_size": 48,
            "initializer_range": 0.02,
            "intermediate_size": 96,
            "max_position_embeddings": 512,
            "mlp_bias": False,
            "model_type": "llama",
            "num_attention_heads": 4,
            "num_hidden_layers": 5,
            "num_key_value_heads": 2,
            "pretraining_tp": 1,
            "rms_norm_eps": 1e-05,
            "rope_scaling": {
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
                "rope_type": "llama3",
            },
            "rope_theta": 500000.0,
            "tie_word_embeddings": False,
            "torch_dtype": "float32",
            "use_cache": True,
            "vocab_size": 192,
        },
    },
    # Qwen2.5: q/k/v biases (no config switch), tied embeddings, GQA 6:2
    # (head_dim 8), no RoPE scaling. Like the Hub config it has no
    # rope_scaling key and no attention_bias.
    "qwen2": {
        "seed": 1002,
        "config": {
            "architectures": ["Qwen2ForCausalLM"],
            "attention_dropout": 0.0,
            "bos_token_id": 250,
            "eos_token_id": 251,
            "hidden_act": "silu",
            "hidden_size": 48,
            "initializer_range": 0.02,
            "intermediate_size": 96,
            "max_position_embeddings": 1024,
            "max_window_layers": 4,
            "model_type": "qwen2",
            "num_attention_heads": 6,
            "num_hidden_layers": 4,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "sliding_window": 131072,
            "tie_word_embeddings": True,
            "torch_dtype": "float32",
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": 256,
        },
    },
    # Qwen3: q_norm / k_norm, head_dim 16 while hidden / heads is 12, GQA
    # 4:2, untied lm_head.
    "qwen3": {
        "seed": 1003,
        "config": {
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": 250,
            "eos_token_id": 251,
            "head_dim": 16,
            "hidden_act": "silu",
            "hidden_size": 48,
            "initializer_range": 0.02,
            "intermediate_size": 96,
            "max_position_embeddings": 1024,
            "max_window_layers": 4,
            "model_type": "qwen3",
            "num_attention_heads": 4,
            "num_hidden_layers": 4,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-06,
            "rope_scaling": None,
            "rope_theta": 1000000,
            "sliding_window": None,
            "tie_word_embeddings": False,
            "torch_dtype": "float32",
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": 256,
        },
    },
}


def write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + "\n")


def build_model(model_dir):
    """A fresh model of the config.json in `model_dir`, as transformers reads it."""
    config = AutoConfig.from_pretrained(model_dir)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager").eval()


def load_model(model_dir):
    """The checkpoint in `model_dir` (config.json and model.safetensors)."""
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()


def randomize(model, generator):
    """Draws every weight from `generator`, in parameter order, so the values
    do not depend on how transformers initialises a fresh model (which
    changes between versions). The scales keep activations of order 1, so
    attention is neither uniform nor one-hot."""
    with torch.no_grad():
        # named_parameters lists a tied lm_head once, as the embedding.
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            if name.endswith("norm.weight"):  # RMSNorm: layernorms, q/k_norm, final norm
                value = 1 + NORM_STD * noise
            elif name.endswith(".bias"):
                value = BIAS_STD * noise
            elif name == "model.embed_tokens.weight":
                value = noise
            else:  # [out, in] projections and lm_head
                value = noise / param.shape[1] ** 0.5
            param.copy_(value)


def weights_to_save(model):
    """The state dict as a checkpoint holds it: fp32 tensors under their
    Hugging Face names, lm_head.weight left out when it is the embedding.
    RoPE inv_freq is a non-persistent buffer, so never in the state dict."""
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        assert state["lm_head.weight"].data_ptr() == state["model.embed_tokens.weight"].data_ptr()
        del state["lm_head.weight"]
    assert set(state) == {name for name, _ in model.named_parameters()}, "buffers in the state dict"
    return {name: t.detach().contiguous() for name, t in state.items()}


def forward(model, input_ids):
    """transformers' forward with output_hidden_states=True, and what hooks
    see: each decoder layer's output and model.norm's input and output."""
    layer_outputs = []
    norm = {}

    def on_layer(module, args, output):
        layer_outputs.append(output[0] if isinstance(output, tuple) else output)

    def on_norm(module, args, output):
        norm["input"], norm["output"] = args[0], output

    handles = [layer.register_forward_hook(on_layer) for layer in model.model.layers]
    handles.append(model.model.norm.register_forward_hook(on_norm))
    try:
        with torch.no_grad():
            out = model(input_ids=input_ids, output_hidden_states=True, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return {"logits": out.logits, "hidden_states": out.hidden_states, "layer_outputs": layer_outputs,
            "last_layer_output": norm["input"], "final_hidden": norm["output"]}


def max_diff(a, b):
    return (a - b).abs().max().item()


def check_hidden_states(model, input_ids, out):
    """What the tuple holds: the embeddings, then each layer's output, but
    in last place the final-normed state."""
    hidden_states = out["hidden_states"]
    layers = model.config.num_hidden_layers
    assert len(hidden_states) == layers + 1 == len(out["layer_outputs"]) + 1, len(hidden_states)
    assert torch.equal(hidden_states[0], model.model.embed_tokens(input_ids))
    for i in range(1, layers):
        assert torch.equal(hidden_states[i], out["layer_outputs"][i - 1]), i
    assert torch.equal(out["layer_outputs"][-1], out["last_layer_output"])
    assert torch.equal(hidden_states[-1], out["final_hidden"])
    assert max_diff(hidden_states[-1], out["last_layer_output"]) > 0.1
    lm_head = model.get_output_embeddings().weight
    assert torch.allclose(out["logits"], out["final_hidden"] @ lm_head.T, rtol=1e-5, atol=1e-5)


def check_sdpa(model, input_ids, out):
    """SDPA should agree with the eager reference to rounding: within 1e-6
    of each tensor's largest magnitude (a few ulps; the two sum in different
    orders, and logits reach tens)."""
    model.set_attn_implementation("sdpa")
    sdpa = forward(model, input_ids)
    pairs = [("logits", sdpa["logits"], out["logits"])] + [
        (f"hidden_states.{i}", a, b) for i, (a, b) in enumerate(zip(sdpa["hidden_states"], out["hidden_states"]))]
    worst = max(pairs, key=lambda p: max_diff(p[1], p[2]) / p[2].abs().max().item())
    label, diff, scale = worst[0], max_diff(worst[1], worst[2]), worst[2].abs().max().item()
    print(f"  sdpa vs eager: logits max |diff| {max_diff(sdpa['logits'], out['logits']):.3g}"
          f" (max |logit| {out['logits'].abs().max().item():.3g}); worst relative: {label},"
          f" {diff:.3g} of {scale:.3g} = {diff / scale:.2g}")
    assert diff <= SDPA_RELATIVE_TOLERANCE * scale, worst


def check_llama3_rope(model, config):
    """The llama3 scaling must really change the inverse frequencies at this
    head_dim (else the golden would not test it), and transformers' values
    must match the independent formula of make_rope_golden.py."""
    scaling = config["rope_scaling"]
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    theta = config["rope_theta"]
    got = model.model.rotary_emb.inv_freq.double()
    unscaled = 1 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    expected = torch.tensor(llama3_inv_freq(head_dim, theta, scaling["factor"], scaling["low_freq_factor"],
                                            scaling["high_freq_factor"],
                                            scaling["original_max_position_embeddings"]), dtype=torch.float64)
    assert torch.allclose(got, expected, rtol=1e-6, atol=0), (got, expected)
    assert model.model.rotary_emb.attention_scaling == 1.0
    ratio = unscaled / got
    kept = int((ratio == 1).sum())
    divided = int(torch.isclose(ratio, torch.tensor(scaling["factor"], dtype=torch.float64)).sum())
    interpolated = len(ratio) - kept - divided
    print(f"  inv_freq: {kept} kept, {interpolated} interpolated, {divided} divided by factor;"
          f" unscaled / scaled = {[round(r, 4) for r in ratio.tolist()]}")
    assert kept and interpolated and divided


def logits_without_rope_scaling(model_dir, input_ids):
    """The logits the same weights give with rope_scaling null: if the
    reference hardly differed, it could not catch a missing llama3 scaling."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write_json(tmp / "config.json", {**json.loads((model_dir / "config.json").read_text()), "rope_scaling": None})
        (tmp / "model.safetensors").symlink_to((model_dir / "model.safetensors").resolve())
        return forward(load_model(tmp), input_ids)["logits"]


def report_save_pretrained(model, ours, weights):
    """Prints how the config.json transformers' save_pretrained writes
    differs from ours (the layout of checkpoints on the Hub), and checks that
    its model.safetensors holds the same tensors as ours."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        model.save_pretrained(tmp)
        theirs = json.loads((tmp / "config.json").read_text())
        with safe_open(tmp / "model.safetensors", framework="pt") as f:
            assert set(f.keys()) == set(weights), set(f.keys()) ^ set(weights)
    print(f"  save_pretrained's config.json lacks {json.dumps({k: v for k, v in ours.items() if k not in theirs})}")
    print(f"    adds {json.dumps({k: v for k, v in theirs.items() if k not in ours})}")
    print(f"    changes {json.dumps({k: [v, theirs[k]] for k, v in ours.items() if k in theirs and theirs[k] != v})}")


def make(name, spec, out_dir):
    config = spec["config"]
    model_dir = out_dir / name
    model_dir.mkdir(parents=True, exist_ok=True)
    print(f"{name}:")
    # torch.manual_seed fixes whatever transformers draws while building the
    # model; every value kept comes from `generator`.
    torch.manual_seed(spec["seed"])
    generator = torch.Generator().manual_seed(spec["seed"])

    # Built from the file written, so the reference is what transformers
    # makes of exactly that config.json.
    write_json(model_dir / "config.json", config)
    model = build_model(model_dir)
    assert type(model).__name__ == config["architectures"][0], type(model).__name__
    randomize(model, generator)
    weights = weights_to_save(model)
    save_file(weights, model_dir / "model.safetensors", metadata={"format": "pt"})

    input_ids = torch.randint(0, config["vocab_size"], (BATCH, SEQ_LEN), generator=generator, dtype=torch.int64)
    out = forward(model, input_ids)
    check_hidden_states(model, input_ids, out)
    reference = {"input_ids": input_ids, "logits": out["logits"]}
    reference.update({f"hidden_states.{i}": h for i, h in enumerate(out["hidden_states"])})
    reference["final_hidden"] = out["final_hidden"]
    reference["last_layer_output"] = out["last_layer_output"]
    # Copies: final_hidden is the very tensor of the last hidden state, and
    # safetensors refuses to save shared storage.
    reference = {k: v.detach().clone(memory_format=torch.contiguous_format) for k, v in reference.items()}
    # One metadata entry: safetensors writes several in no fixed order.
    made_by = f"transformers {transformers.__version__}, torch {torch.__version__.split('+')[0]}, fp32, eager attention"
    save_file(reference, model_dir / "reference.safetensors", metadata={"made_by": made_by})

    # The directory as written, read back by from_pretrained, must give the
    # same numbers: config.json in the Hub layout means what was intended,
    # and model.safetensors is complete.
    reloaded = load_model(model_dir)
    again = forward(reloaded, input_ids)
    assert torch.equal(again["logits"], out["logits"]), name
    assert all(map(torch.equal, again["hidden_states"], out["hidden_states"])), name
    assert torch.equal(again["last_layer_output"], out["last_layer_output"]), name

    check_sdpa(reloaded, input_ids, out)
    if config.get("rope_scaling"):
        check_llama3_rope(model, config)
        unscaled_diff = max_diff(logits_without_rope_scaling(model_dir, input_ids), out["logits"])
        print(f"  logits without rope_scaling differ by up to {unscaled_diff:.3g}")
        assert unscaled_diff > 0.1, unscaled_diff
    report_save_pretrained(model, config, weights)
    for path in sorted(model_dir.iterdir()):
        print(f"  {path.relative_to(out_dir.parent)}: {path.stat().st_size} bytes")


def main():
    out_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    # One thread: the fp32 sums then run in the same order on any machine
    # with the same CPU kernels.
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    for name, spec in MODELS.items():
        make(name, spec, out_dir)


if __name__ == "__main__":
    main()

"""Writes tiny EAGLE-3 drafts in the shapes people publish, for
tests/test_draft_checkpoint.cpp, with torch and safetensors (no Talon code):
  tests/data/drafts/reference.safetensors  the draft tensors in float32 (lm_head.weight [16, 8];
                                           lm_head_full.weight [32, 8] for the full-vocabulary draft;
                                           target_lm_head.weight, the target's), d2t and t2d
  tests/data/drafts/eagle/                 the EAGLE authors' layout: architectures ["LlamaForCausalLM"],
                                           float16 pytorch_model.bin written by torch.save of a module's
                                           state_dict() (an OrderedDict with _metadata), with embed_tokens
  tests/data/drafts/angelslim/             architectures ["Eagle3LlamaForCausalLM"], bfloat16 model.safetensors
                                           with embed_tokens
  tests/data/drafts/sharded/               two shards and model.safetensors.index.json
  tests/data/drafts/full_vocab/            draft_vocab_size == vocab_size, no d2t/t2d
  tests/data/drafts/no_draft_vocab_size/   no draft_vocab_size, no d2t/t2d, and an lm_head.weight that SGLang
                                           ignores for the target's (so of another shape here)
  tests/data/drafts/target/                a target's config.json and its lm_head.weight [32, 8], the one
                                           tensor a draft without draft_vocab_size reads from it
The draft has hidden 8, 2 heads of 4 (1 KV head), intermediate 16, vocab 32,
draft vocab 16. For tests/test_torch_state_dict.cpp:
  tests/data/drafts/torch_save/views.bin          torch.save of a plain dict whose tensors are views
                                                  (transposed, a row, a column: one shared storage),
                                                  bfloat16, bool, int64 and a 0-d tensor
  tests/data/drafts/torch_save/views.safetensors  the same tensors, contiguous
  tests/data/drafts/torch_save/not_tensors.bin    torch.save({"step": 3})

Usage: .venv/bin/python scripts/goldens/make_draft_fixtures.py [OUT_DIR]
"""
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/drafts"

HIDDEN, INTER, HEADS, KV, HEAD_DIM, VOCAB, DRAFT_VOCAB = 8, 16, 2, 1, 4, 32, 16

torch.manual_seed(18)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32) * 0.5


# The draft tensors under the names SGLang's llama_eagle3.py loads (midlayer.*).
draft = {
    "fc.weight": rand(HIDDEN, 3 * HIDDEN),
    "midlayer.self_attn.q_proj.weight": rand(HEADS * HEAD_DIM, 2 * HIDDEN),
    "midlayer.self_attn.k_proj.weight": rand(KV * HEAD_DIM, 2 * HIDDEN),
    "midlayer.self_attn.v_proj.weight": rand(KV * HEAD_DIM, 2 * HIDDEN),
    "midlayer.self_attn.o_proj.weight": rand(HIDDEN, HEADS * HEAD_DIM),
    "midlayer.mlp.gate_proj.weight": rand(INTER, HIDDEN),
    "midlayer.mlp.up_proj.weight": rand(INTER, HIDDEN),
    "midlayer.mlp.down_proj.weight": rand(HIDDEN, INTER),
    "midlayer.input_layernorm.weight": 1 + rand(HIDDEN),
    "midlayer.hidden_norm.weight": 1 + rand(HIDDEN),
    "midlayer.post_attention_layernorm.weight": 1 + rand(HIDDEN),
    "norm.weight": 1 + rand(HIDDEN),
    "lm_head.weight": rand(DRAFT_VOCAB, HIDDEN),
}
lm_head_full = rand(VOCAB, HIDDEN)
target_lm_head = rand(VOCAB, HIDDEN)
used = torch.sort(torch.randperm(VOCAB)[:DRAFT_VOCAB]).values
d2t = used - torch.arange(DRAFT_VOCAB)
t2d = torch.zeros(VOCAB, dtype=torch.bool)
t2d[used] = True
embed_tokens = rand(VOCAB, HIDDEN)  # a draft's copy of the target's embedding, which loaders ignore


def config(architecture, **changes):
    c = {
        "architectures": [architecture],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": INTER,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV,
        "head_dim": HEAD_DIM,
        "num_hidden_layers": 1,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-05,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
        "vocab_size": VOCAB,
        "draft_vocab_size": DRAFT_VOCAB,
        "torch_dtype": "bfloat16",
    }
    c.update(changes)
    return {k: v for k, v in c.items() if v is not None}


def write(name, cfg, tensors=None):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    if tensors is not None:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(d / "model.safetensors"))
    return d


def cast(tensors, dtype):
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}


OUT.mkdir(parents=True, exist_ok=True)

# EAGLE: a module's state_dict, as the authors' training code saves it.
module = torch.nn.Module()
for name, value in {**cast(draft, torch.float16), "embed_tokens.weight": embed_tokens.half()}.items():
    module.register_buffer(name.replace(".", "__"), value)
state = module.state_dict()
eagle_state = type(state)((k.replace("__", "."), v) for k, v in state.items())
eagle_state._metadata = state._metadata
eagle_state["d2t"], eagle_state["t2d"] = d2t, t2d
eagle = write("eagle", config("LlamaForCausalLM", torch_dtype="float16"))
torch.save(eagle_state, eagle / "pytorch_model.bin")

write("angelslim", config("Eagle3LlamaForCausalLM"),
      {**cast(draft, torch.bfloat16), "embed_tokens.weight": embed_tokens.bfloat16(), "d2t": d2t, "t2d": t2d})

sharded = write("sharded", config("LlamaForCausalLMEagle3"))
names = sorted(draft) + ["d2t", "t2d"]
all_tensors = {**cast(draft, torch.bfloat16), "d2t": d2t, "t2d": t2d}
shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
          "model-00002-of-00002.safetensors": names[len(names) // 2:]}
for shard, shard_names in shards.items():
    save_file({n: all_tensors[n] for n in shard_names}, str(sharded / shard))
(sharded / "model.safetensors.index.json").write_text(json.dumps(
    {"metadata": {}, "weight_map": {n: s for s, ns in shards.items() for n in ns}}, indent=2) + "\n")

full = {**draft, "lm_head.weight": lm_head_full}
write("full_vocab", config("LlamaForCausalLMEagle3", draft_vocab_size=VOCAB), cast(full, torch.bfloat16))

no_size = {**draft, "lm_head.weight": rand(4, HIDDEN)}
write("no_draft_vocab_size", config("LlamaForCausalLMEagle3", draft_vocab_size=None), cast(no_size, torch.bfloat16))

write("target", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
                 "intermediate_size": INTER, "num_attention_heads": HEADS, "num_key_value_heads": KV,
                 "head_dim": HEAD_DIM, "num_hidden_layers": 4, "vocab_size": VOCAB, "rms_norm_eps": 1e-05,
                 "tie_word_embeddings": False, "torch_dtype": "float32"},
      {"lm_head.weight": target_lm_head})
save_file({**draft, "lm_head_full.weight": lm_head_full, "target_lm_head.weight": target_lm_head, "d2t": d2t,
           "t2d": t2d}, str(OUT / "reference.safetensors"))
views_dir = OUT / "torch_save"
views_dir.mkdir(parents=True, exist_ok=True)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
views = {"matrix": base, "transposed": base.t(), "row": base[2], "column": base[:, 1],
         "half": rand(3, 2).bfloat16(), "flags": torch.tensor([True, False, True]),
         "ids": torch.tensor([-5, 0, 1 << 40]), "scalar": torch.tensor(3.5)}
torch.save(views, views_dir / "views.bin")
save_file({k: v.clone().contiguous() for k, v in views.items()}, str(views_dir / "views.safetensors"))
torch.save({"step": 3}, views_dir / "not_tensors.bin")
print(f"wrote {OUT}")

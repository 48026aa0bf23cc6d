#!/usr/bin/env python3
"""What transformers computes with SmolLM2-135M-Instruct (the directory
scripts/fetch_smollm2.py writes), for tests/test_smollm2.cpp:
  forward.safetensors  fp32 eager LlamaForCausalLM on a few chat prompts:
                       input_ids.<k> [1, T], logits.<k> [1, T, V] and aux.<k>
                       [1, T, 3H], the outputs of decoder layers 1, L/2 - 1 and
                       L - 4 (EAGLE-3's aux layers: hidden_states[i + 1])
                       side by side.
  generate.jsonl       greedy generate() of 64 new tokens for 10 prompts:
                       {"prompt", "new"} (token ids; "new" ends at <|im_end|>
                       when the model stops before 64).
  tokens.jsonl         HF's tokenizer on the tokenizer corpus
                       (tests/data/tokenizer/corpus.jsonl): {"line", "ids",
                       "ids_special"}.
  templates.jsonl      apply_chat_template of tests/data/templates/hf/
                       conversations.jsonl that the model's plain chatml
                       template can render: {"line", "add_generation_prompt",
                       "text"}.
Written into a temporary directory renamed to OUT when done.
Usage: make_smollm2_goldens.py MODEL_DIR OUT [STAMP]
(STAMP: written into OUT/talon_complete, the marker fetch_smollm2.py checks.)
"""
import json
import os
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from lib.corpus import read_corpus  # noqa: E402

FORWARD_PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a terse assistant."},
     {"role": "user", "content": "Write a Python function that reverses a string."}],
    [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello! How can I help you today?"},
     {"role": "user", "content": "Explain photosynthesis in two sentences."}],
]
GENERATE_PROMPTS = [
    "What is the capital of France?",
    "Give me three tips for staying healthy.",
    "Write a haiku about the sea.",
    "What is 17 times 23?",
    "Explain what a hash table is.",
    "Translate 'good morning' into Spanish.",
    "Write a Python function that checks whether a number is prime.",
    "Who wrote Pride and Prejudice?",
    "Summarize the plot of Romeo and Juliet in one sentence.",
    "List the planets of the solar system.",
]
NEW_TOKENS = 64


def main():
    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    layers = model.config.num_hidden_layers
    aux_layers = [1, layers // 2 - 1, layers - 4]
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")

    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        staged = Path(scratch, "goldens")
        staged.mkdir()
        tensors = {}
        with torch.no_grad():
            for k, messages in enumerate(FORWARD_PROMPTS):
                ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True)["input_ids"]
                result = model(ids, output_hidden_states=True)
                tensors[f"input_ids.{k}"] = ids.contiguous()
                tensors[f"logits.{k}"] = result.logits.float().contiguous()
                tensors[f"aux.{k}"] = torch.cat([result.hidden_states[i + 1] for i in aux_layers], -1).contiguous()
        save_file(tensors, str(staged / "forward.safetensors"))

        # One prompt at a time: no padding, so each row is the model's plain
        # greedy continuation.
        with open(staged / "generate.jsonl", "w") as f:
            for prompt in GENERATE_PROMPTS:
                ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                    return_tensors="pt", return_dict=True)["input_ids"]
                with torch.no_grad():
                    full = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                                          do_sample=False, eos_token_id=eos, pad_token_id=eos)
                new = full[0, ids.shape[1]:].tolist()
                if eos in new:
                    new = new[:new.index(eos) + 1]
                f.write(json.dumps({"prompt": ids[0].tolist(), "new": new}) + "\n")

        with open(staged / "tokens.jsonl", "w") as f:
            for line, text in enumerate(read_corpus()):
                f.write(json.dumps({"line": line, "ids": tokenizer.encode(text, add_special_tokens=False),
                                    "ids_special": tokenizer.encode(text, add_special_tokens=True)}) + "\n")

        conversations = ROOT / "tests/data/templates/hf/conversations.jsonl"
        with open(staged / "templates.jsonl", "w") as f:
            for line, record in enumerate(conversations.read_text().splitlines()):
                messages = json.loads(record)["messages"]
                # The template concatenates role and content: only plain
                # string-content turns render.
                if not all(isinstance(m.get("content"), str) and set(m) <= {"role", "content"} for m in messages):
                    continue
                for add in (False, True):
                    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add)
                    f.write(json.dumps({"line": line, "add_generation_prompt": add, "text": text},
                                       ensure_ascii=False) + "\n")

        (staged / "talon_complete").write_text((sys.argv[3] if len(sys.argv) > 3 else "") + "\n")
        os.replace(staged, out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Renders tests/data/templates/hf/conversations.jsonl with the real chat
templates of the model families in tests/data/templates/hf (<family>.jinja,
sources in its README.md) through transformers' apply_chat_template, and
writes tests/data/templates/hf/<family>.golden.jsonl, one line per
conversation and generation-prompt setting:
  {"conversation": i, "add_generation_prompt": b, "context": {...}, "text": "..."}
or, when the template raises, "error" (the exception's message) and
"error_type" (its class name) instead of "text".

"context" is every variable the template receives, exactly the keyword
arguments render_jinja_template passes to compiled_template.render: messages
(after transformers' own normalisation: keys whose value is None dropped,
reasoning copied under "thinking" and "reasoning_content"), tools,
documents, add_generation_prompt, the tokenizer's special tokens and the
extra keyword arguments. A C++ renderer given the template and this context
must produce "text" byte for byte. Each context is re-rendered here from its
JSON to check that it is complete.

Determinism: date_string="26 Jul 2024" is passed to every family (the Llama
templates read it), and the clock behind the strftime_now global is frozen
at 2024-07-26 00:00:00 (gpt-oss calls strftime_now unconditionally), so a
C++ renderer must answer strftime_now from that date too.

The tokenizer is a one-word PreTrainedTokenizerFast carrying the family's
template and special tokens (as its tokenizer_config.json names them):
rendering text reads nothing else of a tokenizer.
Offline; the output is the same on every run.

Usage: .venv/bin/python scripts/goldens/make_hf_template_goldens.py
"""
import datetime
import hashlib
import json
import os
import pathlib
import re

# Set before transformers is imported: huggingface_hub reads it at import.
os.environ["HF_HUB_OFFLINE"] = "1"

from tokenizers import Tokenizer, models  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import chat_template_utils  # noqa: E402

import fixtures  # noqa: E402  (this script's own directory is on sys.path)

DATA_DIR = pathlib.Path(__file__).resolve().parents[2] / "tests/data/templates/hf"
DATE_STRING = "26 Jul 2024"
FROZEN_NOW = datetime.datetime(2024, 7, 26)

# Each family's special tokens, as its tokenizer_config.json holds them (the
# ones that are set; transformers passes exactly these to the template).
QWEN = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
LLAMA3 = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
DEEPSEEK = {
    "bos_token": "<｜begin▁of▁sentence｜>",
    "eos_token": "<｜end▁of▁sentence｜>",
    "pad_token": "<｜end▁of▁sentence｜>",
}
FAMILIES = {
    "llama3_1": LLAMA3,
    "llama3_2": LLAMA3,
    "llama3_3": LLAMA3,
    "qwen2_5": QWEN,
    "qwen3": QWEN,
    "qwen3_coder": QWEN,
    "deepseek_r1": DEEPSEEK,
    "deepseek_v3_1": DEEPSEEK,
    "glm4_5": {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"},
    "kimi_k2": {"bos_token": "[BOS]", "eos_token": "[EOS]", "pad_token": "[PAD]", "unk_token": "[UNK]"},
    "gpt_oss": {"bos_token": "<|startoftext|>", "eos_token": "<|return|>", "pad_token": "<|endoftext|>"},
    "mistral_nemo": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "gemma3": {
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "extra_special_tokens": {
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
    },
    "phi4": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|dummy_85|>", "unk_token": "<|endoftext|>"},
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>"},
}


class FrozenClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FROZEN_NOW


def check_template_sums():
    """Every template is byte for byte the file README.md's table names."""
    for line in (DATA_DIR / "SHA256SUMS").read_text().splitlines():
        expected, name = line.split("  ", 1)
        actual = hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest()
        if actual != expected:
            raise SystemExit(f"{DATA_DIR / name} has sha256 {actual}, SHA256SUMS says {expected}")
    # Qwen3's template is also in the repository's tokenizer fixture: the two must agree.
    config = json.loads((fixtures.tokenizer_dir("qwen3") / "tokenizer_config.json").read_text(encoding="utf-8"))
    if config["chat_template"] != (DATA_DIR / "qwen3.jinja").read_text(encoding="utf-8"):
        raise SystemExit("qwen3.jinja differs from the chat_template of tests/fixtures' qwen3 tokenizer")


def family_tokenizer(template, special_tokens):
    vocab = {"<unk>": 0}
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
        chat_template=template,
        **special_tokens,
    )


class RecordingTemplate:
    """The compiled template, recording the variables each render receives."""

    def __init__(self, template, contexts):
        self._template = template
        self._contexts = contexts

    def render(self, **context):
        self._contexts.append(json.loads(json.dumps(context)))
        return self._template.render(**context)

    def __getattr__(self, name):
        return getattr(self._template, name)


def render(tokenizer, template, record, add_generation_prompt):
    """apply_chat_template's text and the context its template received."""
    contexts = []
    compile_template = chat_template_utils._compile_jinja_template
    chat_template_utils._compile_jinja_template = lambda source: RecordingTemplate(compile_template(source), contexts)
    try:
        text = tokenizer.apply_chat_template(
            record["messages"],
            tools=record.get("tools"),
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            date_string=DATE_STRING,
        )
        result = {"text": text}
    except Exception as error:  # noqa: BLE001  (the golden records what the template raises)
        result = {"error": str(error), "error_type": type(error).__name__}
    finally:
        chat_template_utils._compile_jinja_template = compile_template
    if len(contexts) != 1:
        raise SystemExit(f"expected one render, saw {len(contexts)}: {result}")
    context = contexts[0]
    # The recorded context alone must reproduce the result.
    try:
        again = {"text": compile_template(template).render(**context)}
    except Exception as error:  # noqa: BLE001
        again = {"error": str(error), "error_type": type(error).__name__}
    if again != result:
        raise SystemExit(f"re-rendering the recorded context gives {again!r}, apply_chat_template gave {result!r}")
    return context, result


def main():
    check_template_sums()
    chat_template_utils.datetime = FrozenClock
    with open(DATA_DIR / "conversations.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    for family, special_tokens in FAMILIES.items():
        template = (DATA_DIR / f"{family}.jinja").read_text(encoding="utf-8")
        if re.search(r"\{\%-?\s*generation\s*-?\%\}", template):
            raise SystemExit(f"{family}.jinja marks {{% generation %}} spans: record them before using it")
        tokenizer = family_tokenizer(template, special_tokens)
        lines = []
        errors = 0
        for index, record in enumerate(records):
            for add_generation_prompt in (False, True):
                context, result = render(tokenizer, template, record, add_generation_prompt)
                errors += "error" in result
                line = {"conversation": index, "add_generation_prompt": add_generation_prompt, "context": context, **result}
                lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        (DATA_DIR / f"{family}.golden.jsonl").write_text("".join(lines), encoding="utf-8")
        print(f"{family}: {len(lines)} renders, {errors} errors")


if __name__ == "__main__":
    main()

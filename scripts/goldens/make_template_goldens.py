#!/usr/bin/env python3
"""Renders tests/data/templates/conversations.jsonl with the real Hugging Face
chat templates of Llama-3.1 and Qwen3 (the "chat_template" of their
tokenizer_config.json, from the tokenizer fixtures, see fixtures.py) and
writes tests/data/templates/{llama3,qwen3}.golden.jsonl, one line per
conversation:
  {"text": <rendered>, "spans": [[begin, end], ...]}   (UTF-8 byte offsets)
Rendering is transformers' tokenizer.apply_chat_template(messages,
tokenize=False, add_generation_prompt=False), the path users' templates go
through (Jinja2), after SpecForge's default-system-prompt rule; the spans
are SpecForge's supervised-span regex run with Python's re.
Offline (nothing is downloaded); the output is the same on every run.
tests/test_chat_template.cpp checks Talon's renderer against these files.

Usage: .venv/bin/python scripts/goldens/make_template_goldens.py
"""
import json
import os
import pathlib
import re

# Set before transformers is imported: huggingface_hub reads it at import.
os.environ["HF_HUB_OFFLINE"] = "1"

from transformers import AutoTokenizer  # noqa: E402

import fixtures  # noqa: E402  (this script's own directory is on sys.path)

DATA_DIR = pathlib.Path(__file__).resolve().parents[2] / "tests/data/templates"

# SpecForge's registry (specforge/data/template.py): the default system prompt
# of each template and the assistant header and end of turn its span regex uses.
LLAMA3_SYSTEM = (
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  "
    "Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. "
    "Please ensure that your responses are socially unbiased and positive in nature.\n\n"
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
    "something not correct. If you don't know the answer to a question, please don't share false information."
)
TARGETS = [
    {
        "name": "llama3",
        "fixture": "llama3_1",
        "system": LLAMA3_SYSTEM,
        "header": "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "eot": "<|eot_id|>",
    },
    {
        "name": "qwen3",
        "fixture": "qwen3",
        "system": "You are a helpful assistant.",
        "header": "<|im_start|>assistant\n",
        "eot": "<|im_end|>\n",
    },
]

# The corpus uses both dataset shapes: {"role", "content"} (OpenAI) and
# {"from", "value"} (ShareGPT), with their role aliases.
ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
}


def messages_of(record):
    """The record's turns as the {"role", "content"} messages templates read."""
    turns = record.get("messages")
    if turns is None:
        turns = record["conversations"]
    messages = []
    for turn in turns:
        if "role" in turn:
            message = {"role": ROLES[turn["role"]], "content": turn["content"]}
        else:
            message = {"role": ROLES[turn["from"]], "content": turn["value"]}
        # Qwen3's template reads reasoning_content when the key is there, even
        # when it is null, so it is passed through as is.
        if "reasoning_content" in turn:
            message["reasoning_content"] = turn["reasoning_content"]
        messages.append(message)
    return messages


def with_system_prompt(messages, prompt):
    """SpecForge's rule: a conversation that does not open with a system
    message gets the template's default system prompt, if it has one."""
    if messages and messages[0]["role"] == "system":
        return messages
    return [{"role": "system", "content": prompt}, *messages] if prompt else messages


def assistant_spans(text, header, eot):
    """SpecForge's supervised spans: header(.*?(?:eot|$)) with DOTALL, group 1,
    as UTF-8 byte offsets (what Talon's C++ compares). Python's `$` matches at
    the end or before a final newline, the behaviour Talon reproduces."""
    pattern = re.compile(re.escape(header) + r"(.*?(?:" + re.escape(eot) + r"|$))", re.DOTALL)

    def byte_offset(index):
        return len(text[:index].encode("utf-8"))

    return [[byte_offset(m.start(1)), byte_offset(m.end(1))] for m in pattern.finditer(text)]


def golden_line(text, spans):
    # Compact separators and raw (unescaped) non-ASCII text give the same bytes
    # as the goldens' original JSON.stringify output, so unchanged renderings
    # leave the files unchanged in git.
    return json.dumps({"text": text, "spans": spans}, ensure_ascii=False, separators=(",", ":")) + "\n"


def main():
    with open(DATA_DIR / "conversations.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    for target in TARGETS:
        tokenizer = AutoTokenizer.from_pretrained(fixtures.tokenizer_dir(target["fixture"]))
        lines = []
        for record in records:
            # apply_chat_template passes the tokenizer's bos_token and
            # eos_token (from tokenizer_config.json) to the template itself.
            text = tokenizer.apply_chat_template(
                with_system_prompt(messages_of(record), target["system"]),
                tokenize=False,
                add_generation_prompt=False,
            )
            lines.append(golden_line(text, assistant_spans(text, target["header"], target["eot"])))
        # newline="" keeps "\n" line ends on every platform.
        with open(DATA_DIR / f"{target['name']}.golden.jsonl", "w", encoding="utf-8", newline="") as f:
            f.writelines(lines)
        print(f"{target['name']}: {len(lines)} conversations")


if __name__ == "__main__":
    main()

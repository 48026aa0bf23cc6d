#!/usr/bin/env python3
"""Writes small tokenizer.json files under tests/data/tokenizer/synthetic/
that exercise what Llama-3.1's and Qwen3's files do not: GPT-2-style
ByteLevel (prefix space, its own regex), legacy "a b" merges, an unknown
token with and without fusing, added tokens with lstrip / rstrip /
single_word / normalized=true, NFC in a Sequence, literal and
empty-matching Split patterns, and a multi-id template in a Sequence.
Their BPE model is the first merges of Qwen3's (from scripts/goldens/
fixtures.py), so it is a real byte-level BPE. make_tokenizer_goldens.py then
records what Hugging Face's tokenizers produce with them.

The files are compact JSON with the key order, escaping and layout of the
JavaScript generator this script replaced (JSON.stringify), so regenerating
leaves the committed files byte for byte unchanged.

Usage: .venv/bin/python scripts/goldens/make_synthetic_tokenizers.py
"""
import json
import pathlib
import re
import sys

import fixtures

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests/data/tokenizer/synthetic"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.jsonl import to_json  # noqa: E402  (scripts/lib: shared with the other generators)


def byte_chars():
    """GPT-2's byte alphabet, in byte order: printable Latin-1 bytes stand for
    themselves, the others take code points from U+0100 on."""
    chars = []
    next_cp = 0x100
    for b in range(256):
        printable = 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF
        if printable:
            chars.append(chr(b))
        else:
            chars.append(chr(next_cp))
            next_cp += 1
    return chars


def model(qwen_merges, count, missing_bytes):
    """A BPE vocabulary and merge list from the first `count` merges of Qwen3
    that use none of the bytes in `missing_bytes` (left out so that the
    unknown token gets used). Returns (vocab, merges, size)."""
    chars = byte_chars()
    missing = {chars[b] for b in missing_bytes}
    vocab = {}
    for c in chars:
        if c not in missing:
            vocab[c] = len(vocab)
    merges = []
    for a, b in qwen_merges:
        if len(merges) == count:
            break
        if a not in vocab or b not in vocab or any(c in missing for c in a + b):
            continue
        merges.append([a, b])
        vocab.setdefault(a + b, len(vocab))
    vocab["<unk>"] = len(vocab)
    return vocab, merges, len(vocab)


def added(id_, content, **flags):
    """An added_tokens entry; `normalized` defaults to the opposite of
    `special`, as Hugging Face's AddedToken does."""
    entry = {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": not flags.get("special", False), "special": False}
    entry.update(flags)  # every flag is one of the keys above, so the key order stays
    return entry


def special(name, ids):
    """A TemplateProcessing special_tokens entry of one or more ids."""
    return {"id": name, "ids": ids, "tokens": [name] * len(ids)}


_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def js_key_order(value):
    """`value` with every object's keys in the order JavaScript enumerates
    them: keys that are array indices ("0", "17", not "007") first, in
    numeric order, then the others in insertion order. The committed files
    were written by JSON.stringify, and vocabularies have such keys."""
    if isinstance(value, list):
        return [js_key_order(v) for v in value]
    if not isinstance(value, dict):
        return value

    def is_index(key):
        return _ARRAY_INDEX.fullmatch(key) is not None and int(key) < 2**32 - 1

    indices = sorted((k for k in value if is_index(k)), key=int)
    others = [k for k in value if not is_index(k)]
    return {k: js_key_order(value[k]) for k in indices + others}


def write(name, tokenizer):
    directory = OUT_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    # One line without a final newline, as JSON.stringify wrote it.
    (directory / "tokenizer.json").write_bytes(to_json(js_key_order(tokenizer)).encode("utf-8"))
    print(f"wrote {directory.relative_to(ROOT)}/tokenizer.json")


def gpt2_style(qwen_merges):
    """ByteLevel alone with prefix space and its regex, legacy "a b" merges."""
    vocab, merges, v = model(qwen_merges, 3000, [0x0E, 0x0F, 0x10, 0x11, 0x12])
    byte_level = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            added(v, "<s>", special=True),
            added(v + 1, "</s>", special=True),
            added(v + 2, "[MASK]", special=True, lstrip=True),
            added(v + 3, "<pad>", special=True, rstrip=True),
            added(v + 4, "hello", single_word=True),
            added(v + 5, "Ωmega", lstrip=True, rstrip=True),
            added(vocab["the"], "the"),
        ],
        "normalizer": None,
        "pre_tokenizer": dict(byte_level),
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": special("<s>", [v]), "</s>": special("</s>", [v + 1])},
        },
        "decoder": dict(byte_level),
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]},
    }


def nfc_split(qwen_merges):
    """NFC, several Split stages (a literal, one with empty matches),
    ignore_merges, fused unknowns, a two-id template token."""
    vocab, merges, v = model(qwen_merges, 2500, [1, 2, 3, 4, 5, 6, 7, 8])

    def byte_level():
        return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}

    def isolated(pattern):
        return {"type": "Split", "pattern": pattern, "behavior": "Isolated", "invert": False}

    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            added(v, "<tok>", special=True, lstrip=True, rstrip=True),
            added(v + 1, "A\u030A"),
            added(v + 2, "<bos>", special=True),
            added(v + 3, "hello", special=True, normalized=False, single_word=True),
            added(v + 4, "\u212B", normalized=False),
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            isolated({"String": "\n"}),
            isolated({"Regex": r"(?i:'s|'t)|\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"}),
            isolated({"Regex": "(?=[xX])|y+"}),
            byte_level(),
        ]},
        "post_processor": {"type": "Sequence", "processors": [
            byte_level(),
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<tok>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<bos>": special("<bos>", [v + 2, 65]), "<tok>": special("<tok>", [v])}},
        ]},
        "decoder": byte_level(),
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": True, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": merges},
    }


def main():
    qwen_file = fixtures.tokenizer_dir("qwen3") / "tokenizer.json"
    qwen_merges = json.loads(qwen_file.read_text(encoding="utf-8"))["model"]["merges"]
    write("gpt2_style", gpt2_style(qwen_merges))
    write("nfc_split", nfc_split(qwen_merges))


if __name__ == "__main__":
    main()

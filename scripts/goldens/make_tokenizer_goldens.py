#!/usr/bin/env python3
"""Records what Hugging Face's tokenizers library (the Python binding of its
Rust library, pinned in scripts/requirements.txt) produces for the corpus,
so tests/test_tokenizer.cpp can check Talon's tokenizer against it:
  tests/data/tokenizer/<name>.golden.jsonl for llama3_1 and qwen3 (their
  tokenizer.json from scripts/goldens/fixtures.py), and
  tests/data/tokenizer/synthetic/<name>/golden.jsonl for the synthetic ones
  (on a subset of the corpus).

Each corpus line gives {"line", "ids", "ids_special", "decoded",
"decoded_skip"}: ids without and with add_special_tokens, decode(ids) and
decode(ids_special, skip_special_tokens=True), left out when it equals
"decoded". Then 300 random id sequences give {"random_ids", "decoded",
"decoded_skip"} alike. Invalid UTF-8 corpus lines are decoded with
errors="replace" (U+FFFD per maximal subpart) first. One compact JSON object
per line, as JSON.stringify wrote them before this script replaced the
JavaScript one.

Usage (after make_synthetic_tokenizers.py when the corpus or the synthetic
tokenizers change):
  .venv/bin/python scripts/goldens/make_tokenizer_goldens.py
"""
import pathlib
import sys

from tokenizers import Tokenizer

import fixtures

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/data/tokenizer"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.corpus import read_corpus  # noqa: E402  (scripts/lib: shared with the other generators)
from lib.jsonl import to_jsonl_bytes  # noqa: E402
from lib.random import random  # noqa: E402

# Corpus lines containing one of these always go into the synthetic goldens:
# they hit the synthetic tokenizers' added tokens (Å in its three spellings:
# precomposed, Angstrom sign, decomposed) and unknown bytes.
SYNTHETIC_MARKERS = ["[MASK]", "<tok>", "hello", "Ωmega", "\u00C5", "\u212B", "A\u030A", "<bos>", "<s>", "</s>",
                     "<pad>", "\u0005", "\u0010"]

RANDOM_SEQUENCES = 300


def utf16_length(text):
    """The length JavaScript gives the string: the subset of lines below was
    chosen with it, and keeping it keeps the goldens unchanged."""
    return len(text.encode("utf-16-le")) // 2


def every_line(i, text):
    """The real tokenizers' goldens cover the whole corpus."""
    return True


def synthetic_lines(i, text):
    """Every sixth short line, and the short lines with a marker."""
    return utf16_length(text) < 1000 and (i % 6 == 0 or any(m in text for m in SYNTHETIC_MARKERS))


def targets():
    """(name, tokenizer.json, golden file, which corpus lines to use)."""
    for name in ["llama3_1", "qwen3"]:
        yield name, fixtures.tokenizer_dir(name) / "tokenizer.json", DATA / f"{name}.golden.jsonl", every_line
    for name in ["gpt2_style", "nfc_split"]:
        directory = DATA / "synthetic" / name
        yield name, directory / "tokenizer.json", directory / "golden.jsonl", synthetic_lines


def with_skip(entry, decoded_skip):
    """`entry` plus "decoded_skip" when skipping special tokens changed it."""
    if decoded_skip != entry["decoded"]:
        entry["decoded_skip"] = decoded_skip
    return entry


def corpus_entries(tokenizer, corpus, use_line):
    """One golden line per corpus line that use_line selects."""
    for i, text in enumerate(corpus):
        if not use_line(i, text):
            continue
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        ids_special = tokenizer.encode(text, add_special_tokens=True).ids
        entry = {"line": i, "ids": ids, "ids_special": ids_special,
                 "decoded": tokenizer.decode(ids, skip_special_tokens=False)}
        yield with_skip(entry, tokenizer.decode(ids_special, skip_special_tokens=True))


def random_id_sequences(tokenizer):
    """Random id sequences of 1 to 20 ids: half of the ids from the whole
    vocabulary, the rest mostly from the first 300 ids (single bytes and short
    pieces, which rarely form valid UTF-8 together) and otherwise added tokens.
    The draws are those of the JavaScript generator, in the same order."""
    vocab = sorted(tokenizer.get_vocab(with_added_tokens=True).values())
    model_size = tokenizer.get_vocab_size(with_added_tokens=False)
    added = [i for i in vocab if i >= model_size] or vocab  # all ids if none is added
    first_300 = vocab[:300]
    rand = random(7)

    def draw_id():
        if rand() < 0.5:
            return rand.pick(vocab)
        return rand.pick(first_300) if rand() < 0.8 else rand.pick(added)

    for _ in range(RANDOM_SEQUENCES):
        length = 1 + rand.below(20)
        yield [draw_id() for _ in range(length)]


def random_entries(tokenizer):
    """One golden line per random id sequence: decoding only."""
    for ids in random_id_sequences(tokenizer):
        entry = {"random_ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=False)}
        yield with_skip(entry, tokenizer.decode(ids, skip_special_tokens=True))


def main():
    corpus = read_corpus()
    for name, tokenizer_file, out, use_line in targets():
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        entries = [*corpus_entries(tokenizer, corpus, use_line), *random_entries(tokenizer)]
        out.write_bytes(to_jsonl_bytes(entries))
        print(f"{name}: {len(entries)} lines -> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

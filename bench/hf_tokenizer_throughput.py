#!/usr/bin/env python3
"""Hugging Face's tokenizers (the Python binding of its Rust library, pinned
in scripts/requirements.txt) on the same documents as
bench/tokenizer_throughput.cpp: the golden corpus repeated 16 times, cut into
~4 KB and ~64 KB documents, encoded one at a time without special tokens
(single thread: one encode in flight, RAYON_NUM_THREADS=1). Prints the same
figures as the C++ benchmark, token counts included, so the two runs can be
checked to encode the same thing.

Usage, from the repository root: .venv/bin/python bench/hf_tokenizer_throughput.py
"""
import os
import pathlib
import sys
import time

# Before tokenizers is imported: its Rayon pool reads these when it starts.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer  # noqa: E402

# The generators' helpers, found from this file's place in the repository
# (not from the working directory), ahead of anything installed under the
# same names: scripts/ for the package lib, scripts/goldens for fixtures.
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "scripts/goldens")]
import fixtures  # noqa: E402  (the Llama-3.1 and Qwen3 tokenizer files)
from lib.corpus import read_corpus  # noqa: E402  (the strings the tokenizer goldens encode)

REPEATS = 16


def documents(lines, document_bytes):
    """The corpus REPEATS times, each line followed by "\\n", cut into
    documents: a new one starts once the current one holds at least
    `document_bytes` bytes of UTF-8, exactly where the C++ benchmark cuts."""
    docs = [[]]
    size = 0
    for _ in range(REPEATS):
        for line in lines:
            if size >= document_bytes:
                docs.append([])
                size = 0
            docs[-1].append(line + "\n")
            size += len(line.encode("utf-8")) + 1
    return ["".join(parts) for parts in docs]


def run(tokenizer, docs):
    """(total tokens, seconds) of one timed pass over docs, after a warm-up
    pass that fills the word cache as the C++ benchmark's does."""
    for d in docs:
        tokenizer.encode(d, add_special_tokens=False)
    start = time.perf_counter()
    tokens = 0
    for d in docs:
        tokens += len(tokenizer.encode(d, add_special_tokens=False))
    return tokens, time.perf_counter() - start


def main():
    lines = read_corpus()
    for name in ["llama3_1", "qwen3"]:
        tokenizer = Tokenizer.from_file(str(fixtures.tokenizer_dir(name) / "tokenizer.json"))
        for kb in [4, 64]:
            docs = documents(lines, kb * 1024)
            mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
            tokens, seconds = run(tokenizer, docs)
            print(f"{name}_{kb}kb_mb {mb:.2f}")
            print(f"{name}_{kb}kb_tokens {tokens}")
            print(f"{name}_{kb}kb_tokens_per_s {tokens / seconds:.0f}")
            print(f"{name}_{kb}kb_mb_per_s {mb / seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()

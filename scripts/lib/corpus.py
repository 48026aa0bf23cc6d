"""The tokenizer corpus, tests/data/tokenizer/corpus.jsonl (written by
scripts/goldens/make_corpus.py), as the strings a tokenizer is handed. The
tokenizer goldens and bench/hf_tokenizer_throughput.py both read it here, so
they encode the same strings.

    from lib.corpus import read_corpus   # with scripts/ on sys.path
"""
import json
import pathlib

CORPUS = pathlib.Path(__file__).resolve().parents[2] / "tests/data/tokenizer/corpus.jsonl"


def read_corpus():
    """The corpus strings, one per line: {"text"} as it is, {"bytes_hex"}
    decoded with errors="replace" (U+FFFD per maximal subpart), which is what
    a Python caller would hand to Hugging Face for bytes that are not UTF-8
    and what Talon's repair_utf8 does."""
    texts = []
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if "text" in entry:
                texts.append(entry["text"])
            else:
                texts.append(bytes.fromhex(entry["bytes_hex"]).decode("utf-8", errors="replace"))
    return texts

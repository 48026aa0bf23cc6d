#!/usr/bin/env python3
"""Records two Unicode facts of Hugging Face's tokenizers (the Python binding
of its Rust library, scripts/requirements.txt) for every code point:

- tests/data/tokenizer/onig_classes.json: for each character class that the
  Llama-3 / Qwen / GPT-2 Split patterns use, the code points Oniguruma puts
  in it, as [first, last] ranges (found by splitting a string of all code
  points with a Split pre-tokenizer of behaviour "removed": what survives is
  outside the class). tests/test_tokenizer.cpp checks Talon's translated
  PCRE2 classes against them.
- tests/data/tokenizer/hf_nfc.json: HF's NFC of every code point c in a few
  contexts (before / after marks and jamo), listed where it differs from the
  input. tests/test_nfc.cpp checks talon::text::nfc against it.

Both files are compact JSON plus a newline, as JSON.stringify wrote them
before this script replaced the JavaScript one.

Usage: .venv/bin/python scripts/goldens/make_unicode_goldens.py
"""
import pathlib
import sys

from tokenizers import Regex, normalizers, pre_tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/data/tokenizer"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.jsonl import to_json  # noqa: E402  (scripts/lib: shared with the other generators)

# Every Unicode scalar value: the surrogates cannot appear in a str that
# Hugging Face receives.
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]

# The classes used by the real tokenizers' Split patterns: letters, numbers,
# white space, and each letter of the case-insensitive contractions.
CLASSES = ["\\p{L}", "\\p{N}", "\\s"] + [f"(?i:{c})" for c in "strevmld"]

# NFC contexts (before, after): composition across the code point,
# reordering against a class 220 mark, the code point alone, and after a
# leading Hangul jamo.
CONTEXTS = [["e", "\u0301"], ["a", "\u0316"], ["", ""], ["\u1100", ""]]

# Joins one context's inputs into a single NFC call; NFC leaves it alone.
SEPARATOR = "|"


def write_json(path, value):
    """One line of compact JSON and a newline, as the committed files have."""
    path.write_bytes((to_json(value) + "\n").encode("utf-8"))
    print(f"wrote {path.relative_to(ROOT)}")


def ranges(pattern):
    """The code points `pattern` matches, as sorted [first, last] ranges."""
    removed = pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=False)
    outside = set()
    # Chunks of 64K code points keep each pre-tokenized string moderate.
    for i in range(0, len(CODE_POINTS), 65536):
        text = "".join(map(chr, CODE_POINTS[i:i + 65536]))
        for piece, _offsets in removed.pre_tokenize_str(text):
            outside.update(map(ord, piece))
    out = []
    for c in CODE_POINTS:
        if c in outside:
            continue
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def nfc_changes():
    """[context index, code point, NFC output] wherever NFC changes
    before + chr(c) + after."""
    nfc = normalizers.NFC()
    changed = []
    for k, (before, after) in enumerate(CONTEXTS):
        # U+007C, the separator itself, is left out: its context strings are
        # ASCII and a lone jamo, which NFC leaves unchanged.
        points = [c for c in CODE_POINTS if chr(c) != SEPARATOR]
        inputs = [before + chr(c) + after for c in points]
        outputs = nfc.normalize_str(SEPARATOR.join(inputs)).split(SEPARATOR)
        if len(outputs) != len(inputs):
            raise SystemExit("NFC output does not split back into one string per input")
        changed.extend([k, c, output] for c, text, output in zip(points, inputs, outputs) if output != text)
    return changed


def main():
    write_json(DATA / "onig_classes.json", {pattern: ranges(pattern) for pattern in CLASSES})

    changed = nfc_changes()
    write_json(DATA / "hf_nfc.json", {"contexts": CONTEXTS, "changed": changed})
    print(f"  {len(changed)} changed")


if __name__ == "__main__":
    main()

"""Helpers shared by the generator scripts (corpora, goldens, example data).

Import them as `lib.random`, `lib.jsonl`, `lib.js_json`, `lib.corpus` with
scripts/ on sys.path. Never put scripts/lib itself on sys.path: its random.py
would shadow the standard library's random module for everything imported
afterwards."""

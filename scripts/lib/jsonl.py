"""JSON lines as the generator scripts write them: compact, characters
outside ASCII written as themselves, UTF-8. These are the bytes JavaScript's
JSON.stringify gave when the generators were Node scripts, so the committed
corpora regenerate unchanged.

json.dumps(ensure_ascii=False, separators=(",", ":")) already escapes what
JSON.stringify escapes (quote, backslash, \\b \\f \\n \\r \\t, the other
control characters as lowercase \\u00xx) and leaves the rest alone (DEL,
U+2028, U+2029, "/"). The one difference is an unpaired surrogate: see
to_json. Only strings, ints, bools, None, lists and dicts are expected;
floats would print differently (1.0 against JavaScript's 1).
"""
import json
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def to_json(value):
    """value as one line of compact JSON, as JSON.stringify writes it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # A str holds code points, so a surrogate in it has no partner. UTF-8
    # cannot carry it; JSON.stringify escapes it instead (\udxxx, lowercase).
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_jsonl_bytes(values):
    """The values as UTF-8 JSON lines, each ending in "\\n"."""
    return "".join(to_json(v) + "\n" for v in values).encode("utf-8")

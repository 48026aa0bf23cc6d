"""Indented JSON with numbers as JavaScript prints them: the bytes
JSON.stringify(value, null, " ") gave when the generators were Node scripts,
so the committed goldens that hold doubles (RoPE frequencies, safetensors
values) regenerate unchanged. Compact JSON lines are lib/jsonl.py's concern.

    from lib.js_json import js_json   # with scripts/ on sys.path
    path.write_text(js_json(value) + "\\n")
"""
import decimal
import json
import math


def js_number(x):
    """x as JavaScript's Number.prototype.toString writes it: the same
    shortest round-trip digits as repr, but 1 rather than 1.0, 0 for -0, and
    exponents (e-7, e+21) only outside [1e-6, 1e21)."""
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError(f"{x} has no JSON form")
    if x == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(x)).normalize().as_tuple()
    s = "".join(map(str, digits))
    k = len(s)
    n = k + exponent  # x = 0.s * 10^n
    if k <= n <= 21:
        text = s + "0" * (n - k)
    elif 0 < n <= 21:
        text = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + s
    else:
        mantissa = s if k == 1 else s[0] + "." + s[1:]
        text = f"{mantissa}e{'+' if n > 0 else '-'}{abs(n - 1)}"
    return "-" + text if sign else text


def js_json(value, indent=" ", level=0):
    """JSON.stringify(value, null, indent) for dicts, lists, strings and numbers."""
    inner = indent * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {js_json(v, indent, level + 1)}"
                 for k, v in value.items()]
    elif isinstance(value, list):
        if not value:
            return "[]"
        items = [inner + js_json(v, indent, level + 1) for v in value]
    elif isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    else:
        return js_number(value)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + ",\n".join(items) + "\n" + indent * level + closing

"""Writes tests/data/configs/llama3_inv_freq.json: RoPE inverse frequencies
scaled as Hugging Face's _compute_llama3_parameters defines them, computed
here in plain Python (double precision) as an independent reference for
talon::model::rope_inv_freq.

Usage: .venv/bin/python scripts/goldens/make_rope_golden.py [OUT_FILE]
"""
import decimal
import json
import math
import pathlib
import sys

DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/data/configs/llama3_inv_freq.json"

CASES = [
    # Llama 3.1 (8B/70B/405B)
    {"head_dim": 128, "rope_theta": 500000, "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
     "original_max_position_embeddings": 8192},
    # Llama 3.2 1B
    {"head_dim": 64, "rope_theta": 500000, "factor": 32, "low_freq_factor": 1, "high_freq_factor": 4,
     "original_max_position_embeddings": 8192},
]


def llama3_inv_freq(head_dim, rope_theta, factor, low_freq_factor, high_freq_factor,
                    original_max_position_embeddings):
    low_freq_wavelen = original_max_position_embeddings / low_freq_factor
    high_freq_wavelen = original_max_position_embeddings / high_freq_factor
    result = []
    for i in range(0, head_dim, 2):
        # ** is the C library's pow. V8's Math.pow, which the JavaScript
        # original used, rounds a few of these powers one ulp differently.
        inv = 1 / rope_theta ** (i / head_dim)
        wavelen = 2 * math.pi / inv
        if wavelen < high_freq_wavelen:  # high frequencies are kept
            result.append(inv)
        elif wavelen > low_freq_wavelen:  # low frequencies are divided by factor
            result.append(inv / factor)
        else:  # in between, interpolated
            smooth = (original_max_position_embeddings / wavelen - low_freq_factor) / (
                high_freq_factor - low_freq_factor)
            result.append((1 - smooth) * inv / factor + smooth * inv)
    return result


def js_number(x):
    """x as JavaScript's Number.prototype.toString writes it (the committed
    file was first made by JSON.stringify): the same shortest round-trip
    digits as repr, but 1 rather than 1.0, and exponents (e-7, e+21) only
    outside [1e-6, 1e21)."""
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError(f"{x} has no JSON form")
    if x == 0:
        return "0"  # -0 too, as in JavaScript
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


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    cases = [{**case, "inv_freq": llama3_inv_freq(**case)} for case in CASES]
    out.write_text(js_json(cases) + "\n")


if __name__ == "__main__":
    main()

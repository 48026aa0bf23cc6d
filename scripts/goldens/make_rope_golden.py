"""Writes tests/data/configs/llama3_inv_freq.json: RoPE inverse frequencies
scaled as Hugging Face's _compute_llama3_parameters defines them, computed
here in plain Python (double precision) as an independent reference for
talon::model::rope_inv_freq. The file is written as JSON.stringify wrote it
when this script was a Node one (lib/js_json.py).

Usage: .venv/bin/python scripts/goldens/make_rope_golden.py [OUT_FILE]
"""
import math
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests/data/configs/llama3_inv_freq.json"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.js_json import js_json  # noqa: E402  (scripts/lib: shared with the other generators)

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


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    cases = [{**case, "inv_freq": llama3_inv_freq(**case)} for case in CASES]
    out.write_text(js_json(cases) + "\n")


if __name__ == "__main__":
    main()

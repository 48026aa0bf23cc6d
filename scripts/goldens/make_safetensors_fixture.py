"""Writes safetensors files with an independent writer (struct and bytes, no
Talon code) and the values they hold, for tests/test_safetensors.cpp:
  tests/data/safetensors/aligned.safetensors    header padded to 8 bytes, tensors by decreasing
                                                element size, then name, so every tensor is aligned
                                                (as the reference writer's layout keeps them)
  tests/data/safetensors/unaligned.safetensors  odd header length, tensors in the listed order,
                                                so most multi-byte tensors start misaligned; has __metadata__
  tests/data/safetensors/expected.json          {"metadata": {...}, "tensors": {name: {dtype, shape, values}}}
Then reads both files back with Hugging Face's safetensors library and checks
them against expected.json, so the fixture is vouched for by HF's own reader
as well (that check needs numpy, torch and safetensors, all in .venv).

Usage: .venv/bin/python scripts/goldens/make_safetensors_fixture.py [OUT_DIR]
"""
import json
import math
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests/data/safetensors"
sys.path.insert(0, str(ROOT / "scripts"))
from lib.js_json import js_json  # noqa: E402  (scripts/lib: expected.json as JSON.stringify wrote it)


def f32(x):
    """x rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def exact_in(fmt, x):
    """The bytes of x packed as fmt, refusing values fmt would round: the
    expected values must be exactly what the file holds."""
    data = struct.pack(fmt, x)
    back = struct.unpack(fmt, data)[0]
    if back != x or math.copysign(1, back) != math.copysign(1, x):
        raise ValueError(f"{x} is not exact as {fmt}")
    return data


def bf16(x):
    # bfloat16 is the top half of a float32; exact values have a zero low half.
    bits = int.from_bytes(exact_in("<f", x), "little")
    if bits & 0xFFFF:
        raise ValueError(f"{x} is not exact in BF16")
    return struct.pack("<H", bits >> 16)


# Little-endian, as the format specifies. struct's "e" is IEEE half precision.
ENCODERS = {
    "F32": lambda v: exact_in("<f", v),
    "F16": lambda v: exact_in("<e", v),
    "BF16": bf16,
    "I64": lambda v: struct.pack("<q", v),
    "I32": lambda v: struct.pack("<i", v),
    "I8": lambda v: struct.pack("<b", v),
    "U8": lambda v: struct.pack("<B", v),
    "BOOL": lambda v: struct.pack("<?", v),
}
ELEMENT_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1}

# Listed so that the unaligned layout puts most multi-byte tensors off their alignment.
TENSORS = [
    {"name": "flags", "dtype": "BOOL", "shape": [5], "values": [True, False, False, True, True]},
    {"name": "weights.f32", "dtype": "F32", "shape": [2, 3],
     "values": [f32(v) for v in (0.0, 1.5, -2.25, 0.1, 3.4028234663852886e38, -1e-3)]},
    {"name": "weights.f16", "dtype": "F16", "shape": [6], "values": [1.0, -0.5, 65504.0, 2.0**-14, 2.0**-24, -0.0]},
    {"name": "bytes.i8", "dtype": "I8", "shape": [3], "values": [-128, 127, -1]},
    {"name": "weights.bf16", "dtype": "BF16", "shape": [2, 2], "values": [1.0, -3.140625, 2.0**100, -0.0078125]},
    {"name": "ids", "dtype": "I64", "shape": [3], "values": [-9007199254740991, 0, 1234567890123]},
    {"name": "counts", "dtype": "I32", "shape": [2, 2], "values": [-2147483648, 2147483647, -1, 7]},
    {"name": "pixels", "dtype": "U8", "shape": [1, 4], "values": [0, 255, 128, 1]},
    {"name": "scalar", "dtype": "F32", "shape": [], "values": [42.5]},
    {"name": "empty", "dtype": "F32", "shape": [0, 3], "values": []},
]
# "writer" names the JavaScript generator these files were first made with.
# It is kept because it is stored inside the committed files (and the copy of
# unaligned.safetensors in fuzz/corpus), which this script reproduces byte for byte.
METADATA = {"format": "pt", "writer": "make_safetensors_fixture.js"}


def write(path, tensors, metadata, pad_to_8):
    header = {"__metadata__": metadata} if metadata else {}
    chunks = []
    offset = 0
    for t in tensors:
        data = b"".join(ENCODERS[t["dtype"]](v) for v in t["values"])
        header[t["name"]] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    # The format allows trailing spaces in the header. The reference writer pads
    # to 8 so the data starts aligned; an odd length makes sure it does not.
    if pad_to_8:
        text += b" " * (-len(text) % 8)
    elif len(text) % 2 == 0:
        text += b" "
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def check_with_safetensors(path, expected, has_metadata):
    """Reads path with Hugging Face's safetensors and compares it with
    expected.json. BF16 goes through torch, since numpy has no bfloat16;
    everything else through numpy, the framework-neutral reader. The library
    takes the unaligned file as it is: numpy gets aligned copies, torch gets
    views of the mapped file at misaligned addresses."""
    from safetensors import safe_open

    with safe_open(path, framework="np") as f:
        assert f.metadata() == (expected["metadata"] if has_metadata else None), (path, f.metadata())
        assert sorted(f.keys()) == sorted(expected["tensors"]), (path, f.keys())
        for name, want in expected["tensors"].items():
            if want["dtype"] == "BF16":
                continue
            got = f.get_tensor(name)
            assert list(got.shape) == want["shape"], (path, name, got.shape)
            assert got.dtype.str.lstrip("<>|") == NUMPY_DTYPE[want["dtype"]], (path, name, got.dtype)
            assert got.ravel().tolist() == want["values"], (path, name, got.ravel().tolist())
    with safe_open(path, framework="pt") as f:
        for name, want in expected["tensors"].items():
            got = f.get_tensor(name)
            assert list(got.shape) == want["shape"], (path, name, got.shape)
            assert str(got.dtype) == TORCH_DTYPE[want["dtype"]], (path, name, got.dtype)
            assert got.flatten().tolist() == want["values"], (path, name, got.flatten().tolist())


NUMPY_DTYPE = {"F32": "f4", "F16": "f2", "I64": "i8", "I32": "i4", "I8": "i1", "U8": "u1", "BOOL": "b1"}
TORCH_DTYPE = {"F32": "torch.float32", "F16": "torch.float16", "BF16": "torch.bfloat16", "I64": "torch.int64",
               "I32": "torch.int32", "I8": "torch.int8", "U8": "torch.uint8", "BOOL": "torch.bool"}


def main():
    out_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    by_size = sorted(TENSORS, key=lambda t: (-ELEMENT_SIZE[t["dtype"]], t["name"]))
    write(out_dir / "aligned.safetensors", by_size, None, pad_to_8=True)
    write(out_dir / "unaligned.safetensors", TENSORS, METADATA, pad_to_8=False)

    expected = {"metadata": METADATA, "tensors": {
        t["name"]: {"dtype": t["dtype"], "shape": t["shape"], "values": [int(v) if isinstance(v, bool) else v
                                                                         for v in t["values"]]}
        for t in TENSORS}}
    (out_dir / "expected.json").write_text(js_json(expected) + "\n")

    # Check what was written, from the files on disk.
    expected = json.loads((out_dir / "expected.json").read_text())
    check_with_safetensors(out_dir / "aligned.safetensors", expected, has_metadata=False)
    check_with_safetensors(out_dir / "unaligned.safetensors", expected, has_metadata=True)
    print(f"wrote and checked {out_dir}/{{aligned,unaligned}}.safetensors and expected.json")


if __name__ == "__main__":
    main()

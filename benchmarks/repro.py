"""Reproducibility run: grade one small class under several torch installs and thread counts and
compare every total and every check status (`make repro`; docs/REPRODUCIBILITY.md).

    python benchmarks/repro.py --python .venv/bin/python --python .venv-oldest/bin/python \
        --threads 1 --threads 2 --part part4 --part part5 --out repro-out [--record docs/REPRODUCIBILITY.md]

The class is built once from examples/ (the solution, the stubs, the bundles of correct variants
and the wrong examples of the parts graded). Each configuration runs `autograder grade` in its own
interpreter, with OMP_NUM_THREADS / MKL_NUM_THREADS set for the grading processes (the trusted side
that computes expectations; workers always use one thread) and an empty expectations cache of its
own, so nothing computed under one torch or thread count is read back under another. Exit 0 when
every configuration gives the first one's totals and statuses, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_class(root: Path, parts: list[str]) -> list[str]:
    """The class folder: solution, stubs, variant bundles and the graded parts' wrong examples."""
    from autograder.examples import build_examples, mutants
    from autograder.runtime.assignment import PARTS

    files = {PARTS[p] + ".py" for p in parts}
    names = ["solution", "stubs"] + [m.name for m in mutants() if m.file in files]
    if root.exists():
        shutil.rmtree(root)
    build_examples(root, names, variants=True)
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def grade(python: str, threads: int, label: str, subs: Path, out: Path, parts: list[str], jobs: int, timeout: float) -> dict:
    """One configuration: `autograder grade` under `python` with `threads` intra-op threads."""
    dest, cache = out / label, out / "cache" / label
    for path in (dest, cache):
        if path.exists():
            shutil.rmtree(path)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), CNN_RNN_CACHE=str(cache))
    cmd = [python, "-m", "autograder", "grade", str(subs), "--out", str(dest), "-j", str(jobs), "-q"]
    for p in parts:
        cmd += ["--part", p]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    results = {}
    for path in sorted((dest / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[data["student"]] = {"total": data["total"], "outcome": data["outcome"],
                                    "checks": {c["check"]: c["status"] for c in data["checks"]}, "provenance": data.get("provenance", {})}
    provenance = next((r["provenance"] for r in results.values() if r["provenance"]), {})
    return {"label": label, "python": python, "threads": threads, "exit_code": proc.returncode, "seconds": round(seconds, 1),
            "torch": provenance.get("torch", "?"), "torchvision": provenance.get("torchvision", "?"),
            "recorded_threads": provenance.get("threads"), "results": results,
            "stderr_tail": proc.stderr[-2000:] if proc.returncode not in (0, 1) else ""}


def differences(base: dict, other: dict) -> list[str]:
    """Every student whose total, outcome or any check status differs between two runs."""
    found = []
    for student in sorted(set(base["results"]) | set(other["results"])):
        a, b = base["results"].get(student), other["results"].get(student)
        if a is None or b is None:
            found.append(f"{student}: graded in only one run")
            continue
        if (a["total"], a["outcome"]) != (b["total"], b["outcome"]):
            found.append(f"{student}: total {a['total']} vs {b['total']} ({a['outcome']} vs {b['outcome']})")
        for check in sorted(set(a["checks"]) | set(b["checks"])):
            if a["checks"].get(check) != b["checks"].get(check):
                found.append(f"{student}: {check} {a['checks'].get(check)} vs {b['checks'].get(check)}")
    return found


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except OSError:
        return "?"


def record(path: Path, report: dict) -> None:
    """Append this run to the runs table of docs/REPRODUCIBILITY.md."""
    configs = "; ".join(f"torch {r['torch']} × {r['threads']} thr ({r['seconds']:g} s)" for r in report["runs"])
    verdict = "identical" if report["identical"] else f"**{sum(len(d) for d in report['differences'].values())} differences**"
    row = (f"| {report['date']} | {report['commit']} | {', '.join(report['parts'])} | {report['students']} | "
           f"{report['checks']} | {configs} | {verdict} |\n")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(text + row, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", help="an interpreter with the project installed; repeatable (default: this one)")
    ap.add_argument("--threads", action="append", type=int, help="intra-op threads of the grading processes; repeatable (default: 1 and all cores)")
    ap.add_argument("--part", action="append", help="parts graded; repeatable (default: part4 and part5)")
    ap.add_argument("--out", type=Path, default=REPO / "repro-out")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per configuration")
    ap.add_argument("--record", type=Path, default=None, help="append the run to this markdown file's runs table")
    args = ap.parse_args(argv)
    pythons = args.python or [sys.executable]
    threads = args.threads or sorted({1, os.cpu_count() or 1})
    parts = args.part or ["part4", "part5"]
    args.out.mkdir(parents=True, exist_ok=True)
    students = build_class(args.out / "class", parts)
    print(f"class: {len(students)} submissions ({', '.join(students)}); parts {', '.join(parts)}", flush=True)
    runs = []
    for python in pythons:
        for t in threads:
            label = f"{Path(python).parent.parent.name}-t{t}"
            run = grade(python, t, label, args.out / "class", args.out, parts, args.jobs, args.timeout)
            runs.append(run)
            totals = [r["total"] for r in run["results"].values()]
            print(f"{label}: torch {run['torch']}, recorded threads {run['recorded_threads']}, exit {run['exit_code']}, "
                  f"{len(totals)} results, sum of totals {sum(totals):g}, {run['seconds']:g} s", flush=True)
            if run["stderr_tail"]:
                print(run["stderr_tail"], file=sys.stderr)
    diffs = {run["label"]: differences(runs[0], run) for run in runs[1:]}
    identical = all(not d for d in diffs.values()) and all(r["exit_code"] in (0, 1) for r in runs) and bool(runs[0]["results"])
    for label, found in diffs.items():
        print(f"{runs[0]['label']} vs {label}: " + ("identical" if not found else f"{len(found)} differences"))
        for line in found[:40]:
            print("   ", line)
    report = {"date": dt.date.today().isoformat(), "commit": commit(), "parts": parts, "students": len(students),
              "checks": sum(len(r["checks"]) for r in runs[0]["results"].values()), "identical": identical,
              "runs": [{k: v for k, v in r.items() if k != "results"} for r in runs], "differences": diffs,
              "totals": {r["label"]: {s: v["total"] for s, v in r["results"].items()} for r in runs}}
    (args.out / "repro.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.record:
        record(args.record, report)
    print("REPRODUCIBLE" if identical else "NOT REPRODUCIBLE", f"(report: {args.out / 'repro.json'})")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())

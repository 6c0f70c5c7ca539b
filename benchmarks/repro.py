"""Reproducibility run: grade one small class under several torch installs and thread counts and
compare every total and every check status (`make repro`; docs/REPRODUCIBILITY.md).

    python benchmarks/repro.py --python .venv/bin/python --python .venv-oldest/bin/python \
        --threads 1 --threads 2 [--part part4 ...] [--classroom] --out repro-out [--record docs/REPRODUCIBILITY.md]

The class is built once from examples/ (the solution, the stubs, the bundles of correct variants
and the wrong examples of the parts graded; every part unless --part names some), and with
--classroom the five part 5 students of tests/classroom.py (`classroom-ana`, ...: the solution, a
disguised copy, two answers written otherwise, the stub). Each configuration runs `autograder grade` in its own
interpreter, with OMP_NUM_THREADS / MKL_NUM_THREADS set for the grading processes (the trusted side
that computes expectations; workers always use one thread) and an empty expectations cache of its
own, so nothing computed under one torch or thread count is read back under another. Exit 0 when
every configuration gives the first one's totals and statuses, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


CLASSROOM = "classroom-"  # prefix of the students of tests/classroom.py in the class folder


def build_class(root: Path, parts: list[str], classroom: bool = False) -> list[str]:
    """The class folder: solution, stubs, variant bundles and the graded parts' wrong examples;
    with `classroom`, tests/classroom.py's part 5 class too (their other parts are not handed in)."""
    from autograder.examples import build_examples, mutants
    from autograder.runtime.assignment import PARTS

    files = {PARTS[p] + ".py" for p in parts}
    names = ["solution", "stubs"] + [m.name for m in mutants() if m.file in files]
    if root.exists():
        shutil.rmtree(root)
    build_examples(root, names, variants=True)
    if classroom:
        sys.path.insert(0, str(REPO / "tests"))
        from classroom import class_files, write_class

        write_class(root, {CLASSROOM + student: text for student, text in class_files().items()})
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def should_score_full(student: str) -> bool:
    """The submissions whose every graded check must pass (a correct answer, graded alike everywhere)."""
    return student == "solution" or student.startswith("variants_")


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
        results[data["student"]] = {"total": data["total"], "max_total": data.get("max_total"), "outcome": data["outcome"],
                                    "checks": {c["check"]: c["status"] for c in data["checks"]}, "provenance": data.get("provenance", {})}
    provenance = next((r["provenance"] for r in results.values() if r["provenance"]), {})
    short = sorted(s for s, r in results.items() if should_score_full(s) and r["total"] != r["max_total"])
    return {"label": label, "python": python, "threads": threads, "exit_code": proc.returncode, "seconds": round(seconds, 1),
            "torch": provenance.get("torch", "?"), "torchvision": provenance.get("torchvision", "?"),
            "recorded_threads": provenance.get("threads"), "device": provenance.get("device", "?"), "results": results,
            "correct_not_full": short,
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


def tree_state() -> str:
    """HEAD and a hash of the uncommitted diff: a run whose tree changed while it ran (a commit,
    an edit) graded different code in different configurations, and its record says so."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD"], cwd=REPO, capture_output=True).stdout
        return head + ":" + hashlib.sha256(diff).hexdigest()
    except OSError:
        return "?"


def record(path: Path, report: dict) -> None:
    """Append this run to the runs table of docs/REPRODUCIBILITY.md."""
    configs = "; ".join(f"torch {r['torch']} × {r['threads']} thr ({r['seconds']:g} s)" for r in report["runs"])
    verdict = "identical" if report["identical"] else f"**{sum(len(d) for d in report['differences'].values())} differences**"
    if short := sorted({s for r in report["runs"] for s in r["correct_not_full"]}):
        verdict += f"; **correct answers short of full marks: {', '.join(short)}**"
    students = str(report["students"])
    if report.get("classroom"):
        students += f" ({report['students'] - report['classroom']} examples + {report['classroom']} classroom)"
    row = (f"| {report['date']} | {report['commit']} | {', '.join(report['parts'])} | {students} | "
           f"{report['checks']} | {configs} | {verdict} |\n")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(text + row, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", help="an interpreter with the project installed; repeatable (default: this one)")
    ap.add_argument("--threads", action="append", type=int, help="intra-op threads of the grading processes; repeatable (default: 1 and all cores)")
    ap.add_argument("--part", action="append", help="parts graded; repeatable (default: all five)")
    ap.add_argument("--classroom", action="store_true", help="also grade the part 5 class of tests/classroom.py")
    ap.add_argument("--out", type=Path, default=REPO / "repro-out")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per configuration")
    ap.add_argument("--record", type=Path, default=None, help="append the run to this markdown file's runs table")
    args = ap.parse_args(argv)
    pythons = args.python or [sys.executable]
    threads = args.threads or sorted({1, os.cpu_count() or 1})
    from autograder.runtime.assignment import PARTS

    parts = args.part or list(PARTS)
    args.out.mkdir(parents=True, exist_ok=True)
    students = build_class(args.out / "class", parts, args.classroom)
    started_commit, started_tree = commit(), tree_state()
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
            if run["correct_not_full"]:
                print(f"    WARNING: correct answers short of full marks: {', '.join(run['correct_not_full'])}", flush=True)
    diffs = {run["label"]: differences(runs[0], run) for run in runs[1:]}
    identical = all(not d for d in diffs.values()) and all(r["exit_code"] in (0, 1) for r in runs) and bool(runs[0]["results"])
    for label, found in diffs.items():
        print(f"{runs[0]['label']} vs {label}: " + ("identical" if not found else f"{len(found)} differences"))
        for line in found[:40]:
            print("   ", line)
    ended_commit = commit()
    if tree_state() != started_tree:
        print(f"WARNING: the tree changed during the run ({started_commit} -> {ended_commit}): configurations may have graded different code")
        ended_commit = f"{started_commit} → {ended_commit} (**the tree changed during the run**)"
    report = {"date": dt.date.today().isoformat(), "commit": ended_commit, "parts": parts, "students": len(students),
              "classroom": sum(s.startswith(CLASSROOM) for s in students),
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

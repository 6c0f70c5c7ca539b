"""Everything after grading, for a class of N, from stored results: time and peak memory of each
step, and the size of what it writes.

    python benchmarks/class_scale.py --n 2000 --work /tmp/class_scale --browser

1. **Real results.** The example class is graded once, for real (`autograder.grade.batch`): the
   solution, the stubs and the bundles of correct variants on every part; each wrong example
   (`examples/wrong_submissions`) on its own part, as tests/test_examples.py does; a corrupt zip
   (a real `ungradable` row) and a hand-in with a misnamed file (a real note). Kept in `--work`: a
   re-run grades nothing (the stored results are current) unless the grader changed.
2. **N stored results, synthesised from them.** Student i answers each part like one of the
   graded examples of that part, drawn at random (right ~60 %, one of the wrong examples ~32 %,
   left as the stub ~8 %), so every check result, failure kind, hint and message is one the grader
   really wrote; about 0.5 % of the class are the corrupt zip, 2 % carry the real note, 5 % are late
   (`late.settle` with a 10 %/day policy). The class's hand-ins are written too (the similarity
   benchmark's generator, `similarity_scale.write_class`), so that each stored result carries its
   hand-in's real `source_sha256` and the grader's version: `autograder grade` finds the whole
   class up to date.
3. **The steps**, each timed on its own in this process, then run again under tracemalloc for its
   peak memory (Python allocations made by the step, the text it writes included):
   load the stored results; apply the late policy; grades.csv and results.jsonl; summary.md;
   class_report.html; histogram.png; every student's feedback (Markdown and HTML), written and then
   rendered again unchanged (as a re-run finds them: compared, not rewritten); the Canvas and
   Moodle files (with a Canvas roster of the class); the regrade difference (changes.csv: a regrade
   with another grader version in which ~10 % of the students' results moved, compared with the
   stored ones as `grade_class` does). Then the whole `autograder grade SUBMISSIONS --out OUT`
   command on the up-to-date class, Canvas and Moodle files included, in a fresh process (wall time,
   peak RSS of the command): once with every output removed first, once more with nothing changed;
   and, with `--browser`, class_report.html opened in headless chromium (tests/browser.py): the
   time to start it, load and lay out the page, and its console errors.

Load average and cores are printed with the figures (the machine is often shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks"), str(REPO / "tests")]

from autograder.atomic import write_text, write_text_if_changed  # noqa: E402
from autograder.catalog import groups as suite_groups  # noqa: E402
from autograder.examples import build_examples, mutants  # noqa: E402
from autograder.grade import late  # noqa: E402
from autograder.grade.batch import _change, changes_summary, grade_all, grader_version, load_results, result_path, write_changes  # noqa: E402
from autograder.grade.discover import discover  # noqa: E402
from autograder.grade.submission import source_digest  # noqa: E402
from autograder.ids import file_stem  # noqa: E402
from autograder.report import class_html, feedback, files, lms, summary  # noqa: E402
from autograder.results import CheckResult, StudentResult  # noqa: E402
from autograder.runtime.assignment import ASSIGNMENT, PARTS, part_of  # noqa: E402

DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=8)))
POLICY = late.LatePolicy(DEADLINE, 10.0, "day")
TARGET_S, TARGET_HTML_MB = 10.0, 5.0  # issue 26: each export under 10 s; the class report under 10 s and 5 MB
EXPORTS = ("grades.csv", "results.jsonl", "summary.md", "Canvas import CSV (roster read, matched)",
           "Moodle import CSV (roster read, matched)", "regrade difference (changes.csv)")


# -- 1. real results of the example class --------------------------------------------------------

def example_results(work: Path, reuse: bool = False) -> list[StudentResult]:
    """The example class, graded for real (once: a re-run finds the stored results current, unless
    the grader changed). `reuse`: take the results stored in `work` as they are."""
    subs, graded = work / "examples", work / "graded"
    if reuse:
        found = [r for folder in sorted(graded.iterdir()) for r in load_results(folder)]
        if found:
            return found
    full = build_examples(subs / "full", ["solution", "stubs"], variants=True)
    (full / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")  # a real ungradable row
    misnamed = full / "misnamed"  # a real note: a file name in the wrong case
    shutil.rmtree(misnamed, ignore_errors=True)
    shutil.copytree(full / "solution", misnamed)
    name = PARTS["part3"] + ".py"
    (misnamed / name).rename(misnamed / name.capitalize())
    results = grade_all(full, graded / "full", quiet=True)
    by_part: dict[str, list[str]] = {}
    for m in mutants():
        by_part.setdefault(part_of(m.file), []).append(m.name)
    for part, names in sorted(by_part.items()):
        results += grade_all(build_examples(subs / part, names), graded / part, quiet=True, parts=(part,))
    return results


# -- 2. N stored results synthesised from them ---------------------------------------------------

def part_answers(results: list[StudentResult]) -> dict[str, dict[str, list[tuple[CheckResult, ...]]]]:
    """Per part, the graded examples' check results of that part: right (all passed), stub (none
    passed, every one not implemented) or wrong (the rest)."""
    pool: dict[str, dict[str, list[tuple[CheckResult, ...]]]] = {p: {"right": [], "wrong": [], "stub": []} for p in PARTS}
    for r in results:
        if not r.graded:
            continue
        for part in PARTS:
            mine = tuple(c for c in r.checks if c.group == part)
            if not mine:
                continue
            if all(c.status == "passed" for c in mine):
                pool[part]["right"].append(mine)
            elif all(c.kind == "not_implemented" for c in mine):
                pool[part]["stub"].append(mine)
            else:
                pool[part]["wrong"].append(mine)
    missing = [f"{p} {k}" for p, kinds in pool.items() for k, found in kinds.items() if not found]
    if missing:
        raise RuntimeError(f"the example class gave no {', '.join(missing)} answers")
    return pool


def synthesise(real: list[StudentResult], ids: list[str], seed: int = 0, version: str = "",
               digests: dict[str, str] | None = None) -> list[StudentResult]:
    """One stored result per id, every part's checks those of a real graded example of that part."""
    rng = random.Random(seed)
    pool = part_answers(real)
    broken = next(r for r in real if r.outcome == "ungradable")
    noted = [r.notes for r in real if r.graded and r.notes]
    template = next(r for r in real if r.graded and r.provenance)
    out = []
    for student in ids:
        if rng.random() < 0.005:
            r = StudentResult.from_dict(broken.to_dict() | {"student": student})
        else:
            weak = rng.random() < 0.25  # a quarter of the class struggles: more stubs and wrong answers
            checks: list[CheckResult] = []
            for part in PARTS:
                x = rng.random()
                kind = "stub" if x < (0.2 if weak else 0.04) else "wrong" if x < (0.7 if weak else 0.3) else "right"
                checks += rng.choice(pool[part][kind])
            r = StudentResult(student, checks, sandbox=template.sandbox, seconds=rng.uniform(2, 6), provenance=dict(template.provenance),
                              notes=list(rng.choice(noted)) if noted and rng.random() < 0.02 else [])
        r.source_sha256 = (digests or {}).get(student, f"files:{rng.getrandbits(256):064x}")
        r.version = version
        out.append(r)
    return out


def stamps(ids: list[str], seed: int = 0) -> dict[str, late.Stamp]:
    """A trusted submission time for everyone: 5 % after the deadline (up to 3 days)."""
    rng = random.Random(seed + 1)
    times = {}
    for s in ids:
        delta = timedelta(hours=rng.uniform(0.1, 72)) if rng.random() < 0.05 else -timedelta(hours=rng.uniform(0.1, 240))
        times[s] = late.Stamp(s, s, DEADLINE + delta, "csv")
    return times


def canvas_roster(path: Path, ids: list[str], seed: int = 0) -> Path:
    """A Canvas gradebook export of the class as downloaded: Points Possible row, the test
    student, five students of the class missing, ten on the roster without a hand-in."""
    rng = random.Random(seed + 2)
    people = [s for s in ids if rng.random() > 5 / len(ids)] + [f"x{i:04d}" for i in range(10)]
    rows = [[*lms.CANVAS_COLUMNS, "Email", "cnn_rnn (1234)"], ["    Points Possible", "", "", "", "", "", "100"],
            [lms.CANVAS_TEST_STUDENT, "999999", "", "", "", "", ""]]
    rows += [[f"学生 {s}", str(100000 + i), f"2026{i:05d}", s, f"Section {i % 8 + 1}", f"{s}@example.edu", ""] for i, s in enumerate(people)]
    write_text(path, files.csv_text(rows))
    return path


# -- 3. the steps --------------------------------------------------------------------------------

def regraded(stored: list[StudentResult], real: list[StudentResult], seed: int = 0) -> list[StudentResult]:
    """The class regraded with another grader version: ~10 % of the results moved (drawn again),
    every provenance names another torch."""
    rng = random.Random(seed + 3)
    moved = {s.student for s in stored if rng.random() < 0.10}
    again = {r.student: r for r in synthesise(real, sorted(moved), seed + 4, stored[0].version)}
    out = []
    for r in stored:
        new = StudentResult.from_dict((again.get(r.student) or r).to_dict())
        new.provenance = {**r.provenance, "torch": "9.9.9"}
        out.append(new)
    return out


def _sizes(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.exists():
            total += p.stat().st_size
    return total


def steps(out: Path, roster: Path, times: dict, new: list[StudentResult]) -> list[tuple]:
    """(name, step(state), what it writes[, what to do before each run, untimed]). `state["results"]`:
    the class as `grade` has it after settling."""
    groups = suite_groups()
    exports = out / "exports"

    def load(state):
        state["stored"] = load_results(out)

    def settle(state):
        state["results"] = late.settle(state["stored"], times, POLICY)

    def grades(state):
        write_text(out / "grades.csv", files.grades_csv(state["results"], groups))

    def jsonl(state):
        write_text(out / "results.jsonl", files.results_jsonl(state["results"]))

    def summary_md(state):
        write_text(out / "summary.md", summary.markdown(state["results"]))

    def report(state):
        write_text(out / "class_report.html", class_html.html_report(state["results"]))

    def png(state):
        summary.histogram_png(state["results"], out / "histogram.png")

    def pages(state):  # as report.write.write_outputs writes them
        for r in state["results"]:
            stem = file_stem(r.student)
            write_text_if_changed(out / "feedback" / f"{stem}.md", feedback.markdown(r))
            write_text_if_changed(out / "feedback" / f"{stem}.html", feedback.html_page(r))

    def no_pages():
        shutil.rmtree(out / "feedback", ignore_errors=True)

    def canvas(state):
        lms.write_exports(state["results"], lms.read_roster(roster), exports / "canvas.csv", None, "cnn_rnn (1234)")

    def moodle(state):
        lms.write_exports(state["results"], lms.read_roster(roster), None, exports / "moodle.csv", "cnn_rnn (1234)")

    def changes(state):
        """As grade_class does for each regraded result: the stored one read back, the change
        computed; then changes.csv and the console/summary lines."""
        found = []
        for r in new:
            old = StudentResult.from_dict(json.loads(result_path(out, r.student).read_text(encoding="utf-8")))
            found.append(_change(old, r, "graded with another grader version or other parts", False))
        write_changes(exports, found)
        state["changes"] = changes_summary(found)

    return [
        ("load the stored results (results/*.json)", load, []),
        ("late policy (late.settle)", settle, []),
        ("grades.csv", grades, [out / "grades.csv"]),
        ("results.jsonl", jsonl, [out / "results.jsonl"]),
        ("summary.md", summary_md, [out / "summary.md"]),
        ("class_report.html", report, [out / "class_report.html"]),
        ("histogram.png", png, [out / "histogram.png"]),
        ("feedback pages (.md and .html per student), written", pages, [out / "feedback"], no_pages),
        ("feedback pages again, unchanged (a re-run: read, not rewritten)", pages, [out / "feedback"]),
        ("Canvas import CSV (roster read, matched)", canvas, [exports / "canvas.csv"]),
        ("Moodle import CSV (roster read, matched)", moodle, [exports / "moodle.csv"]),
        ("regrade difference (changes.csv)", changes, [exports / "changes.csv"]),
    ]


def run_steps(out: Path, roster: Path, times: dict, new: list[StudentResult]) -> list[dict]:
    """Each step timed, then run again under tracemalloc for its peak (bytes allocated by the step
    beyond what it started with)."""
    rows, state = [], {}
    for name, step, wrote, *reset in steps(out, roster, times, new):
        for f in reset:
            f()
        t = time.perf_counter()
        step(state)
        wall = time.perf_counter() - t
        for f in reset:
            f()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        step(state)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        size = _sizes(wrote)
        rows.append({"step": name, "wall_s": round(wall, 2), "peak_mb": round(peak / 2**20, 1),
                     "size_kb": round(size / 1024) if wrote else None})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    rows.append({"step": "process peak RSS after all steps", "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
    return rows


# -- 4. the whole command, and the report in a browser --------------------------------------------

_WRAP = ("import json, resource, subprocess, sys, time\nt = time.perf_counter()\n"
         "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
         "u = resource.getrusage(resource.RUSAGE_CHILDREN)\nprint('MEASURE', json.dumps([rc, time.perf_counter() - t, u.ru_maxrss]))")


def _restamp(out: Path) -> None:
    """The stored results under the grader's version as a fresh process computes it now (the
    version hashes the repository: an edit to it since the results were written would make the
    command regrade the class)."""
    now = subprocess.run([sys.executable, "-c", "from autograder.grade.batch import grader_version; print(grader_version(None))"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    for path in (out / "results").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["version"] != now:
            write_text(path, json.dumps(data | {"version": now}, ensure_ascii=False, indent=1))


def grade_command(subs: Path, out: Path, roster: Path, when: str) -> dict:
    """`autograder grade` on the up-to-date class, in a fresh process: nothing to grade, every
    output written (exit 1: the corrupt zips' rows). Stopped if it starts grading."""
    _restamp(out)
    exports = out / "exports"
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--roster", str(roster),
           "--canvas-csv", str(exports / "canvas.csv"), "--moodle-csv", str(exports / "moodle.csv"), "--canvas-assignment", "cnn_rnn (1234)"]
    proc = subprocess.Popen([sys.executable, "-c", _WRAP, *cmd], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    first = proc.stderr.readline()
    while first and "up to date" not in first:
        first = proc.stderr.readline()
    n = len(list(subs.iterdir()))
    if not first.startswith(f"{n} submission(s), {n} up to date"):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"autograder grade would grade: {first.strip()!r}")
    stdout, stderr = proc.communicate()
    rc, wall, maxrss = json.loads(stdout.rsplit("MEASURE ", 1)[1])
    if rc not in (0, 1):
        raise RuntimeError(f"autograder grade failed ({rc}):\n{stderr[-3000:]}")
    return {"step": f"`autograder grade` on the up-to-date class, Canvas and Moodle files too ({when})", "wall_s": round(wall, 1),
            "peak_rss_mb": round(maxrss / 1024), "exit": rc, "line": first.strip()}


PAGE = """(() => ({bytes: document.documentElement.outerHTML.length, tables: [...document.querySelectorAll('table[id]')]
  .map(t => [t.id, t.rows.length]), links: document.querySelectorAll('a').length,
  heatmap: document.querySelector('#heatmap') ? document.querySelector('#heatmap').rows.length : 0,
  height: document.documentElement.scrollHeight}))()"""


def open_report(page: Path) -> dict:
    from browser import open_page  # tests/browser.py

    t = time.perf_counter()
    report = open_page(page, PAGE, timeout=120, max_height=800)  # load and lay out the whole page; screenshot the top only
    return {"step": "class_report.html in headless chromium (start, load, evaluate)", "wall_s": round(time.perf_counter() - t, 1),
            "errors": report.errors, "page": report.value}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--work", type=Path, default=None, help="keep the graded examples, the class and the outputs here (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--browser", action="store_true", help="open class_report.html in headless chromium (tests/browser.py)")
    ap.add_argument("--reuse-examples", action="store_true", help="take the example class's results stored in --work as they are, even if "
                                                                   "the grader changed since (no grading)")
    ap.add_argument("--no-command", action="store_true", help="skip the whole `autograder grade` run")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    print(f"load average before: {load_before}, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="class_scale_") as tmp:
        work = args.work or Path(tmp)
        t = time.perf_counter()
        real = example_results(work, args.reuse_examples)
        print(f"example class: {len(real)} real results ({time.perf_counter() - t:.0f} s)", flush=True)
        from similarity_scale import write_class  # noqa: E402  (benchmarks/)

        subs, out = work / f"class{args.n}", work / f"out{args.n}"
        shutil.rmtree(subs, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        write_class(subs, args.n, seed=args.seed)
        found = discover(subs, ASSIGNMENT)
        digests = {s.student: source_digest(s.path) for s in found}
        stored = synthesise(real, sorted(digests), args.seed, grader_version(None), digests)
        for r in stored:
            write_text(result_path(out, r.student), json.dumps(r.to_dict(), ensure_ascii=False, indent=1))
        roster = canvas_roster(work / f"roster{args.n}.csv", sorted(digests), args.seed)
        times, new = stamps(sorted(digests), args.seed), regraded(stored, real, args.seed)
        print(f"class of {len(stored)}: hand-ins, digests and stored results written ({time.perf_counter() - t:.0f} s)", flush=True)
        rows = run_steps(out, roster, times, new)
        if not args.no_command:
            for done in out.glob("*.*"):  # the first run writes everything
                done.unlink()
            for done in (out / "feedback", out / "exports"):
                shutil.rmtree(done, ignore_errors=True)
            for when in ("first run: every output written", "again: nothing changed"):
                rows.append(grade_command(subs, out, roster, when))
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        if args.browser:
            rows.append(open_report(out / "class_report.html"))
            print(json.dumps(rows[-1], ensure_ascii=False)[:2000], flush=True)
        with open("/proc/loadavg") as f:
            report = {"command": " ".join(["python", "benchmarks/class_scale.py", *(sys.argv[1:] if argv is None else argv)]),
                      "n": args.n, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
                      "load_before": load_before, "load_after": f.read().split()[:3], "steps": rows}
    print(f"load average after: {report['load_after']}")
    print("\n| step | wall | peak memory | size |\n|---|---|---|---|")
    for row in rows:
        size = f"{row['size_kb']:,} KB" if row.get("size_kb") is not None else ""
        peak = row.get("peak_mb", row.get("peak_rss_mb"))
        wall = f"{row['wall_s']} s" if "wall_s" in row else ""
        print(f"| {row['step']} | {wall} | {'' if peak is None else f'{peak} MB'} | {size} |")
    timed = {row["step"]: row for row in rows}
    report_row = timed["class_report.html"]
    slowest = max((row for row in rows if row["step"] in EXPORTS), key=lambda row: row["wall_s"])
    print(f"\ntargets: class_report.html {report_row['wall_s']} s (< {TARGET_S:g} s), {report_row['size_kb'] / 1024:.2f} MB "
          f"(< {TARGET_HTML_MB:g} MB); slowest export: {slowest['step']}, {slowest['wall_s']} s (< {TARGET_S:g} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

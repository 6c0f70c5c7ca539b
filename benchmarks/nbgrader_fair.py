"""The fair nbgrader baseline: a real nbgrader course whose test cells run the hidden checks in
the kernel, as an instructor using nbgrader would write them.

One notebook, `bench.ipynb`, holds a locked set-up cell and one locked, autograded test cell per
hidden check (its points are the check's points). The set-up cell builds an
`inprocess.InProcessWorker` on the notebook's own folder: the probes import the student's .py
files, which sit next to the notebook, and run as plain calls in the kernel (no sandbox, no worker
process, one kernel per notebook, the expectations read from the same cache as ours). A test cell
calls its check; a check that raises fails the cell, and nbgrader gives the cell 0 points.

`nbgrader autograde` is run twice on the same notebooks: as documented (one process, the
notebooks one after another) and as `lanes` processes in parallel, each `--student` glob with its
own share of the students and its own gradebook (two processes writing one SQLite file would
also measure its locks). Each student's score is read back from nbgrader's gradebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
ASSIGNMENT = "bench"
NOTEBOOK = "bench"
BIN = Path(sys.executable).parent


def _cell(source: str, **nbgrader: object):
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": True, "solution": False, "grade": False, "task": False, **nbgrader}
    return cell


def grade_id(check: str) -> str:
    return "test_" + check.replace(".", "_")


def notebook(parts: tuple[str, ...] | None):
    import nbformat

    from autograder.catalog import checks_of

    setup = (
        "import pathlib, sys\n"
        f"sys.path[:0] = [{str(REPO)!r}, {str(BENCH)!r}]\n"
        "from autograder.catalog import check_functions\n"
        "from inprocess import InProcessWorker\n"
        f"CHECKS = {{fn.__check__.name: fn for fn in check_functions('hidden', {parts!r})}}\n"
        "worker = InProcessWorker(pathlib.Path.cwd())  # the student's .py files sit next to this notebook"
    )
    cells = [_cell(setup, grade_id="setup")]
    for meta in checks_of("hidden"):
        if parts is None or meta.group in parts:
            cells.append(_cell(f"CHECKS[{meta.name!r}](worker)", grade=True, grade_id=grade_id(meta.name), points=meta.points))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _env() -> dict[str, str]:
    # nbgrader starts `alembic` and the kernel from its own environment: that bin folder goes first.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _nbgrader(course: Path, *args: str, log: Path) -> tuple[int, float]:
    start = time.perf_counter()
    with open(log, "ab") as out:
        code = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=_env(), stdout=out, stderr=subprocess.STDOUT).returncode
    return code, time.perf_counter() - start


def lane_of(index: int, lanes: int) -> str:
    return f"l{index % lanes}"


def build_course(root: Path, folders: list[Path], parts: tuple[str, ...] | None, lanes: int) -> tuple[Path, dict[str, str]]:
    """The course, the released notebook and one submission per folder (its graded .py files next
    to the notebook); returns the course and nbgrader student id -> submission name."""
    import nbformat

    from autograder.runtime.assignment import GRADED_FILES

    course = root / "nbgrader_course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\nc.ExecutePreprocessor.timeout = 600\n"
    )
    nbformat.write(notebook(parts), course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    code, _ = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", log=course / "nbgrader.log")
    if code != 0:
        raise SystemExit(f"benchmark aborted: nbgrader generate_assignment failed:\n{(course / 'nbgrader.log').read_text()[-3000:]}")
    released = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    ids: dict[str, str] = {}
    for i, folder in enumerate(folders):
        student = f"{lane_of(i, lanes)}_{folder.name}"
        dest = course / "submitted" / student / ASSIGNMENT
        dest.mkdir(parents=True)
        shutil.copyfile(released, dest / f"{NOTEBOOK}.ipynb")
        for name in GRADED_FILES:
            shutil.copyfile(folder / name, dest / name)
        (dest / "timestamp.txt").write_text("2026-11-22 12:00:00.000000 UTC")
        ids[student] = folder.name
    # One gradebook per parallel process, each a copy of the one that knows the assignment.
    for lane in range(lanes):
        shutil.copyfile(course / "gradebook.db", course / f"gradebook_l{lane}.db")
    return course, ids


def scores(course: Path, db: Path, ids: dict[str, str], parts: tuple[str, ...] | None) -> dict[str, dict]:
    """Submission name -> {"total", "passed": {check: bool}} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.catalog import checks_of

    metas = [m for m in checks_of("hidden") if parts is None or m.group in parts]
    out: dict[str, dict] = {}
    with Gradebook(f"sqlite:///{db}", "bench") as gb:
        for student, name in ids.items():
            try:
                grades = {g.name: g for g in gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).grades}
            except MissingEntry:
                continue
            passed = {m.name: grade_id(m.name) in grades and grades[grade_id(m.name)].score == m.points for m in metas}
            out[name] = {"total": round(sum(g.score for g in grades.values()), 4), "passed": passed}
    return out


def autograde_serial(course: Path, ids: dict[str, str], parts: tuple[str, ...] | None) -> dict:
    """`nbgrader autograde` as documented: one process, every notebook one after another."""
    log = course / "autograde_serial.log"
    code, wall = _nbgrader(course, "autograde", ASSIGNMENT, "--force", log=log)
    if code != 0:
        raise SystemExit(f"benchmark aborted: nbgrader autograde failed (exit {code}):\n{log.read_text()[-3000:]}")
    return {"wall_s": wall, "scores": scores(course, course / "gradebook.db", ids, parts)}


def autograde_parallel(course: Path, ids: dict[str, str], parts: tuple[str, ...] | None, lanes: int) -> dict:
    """`lanes` `nbgrader autograde --student l<k>_*` processes at once, each with its gradebook."""
    procs = []
    start = time.perf_counter()
    for lane in range(lanes):
        log = open(course / f"autograde_l{lane}.log", "wb")
        procs.append((subprocess.Popen(
            [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force", "--student", f"l{lane}_*",
             f"--CourseDirectory.db_url=sqlite:///{course / f'gradebook_l{lane}.db'}"],
            cwd=course, env=_env(), stdout=log, stderr=subprocess.STDOUT), log))
    codes = []
    for proc, log in procs:
        codes.append(proc.wait())
        log.close()
    wall = time.perf_counter() - start
    if any(codes):
        tails = "\n".join((course / f"autograde_l{lane}.log").read_text()[-1500:] for lane in range(lanes))
        raise SystemExit(f"benchmark aborted: parallel nbgrader autograde failed (exits {codes}):\n{tails}")
    got: dict[str, dict] = {}
    for lane in range(lanes):
        mine = {s: n for s, n in ids.items() if s.startswith(f"l{lane}_")}
        got.update(scores(course, course / f"gradebook_l{lane}.db", mine, parts))
    return {"wall_s": wall, "scores": got}

"""A real nbgrader course: generate_assignment and validate on the companion notebooks, submitted
work graded by the hidden suite into gradebook.db, and `nbgrader export` showing the scores.

Only part 1 is graded, and the course holds only part 1's notebooks, to keep the run short.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.grade.batch import load_results
from autograder.nbgrader.gradebook import NOTEBOOK, course_settings, gradebook_scores, write_gradebook
from autograder.nbgrader.source import write_source
from autograder.release.stubs import SOLUTIONS

ASSIGNMENT = "cnn_rnn"
PART = "part1"
BIN = Path(sys.executable).parent


def nbgrader(course: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # nbgrader calls the `alembic` executable of its own environment: that bin folder goes first.
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=full_env, capture_output=True, text=True, timeout=300)


def _partial_part1() -> str:
    """The solution with receptive_field's answer taken out (one exercise missing)."""
    text = (SOLUTIONS / "part1_resnet.py").read_text(encoding="utf-8")
    start = text.index("def receptive_field")
    region = re.compile(r"    ### BEGIN SOLUTION\n.*?    ### END SOLUTION\n", re.S)
    m = region.search(text, start)
    return text[: m.start()] + '    raise NotImplementedError("receptive_field")\n' + text[m.end():]


def _submit(course: Path, student: str, files: dict[str, str | bytes], timestamp: str) -> None:
    """What `nbgrader collect` leaves behind: the released folder as the student edited it."""
    folder = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(course / "release" / ASSIGNMENT, folder)
    for rel, data in files.items():
        path = folder / rel
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data, encoding="utf-8")
    (folder / "timestamp.txt").write_text(timestamp)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    write_source(course, ASSIGNMENT, answers=True, parts=(PART,))
    done = nbgrader(course, "generate_assignment", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (course / "release" / ASSIGNMENT / "part1_resnet.ipynb").is_file()
    released_answers = (course / "release" / ASSIGNMENT / "part1_answers.ipynb").read_text(encoding="utf-8")
    assert "### BEGIN SOLUTION" not in released_answers and "NotImplementedError" in released_answers

    solved_notebook = (course / "source" / ASSIGNMENT / "part1_answers.ipynb").read_text(encoding="utf-8")
    _submit(course, "full", {"cnn_rnn/part1_resnet.py": (SOLUTIONS / "part1_resnet.py").read_text(encoding="utf-8")}, "2026-11-01 10:00:00.000000 UTC")
    _submit(course, "partial", {"cnn_rnn/part1_resnet.py": _partial_part1()}, "2026-11-01 11:00:00.000000 UTC")
    _submit(course, "broken", {"cnn_rnn/part1_resnet.py": "def projection_shortcut(:\n"}, "2026-11-01 12:00:00.000000 UTC")
    # Answers in the notebook's solution cells; the untouched stub .py is overridden by it.
    _submit(course, "notebook", {"part1_answers.ipynb": solved_notebook}, "2026-11-01 13:00:00.000000 UTC")

    out = course / "grading"
    code = main(["grade", str(course), "--out", str(out), "--nbgrader", str(course), "--assignment", ASSIGNMENT,
                 "--part", PART, "-j", "2", "-q"])
    assert code == 0
    results = {r.student: r for r in load_results(out)}
    return course, results


def test_scores_of_the_three_kinds_of_submission(course):
    _, results = course
    assert set(results) == {"full", "partial", "broken", "notebook"}
    full = results["full"]
    assert full.total == full.max_total > 0
    assert results["notebook"].total == full.total, "answers notebook graded like the .py file"
    assert 0 < results["partial"].total < full.total
    failed = {c.check for c in results["partial"].checks if c.status != "passed"}
    assert failed and all(name.startswith("part1.receptive_field") for name in failed)
    assert results["broken"].total == 0
    assert all(c.status == "error" for c in results["broken"].checks)


def test_gradebook_holds_every_check(course):
    from nbgrader.api import Gradebook

    course_dir, results = course
    settings = course_settings(course_dir)
    with Gradebook(settings.db_url, settings.course_id) as gb:
        notebook = gb.find_notebook(NOTEBOOK, ASSIGNMENT)
        cells = {c.name: c.max_score for c in notebook.grade_cells}
        assert cells == {c.check: c.max_score for c in results["full"].checks}
        for student, r in results.items():
            for c in r.checks:
                grade = gb.find_grade(c.check, NOTEBOOK, ASSIGNMENT, student)
                assert grade.score == c.score and not grade.needs_manual_grade
        submission = gb.find_submission(ASSIGNMENT, "full")
        assert submission.timestamp.isoformat().startswith("2026-11-01T10:00")
        assert not submission.needs_manual_grade, "the notebooks' 0-point self-check cells do not wait for a grader"


def test_nbgrader_export_matches_the_grades(course, tmp_path):
    course_dir, results = course
    done = nbgrader(course_dir, "export", "--to", str(tmp_path / "grades.csv"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8"))}
    assert set(rows) == set(results)
    for student, r in results.items():
        assert rows[student]["assignment"] == ASSIGNMENT
        assert float(rows[student]["score"]) == pytest.approx(r.total)
        assert float(rows[student]["max_score"]) == pytest.approx(results["full"].max_total)


def test_regrading_updates_in_place(course):
    course_dir, results = course
    before = gradebook_scores(course_dir, ASSIGNMENT)
    write_gradebook(course_dir, ASSIGNMENT, list(results.values()))  # a second run: same rows, same scores
    assert gradebook_scores(course_dir, ASSIGNMENT) == before == {s: r.total for s, r in results.items()}


def test_nbgrader_validate_runs_the_self_check(course):
    course_dir, _ = course
    released = course_dir / "release" / ASSIGNMENT / "part1_resnet.ipynb"
    meta = [c["metadata"]["nbgrader"] for c in json.loads(released.read_text(encoding="utf-8"))["cells"]]
    assert all(m.get("checksum") for m in meta), "generate_assignment locked every cell"
    done = nbgrader(course_dir, "validate", str(released), env={"CNN_RNN_CODE": str(SOLUTIONS)})
    assert done.returncode == 0 and "Success! Your notebook passes all the tests." in done.stdout, done.stdout[-3000:]

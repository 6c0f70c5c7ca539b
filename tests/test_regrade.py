"""Regrades keep the gradebook whole and current (issue 20): one class, one gradebook.

A class of 8 (part 3 graded: the cheapest part) is graded; then one student is regraded, a hand-in
is replaced, a regrade lowers a grade with and without `--no-decrease`, and `--only timeouts`
picks the student whose code hangs. After each run grades.csv, the Canvas file and summary.md
hold every student, and changes.csv lists exactly the students whose stored result was replaced.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.examples import build_examples
from faults import faulty_solution

REPO = Path(__file__).resolve().parents[1]
PART = "part3"
STUB = REPO / "assignments" / "cnn_rnn" / "part3_lstm.py"
CLASS = ["ana", "ben", "cai", "dan", "eve", "fay", "gus", "hal"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("regrade")
    built = build_examples(root / "built", ["solution", "stubs", "p3_tokenizer_no_lowercase", "p3_gate_order_f_i_swapped"])
    subs = root / "subs"
    for student in ("ana", "ben", "cai"):
        shutil.copytree(built / "solution", subs / student)
    shutil.copytree(built / "stubs", subs / "dan")
    faulty_solution(subs / "eve", "loop")  # char_tokenize never returns: a timeout
    shutil.copytree(built / "p3_tokenizer_no_lowercase", subs / "fay")
    shutil.copytree(built / "p3_gate_order_f_i_swapped", subs / "gus")
    (subs / "hal.zip").write_bytes(b"not a zip")
    return subs, root / "out"


def _grade(subs: Path, out: Path, *extra: str) -> int:
    return main(["grade", str(subs), "--out", str(out), "-q", "--part", PART, "-j", "2", "--probe-timeout", "5",
                 "--canvas-csv", str(out / "canvas.csv"), *extra])


def _rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


def _changes(out: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader((out / "changes.csv").open(encoding="utf-8"))}


def _whole_class(out: Path) -> None:
    assert sorted(_rows(out)) == CLASS
    canvas = (out / "canvas.csv").read_text(encoding="utf-8")
    summary = (out / "summary.md").read_text(encoding="utf-8")
    for student in CLASS:
        assert f"\n{student}," in canvas, student
    assert "7 students, mean" in summary and "1 could not be graded" in summary  # hal is not a 0 in the mean


def test_regrades_keep_one_whole_current_gradebook(course, capsys):
    subs, out = course
    assert _grade(subs, out) == 1  # hal's zip is corrupt: documented exit code 1
    _whole_class(out)
    first = {name: (out / name).read_text(encoding="utf-8") for name in ("grades.csv", "canvas.csv", "results.jsonl")}
    totals = {s: r["total"] for s, r in _rows(out).items()}
    assert totals["ana"] == "15" and totals["dan"] == "0" and totals["eve"] == "14" and totals["hal"] == ""
    assert not (out / "changes.csv").exists()

    # One student regraded: every output is still the whole class, identical to the full run.
    assert _grade(subs, out, "--student", "ana") == 1
    for name, text in first.items():
        assert (out / name).read_text(encoding="utf-8") == text, name
    assert list(_changes(out)) == []  # regraded, nothing moved: counted, not listed

    # ben hands in the stub instead: regraded because his files changed, and the drop is named.
    shutil.copy(STUB, subs / "ben" / "part3_lstm.py")
    capsys.readouterr()
    assert _grade(subs, out) == 1
    assert "DECREASE ben: 15 -> 0 (resubmitted)" in capsys.readouterr().err
    assert list(_changes(out)) == ["ben"] and _changes(out)["ben"]["delta"] == "-15"
    assert _changes(out)["ben"]["provenance_changed"] == ""  # same grader, torch, threads: the hand-in moved it
    assert _rows(out)["ben"]["total"] == "0"
    _whole_class(out)
    assert "DECREASE ben" in (out / "summary.md").read_text(encoding="utf-8")

    # With --no-decrease a lower regrade keeps the higher total, and says so.
    shutil.copy(STUB, subs / "cai" / "part3_lstm.py")
    assert _grade(subs, out, "--no-decrease") == 1
    assert list(_changes(out)) == ["cai"] and _changes(out)["cai"]["kept_old_total"] == "yes"
    assert _rows(out)["cai"]["total"] == "15"
    assert "--no-decrease" in (out / "feedback" / "cai.md").read_text(encoding="utf-8")

    # --only timeouts: exactly the student whose code hangs (regraded, same grade).
    capsys.readouterr()
    assert _grade(subs, out, "--only", "timeouts") == 1
    assert "1 earlier result(s) replaced: 0 up, 0 down, 1 unchanged" in capsys.readouterr().err
    assert list(_changes(out)) == []
    _whole_class(out)


def test_only_rejects_an_unknown_selection(course, capsys):
    subs, out = course
    assert _grade(subs, out, "--only", "failed-check", "part3.nope") == 2
    assert "no check named 'part3.nope'" in capsys.readouterr().err


def test_a_changed_threshold_regrades_the_class_and_lists_who_moved(course, tmp_path):
    """The hidden suite changes after grading (the LSTM forward check made lenient, in a copy of
    the grader): the next run regrades every result graded with the old suite, and changes.csv
    lists exactly the student whose grade the threshold changed."""
    subs, out = course[0], tmp_path / "out"
    assert _grade(subs, out) == 1
    before = _rows(out)
    first_versions = {json.loads(p.read_text(encoding="utf-8"))["version"] for p in (out / "results").glob("*.json")}
    gus = out / "results" / "gus.json"
    old_assignment = json.loads(gus.read_text(encoding="utf-8"))["provenance"]["assignment"]
    grader = tmp_path / "grader"
    for folder in ("autograder", "reference", "assignments", "solutions"):
        shutil.copytree(REPO / folder, grader / folder, ignore=shutil.ignore_patterns("__pycache__", "shipped"))
    suite = grader / "autograder" / "suites" / "hidden" / "test_part3.py"
    text = suite.read_text(encoding="utf-8")
    lenient = text.replace("atol=FWD[0], rtol=FWD[1], hint=GATES_HINT)", "atol=1e9, rtol=1e9, hint=GATES_HINT)", 1)
    assert lenient != text
    suite.write_text(lenient, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "-q", "--part", PART,
                           "-j", "2", "--probe-timeout", "5"], cwd=grader, env={**os.environ, "PYTHONPATH": str(grader)},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-2000:]
    versions = {json.loads(p.read_text(encoding="utf-8"))["version"] for p in (out / "results").glob("*.json")}
    assert len(versions) == 1 and versions != first_versions  # every result regraded under the new suite
    changes = _changes(out)
    assert list(changes) == ["gus"], changes  # the swapped gates now pass the lenient forward check
    assert float(changes["gus"]["delta"]) == 3 and "part3.lstm_cell_forward: failed -> passed" in changes["gus"]["checks_changed"]
    # the changed suite is named as a possible cause, as data: the assignment version and nothing else
    new_assignment = json.loads(gus.read_text(encoding="utf-8"))["provenance"]["assignment"]
    assert old_assignment != new_assignment
    assert changes["gus"]["provenance_changed"] == f"assignment: {old_assignment} -> {new_assignment}"
    after = _rows(out)
    assert {s: after[s]["total"] for s in CLASS if s != "gus"} == {s: before[s]["total"] for s in CLASS if s != "gus"}

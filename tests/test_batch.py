"""`autograder grade` end to end on part 1: outputs, resumability, regrading one student."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.catalog import groups
from autograder.cli import main
from autograder.grade.batch import grade_all, result_path
from autograder.report.write import write_outputs

REPO = Path(__file__).resolve().parents[1]
PART = ("part1",)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    subs = root / "subs"
    shutil.copytree(REPO / "solutions" / "cnn_rnn", subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    stub = REPO / "assignments" / "cnn_rnn" / "part1_resnet.py"
    with zipfile.ZipFile(subs / "bob_cnn_rnn.zip", "w") as zf:
        zf.write(stub, "cnn_rnn/part1_resnet.py")
    (subs / "carol.zip").write_bytes(b"not a zip")
    out = root / "out"
    results = grade_all(subs, out, jobs=2, quiet=True, parts=PART)
    write_outputs(out, results)
    return subs, out, {r.student: r for r in results}


def test_scores_and_problem_rows(graded):
    _, _, results = graded
    assert results["alice"].total == results["alice"].max_total > 0
    assert results["bob"].total == 0
    assert all("尚未实现" in c.message for c in results["bob"].checks)
    assert results["carol"].problem and results["carol"].total == 0
    assert all("无法打开压缩包" in c.message for c in results["carol"].checks)
    assert [results[s].outcome for s in ("alice", "bob", "carol")] == ["graded", "graded", "ungradable"]
    assert results["carol"].problem_kind == "corrupt"


def test_output_files(graded):
    _, out, results = graded
    reader = csv.DictReader((out / "grades.csv").open(encoding="utf-8"))
    rows = list(reader)
    assert reader.fieldnames[: len(groups()) + 2] == ["student", *groups(), "total"]  # one column per check group
    assert [r["status"] for r in rows] == ["graded", "graded", "ungradable"]
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert float(rows[0]["part1"]) == results["alice"].group_scores()["part1"]
    assert float(rows[0]["total"]) == results["alice"].total
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {tuple(sorted(x)) for x in lines} == {("check", "max_score", "message", "outcome", "provenance", "score", "status", "student")}
    assert {x["status"] for x in lines} <= {"passed", "failed", "error", "timeout"}
    assert len(lines) == sum(len(r.checks) for r in results.values())
    for student in results:
        assert (out / "feedback" / f"{student}.md").read_text(encoding="utf-8").startswith(f"# 作业反馈: {student}")
        assert "<html" in (out / "feedback" / f"{student}.html").read_text(encoding="utf-8")
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pass rate" in (out / "summary.md").read_text(encoding="utf-8")


def test_rerun_skips_graded_and_student_flag_regrades(graded):
    subs, out, _ = graded
    before = {s: result_path(out, s).stat().st_mtime_ns for s in ("alice", "bob", "carol")}
    grade_all(subs, out, jobs=2, quiet=True, parts=PART)
    assert {s: result_path(out, s).stat().st_mtime_ns for s in before} == before
    regraded = grade_all(subs, out, jobs=1, quiet=True, parts=PART, students=["bob"])
    after = {s: result_path(out, s).stat().st_mtime_ns for s in before}
    assert after["bob"] != before["bob"] and after["alice"] == before["alice"]
    # The gradebook written from a regrade of one student is still the whole class.
    assert [r.student for r in regraded] == ["alice", "bob", "carol"]


def test_resubmission_and_a_changed_grader_are_regraded(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    stub, solution = (REPO / d / "cnn_rnn" / "part1_resnet.py" for d in ("assignments", "solutions"))
    for student in ("dan", "eve"):
        (subs / student).mkdir(parents=True)
        shutil.copy(stub, subs / student / "part1_resnet.py")
    first = {r.student: r for r in grade_all(subs, out, jobs=2, quiet=True, parts=PART)}
    assert first["dan"].total == first["eve"].total == 0
    shutil.copy(solution, subs / "dan" / "part1_resnet.py")  # dan hands in again, eve does not
    stored = json.loads(result_path(out, "eve").read_text(encoding="utf-8"))
    stored["version"] = "graded-by-an-older-suite"
    result_path(out, "eve").write_text(json.dumps(stored), encoding="utf-8")
    again = {r.student: r for r in grade_all(subs, out, jobs=2, quiet=True, parts=PART)}
    assert again["dan"].total == again["dan"].max_total  # the new hand-in, not the old grade
    assert again["eve"].version != "graded-by-an-older-suite"  # regraded with the current suite
    before = {s: result_path(out, s).stat().st_mtime_ns for s in ("dan", "eve")}
    grade_all(subs, out, jobs=2, quiet=True, parts=PART)  # nothing changed: nothing regraded
    assert {s: result_path(out, s).stat().st_mtime_ns for s in before} == before


def test_the_command_says_when_hand_ins_could_not_be_graded(graded, tmp_path, capsys):
    subs, out, _ = graded
    assert main(["grade", str(subs), "--out", str(out), "-q", "--part", "part1"]) == 1  # documented: some ungradable
    err = capsys.readouterr().err
    assert "1 submission(s) could not be graded" in err and "carol: [corrupt]" in err


def test_unknown_student_and_missing_folder_are_clear(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "subs" / "x").mkdir(parents=True)
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "o"), "--student", "ghost"]) == 2
    assert "ghost" in capsys.readouterr().err


def test_a_batch_leaves_nothing_behind_in_the_temporary_folder(tmp_path):
    """Logs, runtime copies, shared inputs, unpacked hand-ins: all gone when `grade` returns,
    including what its pool processes made."""
    scratch, subs = tmp_path / "tmp", tmp_path / "subs"
    scratch.mkdir()
    shutil.copytree(REPO / "solutions" / "cnn_rnn", subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "assignments" / "cnn_rnn", subs / "bob", ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "carol.zip").write_bytes(b"not a zip")
    env = {**os.environ, "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(tmp_path / "out"), "-q",
                           "--part", "part3", "-j", "2"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # carol could not be graded
    # torch itself leaves its compiler cache folder (torchinductor_<user>) on a bare import: that
    # is torch's per-user cache, not the grader's; anything beyond what a bare import leaves is.
    bare = tmp_path / "bare"
    bare.mkdir()
    subprocess.run([sys.executable, "-c", "import torch, torchvision"], env={**os.environ, "TMPDIR": str(bare)}, check=True)
    assert sorted(p.name for p in scratch.iterdir()) == sorted(p.name for p in bare.iterdir())

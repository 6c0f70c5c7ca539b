"""kill -9 the grader at any moment, run the same command again: the gradebook ends up complete,
with no missing, duplicated or half-written row."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.catalog import checks_of

REPO = Path(__file__).resolve().parents[1]
# Part 3 (small LSTMs): the cheapest part to grade; what is tested is the gradebook, not the part.
PART = "part3"
PART_MAX = sum(m.points for m in checks_of("hidden") if m.group == PART)
STUDENTS = [f"s{i}" for i in range(6)]


def _command(subs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--jobs", "2", "--part", PART, "-q"]


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    for i, student in enumerate(STUDENTS):
        source = REPO / ("solutions" if i % 2 == 0 else "assignments") / "cnn_rnn" / "part3_lstm.py"
        (tmp_path / "subs" / student).mkdir(parents=True)
        shutil.copyfile(source, tmp_path / "subs" / student / "part3_lstm.py")
    return tmp_path / "subs"


def _kill_when(proc: subprocess.Popen, out: Path, results_before_kill: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list((out / "results").glob("*.json"))) if (out / "results").is_dir() else 0
        if done >= results_before_kill:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return done
        time.sleep(0.05)
    pytest.fail("the grader finished or stalled before the kill point")


@pytest.mark.parametrize("kill_after", [0, 2])
def test_kill_minus_9_then_rerun_gives_a_complete_gradebook(subs: Path, tmp_path: Path, kill_after: int):
    out = tmp_path / "out"
    proc = subprocess.Popen(_command(subs, out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after:
        done = _kill_when(proc, out, kill_after)
        assert done < len(STUDENTS), "killed too late to test anything"
    else:
        time.sleep(1.0)  # mid start-up: pool spawning, nothing graded yet
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    rerun = subprocess.run(_command(subs, out), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

    results = sorted((out / "results").iterdir())
    assert [p.name for p in results] == [f"{s}.json" for s in STUDENTS]  # no leftovers, no tmp files
    totals = {json.loads(p.read_text())["student"]: json.loads(p.read_text())["total"] for p in results}
    assert totals == {s: (PART_MAX if i % 2 == 0 else 0.0) for i, s in enumerate(STUDENTS)}
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == STUDENTS
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = [(x["student"], x["check"]) for x in lines]
    assert len(pairs) == len(set(pairs)) == len(STUDENTS) * len(lines) // len(STUDENTS)
    assert {x["student"] for x in lines} == set(STUDENTS)


def test_unreadable_submission_gets_a_row_and_loses_nothing(subs: Path, tmp_path: Path):
    target = subs / "s1" / "part3_lstm.py"
    target.unlink()
    if os.geteuid() == 0:  # root reads any file: a directory in its place is what cannot be read
        target.mkdir()
        expected = "没有找到"
    else:
        target.write_text("x = 1\n")
        target.chmod(0)
        expected = "无法读取"
    out = tmp_path / "out"
    run = subprocess.run(_command(subs, out), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr[-2000:]  # documented: outputs written, a hand-in ungradable
    broken = json.loads((out / "results" / "s1.json").read_text())
    assert broken["total"] == 0 and expected in broken["problem"]
    for i, student in enumerate(STUDENTS):
        if student != "s1":
            assert json.loads((out / "results" / f"{student}.json").read_text())["total"] == (PART_MAX if i % 2 == 0 else 0.0)


def test_a_failing_grader_records_nothing_and_says_so(subs: Path, tmp_path: Path):
    """With too little memory even to import torch, the fork server cannot start: that is the
    grader's failure, not five zeros; nothing is recorded and the same command retries."""
    from autograder.grade.batch import GraderFailure, grade_all
    from autograder.config import Limits

    out = tmp_path / "out"
    with pytest.raises(GraderFailure, match="the grader failed on 6 submission"):
        grade_all(subs, out, jobs=2, quiet=True, parts=(PART,), limits=Limits(memory_mb=64))
    assert list((out / "results").glob("*.json")) == []
    results = grade_all(subs, out, jobs=2, quiet=True, parts=(PART,))
    assert sorted(r.student for r in results) == STUDENTS

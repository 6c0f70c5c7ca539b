"""One per-submission path, one outcome model, in every mode.

The local pool, a Dask cluster and Gradescope's `run_autograder` must give the same outcome
kind (StudentResult.outcome, problem_kind) for:

* a clean submission (the solution): graded;
* an "archive" that is not one: ungradable, kind "corrupt";
* a broken hidden suite (the grader's fault, in a copy of the grader): grader_fault, kind
  "suite", and nothing recorded for the student (a batch lists it in grader_faults.jsonl;
  run_autograder writes no results.json, and grader_fault.json instead).

Part 3 only (the cheapest part). Each mode reads what it wrote as data, never its messages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dask_local import dask_cluster
from test_gradescope import autograder_zip, lay_out, needs_root, python_for_student, run_script  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[1]
PART = "part3"
SOLUTION = REPO / "solutions" / "cnn_rnn"
EXPECTED = {"clean": ("graded", ""), "bad_zip": ("ungradable", "corrupt"), "fault": ("grader_fault", "suite")}
BROKEN = '\nraise RuntimeError("a broken suite")\n'


@pytest.fixture(scope="module")
def broken_grader(tmp_path_factory) -> Path:
    """A copy of the grader whose part 3 hidden suite does not load."""
    grader = tmp_path_factory.mktemp("broken_grader")
    for folder in ("autograder", "reference", "assignments", "solutions"):
        shutil.copytree(REPO / folder, grader / folder, ignore=shutil.ignore_patterns("__pycache__", "shipped"))
    suite = grader / "autograder" / "suites" / "hidden" / "test_part3.py"
    suite.write_text(suite.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
    return grader


@pytest.fixture(scope="module")
def hand_ins(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("modes") / "class"
    shutil.copytree(SOLUTION, root / "clean", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "bad_zip.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    return root


def _batch_outcomes(grader: Path, subs: Path, out: Path, *extra: str) -> tuple[tuple[int, str], dict[str, tuple[str, str]]]:
    """`autograder grade` run from `grader`: its exit code and every student's (outcome, kind),
    from the stored results and the run's grader_faults.jsonl."""
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "-q", "--part", PART, "-j", "1", *extra],
                          cwd=grader, env={**os.environ, "PYTHONPATH": str(grader)}, capture_output=True, text=True, timeout=600)
    kinds = {}
    for path in sorted((out / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        kinds[data["student"]] = (data["outcome"], data.get("problem_kind", ""))
    faults = out / "grader_faults.jsonl"
    for line in faults.read_text(encoding="utf-8").splitlines() if faults.exists() else ():
        data = json.loads(line)
        assert data["student"] not in kinds, "a grader fault must not be recorded as a result"
        kinds[data["student"]] = (data["outcome"], data["problem_kind"])
    return (done.returncode, done.stderr[-3000:]), kinds


def _gradescope_outcome(root: Path, python: str) -> tuple[str, str]:
    done = run_script(root, python, CNN_RNN_RUN_AS="nobody", CNN_RNN_PARTS=PART)
    results, fault = root / "results" / "results.json", root / "results" / "grader_fault.json"
    if done.returncode == 0:
        assert results.exists() and not fault.exists(), done.stderr[-2000:]
        extra = json.loads(results.read_text(encoding="utf-8"))["extra_data"]
        return extra["outcome"], extra["problem_kind"]
    assert done.returncode == 1 and not results.exists() and fault.exists(), done.stderr[-2000:]
    data = json.loads(fault.read_text(encoding="utf-8"))
    return data["outcome"], data["problem_kind"]


@needs_root
def test_every_mode_gives_the_same_outcome_kinds(hand_ins, broken_grader, autograder_zip, python_for_student, tmp_path):  # noqa: F811
    seen: dict[str, dict[str, tuple[str, str]]] = {}

    # The local pool: the real grader, then the broken one (exit 1: an ungradable hand-in; 3: a grader fault).
    code, kinds = _batch_outcomes(REPO, hand_ins, tmp_path / "local")
    code_broken, kinds_broken = _batch_outcomes(broken_grader, hand_ins, tmp_path / "local_broken")
    assert code[0] == 1, code[1]
    assert code_broken[0] == 3, code_broken[1]
    seen["local pool"] = {"clean": kinds["clean"], "bad_zip": kinds["bad_zip"], "fault": kinds_broken["clean"]}

    # Dask: a scheduler and a worker running each grader, the coordinator the same grader.
    for grader, out in ((REPO, "dask"), (broken_grader, "dask_broken")):
        (tmp_path / out).mkdir()
        with dask_cluster(grader, tmp_path / out) as address:
            code, kinds = _batch_outcomes(grader, hand_ins, tmp_path / out / "out", "--scheduler", address)
        assert code[0] == (1 if grader == REPO else 3), code[1]
        seen.setdefault("dask", {}).update({"clean": kinds["clean"], "bad_zip": kinds["bad_zip"]} if grader == REPO
                                           else {"fault": kinds["clean"]})

    # Gradescope: the autograder zip on a simulated /autograder tree, student code as `nobody`.
    clean = {p.name: p.read_text(encoding="utf-8") for p in SOLUTION.glob("part*.py")}
    roots = {"clean": lay_out(autograder_zip, clean), "bad_zip": lay_out(autograder_zip, {"bad_zip.zip": b"PK\x03\x04 this is not a zip"}),
             "fault": lay_out(autograder_zip, clean)}
    suite = roots["fault"] / "source" / "autograder" / "suites" / "hidden" / "test_part3.py"
    suite.write_text(suite.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
    try:
        seen["gradescope"] = {case: _gradescope_outcome(root, python_for_student) for case, root in roots.items()}
    finally:
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)

    assert seen == {mode: EXPECTED for mode in ("local pool", "dask", "gradescope")}, seen

"""Grades carry their provenance: grader and assignment versions, Python, torch and torchvision
versions, thread counts and device, in results/<student>.json, results.jsonl and the feedback."""

from __future__ import annotations

import json
import platform

import pytest
import torch
import torchvision

from autograder.catalog import check_functions
from autograder.config import GradingConfig
from autograder.report.feedback import html_page, markdown
from autograder.report.files import results_jsonl
from autograder.results import CheckResult, StudentResult
from autograder.runtime.assignment import REPO

KEYS = {"grader", "assignment", "python", "torch", "torchvision", "threads", "worker_threads", "device"}


def test_grade_folder_records_where_the_grade_was_computed(monkeypatch):
    import autograder.grading as grading
    from autograder.expect import assignment_version

    one = [fn for fn in check_functions("hidden", ("part3",)) if fn.__check__.name == "part3.char_tokenize"]
    monkeypatch.setattr(grading, "check_functions", lambda suite, parts=None: one)
    result = grading.grade_folder("s1", REPO / "solutions" / "cnn_rnn", GradingConfig(parts=("part3",)))
    assert result.total == result.max_total > 0
    p = result.provenance
    assert set(p) == KEYS
    assert (p["torch"], p["torchvision"], p["python"]) == (torch.__version__, torchvision.__version__, platform.python_version())
    assert p["assignment"] == assignment_version() and p["threads"] == torch.get_num_threads() and p["device"] == "cpu"
    assert StudentResult.from_dict(json.loads(json.dumps(result.to_dict()))).provenance == p


def test_results_stored_before_provenance_still_load():
    old = StudentResult("ana", [CheckResult("part3.x", "part3", 1.0, 1.0, "passed", "")]).to_dict()
    del old["provenance"]
    r = StudentResult.from_dict(old)
    assert r.provenance == {} and r.total == 1.0
    assert "评分程序" not in markdown(r) and "<footer" not in html_page(r)


def test_feedback_and_results_jsonl_show_it():
    p = {"grader": "0.1.0", "assignment": "abc123", "python": "3.11.7", "torch": "2.4.1", "torchvision": "0.19.1",
         "threads": 2, "worker_threads": 1, "device": "cpu"}
    r = StudentResult("ana", [CheckResult("part3.x", "part3", 1.0, 1.0, "passed", "")], provenance=p)
    for text in (markdown(r), html_page(r)):
        assert "torch 2.4.1" in text and "torchvision 0.19.1" in text and "Python 3.11.7" in text and "abc123" in text
        assert "2 线程" in text and "设备 cpu" in text
    assert json.loads(results_jsonl([r]).splitlines()[0])["provenance"] == p


def test_changes_csv_names_a_change_of_provenance_as_a_possible_cause(tmp_path):
    """A regrade that moved a grade says, in its own column of changes.csv, what else changed
    between the stored and the new grading: torch, thread count, versions, device."""
    import csv

    from autograder.grade.batch import PROVENANCE_UNKNOWN, _change, write_changes

    before = {"grader": "0.1.0", "assignment": "aaa", "python": "3.11.7", "torch": "2.4.1", "torchvision": "0.19.1",
              "threads": 1, "worker_threads": 1, "device": "cpu"}
    after = {**before, "assignment": "bbb", "torch": "2.14.1", "torchvision": "0.29.1", "threads": 2}

    def result(student: str, status: str, provenance: dict) -> StudentResult:
        points = 1.0 if status == "passed" else 0.0
        return StudentResult(student, [CheckResult("part4.generate_temperature", "part4", points, 1.0, status, "")], provenance=provenance)

    changes = [
        _change(result("ana", "passed", before), result("ana", "failed", after), "graded with another grader version or other parts", False),
        _change(result("ben", "passed", after), result("ben", "failed", after), "resubmitted", False),
        _change(result("cai", "failed", {}), result("cai", "passed", after), "forced", False),
        _change(result("dan", "passed", before), result("dan", "passed", after), "forced", False),  # nothing moved: not listed
    ]
    rows = {r["student"]: r for r in csv.DictReader(write_changes(tmp_path, changes).open(encoding="utf-8"))}
    assert sorted(rows) == ["ana", "ben", "cai"]
    assert rows["ana"]["provenance_changed"] == ("assignment: aaa -> bbb; torch: 2.4.1 -> 2.14.1; torchvision: 0.19.1 -> 0.29.1; "
                                                 "threads: 1 -> 2")
    assert rows["ana"]["checks_changed"] == "part4.generate_temperature: passed -> failed"
    assert rows["ben"]["provenance_changed"] == ""  # graded alike: the hand-in is the cause
    assert rows["cai"]["provenance_changed"] == PROVENANCE_UNKNOWN  # stored before provenance was recorded
    device = _change(result("eve", "passed", before), result("eve", "failed", {**before, "device": "cuda"}), "forced", False)
    assert device.provenance == ("device: cpu -> cuda",)


def _grade_on(device: str, tmp_path, capsys) -> tuple[int, str]:
    from autograder.cli import main

    (tmp_path / "subs" / "ana").mkdir(parents=True)
    code = main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "-q", "--device", device])
    return code, capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present: the refusal without one cannot be seen here")
def test_grading_on_cuda_without_a_gpu_says_so_and_exits_2(tmp_path, capsys):
    code, err = _grade_on("cuda", tmp_path, capsys)
    assert code == 2 and "--device cuda: no CUDA GPU is visible to this torch" in err and "nothing was graded" in err
    assert not (tmp_path / "out").exists()  # refused before anything was read or written


def test_grading_on_cuda_with_a_gpu_is_refused_until_the_gpu_path_exists(tmp_path, capsys, monkeypatch):
    """Not built (docs/REPRODUCIBILITY.md, "GPU"): a GPU is never used, and never silently
    replaced by the CPU either."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H100")
    code, err = _grade_on("cuda", tmp_path, capsys)
    assert code == 2 and "a GPU is present (NVIDIA H100), but grading on the GPU is not implemented yet" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine: the refusal on a real GPU is not exercised")
def test_grading_on_a_real_gpu_is_refused_too(tmp_path, capsys):
    code, err = _grade_on("cuda", tmp_path, capsys)
    assert code == 2 and "grading on the GPU is not implemented yet" in err and not (tmp_path / "out").exists()


def test_the_device_recorded_is_where_workers_compute():
    from autograder.grade.command import device_refusal
    from autograder.grading import provenance

    assert device_refusal("cpu") == "" and provenance()["device"] == "cpu"  # the only device a grade is computed on

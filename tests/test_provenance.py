"""Grades carry their provenance: grader and assignment versions, Python, torch and torchvision
versions, thread counts and device, in results/<student>.json, results.jsonl and the feedback."""

from __future__ import annotations

import json
import platform

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

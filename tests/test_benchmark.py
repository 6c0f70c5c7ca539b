"""The grading-speed benchmark runs end to end in a small version (so it cannot rot), and every
runner's result is checked: each baseline must grade every submission exactly as the example's
known result and as this package (benchmarks/grading_speed.py aborts otherwise). Its figures are
reported by `make bench`, never asserted here: timings are not tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import grading_speed  # noqa: E402
from autograder.examples import mutants  # noqa: E402
from autograder.runtime.assignment import PARTS, part_of  # noqa: E402

RUNNERS = {"known", "ours", *grading_speed.BASELINES}


def test_small_benchmark_checks_every_baseline(tmp_path: Path):
    """N = 3 (the solution, the stubs, part 3's first wrong example), part 3 only, every baseline:
    the floor, nbgrader serial and in 2 processes, the naive pytest runner. Dask (tests/test_cluster.py),
    the self-check timings and Top-K (below) are left to their own tests and to `make bench`."""
    out = tmp_path / "latest.json"
    args = ["--n", "3", "--parts", "part3", "--jobs", "2", "--skip", "dask", "check", "topk", "--out", str(out)]
    assert grading_speed.main(args) == 0
    report = json.loads(out.read_text())
    assert report["baselines_checked"] is True
    assert set(report["checked"]) == RUNNERS - {"known"}
    scores = report["scores"]
    assert sorted(scores) == ["s000_solution", "s001_stubs", "s002_" + grading_speed.example_order(("part3",))[2]]
    for name, row in scores.items():
        assert set(row) == RUNNERS and len(set(row.values())) == 1, (name, row)
    assert scores["s000_solution"]["known"] == 15 and scores["s001_stubs"]["known"] == 0
    assert 0 < scores["s002_" + grading_speed.example_order(("part3",))[2]]["known"] < 15
    for key in ("isolation_efficiency", "speedup_vs_nbgrader", "speedup_vs_nbgrader_parallel", "speedup_vs_naive", "peak_rss_mb"):
        assert isinstance(report[key], (int, float)), key
    assert report["check_part_vs_import"] is None and report["topk_vs_faiss_1m"] is None  # skipped here
    assert report["commit"] and report["command"].startswith("python benchmarks/grading_speed.py --n 3")
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"] and report["machine"]["torch"]
    assert len(report["load_average_before"]) == len(report["load_average_after"]) == 3
    assert report["n_submissions"] == 3
    split = report["floor"]["split_total_s"]
    assert set(split) == {"submission_own_calls", "probe_scaffolding", "trusted_side", "successful_probes"}


def test_a_baseline_that_grades_otherwise_aborts_the_benchmark():
    known = {"s000_solution": {"kind": "solution", "total": 15.0, "failed": []}}
    grading_speed.verify("same", {"s000_solution": {"total": 15.0, "failed": []}}, known)
    for got in ({"s000_solution": {"total": 0.0, "failed": []}},  # a score of its own
                {"s000_solution": {"total": 15.0, "failed": ["part3.lstm_cell"]}},  # another failed check
                {}):  # a submission it never graded
        with pytest.raises(grading_speed.Aborted):
            grading_speed.verify("broken", got, known)


def test_the_default_class_is_every_example_and_any_seven_cover_every_part():
    order = grading_speed.example_order(tuple(PARTS))
    assert len(order) == len(set(order)) == 2 + len(mutants())
    assert order[:2] == ["solution", "stubs"]
    by_name = {m.name: part_of(m.file) for m in mutants()}
    assert [by_name[name] for name in order[2:7]] == list(PARTS)


def test_the_naive_runner_knows_every_check_by_its_pytest_name():
    """pytest's JUnit XML names a check by its attribute in the suite module, which is not always its function's name."""
    from autograder.catalog import checks_of

    names = grading_speed.test_names(tuple(PARTS))
    assert sorted(names.values()) == sorted(m.name for m in checks_of("hidden"))


def test_topk_against_faiss_runs(tmp_path: Path):
    """A 50,000-row Top-K instead of 1,000,000: the chunked solution never holds the 100 x 50,000
    score matrix of the reference at once."""
    topk = grading_speed.bench_topk([50_000])["50000"]
    assert topk["ratio_solution_over_faiss"] > 0
    assert topk["solution"]["peak_extra_mb"] < topk["reference"]["peak_extra_mb"]

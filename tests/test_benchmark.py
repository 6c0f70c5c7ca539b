"""The grading-speed benchmark runs end to end in a small version (so it cannot rot).
Its figures are reported by `make bench`, never asserted here: timings are not tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import grading_speed  # noqa: E402

KEYS = ("speedup_vs_nbgrader", "speedup_vs_naive", "overhead_s_median", "check_all_parts_s", "topk_vs_faiss_1m")


def test_small_benchmark_writes_its_report(tmp_path: Path):
    out = tmp_path / "latest.json"
    assert grading_speed.main(["--n", "5", "--nbgrader-n", "1", "--topk-sizes", "20000", "1000000", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in KEYS:
        assert isinstance(report[key], (int, float)), (key, report.get(key), report.get("nbgrader"))
    assert report["machine"]["cores"] >= 1 and report["date"]
    assert report["topk"]["1000000"]["solution"]["peak_extra_mb"] < 1000  # chunked, not a Q x N matrix

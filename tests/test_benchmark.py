"""The grading-speed benchmark runs end to end in a small version (so it cannot rot).
Its figures are reported by `make bench`, never asserted here: timings are not tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import grading_speed  # noqa: E402

KEYS = ("speedup_vs_nbgrader", "speedup_vs_naive", "overhead_s_median", "check_all_parts_s", "dask_overhead_pct")


def test_small_benchmark_writes_its_report(tmp_path: Path):
    """N = 3 (nbgrader: 1 notebook), one part's self-check timed alone and a 50,000-row Top-K instead of 1,000,000 keep CI short;
    `topk_vs_faiss_1m` is then absent (null) by design and reported by `make bench`."""
    out = tmp_path / "latest.json"
    assert grading_speed.main(["--n", "3", "--nbgrader-n", "1", "--topk-sizes", "50000", "--check-parts", "part3", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in KEYS:
        assert isinstance(report[key], (int, float)), (key, report.get(key), report.get("nbgrader"))
    assert report["topk_vs_faiss_1m"] is None
    assert report["machine"]["cores"] >= 1 and report["date"]
    assert [row["machines"] for row in report["dask"]["estimate_5000"]] == [1, 4, 16, 64]
    topk = report["topk"]["50000"]
    assert topk["ratio_solution_over_faiss"] > 0
    # the chunked solution never holds the 100 x 50,000 score matrix of the reference at once
    assert topk["solution"]["peak_extra_mb"] < topk["reference"]["peak_extra_mb"]

"""The class report of a large class stays small: what grows with the class is one row per student
(the students table) and the folded lists of names; the heat map of a class above HEATMAP_MAX is
drawn per band of students, the same size for 400 students as for 1,600. The budget below keeps a
class of 2,000 well under issue 26's 5 MB (benchmarks/class_scale.py measures 2,000 from real
results: docs/BENCHMARKS.md).

The classes are synthesised as the benchmark does (`class_scale.synthesise`), from results shaped
like the example class's: the solution, the stubs, and each wrong example failing the checks it
lists (examples/wrong_submissions), plus a corrupt zip's row."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import class_scale  # noqa: E402

from autograder.catalog import checks_of, zero_results  # noqa: E402
from autograder.examples import mutants  # noqa: E402
from autograder.report import class_html  # noqa: E402
from autograder.results import CheckResult, StudentResult  # noqa: E402
from tests.browser import chromium, open_page  # noqa: E402

FIXED_BYTES = 300_000  # the page without its students: style, histogram, checks and causes, heat map
BYTES_PER_STUDENT = 1_000  # a row in the students table, the links that name them in the folded lists
BUDGET_2000 = 5_000_000  # issue 26
HEATMAP_CELL_BYTES = 600  # a banded cell: its style (a stop per colour of the legend) and its title


def _examples() -> list[StudentResult]:
    metas = checks_of("hidden")

    def result(name: str, failing: dict[str, str]) -> StudentResult:
        checks = []
        for m in metas:
            kind = failing.get(m.name, "")
            message = ("尚未实现 (not implemented): NotImplementedError" if kind == "not_implemented"
                       else f"{m.title}：结果不对（{name}）" if kind else "")
            checks.append(CheckResult(m.name, m.group, 0.0 if kind else m.points, m.points, "error" if kind == "not_implemented" else
                                      "failed" if kind else "passed", message, title=m.title, kind=kind,
                                      hint="对照题目里的公式逐项检查" if kind == "wrong_value" else ""))
        return StudentResult(name, checks, provenance={"grader": "test"}, notes=["文件名大小写不对"] if name == "solution" else [])

    found = [result("solution", {}), result("stubs", {m.name: "not_implemented" for m in metas})]
    found += [result(m.name, dict.fromkeys(m.fails, "wrong_value")) for m in mutants()]
    found.append(StudentResult("broken", zero_results("无法打开压缩包"), problem="无法打开压缩包", outcome="ungradable", problem_kind="corrupt"))
    return found


@pytest.fixture(scope="module")
def pages() -> dict[int, str]:
    real = _examples()
    return {n: class_html.html_report(class_scale.synthesise(real, [f"s{i:05d}" for i in range(n)], seed=n)) for n in (200, 400, 1600)}


def test_report_size_grows_by_a_row_per_student(pages):
    size = {n: len(page.encode("utf-8")) for n, page in pages.items()}
    per_student = (size[1600] - size[400]) / 1200
    assert per_student < BYTES_PER_STUDENT, size
    assert size[400] < FIXED_BYTES + 400 * BYTES_PER_STUDENT, size
    assert size[1600] + 400 * per_student < BUDGET_2000 / 2, size  # 2,000 students: well under 5 MB


def test_heat_map_is_banded_above_the_limit_and_does_not_grow(pages):
    small, large = (pages[n].split("id='heatmap-section'", 1)[1].split("</table>", 1)[0] for n in (400, 1600))
    assert "class='banded'" in small and "class='banded'" in large
    checks = len(checks_of("hidden"))
    assert large.count("<td class='c b'") == checks * class_html.BANDS and large.count("<th class='band'") == class_html.BANDS
    # Its size depends on the checks and the bands (at most every colour of the legend in a cell), not on the class.
    assert len(small) < HEATMAP_CELL_BYTES * checks * class_html.BANDS and len(large) < HEATMAP_CELL_BYTES * checks * class_html.BANDS
    assert len(large) < 1.2 * len(small)
    # Below the limit: one column per graded student.
    assert "class='banded'" not in pages[200] and pages[200].count("<th class='student'>") > 150


def test_long_lists_of_names_are_folded(pages):
    page = pages[1600]
    checks = page.split("<table id='checks'>", 1)[1].split("</table>", 1)[0]
    for cause in re.findall(r"<span class='who'>(.*?)</span>", checks):
        shown = cause.split("<details>", 1)[0]
        assert shown.count("<a ") <= class_html.NAMES_SHOWN


def test_banded_report_in_chromium(pages, tmp_path):
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page = tmp_path / "class_report.html"
    page.write_text(pages[400], encoding="utf-8")
    report = open_page(page, "[document.querySelector('#heatmap').rows.length, document.querySelector('#students').rows.length,"
                             " document.querySelector('#heatmap td.b').getBoundingClientRect().width]", max_height=800)
    assert report.errors == []
    rows, students, width = report.value
    assert rows == 1 + len(checks_of("hidden")) + len({m.group for m in checks_of("hidden")}) and students == 401 and width > 30


def test_unchanged_feedback_pages_are_not_rewritten(tmp_path):
    from autograder.report.write import write_outputs

    results = class_scale.synthesise(_examples(), ["ann", "bob", "cyd"], seed=1)
    write_outputs(tmp_path, results)
    pages = sorted((tmp_path / "feedback").iterdir())
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in pages}
    results[1] = StudentResult.from_dict(results[1].to_dict() | {"late_penalty": 1.0, "late_note": "迟交 1 天"})
    write_outputs(tmp_path, results)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in pages}
    assert [name for name in before if before[name] != after[name]] == ["bob.html", "bob.md"]  # an atomic write is a new inode
    assert "迟交 1 天" in (tmp_path / "feedback" / "bob.md").read_text(encoding="utf-8")

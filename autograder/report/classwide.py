"""Class statistics, computed once for every report (summary.md, class_report.html, histogram.png):
totals, pass rates and failure causes per check grouped by hint, score distribution, part means.

Only graded submissions count (`StudentResult.graded`): an ungradable hand-in's zeros are not a
score, so it is left out of every statistic here and listed by `ungradable()` instead.

A failed check's message ends with `提示: <hint>` when the check names the likely bug
(`autograder.checks._with_hint`); that hint is the cause. Messages without one are grouped by
their kind (not implemented, an exception type, timeout, crash, missing file), never by raw text,
which holds each student's own numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from autograder.results import CheckResult, StudentResult

HINT_MARK = "\n提示: "
BINS = 20  # histogram bins over [0, max]: the one binning of the SVG and the PNG


def graded(results: list[StudentResult]) -> list[StudentResult]:
    """The results whose totals are grades: the only ones any statistic counts."""
    return [r for r in results if r.graded]


def ungradable(results: list[StudentResult]) -> list[StudentResult]:
    """Submissions that could not be graded, by student: listed with their reason, never counted."""
    return sorted((r for r in results if r.outcome == "ungradable"), key=lambda r: r.student)


@dataclass(frozen=True)
class Totals:
    n: int  # graded students
    mean: float
    median: float
    low: float
    high: float
    ungradable: int  # left out of the numbers above

    def describe(self) -> str:
        """One line: "3 students, mean 50.0, median 50, min 0, max 100; 1 could not be graded (not counted)"."""
        head = (f"{self.n} students, mean {self.mean:.1f}, median {self.median:g}, min {self.low:g}, max {self.high:g}"
                if self.n else "no graded students")
        return head + (f"; {self.ungradable} could not be graded (not counted)" if self.ungradable else "")


def totals(results: list[StudentResult]) -> Totals:
    """Count, mean, (upper) median, min and max of the graded students' totals."""
    xs = sorted(r.total for r in graded(results))
    skipped = len(ungradable(results))
    if not xs:
        return Totals(0, 0.0, 0.0, 0.0, 0.0, skipped)
    return Totals(len(xs), sum(xs) / len(xs), xs[len(xs) // 2], xs[0], xs[-1], skipped)


@dataclass(frozen=True)
class CheckStats:
    check: str
    title: str
    n: int
    passed: int
    causes: list[tuple[str, int]]  # most common first

    @property
    def failed(self) -> int:
        return self.n - self.passed

    @property
    def rate(self) -> float:
        """The pass rate over graded students (the one pass-rate calculation of the reports)."""
        return self.passed / self.n if self.n else 0.0


def cause(c: CheckResult) -> str:
    """The failure category of one failed check."""
    msg = c.message or ""
    if HINT_MARK in msg:
        return msg.rsplit(HINT_MARK, 1)[1].strip().splitlines()[0]
    if c.status == "timeout" or msg.startswith("超时"):
        return "超时 (timeout)：死循环或太慢"
    if "尚未实现" in msg:
        return "尚未实现 (not implemented)"
    if "找不到你的文件" in msg or "没有找到任何 part" in msg:
        return "缺少文件"
    if "进程异常退出" in msg:
        return "运行时进程崩溃 (crash)"
    if m := re.search(r"抛出了异常 (\w+)", msg):
        return f"抛出异常 {m.group(1)}"
    if "数值不对" in msg:
        return "数值不对（无提示）"
    if "形状 (shape)" in msg:
        return "形状不对（无提示）"
    first = re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", msg.split("\n", 1)[0])
    return first[:80] or "未通过（无说明）"


def check_stats(results: list[StudentResult], top: int = 5) -> list[CheckStats]:
    """Per check, in suite order: graded students, how many passed, the most common failure causes.
    An ungradable submission tells nothing about a check and is not counted."""
    order: dict[str, list[CheckResult]] = {}
    for r in graded(results):
        for c in r.checks:
            order.setdefault(c.check, []).append(c)
    out = []
    for name, cs in order.items():
        causes = Counter(cause(c) for c in cs if c.status != "passed").most_common(top)
        out.append(CheckStats(name, cs[0].title, len(cs), sum(c.status == "passed" for c in cs), causes))
    return out


def part_means(results: list[StudentResult]) -> list[tuple[str, float, float]]:
    """(part, mean score, max score) over the graded students, in suite order."""
    results = graded(results)
    sums: dict[str, float] = {}
    maxes: dict[str, float] = {}
    for r in results:
        mine: dict[str, float] = {}
        for c in r.checks:
            sums[c.group] = sums.get(c.group, 0.0) + c.score
            mine[c.group] = mine.get(c.group, 0.0) + c.max_score
        for g, m in mine.items():
            maxes[g] = max(maxes.get(g, 0.0), m)
    n = max(len(results), 1)
    return [(g, sums[g] / n, maxes[g]) for g in sums]


def histogram(results: list[StudentResult], bins: int = BINS) -> tuple[float, list[int]]:
    """(upper bound, counts of the graded totals in `bins` equal bins over [0, upper]); the top bin
    is closed. The one binning of every histogram (class_report.html's SVG, histogram.png)."""
    top = max((r.max_total for r in results), default=0.0) or 100.0
    counts = [0] * bins
    for r in graded(results):
        counts[min(bins - 1, int(r.total / top * bins))] += 1
    return top, counts

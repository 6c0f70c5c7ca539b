"""Class statistics, computed once for every report (summary.md, class_report.html, histogram.png):
totals, pass rates and failure causes per check, score distribution, part means.

Only graded submissions count (`StudentResult.graded`): an ungradable hand-in's zeros are not a
score, so it is left out of every statistic here and listed by `ungradable()` instead.

A cause is what the checks recorded as data: the failure's kind (`CheckResult.kind`, decided where
the check failed) and the hint the check gave for that kind. Causes are grouped by (check, kind,
hint) and named by looking the kind up in `KIND_TEXT`: nothing here reads the feedback's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.results import KINDS, CheckResult, StudentResult

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


# The reports' words for each failure kind (English, for the instructor; the hints stay the
# checks' own Chinese). "" is a result stored before kinds were recorded.
KIND_TEXT = {
    "not_implemented": "not implemented",
    "missing_file": "file missing from the hand-in",
    "import_error": "module fails to import",
    "exception": "the function raised an exception",
    "timeout": "timed out (endless loop or too slow)",
    "crash": "the process running it died",
    "wrong_type": "wrong type of result",
    "empty": "empty result",
    "nan": "NaN/Inf in the result",
    "wrong_shape": "wrong shape",
    "wrong_dtype": "wrong dtype",
    "wrong_value": "wrong values",
    "modified_input": "changed its input in place",
    "own_work": "a library call does the exercise's work",
    "charged": "brought the grader down twice (part charged)",
    "ungradable": "hand-in could not be graded",
    "grader_error": "the grader could not check the answer",
    "": "failed (no kind recorded: graded by an older grader)",
}
assert set(KIND_TEXT) == {*KINDS, ""}, "every failure kind needs its words in the reports"
# Kinds that fail a part's checks all together (the part's module, not one function): reported as
# one line per part and kind, not once per check.
FOLDED = ("not_implemented", "missing_file", "import_error", "charged")


@dataclass(frozen=True)
class Cause:
    """Students who failed one check the same way: the same kind, with the same hint."""

    kind: str
    hint: str
    students: tuple[str, ...]  # sorted
    example: str  # one of their messages (the first student's), to show what they were told

    @property
    def count(self) -> int:
        return len(self.students)

    @property
    def label(self) -> str:
        return KIND_TEXT.get(self.kind, self.kind)


@dataclass(frozen=True)
class CheckStats:
    check: str
    group: str
    title: str
    n: int
    passed: int
    causes: list[Cause]  # most students first

    @property
    def failed(self) -> int:
        return self.n - self.passed

    @property
    def rate(self) -> float:
        """The pass rate over graded students (the one pass-rate calculation of the reports)."""
        return self.passed / self.n if self.n else 0.0

    def shown(self, folded: tuple[str, ...] = FOLDED) -> list[Cause]:
        """The causes other than the `folded` kinds (those are listed once per part)."""
        return [c for c in self.causes if c.kind not in folded]


def causes_of(failures: list[tuple[str, CheckResult]]) -> list[Cause]:
    """(student, failed check) pairs of one check grouped by (kind, hint); most students first."""
    groups: dict[tuple[str, str], list[tuple[str, CheckResult]]] = {}
    for student, c in failures:
        groups.setdefault((c.kind, c.hint), []).append((student, c))
    causes = []
    for (kind, hint), members in groups.items():
        members.sort(key=lambda m: m[0])
        causes.append(Cause(kind, hint, tuple(s for s, _ in members), members[0][1].message))
    return sorted(causes, key=lambda c: (-c.count, c.kind, c.hint))


def check_stats(results: list[StudentResult]) -> list[CheckStats]:
    """Per check, in suite order: graded students, how many passed, the failure causes.
    An ungradable submission tells nothing about a check and is not counted."""
    order: dict[str, list[tuple[str, CheckResult]]] = {}
    for r in graded(results):
        for c in r.checks:
            order.setdefault(c.check, []).append((r.student, c))
    out = []
    for name, cs in order.items():
        first = cs[0][1]
        causes = causes_of([(s, c) for s, c in cs if c.status != "passed"])
        out.append(CheckStats(name, first.group, first.title, len(cs), sum(c.status == "passed" for _, c in cs), causes))
    return out


def by_failures(stats: list[CheckStats], folded: tuple[str, ...] = FOLDED) -> list[CheckStats]:
    """The checks that some student failed other than by a `folded` kind, the most such students
    first (ties: more failures in all, then suite order)."""
    counted = [(sum(c.count for c in s.shown(folded)), s.failed, i, s) for i, s in enumerate(stats)]
    return [s for shown, failed, i, s in sorted(counted, key=lambda x: (-x[0], -x[1], x[2])) if shown]


@dataclass(frozen=True)
class Folded:
    """One part's failures of one folded kind (FOLDED: not implemented, missing file...) as one
    line: who, and how many of the part's checks each failed that way."""

    group: str
    kind: str
    checks: int  # checks in the part
    students: tuple[tuple[str, int], ...]  # (student, how many of the part's checks), by student

    @property
    def label(self) -> str:
        return KIND_TEXT.get(self.kind, self.kind)


def folded(stats: list[CheckStats], kinds: tuple[str, ...] = FOLDED) -> list[Folded]:
    """Per part (suite order) and kind (in `kinds` order), the students who failed some of the
    part's checks by that kind."""
    per: dict[tuple[str, str], dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for s in stats:
        sizes[s.group] = sizes.get(s.group, 0) + 1
        for c in s.causes:
            if c.kind in kinds:
                mine = per.setdefault((s.group, c.kind), {})
                for student in c.students:
                    mine[student] = mine.get(student, 0) + 1
    return [Folded(g, k, sizes[g], tuple(sorted(per[g, k].items()))) for g in sizes for k in kinds if (g, k) in per]


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

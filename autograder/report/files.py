"""Gradebook files: grades.csv (one row per student, with its status) and results.jsonl (one line
per check), `score_cell` (the one rule for an ungradable submission's grade cells: empty), and
`csv_text`, the one CSV writer of the grader (every cell through `safe_cell`)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence

from autograder.results import StudentResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """The cell as text a spreadsheet will not run as a formula: text starting with = + - @, a tab or
    a carriage return gets a leading `'`. Numbers (-1.5, 2e-3) are left as they are."""
    text = str(value)
    if text.startswith(_FORMULA_START) and _NUMBER.fullmatch(text) is None:
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """CSV with `\\n` line ends, every cell through safe_cell."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([safe_cell(cell) for cell in row] for row in rows)
    return buf.getvalue()


def score_cell(r: StudentResult, value: float, ungradable_as_zero: bool = False) -> str:
    """A score as a gradebook cell: empty for a submission that could not be graded, so that no
    spreadsheet average, Canvas or Moodle import takes it for a real 0 (unless the instructor asks
    for 0 with `ungradable_as_zero`)."""
    if r.graded or ungradable_as_zero:
        return f"{value:g}"
    return ""


def grades_csv(results: list[StudentResult], groups: list[str], ungradable_as_zero: bool = False) -> str:
    """One row per student: the part scores, the late penalty (when a policy took points), the
    total, then `status` (graded / ungradable) and `problem` (why, in Chinese). The score cells of an
    ungradable submission are empty (`score_cell`)."""
    rows: list[list[object]] = []
    late = any(r.late_penalty for r in results)  # the column appears only when a late policy took points
    rows.append(["student", *groups, *(["late_penalty"] if late else []), "total", "status", "problem"])
    for r in sorted(results, key=lambda r: r.student):
        g = r.group_scores()
        scores = [g.get(x, 0.0) for x in groups] + ([r.late_penalty] if late else []) + [r.total]
        rows.append([r.student, *[score_cell(r, v, ungradable_as_zero) for v in scores], r.outcome, r.problem])
    return csv_text(rows)


def results_jsonl(results: list[StudentResult]) -> str:
    """One line per student and check; `outcome` says whether the student's checks were graded."""
    lines = []
    for r in sorted(results, key=lambda r: r.student):
        for c in r.checks:
            lines.append(json.dumps({"student": r.student, "outcome": r.outcome, "check": c.check, "score": c.score,
                                     "max_score": c.max_score, "status": c.status, "message": c.message,
                                     "provenance": r.provenance}, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")

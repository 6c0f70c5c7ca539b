"""Gradebook files: grades.csv (one row per student) and results.jsonl (one line per check), and
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


def grades_csv(results: list[StudentResult], groups: list[str]) -> str:
    rows: list[list[object]] = []
    late = any(r.late_penalty for r in results)  # the column appears only when a late policy took points
    rows.append(["student", *groups, *(["late_penalty"] if late else []), "total"])
    for r in sorted(results, key=lambda r: r.student):
        g = r.group_scores()
        rows.append([r.student, *[f"{g.get(x, 0.0):g}" for x in groups], *([f"{r.late_penalty:g}"] if late else []), f"{r.total:g}"])
    return csv_text(rows)


def results_jsonl(results: list[StudentResult]) -> str:
    lines = []
    for r in sorted(results, key=lambda r: r.student):
        for c in r.checks:
            lines.append(json.dumps({"student": r.student, "check": c.check, "score": c.score, "max_score": c.max_score,
                                     "status": c.status, "message": c.message}, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")

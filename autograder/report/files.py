"""Gradebook files: grades.csv (one row per student) and results.jsonl (one line per check)."""

from __future__ import annotations

import csv
import io
import json

from autograder.results import StudentResult


def grades_csv(results: list[StudentResult], groups: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    late = any(r.late_penalty for r in results)  # the column appears only when a late policy took points
    writer.writerow(["student", *groups, *(["late_penalty"] if late else []), "total"])
    for r in sorted(results, key=lambda r: r.student):
        g = r.group_scores()
        writer.writerow([r.student, *[f"{g.get(x, 0.0):g}" for x in groups], *([f"{r.late_penalty:g}"] if late else []), f"{r.total:g}"])
    return buf.getvalue()


def results_jsonl(results: list[StudentResult]) -> str:
    lines = []
    for r in sorted(results, key=lambda r: r.student):
        for c in r.checks:
            lines.append(json.dumps({"student": r.student, "check": c.check, "score": c.score, "max_score": c.max_score,
                                     "status": c.status, "message": c.message}, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")

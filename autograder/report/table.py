"""Plain-text tables for the terminal (and `<pre>` in notebooks)."""

from __future__ import annotations

import unicodedata

from autograder.results import CheckResult, StudentResult

MARK = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip(), line]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out)


def checks_table(checks: list[CheckResult], with_messages: bool = True) -> str:
    rows = [[MARK.get(c.status, "?"), c.check, f"{c.score:g}/{c.max_score:g}", c.title] for c in checks]
    text = render(rows, ["", "check", "points", "what"])
    if with_messages:
        notes = [f"\n{MARK.get(c.status)} {c.check}\n  " + c.message.replace("\n", "\n  ") for c in checks if c.status != "passed" and c.message]
        text += "\n" + "\n".join(notes) if notes else ""
    return text


def gradebook_table(results: list[StudentResult], groups: list[str]) -> str:
    """The class on the console; a submission that could not be graded shows `-` for its scores."""
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        g = r.group_scores()
        if r.graded:
            rows.append([r.student, *[f"{g.get(x, 0):g}" for x in groups], f"{r.total:g}", "problem: " + r.problem[:60] if r.problem else ""])
        else:
            rows.append([r.student, *["-" for _ in groups], "-", "NOT GRADED: " + r.problem[:60]])
    return render(rows, ["student", *groups, "total", ""])

"""Class summary: pass rate per check and a score histogram."""

from __future__ import annotations

from pathlib import Path

from autograder.atomic import save_figure
from autograder.results import StudentResult


def pass_rates(results: list[StudentResult]) -> list[tuple[str, float, int]]:
    """(check, pass rate, number of students) in suite order."""
    order: dict[str, list[bool]] = {}
    for r in results:
        for c in r.checks:
            order.setdefault(c.check, []).append(c.status == "passed")
    return [(name, sum(v) / len(v), len(v)) for name, v in order.items()]


def markdown(results: list[StudentResult]) -> str:
    totals = sorted(r.total for r in results)
    out = ["# Class summary", ""]
    if totals:
        mean = sum(totals) / len(totals)
        out += [f"{len(totals)} students, mean {mean:.1f}, median {totals[len(totals) // 2]:g}, min {totals[0]:g}, max {totals[-1]:g}", ""]
    for note in sorted({r.sandbox for r in results if r.sandbox}):
        out += [f"**Isolation:** {note}", ""]
    out += ["| check | pass rate | n |", "|---|---|---|"]
    out += [f"| `{name}` | {rate:.0%} | {n} |" for name, rate, n in pass_rates(results)]
    problems = [r for r in results if r.problem]
    if problems:
        out += ["", "## Submissions with problems", ""] + [f"- {r.student}: {r.problem}" for r in problems]
    return "\n".join(out) + "\n"


def histogram_png(results: list[StudentResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r.total for r in results], bins=range(0, 105, 5), color="#4477aa", edgecolor="white")
    ax.set_xlabel("total score")
    ax.set_ylabel("students")
    ax.set_xlim(0, 100)
    ax.set_title(f"Score histogram ({len(results)} students)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)

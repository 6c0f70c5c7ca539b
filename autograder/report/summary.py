"""Class summary: totals, per-part means, pass rate and the most common failure causes per check,
late penalties, and a score histogram."""

from __future__ import annotations

from pathlib import Path

from autograder.atomic import save_figure
from autograder.report.classwide import check_stats, part_means
from autograder.results import StudentResult


def pass_rates(results: list[StudentResult]) -> list[tuple[str, float, int]]:
    """(check, pass rate, number of students) in suite order."""
    order: dict[str, list[bool]] = {}
    for r in results:
        for c in r.checks:
            order.setdefault(c.check, []).append(c.status == "passed")
    return [(name, sum(v) / len(v), len(v)) for name, v in order.items()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(results: list[StudentResult], extra: list[str] = ()) -> str:
    totals = sorted(r.total for r in results)
    out = ["# Class summary", ""]
    if totals:
        mean = sum(totals) / len(totals)
        out += [f"{len(totals)} students, mean {mean:.1f}, median {totals[len(totals) // 2]:g}, min {totals[0]:g}, max {totals[-1]:g}", ""]
        out += ["| part | mean | max |", "|---|---|---|"] + [f"| {g} | {m:.1f} | {x:g} |" for g, m, x in part_means(results)] + [""]
    for note in sorted({r.sandbox for r in results if r.sandbox}):
        out += [f"**Isolation:** {note}", ""]
    out += ["| check | pass rate | n |", "|---|---|---|"]
    out += [f"| `{name}` | {rate:.0%} | {n} |" for name, rate, n in pass_rates(results)]
    wrong = [s for s in check_stats(results) if s.causes]
    if wrong:
        out += ["", "## What the class got wrong", "", "Failure causes per check, grouped by the hint the check gives (most common first).", "",
                "| check | failed | cause | students |", "|---|---|---|---|"]
        for s in sorted(wrong, key=lambda s: -s.failed):
            for i, (why, count) in enumerate(s.causes):
                out.append(f"| {f'`{s.check}`' if i == 0 else ''} | {f'{s.failed}/{s.n}' if i == 0 else ''} | {_cell(why)} | {count} |")
    late = [r for r in results if r.late_penalty]
    if late:
        out += ["", "## Late submissions", "", "| student | submitted | penalty | total |", "|---|---|---|---|"]
        out += [f"| {r.student} | {r.submitted_at} | −{r.late_penalty:g} | {r.total:g} |" for r in late]
    problems = [r for r in results if r.problem]
    if problems:
        out += ["", "## Submissions with problems", ""] + [f"- {r.student}: {r.problem}" for r in problems]
    for section in extra:
        out += ["", section.rstrip("\n")]
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

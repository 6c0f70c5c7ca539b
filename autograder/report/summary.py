"""Class summary: totals, per-part means, pass rate and the most common failure causes per check,
late penalties, the submissions that could not be graded (with why), notes on hand-ins, and a score
histogram. Every number comes from `report.classwide`, over graded submissions only."""

from __future__ import annotations

from pathlib import Path

from autograder.atomic import save_figure
from autograder.report.classwide import BINS, by_failures, check_stats, folded, graded, histogram, part_means, totals, ungradable
from autograder.results import StudentResult

UNGRADABLE_HEADING = "## Submissions that could not be graded"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(students: tuple[str, ...], most: int = 12) -> str:
    shown = ", ".join(_cell(s) for s in students[:most])
    return shown + (f" … (+{len(students) - most})" if len(students) > most else "")


def ungradable_warnings(results: list[StudentResult]) -> list[str]:
    """One console line (English) per submission that could not be graded, with its reason."""
    return [f"{r.student}: could not be graded ({r.problem_kind or 'ungradable'}): {r.problem}" for r in ungradable(results)]


def ungradable_explained(ungradable_as_zero: bool = False) -> str:
    """What an ungradable row means in this class's outputs (English, for summary.md and class_report.html)."""
    cells = ("their grade cells in grades.csv and the Canvas/Moodle files (when written) are 0 (--ungradable-as-zero)" if ungradable_as_zero
             else "their grade cells in grades.csv and the Canvas/Moodle files (when written) are empty")
    return (f"Not a grade: left out of every class statistic, and {cells}. "
            "Each student's feedback says what to fix; grade by hand or regrade a resubmission.")


def markdown(results: list[StudentResult], extra: list[str] = (), ungradable_as_zero: bool = False) -> str:
    out = ["# Class summary", "", totals(results).describe(), ""]
    for note in sorted({r.sandbox for r in results if r.sandbox}):
        out += [f"**Isolation:** {note}", ""]
    bad = ungradable(results)
    if bad:
        out += [UNGRADABLE_HEADING, "", ungradable_explained(ungradable_as_zero), "", "| student | reason | kind |", "|---|---|---|"]
        out += [f"| {_cell(r.student)} | {_cell(r.problem)} | {r.problem_kind} |" for r in bad] + [""]
    if graded(results):
        out += ["## Mean per part", "", "| part | mean | max |", "|---|---|---|"]
        out += [f"| {g} | {m:.1f} | {x:g} |" for g, m, x in part_means(results)] + [""]
    stats = check_stats(results)
    out += ["## Pass rate per check", "", "| check | pass rate | n |", "|---|---|---|"]
    out += [f"| `{s.check}` | {s.rate:.0%} | {s.n} |" for s in stats]
    wrong, unimplemented = by_failures(stats), folded(stats)
    if wrong or unimplemented:
        out += ["", "## What the class got wrong", "",
                "Failure causes per check, most failed check first: what went wrong (the failure's kind) and the hint the "
                "check gave for it. What fails a whole part (not implemented, a missing file, an import error) is listed once "
                "per part, at the end.", "",
                "| check | failed | cause | hint | students | n |", "|---|---|---|---|---|---|"]
        for s in wrong:
            for i, c in enumerate(s.shown()):
                out.append(f"| {f'`{s.check}`' if i == 0 else ''} | {f'{s.failed}/{s.n}' if i == 0 else ''} | {c.label} | "
                           f"{_cell(c.hint)} | {_names(c.students)} | {c.count} |")
        for f in unimplemented:
            who = tuple(f"{student} ({k}/{f.checks})" for student, k in f.students)
            out.append(f"| {f.group} (whole part) | | {f.label} | | {_names(who)} | {len(f.students)} |")
    late = [r for r in results if r.late_penalty]
    if late:
        out += ["", "## Late submissions", "", "| student | submitted | penalty | total |", "|---|---|---|---|"]
        out += [f"| {r.student} | {r.submitted_at} | −{r.late_penalty:g} | {r.total:g} |" for r in late]
    problems = [r for r in graded(results) if r.problem]
    if problems:
        out += ["", "## Graded submissions with problems", ""] + [f"- {r.student}: {_cell(r.problem)}" for r in problems]
    noted = sorted((r for r in results if r.notes), key=lambda r: r.student)
    if noted:
        out += ["", "## Notes on hand-ins", "", "What the grader did with these hand-ins (the students see the same notes in their feedback).", ""]
        out += [f"- {r.student}: " + "；".join(_cell(n) for n in r.notes) for r in noted]
    for section in extra:
        out += ["", section.rstrip("\n")]
    return "\n".join(out) + "\n"


def histogram_png(results: list[StudentResult], path: Path) -> None:
    """The graded totals in classwide.histogram's bins; whole-student ticks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    top, counts = histogram(results)
    width = top / BINS
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([i * width for i in range(len(counts))], counts, width=width, align="edge", color="#4477aa", edgecolor="white")
    ax.set_xlabel("total score")
    ax.set_ylabel("students")
    ax.set_xlim(0, top)
    ax.set_ylim(0, max(max(counts, default=0), 1))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    n = totals(results)
    ax.set_title(f"Score histogram ({n.n} students" + (f"; {n.ungradable} not graded, not shown)" if n.ungradable else ")"))
    fig.tight_layout()
    save_figure(fig, path, dpi=100)

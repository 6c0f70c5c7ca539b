"""Write every gradebook output of a batch into its output folder."""

from __future__ import annotations

from pathlib import Path

from autograder.atomic import write_text
from autograder.catalog import groups as suite_groups
from autograder.report import feedback, files, summary
from autograder.results import StudentResult


def write_outputs(out: Path, results: list[StudentResult]) -> dict[str, Path]:
    groups = suite_groups()
    paths = {
        "grades.csv": out / "grades.csv",
        "results.jsonl": out / "results.jsonl",
        "summary.md": out / "summary.md",
        "histogram.png": out / "histogram.png",
    }
    write_text(paths["grades.csv"], files.grades_csv(results, groups))
    write_text(paths["results.jsonl"], files.results_jsonl(results))
    write_text(paths["summary.md"], summary.markdown(results))
    for r in results:
        write_text(out / "feedback" / f"{r.student}.md", feedback.markdown(r))
        write_text(out / "feedback" / f"{r.student}.html", feedback.html_page(r))
    if results:
        summary.histogram_png(results, paths["histogram.png"])
    return paths

"""Write every gradebook output of a batch into its output folder."""

from __future__ import annotations

from pathlib import Path

from autograder.atomic import write_text, write_text_if_changed
from autograder.catalog import groups as suite_groups
from autograder.ids import file_stem
from autograder.report import class_html, feedback, files, summary
from autograder.results import StudentResult


SIMILARITY_HEADING = "## Code similarity"  # written by `autograder similarity`; kept on a regrade


def write_outputs(out: Path, results: list[StudentResult], extra: list[str] = (), ungradable_as_zero: bool = False) -> dict[str, Path]:
    """Every gradebook output of the whole class (graded and ungradable results; grader faults are
    never passed here); `extra` are more Markdown sections for summary.md. An ungradable
    submission's score cells in grades.csv are empty unless `ungradable_as_zero`."""
    groups = suite_groups()
    paths = {
        "grades.csv": out / "grades.csv",
        "results.jsonl": out / "results.jsonl",
        "summary.md": out / "summary.md",
        "histogram.png": out / "histogram.png",
        "class_report.html": out / "class_report.html",
    }
    write_text(paths["grades.csv"], files.grades_csv(results, groups, ungradable_as_zero))
    write_text(paths["results.jsonl"], files.results_jsonl(results))
    old = paths["summary.md"].read_text(encoding="utf-8") if paths["summary.md"].exists() else ""
    kept = [SIMILARITY_HEADING + old.split(SIMILARITY_HEADING, 1)[1]] if SIMILARITY_HEADING in old else []
    write_text(paths["summary.md"], summary.markdown(results, [*extra, *kept], ungradable_as_zero))
    write_text(paths["class_report.html"], class_html.html_report(results, ungradable_as_zero=ungradable_as_zero))
    for r in results:  # a page that would not change is not written again (a regrade of a few in a large class)
        stem = file_stem(r.student)  # ids of any script and length; the same names batch.result_path uses
        write_text_if_changed(out / "feedback" / f"{stem}.md", feedback.markdown(r))
        write_text_if_changed(out / "feedback" / f"{stem}.html", feedback.html_page(r))
    if results:
        summary.histogram_png(results, paths["histogram.png"])
    return paths

"""One self-contained HTML class report (no scripts, no external files): the submissions that could
not be graded (with why, linked to their feedback), histogram as inline SVG, per-part means, per
check the pass rate and the most common failure causes, late submissions, notes on hand-ins.
Every number comes from `report.classwide`, over graded submissions only."""

from __future__ import annotations

import html

from autograder.grade.discover import file_stem
from autograder.report.classwide import check_stats, histogram, part_means, totals, ungradable
from autograder.report.summary import ungradable_explained
from autograder.results import StudentResult

STYLE = """body{font-family:sans-serif;max-width:68em;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f2f2f2}.bar{display:inline-block;height:.8em;background:#4477aa}.num{text-align:right}
#ungradable-section{border-left:4px solid #b00;padding-left:1em}#ungradable-section h2{color:#b00}
svg text{font-size:11px;fill:#333}"""


def histogram_svg(results: list[StudentResult], width: int = 560, height: int = 220) -> str:
    top, counts = histogram(results)
    left, bottom, pad = 40, 34, 8
    plot_w, plot_h = width - left - pad, height - bottom - pad
    peak = max(counts) or 1
    bw = plot_w / len(counts)
    bars = "".join(
        f"<rect x='{left + i * bw + 1:.1f}' y='{pad + plot_h * (1 - c / peak):.1f}' width='{bw - 2:.1f}' height='{plot_h * c / peak:.1f}' fill='#4477aa'>"
        f"<title>{top * i / len(counts):g}–{top * (i + 1) / len(counts):g}: {c}</title></rect>"
        for i, c in enumerate(counts)
    )
    ticks = "".join(
        f"<text x='{left + plot_w * f:.1f}' y='{height - 18}' text-anchor='middle'>{top * f:g}</text>" for f in (0, .5, 1)
    )
    yticks = f"<text x='{left - 6}' y='{pad + 10}' text-anchor='end'>{peak}</text><text x='{left - 6}' y='{pad + plot_h}' text-anchor='end'>0</text>"
    labels = (f"<text x='{left + plot_w / 2:.0f}' y='{height - 1}' text-anchor='middle'>total score</text>"
              f"<text x='10' y='{pad + plot_h / 2:.0f}' transform='rotate(-90 10 {pad + plot_h / 2:.0f})' text-anchor='middle'>students</text>")
    axes = f"<line x1='{left}' y1='{pad + plot_h}' x2='{left + plot_w}' y2='{pad + plot_h}' stroke='#333'/>"
    return (f"<svg id='histogram' role='img' aria-label='score histogram' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{bars}{axes}{ticks}{yticks}{labels}</svg>")


def _feedback_link(student: str) -> str:
    """The student's feedback page, relative to class_report.html (the names report.write gives them)."""
    return f"<a href='feedback/{html.escape(file_stem(student), quote=True)}.html'>{html.escape(student)}</a>"


def ungradable_html(results: list[StudentResult], ungradable_as_zero: bool = False) -> str:
    bad = ungradable(results)
    if not bad:
        return ""
    rows = "".join(f"<tr><td>{_feedback_link(r.student)}</td><td>{html.escape(r.problem)}</td><td><code>{html.escape(r.problem_kind)}</code></td></tr>"
                   for r in bad)
    return (f"<section id='ungradable-section'><h2>Submissions that could not be graded ({len(bad)})</h2>"
            f"<p>{html.escape(ungradable_explained(ungradable_as_zero))}</p>"
            f"<table id='ungradable'><tr><th>student</th><th>reason</th><th>kind</th></tr>{rows}</table></section>")


def notes_html(results: list[StudentResult]) -> str:
    noted = sorted((r for r in results if r.notes), key=lambda r: r.student)
    if not noted:
        return ""
    items = "".join(f"<li>{_feedback_link(r.student)}: {'；'.join(html.escape(n) for n in r.notes)}</li>" for r in noted)
    return (f"<h2>Notes on hand-ins</h2><details id='notes'><summary>What the grader did with {len(noted)} hand-in(s) "
            f"(folder picked, files renamed or skipped...): the students see the same notes</summary><ul>{items}</ul></details>")


def html_report(results: list[StudentResult], title: str = "Class report", extra_html: str = "", ungradable_as_zero: bool = False) -> str:
    parts = "".join(
        f"<tr><td>{html.escape(g)}</td><td class='num'>{m:.1f}</td><td class='num'>{x:g}</td>"
        f"<td><span class='bar' style='width:{120 * m / x if x else 0:.0f}px'></span></td></tr>"
        for g, m, x in part_means(results)
    )
    checks = []
    for s in check_stats(results):
        causes = "".join(f"<li>{html.escape(why)} <strong>×{count}</strong></li>" for why, count in s.causes)
        checks.append(f"<tr><td><code>{html.escape(s.check)}</code><br><small>{html.escape(s.title)}</small></td>"
                      f"<td class='num'>{s.passed}/{s.n}</td><td>{'<ul>' + causes + '</ul>' if causes else '—'}</td></tr>")
    late = "".join(f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(r.submitted_at)}</td><td class='num'>−{r.late_penalty:g}</td>"
                   f"<td class='num'>{r.total:g}</td></tr>" for r in results if r.late_penalty)
    late_table = (f"<h2>Late submissions</h2><table id='late'><tr><th>student</th><th>submitted</th><th>penalty</th><th>total</th></tr>{late}</table>"
                  if late else "")
    stats = totals(results).describe()
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1><p id='totals'>{html.escape(stats)}</p>
{ungradable_html(results, ungradable_as_zero)}
<h2>Score histogram</h2>{histogram_svg(results)}
<h2>Mean per part</h2><table id='parts'><tr><th>part</th><th>mean</th><th>max</th><th></th></tr>{parts}</table>
<h2>What the class got wrong</h2>
<p>Per check: students who passed, and the most common failure causes, grouped by the hint the check gives.</p>
<table id='checks'><tr><th>check</th><th>passed</th><th>failure causes</th></tr>{''.join(checks)}</table>
{late_table}{notes_html(results)}{extra_html}
</body></html>
"""

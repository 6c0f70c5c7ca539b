"""One self-contained HTML class report (no scripts, no external files), for the instructor:

* the submissions that could not be graded (with why, linked to their feedback);
* the score histogram (inline SVG) and the mean per part;
* what the class got wrong: the checks most students failed first, each with its causes (the
  failure's kind and the check's hint, `classwide.Cause`) naming the students, linked to their
  feedback pages; checks not implemented are folded into one line per part;
* the students × parts table with each hand-in's status;
* a checks × students heat map: one column per student up to HEATMAP_MAX graded students; a
  larger class gets one column per band of students ranked by total (BANDS of them), each cell
  the shares of that band's outcomes on the check, so the page stays small and readable at 2,000;
* late submissions, notes on hand-ins.

Every number comes from `report.classwide`, over graded submissions only."""

from __future__ import annotations

import html

from autograder.ids import file_stem
from autograder.report.classwide import (
    KIND_TEXT,
    Cause,
    CheckStats,
    by_failures,
    check_stats,
    folded,
    graded,
    histogram,
    part_means,
    totals,
    ungradable,
)
from autograder.report.summary import ungradable_explained
from autograder.results import CheckResult, StudentResult

HEATMAP_MAX = 300  # students drawn one column each; a larger class gets one column per band of students
BANDS = 10  # bands of students ranked by total, in the heat map of a larger class
NAMES_SHOWN = 12  # student links shown per cause before the rest is folded

# Heat-map colours: one per family of failure kinds (kind -> css class), then their legend.
FAMILY = {
    "not_implemented": "h-ni",
    "missing_file": "h-file", "import_error": "h-file",
    "exception": "h-raise", "timeout": "h-raise", "crash": "h-raise",
    "own_work": "h-own",
    "charged": "h-other", "ungradable": "h-other", "grader_error": "h-other", "": "h-other",
}
LEGEND = [("h-pass", "passed", "#4dac26"), ("h-wrong", "wrong answer (value, shape, dtype, type, NaN, input changed)", "#f1a340"),
          ("h-raise", "raised, timed out or crashed", "#d7301f"), ("h-file", "file missing or fails to import", "#6a6a6a"),
          ("h-ni", "not implemented", "#d0d0d0"), ("h-own", "library call does the work", "#8e63b5"),
          ("h-other", "charged / grader error / no kind", "#3b6fb6")]

STYLE = """body{font-family:sans-serif;max-width:76em;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f2f2f2}.bar{display:inline-block;height:.8em;background:#4477aa}.num{text-align:right;white-space:nowrap}
#ungradable-section{border-left:4px solid #b00;padding-left:1em}#ungradable-section h2{color:#b00}
svg text{font-size:11px;fill:#333}.row{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
nav{margin:.5em 0 1em;font-size:.95em}nav a{margin-right:1em}
.cause{margin:.15em 0 .6em}.cause .kind{font-weight:bold}.cause .hint{color:#555}.cause details{display:inline}
.who a{margin-right:.4em}tr.folded td{background:#f7f7f7;color:#444}
td.s-full{background:#e3f2dc}td.s-part{background:#fdf1dc}td.s-zero{background:#f8dcdc}td.s-none{color:#999}
.status-ungradable{color:#b00;font-weight:bold}
#heatmap-wrap{overflow-x:auto;max-width:100%}#heatmap{border-collapse:separate;border-spacing:1px;margin:0}
#heatmap td,#heatmap th{padding:0;border:0}#heatmap td.c{width:13px;min-width:13px;height:13px}
#heatmap th.check{position:sticky;left:0;background:#fff;padding-right:.5em;font-weight:normal;font-size:12px;white-space:nowrap}
#heatmap th.student{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px;background:#fff;padding:.2em 0;
 max-height:9em;overflow:hidden;white-space:nowrap}
#heatmap tr.part th{background:#fff;text-align:left;font-size:12px;padding-top:.4em}
#heatmap td.b{width:5em;min-width:5em;height:13px}#heatmap th.band{font-weight:normal;font-size:11px;background:#fff;padding:.2em .3em;
 text-align:center;white-space:nowrap}
.legend span.sw{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
""" + "".join(f".{cls}{{background:{color}}}" for cls, _, color in LEGEND)


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
    step = -(-peak // 5)  # whole students, at most 6 ticks
    yticks = "".join(
        f"<text x='{left - 6}' y='{pad + plot_h * (1 - k / peak) + 4:.1f}' text-anchor='end'>{k}</text>"
        f"<line x1='{left - 3}' y1='{pad + plot_h * (1 - k / peak):.1f}' x2='{left}' y2='{pad + plot_h * (1 - k / peak):.1f}' stroke='#333'/>"
        for k in range(0, peak + 1, step)
    )
    labels = (f"<text x='{left + plot_w / 2:.0f}' y='{height - 1}' text-anchor='middle'>total score</text>"
              f"<text x='10' y='{pad + plot_h / 2:.0f}' transform='rotate(-90 10 {pad + plot_h / 2:.0f})' text-anchor='middle'>students</text>")
    axes = f"<line x1='{left}' y1='{pad + plot_h}' x2='{left + plot_w}' y2='{pad + plot_h}' stroke='#333'/>"
    return (f"<svg id='histogram' role='img' aria-label='score histogram' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{bars}{axes}{ticks}{yticks}{labels}</svg>")


def _feedback_href(student: str) -> str:
    return f"feedback/{html.escape(file_stem(student), quote=True)}.html"


def _feedback_link(student: str) -> str:
    """The student's feedback page, relative to class_report.html (the names report.write gives them)."""
    return f"<a href='{_feedback_href(student)}'>{html.escape(student)}</a>"


def _who(students: list[str] | tuple[str, ...], labels: list[str] | None = None) -> str:
    """Links to the students' feedback; past NAMES_SHOWN the rest are folded."""
    links = [_feedback_link(s) if labels is None else f"<a href='{_feedback_href(s)}'>{html.escape(label)}</a>"
             for s, label in zip(students, labels or students)]
    head = " ".join(links[:NAMES_SHOWN])
    rest = (f" <details><summary>+{len(links) - NAMES_SHOWN} more</summary>{' '.join(links[NAMES_SHOWN:])}</details>"
            if len(links) > NAMES_SHOWN else "")
    return f"<span class='who'>{head}{rest}</span>"


def _cause_html(c: Cause) -> str:
    hint = f" — <span class='hint'>提示: {html.escape(c.hint)}</span>" if c.hint else ""
    return (f"<div class='cause' data-kind='{html.escape(c.kind, quote=True)}'><span class='kind'>{html.escape(c.label)}</span> "
            f"<strong>×{c.count}</strong>{hint}<br>{_who(c.students)} "
            f"<details><summary>what they were told</summary><pre>{html.escape(c.example)}</pre></details></div>")


def checks_html(stats: list[CheckStats]) -> str:
    """The checks most students failed first (other than by a kind that fails a whole part), each
    with its causes; then one line per part and folded kind (classwide.FOLDED: not implemented...)."""
    rows = []
    for s in by_failures(stats):
        rows.append(f"<tr><td><code>{html.escape(s.check)}</code><br><small>{html.escape(s.title)}</small></td>"
                    f"<td class='num'>{s.failed}/{s.n}</td><td>{''.join(_cause_html(c) for c in s.shown())}</td></tr>")
    for f in folded(stats):
        labels = [f"{student} ({k}/{f.checks})" for student, k in f.students]
        rows.append(f"<tr class='folded'><td><strong>{html.escape(f.group)}</strong><br><small>{html.escape(f.label)}"
                    f" (one line for the part)</small></td><td class='num'>{len(f.students)}/{stats[0].n if stats else 0}</td>"
                    f"<td><div class='cause' data-kind='{f.kind}'><span class='kind'>{html.escape(f.label)}</span> "
                    f"<strong>×{len(f.students)}</strong> (how many of the part's {f.checks} checks)<br>"
                    f"{_who([st for st, _ in f.students], labels)}</div></td></tr>")
    if not rows:
        return "<p id='checks'>Every graded student passed every check.</p>"
    return f"<table id='checks'><tr><th>check</th><th>failed</th><th>causes (kind, the check's hint, who)</th></tr>{''.join(rows)}</table>"


def _score_cell(score: float, top: float) -> str:
    cls = "s-full" if top and score >= top else "s-zero" if score <= 0 else "s-part"
    return f"<td class='num {cls}'>{score:g}/{top:g}</td>"


def students_html(results: list[StudentResult]) -> str:
    """Students × parts: each part's score, the total, the hand-in's status and its problem."""
    groups: dict[str, float] = {}
    for r in results:
        mine: dict[str, float] = {}
        for c in r.checks:
            mine[c.group] = mine.get(c.group, 0.0) + c.max_score
        for g, m in mine.items():
            groups[g] = max(groups.get(g, 0.0), m)
    head = "".join(f"<th>{html.escape(g)}</th>" for g in groups)
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        scores = r.group_scores()
        if r.graded:
            cells = "".join(_score_cell(scores.get(g, 0.0), groups[g]) for g in groups) + _score_cell(r.total, r.max_total)
        else:
            cells = "".join("<td class='num s-none'>—</td>" for _ in range(len(groups) + 1))
        problem = html.escape(r.problem)
        rows.append(f"<tr><td>{_feedback_link(r.student)}</td>{cells}<td class='status-{html.escape(r.outcome, quote=True)}'>"
                    f"{html.escape(r.outcome)}</td><td><small>{problem}</small></td></tr>")
    return (f"<table id='students'><tr><th>student</th>{head}<th>total</th><th>status</th><th>problem</th></tr>"
            f"{''.join(rows)}</table>")


def _heat_class(c: CheckResult | None) -> str:
    if c is None:
        return "h-other"
    if c.status == "passed":
        return "h-pass"
    return FAMILY.get(c.kind, "h-wrong")


def _check_order(students: list[StudentResult]) -> dict[str, str]:
    """check -> part, in suite order."""
    order: dict[str, str] = {}
    for r in students:
        for c in r.checks:
            order.setdefault(c.check, c.group)
    return order


def _legend() -> str:
    return "".join(f"<span class='sw {cls}'></span>{html.escape(text)}" for cls, text, _ in LEGEND)


def banded_heatmap_html(students: list[StudentResult], bands: int = BANDS, limit: int = HEATMAP_MAX) -> str:
    """Checks × bands of graded students ranked by total (lowest first, equal sizes): each cell a
    bar of the shares of the band's outcomes on the check, in the legend's colours; hover for the
    counts. Its size depends on the checks and `bands`, not on the class."""
    ranked = sorted(students, key=lambda r: (r.total, r.student))
    bands = max(1, min(bands, len(ranked)))
    cuts = [len(ranked) * i // bands for i in range(bands + 1)]
    groups = [ranked[a:b] for a, b in zip(cuts, cuts[1:])]
    cells = [[{c.check: c for c in r.checks} for r in g] for g in groups]
    head = "".join(f"<th class='band' title='students ranked {a + 1}–{b} of {len(ranked)} by total'>{g[0].total:g}–{g[-1].total:g}"
                   f"<br><small>{len(g)} students</small></th>" for a, b, g in zip(cuts, cuts[1:], groups))
    color = {cls: c for cls, _, c in LEGEND}
    words = {cls: text for cls, text, _ in LEGEND}
    rows, part = [], None
    for check, group in _check_order(ranked).items():
        if group != part:
            part = group
            rows.append(f"<tr class='part'><th colspan='{len(groups) + 1}'>{html.escape(group)}</th></tr>")
        tds = []
        for g, mine in zip(groups, cells):
            counts: dict[str, int] = {}
            for m in mine:
                cls = _heat_class(m.get(check))
                counts[cls] = counts.get(cls, 0) + 1
            stops, at, told = [], 0, []
            for cls, _, _ in LEGEND:
                if counts.get(cls):
                    end = at + 100 * counts[cls] / len(g)
                    stops.append(f"{color[cls]} {at:.1f}% {end:.1f}%")
                    told.append(f"{counts[cls]} {words[cls]}")
                    at = end
            tds.append(f"<td class='c b' style='background:linear-gradient(90deg,{','.join(stops)})' "
                       f"title='{html.escape(check, quote=True)}, totals {g[0].total:g}–{g[-1].total:g}: {html.escape('; '.join(told), quote=True)}'></td>")
        rows.append(f"<tr><th class='check'><code>{html.escape(check)}</code></th>{''.join(tds)}</tr>")
    note = (f"<p id='heatmap-note'>{len(ranked)} graded students, more than the {limit} drawn one column each: each column is "
            f"a band of about {len(ranked) // bands} students ranked by total (lowest first; the heading gives their totals), and each "
            "cell shows the shares of that band's outcomes on the check. Hover for the counts; the tables above name the students.</p>")
    return (f"{note}<p class='legend'>{_legend()}</p><div id='heatmap-wrap'><table id='heatmap' class='banded'>"
            f"<tr><th class='check'></th>{head}</tr>{''.join(rows)}</table></div>")


def heatmap_html(results: list[StudentResult], limit: int = HEATMAP_MAX, bands: int = BANDS) -> str:
    """Checks (rows, by part) × graded students (columns): each cell coloured by what became of
    that check; hover for the student, the check and the kind. Above `limit` students, one
    column per band of students instead (`banded_heatmap_html`)."""
    students = sorted(graded(results), key=lambda r: r.student)
    if not students:
        return "<p id='heatmap-note'>No graded students: no heat map.</p>"
    if len(students) > limit:
        return banded_heatmap_html(students, bands, limit)
    order = _check_order(students)
    cells = [{c.check: c for c in r.checks} for r in students]
    head = "".join(f"<th class='student'><a href='{_feedback_href(r.student)}'>{html.escape(r.student)}</a></th>" for r in students)
    rows, part = [], None
    for check, group in order.items():
        if group != part:
            part = group
            rows.append(f"<tr class='part'><th colspan='{len(students) + 1}'>{html.escape(group)}</th></tr>")
        tds = []
        for r, mine in zip(students, cells):
            c = mine.get(check)
            what = "passed" if c is not None and c.status == "passed" else KIND_TEXT.get(c.kind, c.kind) if c is not None else "not graded"
            tds.append(f"<td class='c {_heat_class(c)}' title='{html.escape(r.student, quote=True)} · {html.escape(check, quote=True)}: "
                       f"{html.escape(what, quote=True)}'></td>")
        rows.append(f"<tr><th class='check'><code>{html.escape(check)}</code></th>{''.join(tds)}</tr>")
    return (f"<p class='legend'>{_legend()}</p><div id='heatmap-wrap'><table id='heatmap'><tr><th class='check'></th>{head}</tr>"
            f"{''.join(rows)}</table></div>")


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
    late = "".join(f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(r.submitted_at)}</td><td class='num'>−{r.late_penalty:g}</td>"
                   f"<td class='num'>{r.total:g}</td></tr>" for r in results if r.late_penalty)
    late_table = (f"<h2>Late submissions</h2><table id='late'><tr><th>student</th><th>submitted</th><th>penalty</th><th>total</th></tr>{late}</table>"
                  if late else "")
    stats = totals(results).describe()
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1><p id='totals'>{html.escape(stats)}</p>
<nav><a href='#wrong'>What the class got wrong</a><a href='#students-section'>Students</a><a href='#heatmap-section'>Heat map</a></nav>
{ungradable_html(results, ungradable_as_zero)}
<div class='row'><div><h2>Score histogram</h2>{histogram_svg(results)}</div>
<div><h2>Mean per part</h2><table id='parts'><tr><th>part</th><th>mean</th><th>max</th><th></th></tr>{parts}</table></div></div>
<h2 id='wrong'>What the class got wrong</h2>
<p>The checks most students failed come first. Each cause is what went wrong (the failure's kind) with the hint the check gave
for it, and names the students, linked to their feedback. What fails a whole part (not implemented, a missing file, an import error)
is folded into one line per part, at the end.</p>
{checks_html(check_stats(results))}
<h2 id='students-section'>Students</h2>{students_html(results)}
<h2 id='heatmap-section'>Checks × students</h2>{heatmap_html(results)}
{late_table}{notes_html(results)}{extra_html}
</body></html>
"""

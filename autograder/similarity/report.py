"""Similarity outputs: pairs.csv, a self-contained HTML report (matched code side by side) and a
Markdown section for summary.md."""

from __future__ import annotations

import html

import numpy as np
from copydetect.utils import highlight_overlap

from autograder.report.files import csv_text
from autograder.report.write import SIMILARITY_HEADING
from autograder.runtime.assignment import GRADED_FILES
from autograder.similarity.compare import ARCHIVE_PREFIX, OVERALL, Comparison, FileMatch, Pair, rows

SHOWN_PAIRS = 20  # pairs with code in the HTML report; pairs.csv has them all


def pairs_csv(pairs: list[Pair]) -> str:
    return csv_text([["student_a", "student_b", "similarity", "file"], *([a, b, f"{s:.4f}", f] for a, b, s, f in rows(pairs))])


def _sources(comparison: Comparison | None) -> list[str]:
    """What was compared, for the summary: the archives and the hand-ins that could not be read."""
    if comparison is None:
        return []
    out = []
    if comparison.archives:
        out.append("Earlier cohorts and published solutions (`--archive`, copydetect reference files: each is compared with "
                   "the current class only, never with another archived hand-in): "
                   + "; ".join(f"`{a.cohort}` ({a.compared} of {a.handins} hand-ins compared, from `{a.path}`)" for a in comparison.archives)
                   + f". Their hand-ins appear as `{ARCHIVE_PREFIX}<cohort>/<id>`.")
    if comparison.unreadable:
        kinds: dict[str, int] = {}
        for _, kind in comparison.unreadable:
            kinds[kind] = kinds.get(kind, 0) + 1
        shown = ", ".join(label for label, _ in comparison.unreadable[:10]) + (" …" if len(comparison.unreadable) > 10 else "")
        out.append(f"Not compared ({len(comparison.unreadable)}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
                   + f"): {shown}.")
    return out


def markdown(pairs: list[Pair], threshold: float, top: int = 10, comparison: Comparison | None = None) -> str:
    current = [p for p in pairs if not p.archived]
    archived = [p for p in pairs if p.archived]
    above = [p for p in current if p.similarity >= threshold]
    line = (f"{len(current)} pairs compared (copydetect, stubs and given code excluded); "
            f"{len(above)} at or above the threshold {threshold:.2f}.")
    if archived or (comparison and comparison.archives):
        hot = [p for p in archived if p.similarity >= threshold]
        line += (f" Against earlier cohorts and published solutions: {len(archived)} pairs; "
                 f"{len(hot)} at or above the threshold.")
    out = [SIMILARITY_HEADING, "", line, ""]
    notes = _sources(comparison)
    if notes:
        out += [*notes, ""]
    if pairs:
        out += ["| student a | student b | overall | most similar file |", "|---|---|---|---|"]
        out += [_md_row(p, threshold) for p in pairs[:top]]
    return "\n".join(out) + "\n"


def _md_row(p: Pair, threshold: float) -> str:
    best = max(p.files, key=lambda f: f.similarity, default=None)
    where = f"`{best.file}` {best.similarity:.2f}" if best else "—"
    flag = " **≥ threshold**" if p.similarity >= threshold else ""
    return f"| {p.student_a} | {p.student_b} | {p.similarity:.2f}{flag} | {where} |"


def _highlight(code: str, slices: np.ndarray, context: int = 4) -> str:
    """HTML-escaped code with the matched ranges in <mark>, cut to `context` lines around them."""
    if slices.size == 0:
        return html.escape(code)
    return highlight_overlap(code, slices, "<mark>", "</mark>", truncate=context, escape_html=True)[0]


def _file_section(p: Pair, f: FileMatch) -> str:
    return (f"<details{' open' if f.similarity >= 0.5 else ''}><summary><code>{html.escape(f.file)}</code>: "
            f"{f.similarity:.2f} ({f.overlap} shared tokens)</summary><div class='side'>"
            f"<div><h4>{html.escape(p.student_a)}</h4><pre>{_highlight(f.code_a, f.slices_a)}</pre></div>"
            f"<div><h4>{html.escape(p.student_b)}</h4><pre>{_highlight(f.code_b, f.slices_b)}</pre></div></div></details>")


def _cell(p: Pair) -> str:
    """Student b, marked when archived (an earlier cohort or the published solutions)."""
    if not p.archived:
        return f"<td>{html.escape(p.student_b)}</td>"
    return f"<td class='arch'><span class='tag'>archived</span> {html.escape(p.student_b)}</td>"


def html_report(pairs: list[Pair], threshold: float, comparison: Comparison | None = None) -> str:
    files = [name for name in GRADED_FILES if any(f.file == name for p in pairs for f in p.files)]

    def per_file(p: Pair) -> str:
        by_name = {f.file: f for f in p.files}
        return "".join(f"<td>{by_name[n].similarity:.2f}</td>" if n in by_name else "<td>—</td>" for n in files)

    table = "\n".join(
        f"<tr class='{'hot' if p.similarity >= threshold else ''}'><td>{i}</td><td>{html.escape(p.student_a)}</td>"
        f"{_cell(p)}<td>{p.similarity:.2f}</td>{per_file(p)}</tr>"
        for i, p in enumerate(pairs, 1)
    )
    sections = "\n".join(
        f"<section id='pair{i}'><h3>{i}. {html.escape(p.student_a)} ↔ {html.escape(p.student_b)}: {p.similarity:.2f}</h3>"
        + "".join(_file_section(p, f) for f in p.files if f.overlap) + "</section>"
        for i, p in enumerate(pairs[:SHOWN_PAIRS], 1)
        if p.similarity > 0
    )
    head = "".join(f"<th>{html.escape(f)}</th>" for f in files)
    notes = "".join(f"<p>{html.escape(line).replace('`', '')}</p>" for line in _sources(comparison))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Code similarity</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}} td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}}
tr.hot td{{background:#fde2e2}} .side{{display:grid;grid-template-columns:1fr 1fr;gap:1em}} .side>div{{min-width:0}}
pre{{font-size:12px;background:#f7f7f7;padding:.5em;overflow-x:auto;white-space:pre}} mark{{background:#ffe066}}
.tag{{font-size:11px;background:#dbe4ff;border-radius:3px;padding:0 .3em}}</style></head>
<body><h1>Code similarity ({OVERALL.strip('()')} and per file)</h1>
<p>copydetect winnowing fingerprints; identifiers, strings and comments are normalised away, and the stubs and given code
never count. Similarity = shared tokens over each file's own tokens, averaged over both directions. Threshold {threshold:.2f}
(rows in red). A high score is a reason to look, not a verdict.</p>
{notes}
<table><tr><th>#</th><th>student a</th><th>student b</th><th>overall</th>{head}</tr>
{table}</table>
<h2>Matched code (top {min(SHOWN_PAIRS, len(pairs))} pairs)</h2>
{sections}
</body></html>
"""

"""Similarity outputs: pairs.csv, a self-contained HTML report (matched code side by side) and a
Markdown section for summary.md."""

from __future__ import annotations

import html

import numpy as np
from copydetect.utils import highlight_overlap

from autograder.report.files import csv_text
from autograder.report.write import SIMILARITY_HEADING
from autograder.similarity.compare import OVERALL, FileMatch, Pair, rows

SHOWN_PAIRS = 20  # pairs with code in the HTML report; pairs.csv has them all


def pairs_csv(pairs: list[Pair]) -> str:
    return csv_text([["student_a", "student_b", "similarity", "file"], *([a, b, f"{s:.4f}", f] for a, b, s, f in rows(pairs))])


def markdown(pairs: list[Pair], threshold: float, top: int = 10) -> str:
    above = [p for p in pairs if p.similarity >= threshold]
    out = [SIMILARITY_HEADING, "",
           f"{len(pairs)} pairs compared (copydetect, stubs and given code excluded); "
           f"{len(above)} at or above the threshold {threshold:.2f}.", ""]
    if pairs:
        out += ["| student a | student b | overall | most similar file |", "|---|---|---|---|"]
        for p in pairs[:top]:
            best = max(p.files, key=lambda f: f.similarity, default=None)
            where = f"`{best.file}` {best.similarity:.2f}" if best else "—"
            flag = " **≥ threshold**" if p.similarity >= threshold else ""
            out.append(f"| {p.student_a} | {p.student_b} | {p.similarity:.2f}{flag} | {where} |")
    return "\n".join(out) + "\n"


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


def html_report(pairs: list[Pair], threshold: float) -> str:
    table = "\n".join(
        f"<tr class='{'hot' if p.similarity >= threshold else ''}'><td>{i}</td><td>{html.escape(p.student_a)}</td>"
        f"<td>{html.escape(p.student_b)}</td><td>{p.similarity:.2f}</td>"
        + "".join(f"<td>{f.similarity:.2f}</td>" for f in p.files) + "</tr>"
        for i, p in enumerate(pairs, 1)
    )
    files = [f.file for f in pairs[0].files] if pairs else []
    sections = "\n".join(
        f"<section id='pair{i}'><h3>{i}. {html.escape(p.student_a)} ↔ {html.escape(p.student_b)}: {p.similarity:.2f}</h3>"
        + "".join(_file_section(p, f) for f in p.files if f.overlap) + "</section>"
        for i, p in enumerate(pairs[:SHOWN_PAIRS], 1)
        if p.similarity > 0
    )
    head = "".join(f"<th>{html.escape(f)}</th>" for f in files)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Code similarity</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}} td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}}
tr.hot td{{background:#fde2e2}} .side{{display:grid;grid-template-columns:1fr 1fr;gap:1em}} .side>div{{min-width:0}}
pre{{font-size:12px;background:#f7f7f7;padding:.5em;overflow-x:auto;white-space:pre}} mark{{background:#ffe066}}</style></head>
<body><h1>Code similarity ({OVERALL.strip('()')} and per file)</h1>
<p>copydetect winnowing fingerprints; identifiers, strings and comments are normalised away, and the stubs and given code
never count. Similarity = shared tokens over each file's own tokens, averaged over both directions. Threshold {threshold:.2f}
(rows in red). A high score is a reason to look, not a verdict.</p>
<table><tr><th>#</th><th>student a</th><th>student b</th><th>overall</th>{head}</tr>
{table}</table>
<h2>Matched code (top {min(SHOWN_PAIRS, len(pairs))} pairs)</h2>
{sections}
</body></html>
"""

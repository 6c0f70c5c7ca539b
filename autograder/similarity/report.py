"""Similarity outputs: pairs.csv, a self-contained HTML report (matched code side by side) and a
Markdown section for summary.md. All three hold only the pairs at or above the floor
(`Comparison.floor`), so their size follows the number of similar pairs, not the square of the
class: the HTML shows the code of the top `SHOWN_PAIRS` and a table of at most `TABLE_ROWS` more."""

from __future__ import annotations

import html

import numpy as np
from copydetect.utils import highlight_overlap

from autograder.report.files import csv_text
from autograder.runtime.assignment import GRADED_FILES
from autograder.similarity.compare import ARCHIVE_PREFIX, OVERALL, Comparison, FileMatch, Pair, rows

# The same string as `autograder.report.write.SIMILARITY_HEADING` (tests/test_similarity.py checks it):
# importing that module imports torch (about 5 s and 650 MB), which the similarity modules never use.
SIMILARITY_HEADING = "## Code similarity"
SHOWN_PAIRS = 20  # pairs with code in the HTML report
TABLE_ROWS = 2000  # further pairs in the HTML report's table; pairs.csv has every pair at or above the floor


def _counts(comparison: Comparison) -> str:
    """How many pairs were compared in full and how many the index ruled out (no full stop)."""
    if comparison.method == "all-pairs":
        return f"All {comparison.total:,} compared in full (copydetect on every pair)"
    return (f"{comparison.compared:,} compared in full, {comparison.ruled_out:,} ruled out by the fingerprint index "
            f"(their bound is below the floor {comparison.floor:.2f})")


def pairs_csv(pairs: list[Pair], comparison: Comparison | None = None) -> str:
    """One row per pair overall and per file, most similar first; with a comparison, a first
    comment line (`#`) stating the floor below which pairs are not listed."""
    table = csv_text([["student_a", "student_b", "similarity", "file"], *([a, b, f"{s:.4f}", f] for a, b, s, f in rows(pairs))])
    if comparison is None:
        return table
    head = (f"# pairs with an overall similarity at or above the floor {comparison.floor:.2f}: {len(pairs):,} listed of "
            f"{comparison.total:,}; {_counts(comparison)}")
    return head.replace("\n", " ").replace("\r", " ") + "\n" + table


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


def _overview(pairs: list[Pair], threshold: float, comparison: Comparison) -> str:
    """How many pairs there were, how many were compared in full and ruled out, flagged and listed."""
    current = comparison.total - comparison.total_archived
    archives = bool(comparison.archives)
    line = f"{current:,} pairs of students" + (
        f" and {comparison.total_archived:,} pairs with earlier cohorts and published solutions" if archives else "")
    line += " (copydetect, stubs and given code excluded). " + _counts(comparison) + ". "
    above = sum(1 for p in pairs if not p.archived and p.similarity >= threshold)
    line += f"{above} pairs of students at or above the threshold {threshold:.2f}"
    if archives:
        line += f"; {sum(1 for p in pairs if p.archived and p.similarity >= threshold)} against earlier cohorts and published solutions"
    return line + f". Listed in pairs.csv and similarity.html: the {len(pairs):,} pairs at or above the floor {comparison.floor:.2f}."


def markdown(pairs: list[Pair], threshold: float, top: int = 10, comparison: Comparison | None = None) -> str:
    if comparison is not None:
        line = _overview(pairs, threshold, comparison)
    else:
        current = [p for p in pairs if not p.archived]
        archived = [p for p in pairs if p.archived]
        line = (f"{len(current)} pairs compared (copydetect, stubs and given code excluded); "
                f"{sum(p.similarity >= threshold for p in current)} at or above the threshold {threshold:.2f}.")
        if archived:
            line += (f" Against earlier cohorts and published solutions: {len(archived)} pairs; "
                     f"{sum(p.similarity >= threshold for p in archived)} at or above the threshold.")
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

    def table(start: int, chosen: list[Pair], link: bool) -> str:
        return "\n".join(
            f"<tr class='{'hot' if p.similarity >= threshold else ''}'><td>{i}</td><td>{html.escape(p.student_a)}</td>"
            f"{_cell(p)}<td>{f'<a href=#pair{i}>' if link and p.similarity > 0 else ''}{p.similarity:.2f}"
            f"{'</a>' if link and p.similarity > 0 else ''}</td>{per_file(p)}</tr>"
            for i, p in enumerate(chosen, start))

    shown, rest = pairs[:SHOWN_PAIRS], pairs[SHOWN_PAIRS:SHOWN_PAIRS + TABLE_ROWS]
    left = len(pairs) - len(shown) - len(rest)
    sections = "\n".join(
        f"<section id='pair{i}'><h3>{i}. {html.escape(p.student_a)} ↔ {html.escape(p.student_b)}: {p.similarity:.2f}</h3>"
        + "".join(_file_section(p, f) for f in p.files if f.overlap) + "</section>"
        for i, p in enumerate(shown, 1)
        if p.similarity > 0
    )
    head = f"<tr><th>#</th><th>student a</th><th>student b</th><th>overall</th>{''.join(f'<th>{html.escape(f)}</th>' for f in files)}</tr>"
    notes = "".join(f"<p>{html.escape(line).replace('`', '')}</p>" for line in _sources(comparison))
    floor = comparison.floor if comparison else 0.0
    if comparison is not None:
        notes = f"<p>{html.escape(_overview(pairs, threshold, comparison))}</p>" + notes
    others = ""
    if rest:
        others = (f"<h2>Other pairs at or above the floor {floor:.2f}</h2>\n<table>{head}\n{table(SHOWN_PAIRS + 1, rest, False)}</table>"
                  + (f"<p>… and {left:,} more pairs in pairs.csv.</p>" if left else ""))
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
<h2>Most similar pairs (top {len(shown)}), matched code side by side</h2>
<table>{head}
{table(1, shown, True)}</table>
{sections}
{others}
</body></html>
"""

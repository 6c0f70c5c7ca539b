"""`autograder similarity SUBMISSIONS --out DIR [--threshold T] [--floor F] [--archive DIR ...] [-j N]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.atomic import write_text
from autograder.similarity.compare import DEFAULT_BOILERPLATE, METHODS, Comparison, compare
from autograder.similarity.report import SIMILARITY_HEADING, html_report, markdown, pairs_csv

DEFAULT_THRESHOLD = 0.6
MARGIN = 0.1  # the default floor: pairs this far below the threshold are still listed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similarity", help="code similarity between every pair of students, and with earlier cohorts (--archive); stubs excluded")
    p.add_argument("submissions", type=Path, help="folder with one zip or folder per student (as for grade)")
    p.add_argument("--out", type=Path, required=True, help="output folder (pairs.csv, similarity.html, summary.md)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help=f"flag pairs at or above this overall similarity (default {DEFAULT_THRESHOLD})")
    p.add_argument("--floor", type=float, default=None,
                   help=f"list pairs at or above this overall similarity in pairs.csv and the report (default: the threshold minus {MARGIN}; "
                        "0 lists every pair); pairs that cannot reach it are not compared in full")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes for the comparisons (default: the usable cores)")
    p.add_argument("--method", choices=METHODS, default="index",
                   help="index: compare in full only the pairs the fingerprint index cannot rule out (default); "
                        "all-pairs: copydetect on every pair (same results, slow for a large class)")
    p.add_argument("--boilerplate", type=Path, default=DEFAULT_BOILERPLATE, help="folder of stubs and given code that never counts")
    p.add_argument("--archive", type=Path, action="append", default=[], metavar="DIR",
                   help="an earlier cohort's submissions (any layout grade accepts) or a folder of published solutions (.py files); "
                        "every current submission is also compared with each of its hand-ins, never archive with archive (repeatable)")
    p.add_argument("--assignment", default=ASSIGNMENT, help="nbgrader assignment name (submitted/<student>/NAME/)")
    p.set_defaults(func=run)


def write_similarity(out: Path, pairs: list, threshold: float, comparison: Comparison | None = None) -> dict[str, Path]:
    """pairs.csv, similarity.html, and the section in summary.md (replaced on a re-run)."""
    paths = {"pairs.csv": out / "pairs.csv", "similarity.html": out / "similarity.html", "summary.md": out / "summary.md"}
    write_text(paths["pairs.csv"], pairs_csv(pairs, comparison))
    write_text(paths["similarity.html"], html_report(pairs, threshold, comparison))
    section = markdown(pairs, threshold, comparison=comparison)
    old = paths["summary.md"].read_text(encoding="utf-8") if paths["summary.md"].exists() else ""
    keep = old.split(SIMILARITY_HEADING, 1)[0].rstrip("\n")
    write_text(paths["summary.md"], (keep + "\n\n" if keep else "") + section)
    return paths


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.threshold <= 1:
        print("autograder similarity: --threshold must be in [0, 1]", file=sys.stderr)
        return 2
    floor = max(0.0, round(args.threshold - MARGIN, 6)) if args.floor is None else args.floor
    if not 0 <= floor <= args.threshold:
        print("autograder similarity: --floor must be in [0, threshold]", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("autograder similarity: -j must be at least 1", file=sys.stderr)
        return 2
    try:
        comparison = compare(args.submissions, args.boilerplate, args.assignment, args.archive, floor=floor,
                             method=args.method, jobs=args.jobs)
    except (FileNotFoundError, ValueError) as exc:
        print(f"autograder similarity: {exc}", file=sys.stderr)
        return 2
    pairs = comparison.pairs
    paths = write_similarity(args.out, pairs, args.threshold, comparison)
    print(markdown(pairs, args.threshold, comparison=comparison))
    if comparison.seconds:
        print("similarity steps: " + ", ".join(f"{step} {s:.1f} s" for step, s in comparison.seconds.items()))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0

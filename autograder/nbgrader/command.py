"""`autograder nbgrader-source COURSE_DIR`: the assignment's nbgrader source folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.nbgrader.source import write_source


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nbgrader-source", help="write source/<assignment>/ of an nbgrader course (notebooks + stubs)")
    p.add_argument("course", type=Path, help="nbgrader course directory (created if missing)")
    p.add_argument("--assignment", default=ASSIGNMENT, help=f"assignment name (default {ASSIGNMENT})")
    p.add_argument("--answers", action="store_true", help="also write partN_answers.ipynb (solution cells; for notebook submissions)")
    p.add_argument("--force", action="store_true", help="overwrite an existing source/<assignment>/")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        folder = write_source(args.course, args.assignment, answers=args.answers, force=args.force)
    except FileExistsError as exc:
        print(f"autograder nbgrader-source: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {folder}; next: cd {args.course} && nbgrader generate_assignment {args.assignment}")
    return 0

"""CLI wiring of `autograder check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.check import run_check
from autograder.runtime.assignment import PARTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="run the public self-checks on your code")
    p.add_argument("part", nargs="?", choices=PARTS, help="only this part (default: all)")
    p.add_argument("--dir", type=Path, default=None, help="folder with your part*_*.py files (default: ./cnn_rnn)")
    p.set_defaults(func=run, quick_exit=True)  # prints its report and ends: no finalizer to wait for (cli.main)


def run(args: argparse.Namespace) -> int:
    try:
        report = run_check(args.part, args.dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"autograder check: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.passed else 1

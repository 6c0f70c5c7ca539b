"""CLI wiring of `autograder release --out DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.release import stubs
from autograder.release.bundle import build_bundle


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release-stubs", help="regenerate assignments/cnn_rnn from solutions/cnn_rnn")
    p.add_argument("--check", action="store_true", help="fail when the committed stubs drifted")
    p.set_defaults(func=run_stubs)

    p = sub.add_parser("release", help="build the student bundle (stubs, notebooks, public checks, student commands)")
    p.add_argument("--out", type=Path, required=True, help="new, empty folder for the bundle")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        out = build_bundle(args.out)
    except FileExistsError as exc:
        print(f"autograder release: {exc}", file=sys.stderr)
        return 2
    print(f"student bundle written to {out}")
    return 0


def run_stubs(args: argparse.Namespace) -> int:
    if args.check:
        bad = stubs.drift()
        if bad:
            print("assignments/cnn_rnn drifted from the solutions: " + ", ".join(bad), file=sys.stderr)
            print("run `python -m autograder release-stubs` and commit the result", file=sys.stderr)
            return 1
        print("assignments/cnn_rnn matches the solutions")
        return 0
    for path in stubs.write():
        print(path)
    return 0

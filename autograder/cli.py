"""`autograder` command line: one subcommand per verb, each implemented in its own subpackage."""

from __future__ import annotations

import argparse
import sys


def _release_stubs(args: argparse.Namespace) -> int:
    from autograder.release import stubs

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Module 6 (CNN and RNN) exercises and grader")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("release-stubs", help="regenerate assignments/cnn_rnn from solutions/cnn_rnn")
    p.add_argument("--check", action="store_true", help="fail when the committed stubs drifted")
    p.set_defaults(func=_release_stubs)

    from autograder.grade import command as grade_command

    grade_command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)

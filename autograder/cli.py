"""`autograder` command line: one subcommand per verb, each implemented in its own subpackage."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

VERBS = (
    "autograder.check.command",
    "autograder.submit.command",
    "autograder.grade.command",
    "autograder.release.command",
    "autograder.demo.command",
    "autograder.nbgrader.command",
    "autograder.gradescope.command",
    "autograder.audit.command",
    "autograder.similarity.command",
)
PACKAGE = Path(__file__).resolve().parent


def _shipped(module: str) -> bool:
    """Whether this copy of the package holds the verb's module. The student bundle ships only
    the student verbs; an instructor's editable install in the same environment must not add its
    own (they would mix two copies of the package)."""
    return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py").is_file()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Module 6 (CNN and RNN) exercises and grader")
    sub = parser.add_subparsers(dest="verb", required=True)
    for module in filter(_shipped, VERBS):
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)

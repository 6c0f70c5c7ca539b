"""`autograder gradescope --out autograder.zip`: the Gradescope autograder zip."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from autograder.gradescope.build import build_zip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradescope", help="build the Gradescope autograder zip (setup.sh, run_autograder, grader)")
    p.add_argument("--out", type=Path, default=Path("autograder.zip"), help="zip to write (default: autograder.zip)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = build_zip(args.out)
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f"wrote {path} ({n} files, {path.stat().st_size / 1e6:.1f} MB); upload it as the assignment's autograder")
    return 0

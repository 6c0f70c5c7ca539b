"""End-to-end demos of each part on the bundled real data (`autograder demo`).

The demos run the instructor's solutions, imported the way the grader imports any submission:
the folder `solutions/cnn_rnn` becomes the package `cnn_rnn` (runtime.assignment.install_package),
so nothing here imports `solutions` and the demo code would run a student's folder the same way.
`solutions/` is not in the wheel: from an installed package the demo says so and stops.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT, REPO, given_files, install_package

SOLUTIONS = REPO / "solutions" / ASSIGNMENT

if ASSIGNMENT not in sys.modules:
    if not SOLUTIONS.is_dir():
        raise SystemExit(f"autograder demo runs the instructor's solutions, which are not in this installation "
                         f"({SOLUTIONS} not found): run it from a checkout of the repository (make demo).")
    install_package(SOLUTIONS, given_files())


def demo_main(prog: str, doc: str | None, run: Callable[[Path], dict], default_out: str, argv: list[str] | None = None) -> int:
    """`python -m autograder.demo.<name> [--out DIR]`: run one demo and print its figures."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--out", type=Path, default=Path(default_out))
    args = parser.parse_args(argv)
    print(json.dumps(run(args.out), ensure_ascii=False, indent=1))
    return 0

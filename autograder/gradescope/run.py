"""What `run_autograder` runs on Gradescope: grade `<root>/submission`, write `<root>/results/results.json`.

    python -m autograder.gradescope.run [--root /autograder] [--parts part1,part2] [--run-as student]
    python -m autograder.gradescope.run --warm     # setup.sh: fill the expectation cache once

The root defaults to `$GRADESCOPE_ROOT` or `/autograder`, so the real script can run on a
simulated tree. The grader runs as root (as Gradescope starts it); student code runs in the
worker as the unprivileged `--run-as` user (`$CNN_RNN_RUN_AS`, default `student`, created by
setup.sh), sandboxed with bubblewrap when the container allows it, and the hidden suites,
the reference and the expectation cache are made unreadable to that user.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
import tempfile
import time
from pathlib import Path

import autograder
from autograder.atomic import write_text
from autograder.catalog import SUITES
from autograder.config import GradingConfig
from autograder.expect import cache_root
from autograder.grade.submission import grade_prepared, ungradable
from autograder.grade.unpack import SubmissionError, prepare
from autograder.grading import SuiteError, grade_folder, run_suite
from autograder.gradescope.results import gradescope_results
from autograder.config import Limits
from autograder.results import CheckResult, StudentResult
from autograder.runtime.assignment import GRADED_FILES, PARTS, REPO, given_files

# What decides a grade: readable by the grading user (root) only. Whole folders, so that a file
# added to one is covered too.
SECRETS = (SUITES / "hidden", REPO / "reference", REPO / "solutions")


def resolve_user(spec: str) -> tuple[int, int] | None:
    """(uid, gid) of the user student code runs as; None when not root or not wanted."""
    if not spec or spec.lower() == "none" or os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except KeyError:
        raise SystemExit(f"run_autograder: user {spec!r} does not exist (setup.sh creates `student`); refusing to run student code as root")
    if pw.pw_uid == 0:
        raise SystemExit("run_autograder: --run-as must name an unprivileged user")
    return pw.pw_uid, pw.pw_gid


def lock_down() -> None:
    """What decides the grade is readable by the grading user (root) only."""
    for path in (*SECRETS, cache_root()):
        if path.exists():
            os.chmod(path, 0o700)


def submission_source(folder: Path) -> Path:
    """The uploaded files, or the single zip the student uploaded (Gradescope keeps a .zip as is
    when it cannot or should not extract it)."""
    has_code = any(p.name in GRADED_FILES or p.name.lower().endswith("_answers.ipynb") for p in folder.rglob("*"))
    zips = sorted(folder.glob("*.zip"))
    return zips[0] if not has_code and len(zips) == 1 else folder


def grade(root: Path, parts: tuple[str, ...] | None, run_as: tuple[int, int] | None) -> tuple[StudentResult, list[CheckResult]]:
    """Hidden suite (the grade) and public checks (feedback) on the unpacked submission, through
    the same per-submission path as a batch (autograder.grade.submission)."""
    # The worker is a fresh interpreter started as `run_as` (no fork server: there is one
    # submission per container, and a worker of another uid cannot signal, trace or read the
    # root-owned grader), inside bubblewrap when the container allows it.
    config = GradingConfig(limits=Limits(run_as=run_as), forkserver=False, hide=(root / "submission", root / "results"), parts=parts)
    with tempfile.TemporaryDirectory(prefix="gradescope_") as tmp:
        try:
            prepared = prepare(submission_source(root / "submission"), Path(tmp) / "code")
        except SubmissionError as exc:
            return ungradable("submission", exc, config), []
        hidden = grade_prepared("submission", prepared, config)
        if not hidden.graded:
            return hidden, []
        try:
            public = run_suite(prepared.folder, "public", config).results
        except SuiteError as exc:  # no public checks for these parts: the grade is unaffected
            print(f"public checks skipped: {exc}")
            public = []
    return hidden, public


def warm() -> int:
    """Grade the untouched stubs once so that the image holds the reference expectations."""
    result = grade_folder("warm-up", given_files(), GradingConfig(forkserver=False))
    print(f"expectations cached under {cache_root()}; stubs scored {result.total:g}/{result.max_total:g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("GRADESCOPE_ROOT", "/autograder")))
    parser.add_argument("--parts", default=os.environ.get("CNN_RNN_PARTS", ""), help="comma-separated parts (default: all)")
    parser.add_argument("--run-as", default=os.environ.get("CNN_RNN_RUN_AS", "student"), help="user for student code ('none': same user)")
    parser.add_argument("--warm", action="store_true", help="fill the expectation cache (setup.sh) and exit")
    args = parser.parse_args(argv)
    if args.warm:
        return warm()
    parts = tuple(p for p in args.parts.split(",") if p) or None
    unknown = sorted(set(parts or ()) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    started = time.monotonic()
    run_as = resolve_user(args.run_as)
    if run_as is not None:
        lock_down()
    print(f"grader: {Path(autograder.__file__).parent}; student code runs as uid {run_as[0] if run_as else os.geteuid()}")
    hidden, public = grade(args.root, parts, run_as)
    if hidden.outcome == "grader_fault":
        # Never a 0: without results.json Gradescope tells the student that the autograder
        # failed, and the instructor sees a submission to rerun.
        (args.root / "results" / "results.json").unlink(missing_ok=True)
        fault = {"outcome": hidden.outcome, "problem_kind": hidden.problem_kind, "problem": hidden.problem}
        write_text(args.root / "results" / "grader_fault.json", json.dumps(fault, ensure_ascii=False, indent=1))  # for the instructor's logs
        print(f"run_autograder: grader error ({hidden.problem_kind}): {hidden.problem}", file=sys.stderr)
        return 1
    data = gradescope_results(hidden, public, time.monotonic() - started)
    write_text(args.root / "results" / "results.json", json.dumps(data, ensure_ascii=False, indent=1))
    print(f"score {hidden.total:g}/{hidden.max_total:g}; {hidden.sandbox or 'not graded'}")
    for c in hidden.checks:
        print(f"  {c.status:8s} {c.score:g}/{c.max_score:g}  {c.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

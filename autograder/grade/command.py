"""`autograder grade SUBMISSIONS --out DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.catalog import groups
from autograder.grade.batch import GraderFailure, grade_all
from autograder.report.table import gradebook_table
from autograder.report.write import write_outputs
from autograder.launch.settings import Limits
from autograder.runtime.assignment import PARTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade a folder of submissions (zips and/or folders, nbgrader layout too)")
    p.add_argument("submissions", type=Path, help="folder with one zip or folder per student")
    p.add_argument("--out", type=Path, required=True, help="output folder (grades.csv, results.jsonl, feedback/, ...)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel submissions (default: CPU cores)")
    p.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    p.add_argument("--student", action="append", help="(re)grade only this student; repeatable")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="address-space cap per worker")
    p.add_argument("--probe-timeout", type=float, default=Limits.probe_s, help="default seconds per probe")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("--part", action="append", choices=PARTS, help="grade only this part; repeatable (default: all)")
    p.add_argument("--nbgrader", type=Path, metavar="COURSE_DIR", help="also write the scores into this nbgrader course's gradebook")
    p.add_argument("--assignment", default=ASSIGNMENT, help=f"nbgrader assignment name (submitted/<student>/NAME/; default {ASSIGNMENT})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    limits = Limits(memory_mb=args.memory_mb, probe_s=args.probe_timeout)
    try:
        results = grade_all(args.submissions, args.out, jobs=args.jobs, force=args.force, students=args.student, limits=limits,
                            quiet=args.quiet, parts=tuple(args.part) if args.part else None, assignment=args.assignment)
    except (FileNotFoundError, ValueError) as exc:
        print(f"autograder grade: {exc}", file=sys.stderr)
        return 2
    except GraderFailure as exc:
        print(f"autograder grade: {exc}\nThe other results are saved; fix the cause and run the same command again.", file=sys.stderr)
        return 3
    paths = write_outputs(args.out, results)
    from autograder.launch.sandbox import UNSANDBOXED

    if any(r.sandbox == UNSANDBOXED for r in results):
        print(f"\nWARNING: {UNSANDBOXED}\n", file=sys.stderr)
    print(gradebook_table(results, groups()))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())} and feedback/ for {len(results)} student(s)")
    if args.nbgrader:
        from autograder.nbgrader.gradebook import write_gradebook

        course = write_gradebook(args.nbgrader, args.assignment, results)
        print(f"nbgrader gradebook: {len(results)} submission(s) of {args.assignment!r} written to {course.db_url}")
    return 0

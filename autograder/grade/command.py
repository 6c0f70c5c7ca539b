"""`autograder grade SUBMISSIONS --out DIR`.

Exit codes: 0 every submission graded; 1 outputs written, but some hand-ins could not be graded
(each has a row with status `ungradable` and the reason); 2 bad arguments or input folder, and
`--device cuda` (device_refusal); 3 the grader failed on some submissions (nothing recorded for
them: run the same command again).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.catalog import checks_of, groups
from autograder.grade import late
from autograder.grade.batch import GraderFailure, changes_summary, grade_class
from autograder.grade.discover import discover_report
from autograder.report import lms
from autograder.report.table import gradebook_table
from autograder.report.write import write_outputs
from autograder.config import Limits
from autograder.results import StudentResult
from autograder.runtime.assignment import PARTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade a folder of submissions (zips and/or folders, nbgrader layout too)")
    p.add_argument("submissions", type=Path, help="folder with one zip or folder per student")
    p.add_argument("--out", type=Path, required=True, help="output folder (grades.csv, results.jsonl, feedback/, ...)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel submissions (default: CPU cores)")
    p.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    p.add_argument("--student", action="append", help="(re)grade only this student; repeatable (the gradebook is still the whole class)")
    p.add_argument("--only", nargs="+", metavar="WHAT",
                   help="(re)grade the students whose stored result has: ungradable | errors | timeouts | failed-check NAME")
    p.add_argument("--no-decrease", action="store_true", help="a regrade never lowers a stored total (the feedback and changes.csv say so)")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="address-space cap per worker")
    p.add_argument("--probe-timeout", type=float, default=Limits.probe_s, help="default seconds per probe")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("--part", action="append", choices=PARTS, help="grade only this part; repeatable (default: all)")
    p.add_argument("--nbgrader", type=Path, metavar="COURSE_DIR", help="also write the scores into this nbgrader course's gradebook")
    p.add_argument("--assignment", default=ASSIGNMENT, help=f"nbgrader assignment name (submitted/<student>/NAME/; default {ASSIGNMENT})")
    timing = p.add_argument_group("late policy (times only from nbgrader timestamp.txt, Gradescope submission_metadata.json or --submission-times)")
    timing.add_argument("--deadline", help="ISO 8601 with a zone, e.g. 2026-11-20T23:59:00+08:00")
    timing.add_argument("--late-penalty", help="P%%/day or P%%/hour of the maximum points, optionally 'grace=15m cap=50%%'")
    timing.add_argument("--submission-times", type=Path, metavar="CSV", help="instructor CSV: submission, submitted_at[, student]")
    timing.add_argument("--keep", choices=("newest", "best"), default="newest", help="which of a student's submissions counts (default newest)")
    export = p.add_argument_group("LMS export")
    export.add_argument("--canvas-csv", type=Path, metavar="FILE", help="write a Canvas gradebook import CSV")
    export.add_argument("--canvas-assignment", default=ASSIGNMENT, help="Canvas column: 'Name (assignment id)' updates it, a new name creates one")
    export.add_argument("--moodle-csv", type=Path, metavar="FILE", help="write a Moodle grade import CSV (identifier, grade)")
    export.add_argument("--ungradable-as-zero", action="store_true",
                        help="write 0 for hand-ins that could not be graded (default: an empty cell in grades.csv and the LMS files)")
    export.add_argument("--roster", type=Path, metavar="CSV", help="Canvas gradebook export or CSV with a 'student' column (docs/INTEGRATIONS.md)")
    p.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS") or None, metavar="ADDRESS",
                   help="grade on this Dask cluster (tcp://HOST:8786, tls://...; default $DASK_SCHEDULER_ADDRESS) instead of "
                        "local processes; see docs/DISTRIBUTED.md")
    p.add_argument("--insecure", action="store_true", help="allow an unencrypted scheduler address outside this machine")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the workers compute (default cpu; cuda is refused with exit code 2: without a GPU, and with one "
                        "until the GPU path exists, see docs/REPRODUCIBILITY.md)")
    p.set_defaults(func=run)


def device_refusal(device: str) -> str:
    """Why `--device` cannot be honoured ("" for cpu). Grading on the GPU is not built: the
    workers' memory cap (RLIMIT_AS) and sandbox (no /dev/nvidia*) rule CUDA out, the probes build
    every model on the CPU and the expectations (random streams, tolerances) are the CPU's
    (docs/REPRODUCIBILITY.md, "GPU"). A grade is never silently computed elsewhere than asked."""
    if device == "cpu":
        return ""
    import torch

    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return (f"--device {device}: no CUDA GPU is visible to this torch ({torch.__version__}, {build}); "
                "nothing was graded. Grade on the CPU (the default, --device cpu).")
    return (f"--device {device}: a GPU is present ({torch.cuda.get_device_name(0)}), but grading on the GPU is not "
            "implemented yet (docs/REPRODUCIBILITY.md, \"GPU\", says what is missing); nothing was graded. "
            "Grade on the CPU (the default, --device cpu).")


def only_filter(words: list[str]) -> Callable[[StudentResult], bool]:
    """`--only ungradable|errors|timeouts|failed-check NAME` as a test on a stored result."""
    what, rest = words[0], words[1:]
    tests: dict[str, Callable[[StudentResult], bool]] = {
        "ungradable": lambda r: r.outcome == "ungradable",
        "errors": lambda r: r.graded and any(c.status == "error" for c in r.checks),
        "timeouts": lambda r: any(c.status == "timeout" for c in r.checks),
    }
    if what == "failed-check" and len(rest) == 1:
        if rest[0] not in {m.name for m in checks_of()}:
            raise ValueError(f"--only failed-check: no check named {rest[0]!r} (names as in results.jsonl, e.g. part3.char_tokenize)")
        return lambda r: any(c.check == rest[0] and c.status != "passed" for c in r.checks)
    if what in tests and not rest:
        return tests[what]
    raise ValueError(f"--only {' '.join(words)}: expected ungradable, errors, timeouts or failed-check NAME")


def run(args: argparse.Namespace) -> int:
    if refusal := device_refusal(args.device):  # before anything is read or written
        print(f"autograder grade: {refusal}", file=sys.stderr)
        return 2
    limits = Limits(memory_mb=args.memory_mb, probe_s=args.probe_timeout)
    try:
        if bool(args.deadline) != bool(args.late_penalty):
            raise ValueError("--deadline and --late-penalty go together")
        policy = late.parse_policy(args.deadline, args.late_penalty) if args.deadline else None
        found = discover_report(args.submissions, args.assignment)  # once per command
        times = late.stamps(found.submissions, args.assignment, args.submission_times)
        roster = lms.read_roster(args.roster) if args.roster else None
        select = (lambda subs: late.newest_only(subs, times)) if args.keep == "newest" else None
        run = grade_class(args.submissions, args.out, jobs=args.jobs, force=args.force, students=args.student,
                          only=only_filter(args.only) if args.only else None, no_decrease=args.no_decrease, limits=limits,
                          quiet=args.quiet, parts=tuple(args.part) if args.part else None, assignment=args.assignment, select=select,
                          scheduler=args.scheduler, insecure=args.insecure, found=found)
        results = run.results
    except (FileNotFoundError, ValueError) as exc:
        print(f"autograder grade: {exc}", file=sys.stderr)
        return 2
    except GraderFailure as exc:
        print(f"autograder grade: {exc}\nThe other results are saved; fix the cause and run the same command again.", file=sys.stderr)
        return 3
    results = late.settle(results, times, policy, args.keep)
    extra = []
    if moved := changes_summary(run.changes):
        print("\n".join(moved), file=sys.stderr)
        extra.append("## Regraded\n\n" + "\n".join(f"- {line.strip()}" for line in moved) + "\n")
    if policy is not None and (untimed := [r.student for r in results if not r.submitted_at]):
        extra.append("## No trusted submission time\n\nNo late policy applied to: " + ", ".join(untimed) + "\n")
    if args.canvas_csv or args.moodle_csv:
        extra += lms.write_exports(results, roster, args.canvas_csv, args.moodle_csv, args.canvas_assignment, args.ungradable_as_zero)
    paths = write_outputs(args.out, results, extra, args.ungradable_as_zero)
    from autograder.launch.sandbox import UNSANDBOXED, bwrap_path

    if bwrap_path() is None:  # this run's workers were not sandboxed (each row says so too)
        print(f"\nWARNING: {UNSANDBOXED}\n", file=sys.stderr)
    print(gradebook_table(results, groups()))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())} and feedback/ for {len(results)} student(s)")
    if args.nbgrader:
        from autograder.nbgrader.gradebook import write_gradebook

        course = write_gradebook(args.nbgrader, args.assignment, results)
        print(f"nbgrader gradebook: {len(results)} submission(s) of {args.assignment!r} written to {course.db_url}")
    if failed := [r for r in results if r.outcome == "ungradable"]:
        print(f"\n{len(failed)} submission(s) could not be graded (status 'ungradable' in grades.csv, no grade in the LMS files):", file=sys.stderr)
        for r in failed:
            print(f"  {r.student}: [{r.problem_kind}] {r.problem}", file=sys.stderr)
        return 1
    return 0

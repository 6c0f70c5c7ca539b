"""`autograder audit [--part P] [--function F] [--max N] [--seed S] --out DIR`: mutation-test the
hidden suites against one-small-change mutants of the solutions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.runtime.assignment import PARTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="mutation-test the hidden suites: grade mutants of the solutions, report the kill rate")
    p.add_argument("--out", type=Path, required=True, help="output folder (audit.md, audit.json, graded/)")
    p.add_argument("--part", action="append", choices=list(PARTS), help="only this part's solution regions; repeatable")
    p.add_argument("--function", action="append", help="only this graded function (e.g. cosine_topk or BasicBlock.forward); repeatable")
    p.add_argument("--max", type=int, default=None, help="at most N mutants, spread over the graded functions")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample taken by --max")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel submissions (default: CPU cores)")
    p.add_argument("--list", action="store_true", help="list the mutants and exit without grading")
    p.add_argument("--strict", action="store_true", help="exit 1 when a mutant survives that the equivalents file does not list")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from autograder.audit.report import write_report
    from autograder.audit.run import AuditError, all_mutants, run_audit, sample

    parts = tuple(args.part) if args.part else None
    functions = tuple(args.function) if args.function else None
    if args.list:
        for m, _ in sample(all_mutants(parts, functions), args.max, args.seed):
            print(f"{m.id}  {m.part}.{m.function}:{m.line}  {m.kind:18} {m.old!r} -> {m.new!r}")
        return 0
    try:
        result = run_audit(args.out, parts=parts, functions=functions, max_mutants=args.max, seed=args.seed,
                           jobs=args.jobs, quiet=args.quiet)
    except AuditError as exc:
        print(f"autograder audit: {exc}", file=sys.stderr)
        return 2
    if not result.outcomes:
        print("autograder audit: no mutant matches the selection", file=sys.stderr)
        return 2
    summary = write_report(args.out, result)
    o = summary["overall"]
    rate = "n/a" if o["kill_rate"] is None else f"{100 * o['kill_rate']:.1f} %"
    print(f"{o['mutants']} mutants ({summary['graded_now']} graded now) in {summary['wall_seconds'] / 60:.1f} min ({summary['mutants_per_minute']}/min): "
          f"{o['killed']} killed, {o['survived']} survived, {o['equivalent']} equivalent; kill rate {rate}")
    for f, t in summary["functions"].items():
        if t["survived"]:
            print(f"  {f}: {t['survived']} survivor(s)")
    print(f"report: {args.out / 'audit.md'}")
    return 1 if args.strict and o["survived"] else 0

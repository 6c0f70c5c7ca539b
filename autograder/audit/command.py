"""`autograder audit [--part P] [--function F] [--family small|do-nothing] [--max N] [--seed S] --out DIR`:
mutation-test the hidden suites against one-small-change mutants of the solutions, and look for
free points with do-nothing mutants of the stubs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.runtime.assignment import PARTS

DO_NOTHING = "do-nothing"  # autograder.audit.trivial.FAMILY (not imported: the parser stays light)
FAMILIES = ("small", DO_NOTHING)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="mutation-test the hidden suites: grade mutants of the solutions, report the kill rate")
    p.add_argument("--out", type=Path, required=True, help="output folder (audit.md, audit.json, graded/)")
    p.add_argument("--part", action="append", choices=list(PARTS), help="only this part's solution regions; repeatable")
    p.add_argument("--function", action="append", help="only this graded function (e.g. cosine_topk or BasicBlock.forward); repeatable")
    p.add_argument("--family", action="append", choices=list(FAMILIES),
                   help="small: one-small-change mutants of the solutions; do-nothing: the stubs with one function given a "
                        "trivial body (every point they earn is a free point); repeatable (default: both)")
    p.add_argument("--do-nothing", dest="family", action="append_const", const=DO_NOTHING,
                   help="the same as --family do-nothing")
    p.add_argument("--max", type=int, default=None, help="at most N small-change mutants, spread over the graded functions")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample taken by --max")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel submissions (default: CPU cores)")
    p.add_argument("--list", action="store_true", help="list the mutants and exit without grading")
    p.add_argument("--strict", action="store_true", help="exit 1 when a mutant survives that the equivalents file does not list")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from autograder.audit.report import write_report
    from autograder.audit.run import SMALL, AuditError, all_mutants, do_nothing_mutants, run_audit, sample

    parts = tuple(args.part) if args.part else None
    functions = tuple(args.function) if args.function else None
    families = tuple(dict.fromkeys(args.family)) if args.family else FAMILIES
    if args.list:
        listed = sample(all_mutants(parts, functions), args.max, args.seed) if SMALL in families else []
        listed += do_nothing_mutants(parts, functions) if DO_NOTHING in families else []
        for m, _ in listed:
            print(f"{m.id}  {m.part}.{m.function}:{m.line}  {m.kind:18} {m.old!r} -> {m.new!r}")
        return 0
    try:
        result = run_audit(args.out, parts=parts, functions=functions, max_mutants=args.max, seed=args.seed,
                           jobs=args.jobs, quiet=args.quiet, families=families)
    except AuditError as exc:
        print(f"autograder audit: {exc}", file=sys.stderr)
        return 2
    if not result.outcomes:
        print("autograder audit: no mutant matches the selection", file=sys.stderr)
        return 2
    summary = write_report(args.out, result)
    o, dn = summary["overall"], summary["do_nothing"]
    rate = "n/a" if o["kill_rate"] is None else f"{100 * o['kill_rate']:.1f} %"
    print(f"{o['mutants'] + dn['mutants']} mutants ({summary['graded_now']} graded now) in {summary['wall_seconds'] / 60:.1f} min "
          f"({summary['mutants_per_minute']}/min)")
    if o["mutants"]:
        print(f"small changes: {o['mutants']} mutants, {o['killed']} killed, {o['survived']} survived, {o['equivalent']} equivalent; "
              f"kill rate {rate}")
    for f, t in summary["functions"].items():
        if t["survived"]:
            print(f"  {f}: {t['survived']} survivor(s)")
    if dn["mutants"]:
        print(f"free points: {dn['free_points']:g} ({dn['mutants']} do-nothing mutants, {dn['earning']} earning points)")
        for check, e in dn["checks"].items():
            print(f"  {check} ({e['points']:g}): {'; '.join(e['bodies'])}")
    print(f"report: {args.out / 'audit.md'}")
    return 1 if args.strict and (o["survived"] or dn["free_points"]) else 0

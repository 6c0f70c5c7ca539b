"""The audit's report: kill rate per graded function and per part, every surviving mutant with
its diff, and the throughput (mutants per minute)."""

from __future__ import annotations

import json
import os
import platform
from collections import defaultdict
from pathlib import Path

from autograder.atomic import write_text
from autograder.audit.run import DO_NOTHING, AuditResult, Outcome
from autograder.audit.trivial import stub_original
from autograder.release.stubs import SOLUTIONS


def _tally(outcomes: list[Outcome]) -> dict[str, int | float | None]:
    equivalent = sum(o.status.startswith("equivalent") for o in outcomes)
    killed = sum(o.status == "killed" for o in outcomes)
    scored = len(outcomes) - equivalent
    return {"mutants": len(outcomes), "equivalent": equivalent, "killed": killed, "survived": scored - killed,
            "kill_rate": (killed / scored) if scored else None}


def free_points(outcomes: list[Outcome]) -> dict:
    """What the do-nothing mutants earned: per check, its points and the bodies that earned them.
    `free_points` is the sum of the points of every check some do-nothing body passes (what a
    class could be given for code nobody wrote); it must be 0."""
    dn = [o for o in outcomes if o.status == DO_NOTHING]
    by_check: dict[str, dict] = {}
    for o in dn:
        for check, points in o.passed_checks.items():
            entry = by_check.setdefault(check, {"points": 0.0, "bodies": []})
            entry["points"] = max(entry["points"], points)
            entry["bodies"].append(f"{o.mutant.part}.{o.mutant.function}: {o.mutant.kind.split(':', 1)[1]} ({o.mutant.id})")
    return {"mutants": len(dn), "earning": sum(bool(o.passed_checks) for o in dn),
            "free_points": sum(e["points"] for e in by_check.values()), "checks": dict(sorted(by_check.items()))}


def summarize(result: AuditResult) -> dict:
    by_function: dict[str, list[Outcome]] = defaultdict(list)
    by_part: dict[str, list[Outcome]] = defaultdict(list)
    small = [o for o in result.outcomes if o.status != DO_NOTHING]
    for o in small:
        by_function[f"{o.mutant.part}.{o.mutant.function}"].append(o)
        by_part[o.mutant.part].append(o)
    minutes = result.wall_seconds / 60
    return {
        "overall": _tally(small),
        "do_nothing": free_points(result.outcomes),
        "parts": {p: _tally(v) for p, v in sorted(by_part.items())},
        "functions": {f: _tally(v) for f, v in sorted(by_function.items())},
        "wall_seconds": round(result.wall_seconds, 1),
        "graded_now": result.graded_now,
        "mutants_per_minute": round(result.graded_now / minutes, 2) if minutes else None,
        "jobs": result.jobs,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}",
        "survivors": [dict(o.mutant.to_dict(), checks_failed=o.failed_checks) for o in result.outcomes if o.status == "survived"],
        "equivalent_but_killed": [o.mutant.id for o in result.outcomes if o.status == "equivalent-killed"],
        "stale_equivalents": result.stale_equivalents,
        "outcomes": [dict(o.mutant.to_dict(), status=o.status, checks_failed=o.failed_checks, checks_passed=o.passed_checks)
                     for o in result.outcomes],
    }


def _rate(t: dict) -> str:
    return "—" if t["kill_rate"] is None else f"{100 * t['kill_rate']:.1f} %"


def markdown(summary: dict, result: AuditResult) -> str:
    o = summary["overall"]
    lines = [
        "# Mutation audit of the hidden suites",
        "",
        f"{o['mutants']} mutants; {summary['graded_now']} graded by this run in {summary['wall_seconds'] / 60:.1f} minutes with "
        f"{summary['jobs'] or 'all'} job(s) ({summary['mutants_per_minute']} mutants per minute; the rest resumed from "
        f"earlier runs) on {summary['machine']}.",
        "",
        f"**Overall: {o['killed']} killed, {o['survived']} survived, {o['equivalent']} equivalent (reviewed); "
        f"kill rate {_rate(o)} of the non-equivalent mutants.**",
        "",
        f"**free points: {summary['do_nothing']['free_points']:g}** (points that {summary['do_nothing']['mutants']} do-nothing "
        "mutants earn; must be 0)",
        "",
        "| part | mutants | equivalent | killed | survived | kill rate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {p} | {t['mutants']} | {t['equivalent']} | {t['killed']} | {t['survived']} | {_rate(t)} |" for p, t in summary["parts"].items()]
    lines += ["", "| graded function | mutants | equivalent | killed | survived | kill rate |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {f} | {t['mutants']} | {t['equivalent']} | {t['killed']} | {t['survived']} | {_rate(t)} |" for f, t in summary["functions"].items()]
    dn = summary["do_nothing"]
    if dn["mutants"]:
        lines += ["", f"## Do-nothing mutants: free points: {dn['free_points']:g}", "",
                  f"{dn['mutants']} do-nothing mutants (the stubs, one graded function given a trivial body; "
                  f"autograder/audit/trivial.py); {dn['earning']} of them earn points.", ""]
        if dn["checks"]:
            lines += ["| check | points | do-nothing bodies that pass it |", "|---|---:|---|"]
            lines += [f"| {c} | {e['points']:g} | {'; '.join(e['bodies'])} |" for c, e in dn["checks"].items()]
        else:
            lines.append("None: no check gives a point to a function that does nothing.")
        for x in (o for o in result.outcomes if o.status == DO_NOTHING and o.passed_checks):
            m = x.mutant
            lines += ["", f"### `{m.id}` {m.part}.{m.function} ({m.kind}): passes {', '.join(sorted(x.passed_checks))}", "",
                      "```diff", m.diff(stub_original(m.file)).rstrip(), "```"]
    survivors = [x for x in result.outcomes if x.status == "survived"]
    lines += ["", f"## Surviving mutants ({len(survivors)})", ""]
    if not survivors:
        lines.append("None: every non-equivalent mutant fails at least one check.")
    originals: dict[str, str] = {}
    for x in survivors:
        m = x.mutant
        original = originals.setdefault(m.file, (SOLUTIONS / m.file).read_text(encoding="utf-8"))
        lines += [f"### `{m.id}` {m.part}.{m.function} ({m.kind}, line {m.line})", "", "```diff", m.diff(original).rstrip(), "```", ""]
    if summary["equivalent_but_killed"]:
        lines += ["## Listed as equivalent but killed (review the list)", ""] + [f"- `{i}`" for i in summary["equivalent_but_killed"]]
    if summary["stale_equivalents"]:
        lines += ["", "## Equivalent-list entries that match no mutant any more", ""] + [f"- `{i}`" for i in summary["stale_equivalents"]]
    return "\n".join(lines) + "\n"


def write_report(out: Path, result: AuditResult) -> dict:
    summary = summarize(result)
    write_text(Path(out) / "audit.json", json.dumps(summary, ensure_ascii=False, indent=1))
    write_text(Path(out) / "audit.md", markdown(summary, result))
    return summary

"""The audit's report: kill rate per graded function and per part, every surviving mutant with
its diff, and the throughput (mutants per minute)."""

from __future__ import annotations

import json
import os
import platform
from collections import defaultdict
from pathlib import Path

from autograder.atomic import write_text
from autograder.audit.run import AuditResult, Outcome
from autograder.release.stubs import SOLUTIONS


def _tally(outcomes: list[Outcome]) -> dict[str, int | float | None]:
    equivalent = sum(o.status.startswith("equivalent") for o in outcomes)
    killed = sum(o.status == "killed" for o in outcomes)
    scored = len(outcomes) - equivalent
    return {"mutants": len(outcomes), "equivalent": equivalent, "killed": killed, "survived": scored - killed,
            "kill_rate": (killed / scored) if scored else None}


def summarize(result: AuditResult) -> dict:
    by_function: dict[str, list[Outcome]] = defaultdict(list)
    by_part: dict[str, list[Outcome]] = defaultdict(list)
    for o in result.outcomes:
        by_function[f"{o.mutant.part}.{o.mutant.function}"].append(o)
        by_part[o.mutant.part].append(o)
    minutes = result.wall_seconds / 60
    return {
        "overall": _tally(result.outcomes),
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
        "outcomes": [dict(o.mutant.to_dict(), status=o.status, checks_failed=o.failed_checks) for o in result.outcomes],
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
        "| part | mutants | equivalent | killed | survived | kill rate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {p} | {t['mutants']} | {t['equivalent']} | {t['killed']} | {t['survived']} | {_rate(t)} |" for p, t in summary["parts"].items()]
    lines += ["", "| graded function | mutants | equivalent | killed | survived | kill rate |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {f} | {t['mutants']} | {t['equivalent']} | {t['killed']} | {t['survived']} | {_rate(t)} |" for f, t in summary["functions"].items()]
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

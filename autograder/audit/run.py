"""Grade the mutants of the solutions as a class with the real batch grader, one part at a time
(only the mutated part's checks run), and tally which of them the hidden suites kill."""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from autograder.audit.mutate import Mutant, mutants_of
from autograder.audit.regions import Region, all_regions
from autograder.grade.batch import grade_all
from autograder.runtime.assignment import GRADED_FILES
from autograder.release.stubs import REPO, SOLUTIONS

EQUIVALENTS = REPO / "examples" / "audit" / "equivalent_mutants.json"
CONTROL = "solution"


class AuditError(RuntimeError):
    """The audit cannot be trusted (e.g. the unmutated solution does not score full marks)."""


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, dict]:
    """Reviewed equivalent mutants: id -> {"function", "change", "reason"}; every entry needs a reason."""
    if not path.exists():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for e in entries:
        if not str(e.get("reason", "")).strip():
            raise AuditError(f"{path}: equivalent mutant {e.get('id')} has no reason")
        out[e["id"]] = e
    return out


def all_mutants(parts: tuple[str, ...] | None = None, functions: tuple[str, ...] | None = None) -> list[tuple[Mutant, Region]]:
    found = []
    for region in all_regions():
        if parts and region.part not in parts:
            continue
        if functions and region.function not in functions and region.function.split(".")[-1] not in functions:
            continue
        source = (SOLUTIONS / region.file).read_text(encoding="utf-8")
        found += [(m, region) for m in mutants_of(source, region)]
    return found


def sample(mutants: list[tuple[Mutant, Region]], n: int | None, seed: int) -> list[tuple[Mutant, Region]]:
    """At most `n` mutants spread evenly over the graded functions (round robin in a seeded order)."""
    if n is None or n >= len(mutants):
        return mutants
    rng = random.Random(seed)
    by_function: dict[str, list] = defaultdict(list)
    for item in mutants:
        by_function[item[0].function].append(item)
    queues = [rng.sample(v, len(v)) for _, v in sorted(by_function.items())]
    rng.shuffle(queues)
    picked: list = []
    while len(picked) < n:
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop())
    return picked


@dataclass
class Outcome:
    mutant: Mutant
    killed: bool
    failed_checks: list[str]
    status: str  # killed / survived / equivalent / equivalent-killed (a listed equivalent that a check kills)
    seconds: float = 0.0
    reason: str = ""


@dataclass
class AuditResult:
    outcomes: list[Outcome]
    wall_seconds: float
    jobs: int
    stale_equivalents: list[str] = field(default_factory=list)
    graded_now: int = 0  # mutants graded by this run (the others were resumed from DIR/graded)


def _materialize(root: Path, name: str, files: dict[str, str] | None = None) -> None:
    dest = root / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in GRADED_FILES:
        shutil.copyfile(SOLUTIONS / f, dest / f)
    for f, text in (files or {}).items():
        (dest / f).write_text(text, encoding="utf-8")


def run_audit(
    out: Path,
    *,
    parts: tuple[str, ...] | None = None,
    functions: tuple[str, ...] | None = None,
    max_mutants: int | None = None,
    seed: int = 0,
    jobs: int | None = None,
    quiet: bool = False,
    equivalents_path: Path = EQUIVALENTS,
) -> AuditResult:
    equivalents = load_equivalents(equivalents_path)
    everything = all_mutants(parts, functions)
    chosen = sample(everything, max_mutants, seed)
    out = Path(out)
    by_part: dict[str, list[Mutant]] = defaultdict(list)
    for m, _ in chosen:
        by_part[m.part].append(m)
    started = time.monotonic()
    graded_now = 0
    outcomes: list[Outcome] = []
    for part in sorted(by_part):
        subs = out / "submissions" / part
        if subs.exists():
            shutil.rmtree(subs)
        _materialize(subs, CONTROL)
        for m in by_part[part]:
            _materialize(subs, m.id, {m.file: m.source})
        if not quiet:
            print(f"{part}: grading {len(by_part[part])} mutant(s) and the solution", flush=True)
        done = out / "graded" / part / "results"
        graded_now += sum(not (done / f"{m.id}.json").exists() for m in by_part[part])
        results = {r.student: r for r in grade_all(subs, out / "graded" / part, jobs=jobs, quiet=quiet, parts=(part,))}
        control = results[CONTROL]
        if control.total != control.max_total:
            bad = [(c.check, c.message[:200]) for c in control.checks if c.status != "passed"]
            raise AuditError(f"the unmutated solution scores {control.total}/{control.max_total} on {part}: {bad}")
        for m in by_part[part]:
            r = results[m.id]
            failed = sorted(c.check for c in r.checks if c.status != "passed")
            listed = equivalents.get(m.id)
            if listed:
                status = "equivalent-killed" if failed else "equivalent"
            else:
                status = "killed" if failed else "survived"
            outcomes.append(Outcome(m, bool(failed), failed, status, r.seconds, (listed or {}).get("reason", "")))
    wall = time.monotonic() - started
    known = {m.id for m, _ in everything}
    stale = sorted(i for i in equivalents if i not in known) if not (parts or functions) else []
    return AuditResult(outcomes, wall, jobs or 0, stale, graded_now)

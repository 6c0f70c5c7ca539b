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
from autograder.audit.trivial import FAMILY as DO_NOTHING, trivial_mutants
from autograder.grade.batch import grade_all
from autograder.runtime.assignment import GRADED_FILES
from autograder.release.stubs import ASSIGNMENTS, REPO, SOLUTIONS

EQUIVALENTS = REPO / "examples" / "audit" / "equivalent_mutants.json"
CONTROL = "solution"
STUBS = "stubs"  # the untouched stubs: the control of the do-nothing family (must score 0)
SMALL = "small"  # the one-small-change mutants of mutate.py
FAMILIES = (SMALL, DO_NOTHING)


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


def _regions(parts: tuple[str, ...] | None, functions: tuple[str, ...] | None) -> list[Region]:
    """The solution regions of these parts and functions (None: all)."""
    return [r for r in all_regions() if (not parts or r.part in parts)
            and (not functions or r.function in functions or r.function.split(".")[-1] in functions)]


def all_mutants(parts: tuple[str, ...] | None = None, functions: tuple[str, ...] | None = None) -> list[tuple[Mutant, Region]]:
    return [(m, region) for region in _regions(parts, functions)
            for m in mutants_of((SOLUTIONS / region.file).read_text(encoding="utf-8"), region)]


def do_nothing_mutants(parts: tuple[str, ...] | None = None, functions: tuple[str, ...] | None = None) -> list[tuple[Mutant, Region]]:
    """The do-nothing family (autograder/audit/trivial.py): the stubs with one graded function
    given a trivial body."""
    return [(m, region) for region in _regions(parts, functions) for m in trivial_mutants(region)]


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
    status: str  # killed / survived / equivalent / equivalent-killed (a listed equivalent that a check kills) / do-nothing
    seconds: float = 0.0
    reason: str = ""
    passed_checks: dict[str, float] = field(default_factory=dict)  # check -> points earned (do-nothing: free points)


@dataclass
class AuditResult:
    outcomes: list[Outcome]
    wall_seconds: float
    jobs: int
    stale_equivalents: list[str] = field(default_factory=list)
    graded_now: int = 0  # mutants graded by this run (the others were resumed from DIR/graded)


def _materialize(root: Path, name: str, files: dict[str, str] | None = None, base: Path = SOLUTIONS) -> None:
    dest = root / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in GRADED_FILES:
        shutil.copyfile(base / f, dest / f)
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
    families: tuple[str, ...] = (SMALL,),
    do_nothing_pairs: tuple[tuple[str, str], ...] | None = None,
    one_batch: bool = False,
    solution_control: bool = True,
    include: tuple[str, ...] = (),
) -> AuditResult:
    """Grade the chosen mutants part by part. `families`: SMALL (the one-small-change mutants,
    sampled by `max_mutants`) and/or DO_NOTHING (every do-nothing mutant of the selection, or
    only the (graded function, body) pairs of `do_nothing_pairs`, e.g. ("clm_loss",
    "return-sum-times-zero")). `solution_control=False` skips grading the solution (for a
    do-nothing-only run whose caller checks the solution's full marks elsewhere)."""
    equivalents = load_equivalents(equivalents_path)
    everything = all_mutants(parts, functions) if SMALL in families else []
    chosen = sample(everything, max_mutants, seed)
    if include:  # named small-change mutants graded whatever the sample (e.g. past survivors)
        known = {m.id: (m, r) for m, r in everything}
        missing = sorted(set(include) - set(known))
        if missing:
            raise AuditError(f"no small-change mutant with id {missing}")
        picked = {m.id for m, _ in chosen}
        chosen += [known[i] for i in include if i not in picked]
    if DO_NOTHING in families:
        found = do_nothing_mutants(parts, functions)
        if do_nothing_pairs is not None:
            wanted = set(do_nothing_pairs)
            found = [(m, r) for m, r in found if (m.function, m.kind.split(":", 1)[1]) in wanted]
            missing = wanted - {(m.function, m.kind.split(":", 1)[1]) for m, _ in found}
            if missing:
                raise AuditError(f"no do-nothing mutant for {sorted(missing)}")
        chosen += found
    out = Path(out)
    by_part: dict[str, list[Mutant]] = defaultdict(list)
    for m, _ in chosen:
        by_part[m.part].append(m)
    started = time.monotonic()
    graded_now = 0
    outcomes: list[Outcome] = []
    # One batch per part (only that part's checks run), or with `one_batch` a single batch over
    # every part concerned (one grading process start instead of one per part: the fast set of
    # tests/test_free_points.py). Either way the other files are the solution's (small changes) or
    # the stubs' (do-nothing), so what a mutant earns elsewhere is what they earn.
    batches = {"all": [m for part in sorted(by_part) for m in by_part[part]]} if one_batch and by_part else dict(sorted(by_part.items()))
    for batch, mutants in batches.items():
        graded_parts = tuple(sorted({m.part for m in mutants}))
        subs = out / "submissions" / batch
        if subs.exists():
            shutil.rmtree(subs)
        has_do_nothing = any(m.kind.startswith(DO_NOTHING) for m in mutants)
        if not solution_control and not all(m.kind.startswith(DO_NOTHING) for m in mutants):
            raise AuditError("small-change mutants need the solution as their control")
        if solution_control:
            _materialize(subs, CONTROL)
        if has_do_nothing:
            _materialize(subs, STUBS, base=ASSIGNMENTS)
        for m in mutants:
            _materialize(subs, m.id, {m.file: m.source}, base=ASSIGNMENTS if m.kind.startswith(DO_NOTHING) else SOLUTIONS)
        if not quiet:
            controls = [name for name, on in (("the solution", solution_control), ("the stubs", has_do_nothing)) if on]
            print(f"{'+'.join(graded_parts)}: grading {len(mutants)} mutant(s) and {' and '.join(controls)}", flush=True)
        done = out / "graded" / batch / "results"
        graded_now += sum(not (done / f"{m.id}.json").exists() for m in mutants)
        results = {r.student: r for r in grade_all(subs, out / "graded" / batch, jobs=jobs, quiet=quiet, parts=graded_parts)}
        control = results.get(CONTROL)
        if control is not None and control.total != control.max_total:
            bad = [(c.check, c.message[:200]) for c in control.checks if c.status != "passed"]
            raise AuditError(f"the unmutated solution scores {control.total}/{control.max_total} on {batch}: {bad}")
        if has_do_nothing and results[STUBS].total != 0:
            free = sorted(c.check for c in results[STUBS].checks if c.score > 0)
            raise AuditError(f"the untouched stubs score {results[STUBS].total} on {batch}: {free}")
        for m in mutants:
            r = results[m.id]
            failed = sorted(c.check for c in r.checks if c.status != "passed")
            if m.kind.startswith(DO_NOTHING):
                earned = {c.check: c.score for c in r.checks if c.score > 0}
                outcomes.append(Outcome(m, not earned, failed, DO_NOTHING, r.seconds, "", earned))
                continue
            listed = equivalents.get(m.id)
            if listed:
                status = "equivalent-killed" if failed else "equivalent"
            else:
                status = "killed" if failed else "survived"
            outcomes.append(Outcome(m, bool(failed), failed, status, r.seconds, (listed or {}).get("reason", "")))
    wall = time.monotonic() - started
    known = {m.id for m, _ in everything}
    stale = sorted(i for i in equivalents if i not in known) if not (parts or functions) and SMALL in families else []
    return AuditResult(outcomes, wall, jobs or 0, stale, graded_now)

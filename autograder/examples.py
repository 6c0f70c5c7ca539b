"""Example submissions built from the solutions: the full solution, the untouched stubs, and
realistic wrong ones described in `examples/wrong_submissions/part*.json` as text edits of the
solution, each with the checks its bug must fail (and only those)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.runtime.assignment import GRADED_FILES
from autograder.release.stubs import ASSIGNMENTS, REPO, SOLUTIONS

CATALOG = REPO / "examples" / "wrong_submissions"
VARIANTS = REPO / "examples" / "correct_variants"  # correct answers written differently: each must score 100


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    file: str
    edits: tuple[tuple[str, str], ...]
    fails: tuple[str, ...]


def mutants(folder: Path = CATALOG) -> list[Mutant]:
    found: list[Mutant] = []
    for path in sorted(folder.glob("part*.json")):
        for m in json.loads(path.read_text(encoding="utf-8")):
            found.append(Mutant(m["name"], m["description"], m["file"], tuple(tuple(e) for e in m["edits"]), tuple(m["fails"])))
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate example names in {folder}")
    return found


def _copy_graded(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in GRADED_FILES:
        shutil.copyfile(src / name, dest / name)


def materialize(mutant: Mutant | list[Mutant], dest: Path) -> Path:
    """The solution with the edits of one mutant (or of several, on different files or regions)
    applied; raises if an edit no longer applies."""
    _copy_graded(SOLUTIONS, dest)
    for m in mutant if isinstance(mutant, list) else [mutant]:
        target = dest / m.file
        text = target.read_text(encoding="utf-8")
        for old, new in m.edits:
            if text.count(old) != 1:
                raise ValueError(f"mutant {m.name}: edit target occurs {text.count(old)} times in {m.file}: {old!r}")
            text = text.replace(old, new)
        target.write_text(text, encoding="utf-8")
    return dest


def variant_bundles() -> dict[str, list[Mutant]]:
    """The correct variants packed into as few submissions as possible: a variant joins the first
    bundle none of whose variants edits the same text, so a few gradings cover them all."""
    bundles: list[list[Mutant]] = []
    for v in mutants(VARIANTS):
        targets = {(v.file, old) for old, _ in v.edits}
        for bundle in bundles:
            if not any(targets & {(b.file, old) for old, _ in b.edits} for b in bundle):
                bundle.append(v)
                break
        else:
            bundles.append([v])
    return {f"variants_{k}": b for k, b in enumerate(bundles)}


def build_examples(root: Path, names: list[str] | None = None, variants: bool = False) -> Path:
    """Folder of example submissions: `solution`, `stubs` and every mutant (or those named);
    with `variants`, also the bundles of correct variants (`variants_0`, ...)."""
    root.mkdir(parents=True, exist_ok=True)
    if names is None or "solution" in names:
        _copy_graded(SOLUTIONS, root / "solution")
    if names is None or "stubs" in names:
        _copy_graded(ASSIGNMENTS, root / "stubs")
    for m in mutants():
        if names is None or m.name in names:
            materialize(m, root / m.name)
    if variants:
        for name, bundle in variant_bundles().items():
            materialize(bundle, root / name)
    return root

"""The facts of this assignment, in one place: its parts, their files, and where code lives.

Imports nothing from the project (the untrusted worker and every trusted module read it). Adding
a part means adding a line to PARTS and the part's own files (solution, reference, probes,
suites, notebook source); see docs/WRITING_CHECKS.md.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

ASSIGNMENT = "cnn_rnn"  # the package name student code is imported as, and the zip suffix

# part -> the student's module (file `<module>.py`), in the order the course teaches them.
PARTS: dict[str, str] = {
    "part1": "part1_resnet",
    "part2": "part2_transfer",
    "part3": "part3_lstm",
    "part4": "part4_clm",
    "part5": "part5_retrieval",
}
GRADED_FILES: tuple[str, ...] = tuple(f"{module}.py" for module in PARTS.values())

# The repository (or the unpacked student bundle / Gradescope tree) this package sits in.
REPO = Path(__file__).resolve().parents[2]


def part_of(name: str) -> str:
    """`part1` for "part1", "part1.block" or "part1_resnet"; raises ValueError otherwise."""
    head = name.split(".", 1)[0].split("_", 1)[0]
    if head not in PARTS:
        raise ValueError(f"unknown part {name!r}; parts: {', '.join(PARTS)}")
    return head


def given_files(repo: Path = REPO) -> Path:
    """The pristine given modules (data.py, weights.py, ...) a submission falls back to: in the
    repository they sit in assignments/, in the student bundle next to the stubs."""
    for folder in (repo / "assignments" / ASSIGNMENT, repo / ASSIGNMENT):
        if folder.is_dir():
            return folder
    return repo / ASSIGNMENT


def code_folders(root: Path) -> list[Path]:
    """Every folder under `root` holding graded files, best first: the most graded files, then the
    newest of them (modification time), then one named ASSIGNMENT, the shallower, the first by name.
    Hidden folders, `__MACOSX` and symlinked files never count."""
    root = Path(root)
    times: dict[Path, list[float]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).parts
        if path.name in GRADED_FILES and not any(p.startswith(".") or p == "__MACOSX" for p in rel) and path.is_file() and not path.is_symlink():
            times.setdefault(path.parent, []).append(path.stat().st_mtime)

    def rank(folder: Path) -> tuple:
        return -len(times[folder]), -max(times[folder]), folder.name != ASSIGNMENT, len(folder.parts), folder.as_posix()

    return sorted(times, key=rank)


def code_folder(root: Path) -> Path | None:
    """The folder under `root` that holds a student's graded .py files (see code_folders), or None."""
    folders = code_folders(root)
    return folders[0] if folders else None


def install_package(submission: Path, fallback: Path, name: str = ASSIGNMENT) -> None:
    """Make `cnn_rnn.<module>` resolve to the submission first, then to the given files."""
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(submission), str(fallback)]
    pkg.__package__ = name
    sys.modules[name] = pkg

"""Find the submissions in a folder and turn each into a folder of .py files to grade.

Accepted layouts (mixed freely): `<id>_cnn_rnn.zip` / `<id>.zip`, a folder per student, and
nbgrader's `submitted/<student>/<assignment>/`. The student id is the folder's name or the
zip's name without `_cnn_rnn.zip` / `.zip`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT, code_folder

__all__ = ["Submission", "code_folder", "discover", "student_id"]
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path  # a zip file or a folder

    @property
    def is_zip(self) -> bool:
        return self.path.suffix.lower() == ".zip"


def student_id(path: Path) -> str:
    name = path.name
    for suffix in (f"_{ASSIGNMENT}.zip", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _SAFE_ID.sub("_", name).strip("._") or "unnamed"


def discover(root: Path, assignment: str = ASSIGNMENT) -> list[Submission]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {root}")
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found: dict[str, Submission] = {}
    for entry in sorted(base.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and (entry / assignment).is_dir() and base.name == "submitted":
            sub = Submission(student_id(entry), entry / assignment)
        elif entry.is_dir() or entry.suffix.lower() == ".zip":
            sub = Submission(student_id(entry), entry)
        else:
            continue
        if sub.student in found:
            raise ValueError(f"two submissions map to student id {sub.student!r}: {found[sub.student].path.name} and {entry.name}")
        found[sub.student] = sub
    return list(found.values())


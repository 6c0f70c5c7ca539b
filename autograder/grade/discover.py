"""Find the submissions in a folder: a student id and the archive or folder to grade, for each.

Layouts (mixed freely):

- `<id>_cnn_rnn.zip` / `<id>.zip` (or .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz), a folder per
  student (id: the folder's name), nbgrader's `submitted/<student>/<assignment>/`. `.7z`, `.rar`
  and lone `.gz` are submissions too: grading them says the format is not supported.
- Moodle "Download all submissions": `<Full Name>_<participant id>_assignsubmission_file_/`, one
  folder per student holding what was uploaded (without "download in folders": files
  `<Full Name>_<participant id>_assignsubmission_file_<uploaded name>`). Moodle turns `_` in
  names into spaces, so the id is the number before `_assignsubmission_` (Moodle's participant
  id; "Participant <id>" under blind marking). Other plugins' folders
  (`_assignsubmission_onlinetext_`) hold no code and are ignored.
- Canvas "Download Submissions": `<name>_<user id>_<submission id>_<uploaded name>` and
  `<name>_LATE_<user id>_<submission id>_<uploaded name>` (name: Canvas's lower-case name without
  separators); the id is the Canvas user id (the `ID` column of a Canvas gradebook export). Used
  only when every archive at the top level has this form, so plain ids such as
  `stu_2021_12345_x.zip` are never cut.

A folder without any code but with archives in it (a Moodle folder holding the uploaded zip) is
graded through that archive (the newest, if several, with a note).

Ids: Unicode (NFC) is kept as it is (`张三_cnn_rnn.zip` -> `张三`); path separators, control and
format characters, white space and characters special to shells or Windows become `_`. Ids equal
after that, ignoring case, get `~2`, `~3`, ... in the sorted order of their source names, and all
of them carry a note. Hidden entries, `__MACOSX` and `._*` are never students; other files are
returned as ignored. Nothing here refuses the batch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grade.unpack import SKIPPED_DIRS, archive_format, is_code, strip_archive_suffix
from autograder.ids import clean_id
from autograder.runtime.assignment import ASSIGNMENT, code_folder

__all__ = ["Discovery", "Submission", "code_folder", "discover", "discover_report", "student_id"]

_JUNK = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_MOODLE = re.compile(r"^(?P<name>.*)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?(?P<rest>.*)$", re.DOTALL)
_CANVAS = re.compile(r"^(?P<name>[^_]+)(?P<late>_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)$", re.DOTALL)


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path  # an archive (zip, tar, or one the grader refuses with a reason) or a folder
    note: str = ""  # for the student's row: how the id or the archive was chosen (Chinese)

    @property
    def is_zip(self) -> bool:
        return self.path.suffix.lower() == ".zip"


@dataclass(frozen=True)
class Discovery:
    submissions: list[Submission]
    collisions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # shared id -> (source name, id given)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (source name, why): not a submission
    notes: list[str] = field(default_factory=list)  # about the whole folder's layout

    def warnings(self) -> list[str]:
        """One line per thing the instructor should look at (English, for the console)."""
        lines = list(self.notes)
        for student, given in self.collisions.items():
            lines.append(f"student id {student!r} is shared by {len(given)} submissions: " + ", ".join(f"{src} -> {sid}" for src, sid in given))
        return lines + [f"ignored {name}: {why}" for name, why in self.ignored]


def student_id(path: Path, assignment: str = ASSIGNMENT) -> str:
    """The id of a plain submission: the folder's name, or the archive's without `_<assignment>` and its suffix."""
    name = Path(path).name
    if archive_format(name) is not None:
        name = strip_archive_suffix(name)
        if name.lower().endswith(f"_{assignment}".lower()):
            name = name[: -len(assignment) - 1]
    return clean_id(name)


def _junk(name: str) -> bool:
    return name.startswith(".") or name in _JUNK


def _has_code(folder: Path) -> tuple[bool, list[Path]]:
    """(whether the folder holds any code, the archives in it), skipping what unpack skips."""
    archives: list[Path] = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in files:
            if is_code(name) and not name.startswith("."):
                return True, []
            if archive_format(name) and not _junk(name):
                archives.append(Path(here) / name)
    return False, archives


def _inside(folder: Path) -> tuple[Path, str]:
    """What to grade for a student folder: itself, or the archive it holds when it holds no code."""
    code, archives = _has_code(folder)
    if code:
        beside = sorted(p.name for p in folder.iterdir() if archive_format(p.name) and not _junk(p.name) and not p.is_dir())
        return folder, f"{folder.name} 里既有 .py 文件又有压缩包（{'、'.join(beside)}）：评分用 .py 文件，压缩包没有解开" if beside else ""
    if not archives:
        return folder, ""

    def rank(p: Path) -> tuple:
        try:
            mtime = p.stat().st_mtime
        except OSError:  # a broken link: last; grading it says why
            mtime = 0.0
        return archive_format(p.name) in ("zip", "tar"), mtime, p.name

    archives.sort(key=rank, reverse=True)
    if len(archives) == 1:
        return archives[0], ""
    others = "、".join(p.name for p in archives[1:])
    return archives[0], f"{folder.name} 里有多个压缩包：评分用 {archives[0].name}（最新的），忽略了 {others}"


@dataclass(frozen=True)
class _Found:
    source: str  # the entry's name in the submissions folder
    raw: str  # the id before cleaning
    path: Path
    note: str = ""


def _entries(base: Path, assignment: str, nbgrader: bool) -> tuple[list[_Found], list[tuple[str, str]], list[str]]:
    entries = sorted((e for e in base.iterdir() if not _junk(e.name)), key=lambda e: e.name)
    files = [e for e in entries if not e.is_dir() and archive_format(e.name) and not _MOODLE.match(e.name)]
    canvas = [e for e in files if _CANVAS.match(e.name)]
    use_canvas = bool(files) and len(canvas) == len(files)
    notes = []
    if canvas and not use_canvas:
        notes.append(f"{len(canvas)} of {len(files)} archive names look like a Canvas download (name_userid_submissionid_file) "
                     "but not all: ids are taken from the whole names")
    found: list[_Found] = []
    ignored: list[tuple[str, str]] = []
    for entry in entries:
        name = entry.name
        moodle = _MOODLE.match(name)
        if moodle and moodle["plugin"] != "file":
            ignored.append((name, f"Moodle {moodle['plugin']} submission (no files to grade)"))
        elif entry.is_dir():
            if nbgrader and (entry / assignment).is_dir():
                found.append(_Found(name, name, entry / assignment))
            else:
                found.append(_Found(name, moodle["id"] if moodle else name, *_inside(entry)))
        elif archive_format(name) is None:
            lms = moodle or _CANVAS.match(name)
            ignored.append((name, "a single file uploaded to the LMS, not an archive: put it in a folder named after the student to grade it"
                            if lms and name.endswith((".py", ".ipynb")) else "not a folder or an archive (.zip, .tar.gz, ...)"))
        elif moodle:
            found.append(_Found(name, moodle["id"], entry))
        elif use_canvas:
            found.append(_Found(name, _CANVAS.match(name)["id"], entry))
        else:
            found.append(_Found(name, student_id(entry, assignment), entry))
    return found, ignored, notes


def discover_report(root: Path, assignment: str = ASSIGNMENT) -> Discovery:
    """Every submission under `root` with a unique id, plus what the instructor should look at."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {root}")
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found, ignored, notes = _entries(base, assignment, base.name == "submitted")
    groups: dict[str, list[_Found]] = {}
    for f in sorted(found, key=lambda f: f.source):
        groups.setdefault(clean_id(f.raw).casefold(), []).append(f)
    given: dict[str, str] = {group[0].source: clean_id(group[0].raw) for group in groups.values()}
    taken = set(groups)
    for group in groups.values():
        for f in group[1:]:
            n = 2
            while f"{clean_id(f.raw)}~{n}".casefold() in taken:
                n += 1
            given[f.source] = f"{clean_id(f.raw)}~{n}"
            taken.add(given[f.source].casefold())
    collisions = {given[g[0].source]: [(f.source, given[f.source]) for f in g] for g in groups.values() if len(g) > 1}
    subs = []
    for f in found:
        group = groups[clean_id(f.raw).casefold()]
        note = f.note
        if len(group) > 1:
            shared = "、".join(f"{g.source} 记为 {given[g.source]}" for g in group)
            clash = f"学号 {given[group[0].source]} 有 {len(group)} 份提交（{shared}）；这一份是 {f.source}，请核对"
            note = "；".join(filter(None, [note, clash]))
        subs.append(Submission(given[f.source], f.path, note))
    return Discovery(subs, collisions, ignored, notes)


def discover(root: Path, assignment: str = ASSIGNMENT) -> list[Submission]:
    """The submissions under `root`, in the order of their names (see discover_report for the warnings)."""
    return discover_report(root, assignment).submissions

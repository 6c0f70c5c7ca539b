"""Grade one submission: the one path of every mode (local pool, Dask, Gradescope, benchmark).

    source (zip, tar or folder) --prepare--> folder of .py files --grade_folder--> StudentResult

The outcome is data (`StudentResult.outcome`), never a message to parse:
* graded: the hidden suite ran; `notes` say what was done with the hand-in (the folder graded,
  renamed files, signatures that differ from the template);
* ungradable: the hand-in itself cannot be graded (`problem_kind` is the SubmissionError's kind):
  every check 0 with the reason;
* grader_fault: the grading machinery failed (`problem_kind` says how): no checks, never
  recorded, a re-run retries it.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

from autograder.catalog import zero_results
from autograder.config import GradingConfig
from autograder.grade.unpack import Prepared, SubmissionError, prepare
from autograder.grading import SuiteError, grade_folder
from autograder.results import StudentResult
from autograder.runtime.assignment import PARTS, given_files
from autograder.template import signature_differences


def _digest_files(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def source_digest(source: Path) -> str:
    """sha256 of what would be graded: the files of the folder `prepare` picks, by relative path
    (the same code zipped again, or with other files around it, is the same hand-in; a changed
    graded file is a resubmission). A hand-in that cannot be prepared: its bytes as they are."""
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_digest_") as tmp:
        try:
            return "files:" + _digest_files(prepare(source, Path(tmp) / "code").folder)
        except SubmissionError:
            pass
    if source.is_dir():
        return "raw:" + _digest_files(source)
    h = hashlib.sha256()
    try:
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return "raw:" + h.hexdigest()


def ungradable(student: str, exc: SubmissionError, config: GradingConfig, notes: list[str] = ()) -> StudentResult:
    """The row of a hand-in that cannot be graded: every check 0 with the reason."""
    return StudentResult(student, zero_results(str(exc), parts=config.parts), problem=str(exc), outcome="ungradable",
                         problem_kind=exc.kind, notes=list(notes))


def grade_prepared(student: str, prepared: Prepared, config: GradingConfig, notes: list[str] = ()) -> StudentResult:
    """The hidden suite on an unpacked hand-in; a grader fault becomes the `grader_fault` outcome."""
    started = time.monotonic()
    try:
        result = grade_folder(student, prepared.folder, config)
    except SuiteError as exc:
        return StudentResult(student, problem=str(exc), outcome="grader_fault", problem_kind=exc.kind,
                             seconds=time.monotonic() - started)
    graded = {f"{PARTS[p]}.py" for p in config.parts or PARTS}
    # A missing file is already in the unpacking notes.
    differences = [str(d) for d in signature_differences(prepared.folder, given_files()) if d.file in graded and d.kind != "missing_file"]
    result.notes = [*notes, *prepared.notes, *differences]
    return result


def grade_submission(source: Path, student: str, config: GradingConfig, notes: list[str] = ()) -> StudentResult:
    """Unpack `source` into a private folder, grade it, and remove the folder. Never raises for
    anything the hand-in holds; `notes` (e.g. how the student id was found) go into the row."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sub_") as tmp:
        try:
            prepared = prepare(source, Path(tmp) / "code")
        except SubmissionError as exc:
            result = ungradable(student, exc, config, notes)
        else:
            result = grade_prepared(student, prepared, config, notes)
    result.seconds = time.monotonic() - started
    return result


"""Grade one submission: the one path of every mode (local pool, Dask, Gradescope, benchmark).

    source (zip, tar or folder) --unpack_once--> HandIn (folder + digest) --grade_hand_in--> StudentResult

A hand-in is unpacked once, by whoever starts its grading (the batch's coordinator, or
`grade_submission` for one hand-in): the same unpacked folder gives the digest that decides
whether to regrade and is what the grading process grades (a Dask worker gets its files).

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
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.catalog import zero_results
from autograder.config import GradingConfig
from autograder.grade.unpack import Prepared, SubmissionError, prepare
from autograder.grading import SuiteError, grade_folder, loaded_checks
from autograder.results import StudentResult
from autograder.runtime.assignment import PARTS, given_files
from autograder.template import signature_differences


def _digest_files(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _raw_digest(source: Path) -> str:
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


@dataclass(frozen=True)
class HandIn:
    """One hand-in, unpacked once: what to grade and how to recognise it again.

    `digest`: sha256 of what is graded, the files of the folder `prepare` picked, by relative path
    (the same code zipped again, or with other files around it, is the same hand-in; a changed
    graded file is a resubmission); for a hand-in that cannot be prepared, of its bytes as they
    are. `prepared` is None exactly when `problem` holds the SubmissionError's (kind, reason)."""

    student: str
    digest: str
    prepared: Prepared | None = None
    problem: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()  # e.g. how discovery found the student id
    root: Path | None = None  # the folder it was unpacked into (holds prepared.folder)

    def discard(self) -> None:
        """Remove the unpacked files (graded, or not to be graded)."""
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def unpack_once(source: Path, student: str, dest: Path, notes: tuple[str, ...] = ()) -> HandIn:
    """Unpack `source` into the new folder `dest` (never raises for what the hand-in holds)."""
    source = Path(source)
    try:
        prepared = prepare(source, dest)
    except SubmissionError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        return HandIn(student, _raw_digest(source), problem=(exc.kind, str(exc)), notes=tuple(notes))
    return HandIn(student, "files:" + _digest_files(prepared.folder), prepared, notes=tuple(notes), root=dest)


def source_digest(source: Path) -> str:
    """HandIn.digest of `source`, unpacked in a folder of its own and removed."""
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_digest_") as tmp:
        return unpack_once(source, "", Path(tmp) / "code").digest


def ungradable(student: str, exc: SubmissionError, config: GradingConfig, notes: list[str] = ()) -> StudentResult:
    """The row of a hand-in that cannot be graded: every check 0 with the reason (a grader fault
    instead when the hidden suite, which lists those checks, does not load)."""
    try:
        loaded_checks("hidden", config.parts)
    except SuiteError as fault:
        return StudentResult(student, problem=str(fault), outcome="grader_fault", problem_kind=fault.kind)
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


def grade_hand_in(hand_in: HandIn, config: GradingConfig) -> StudentResult:
    """The one per-submission step of every mode: an unpacked hand-in's result."""
    started = time.monotonic()
    if hand_in.prepared is None:
        kind, reason = hand_in.problem
        result = ungradable(hand_in.student, SubmissionError(reason, kind), config, list(hand_in.notes))
    else:
        result = grade_prepared(hand_in.student, hand_in.prepared, config, list(hand_in.notes))
    result.seconds = time.monotonic() - started
    return result


def grade_submission(source: Path, student: str, config: GradingConfig, notes: list[str] = ()) -> StudentResult:
    """Unpack `source` into a private folder, grade it, and remove the folder (one hand-in:
    benchmarks and tests; a batch unpacks with `unpack_once` and grades with `grade_hand_in`)."""
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sub_") as tmp:
        return grade_hand_in(unpack_once(source, student, Path(tmp) / "code", tuple(notes)), config)

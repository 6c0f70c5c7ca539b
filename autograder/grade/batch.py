"""Grade a class: every hand-in unpacked once here (its digest decides whether to grade it), then
`grade_hand_in` in a pool of grading processes (or on a Dask cluster); each result is written
atomically, and a re-run grades only what changed.

A result stands while its hand-in (sha256) and the grader (`expect.assignment_version()` and the
parts graded) are the same: a resubmission, a changed suite or a changed part selection is
regraded, and the run says which and why. Whatever was graded, the caller gets the whole class.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from autograder.atomic import write_text
from autograder.catalog import zero_results
from autograder.config import GradingConfig
from autograder.grade.discover import Discovery, Submission, discover_report
from autograder.ids import file_stem
from autograder.grade.submission import HandIn, grade_hand_in, unpack_once
from autograder.grading import CHARGED
from autograder.config import Limits
from autograder.results import StudentResult
from autograder.runtime.assignment import ASSIGNMENT, PARTS


class GraderFailure(RuntimeError):
    """The grader itself failed on some submissions (not their fault); nothing was recorded for
    them, so running the same command again retries exactly those. `faults`: their
    `grader_fault` results (problem_kind says how), also written to grader_faults.jsonl."""

    def __init__(self, faults: list[StudentResult]) -> None:
        lines = [f"{r.student}: {r.problem}" for r in faults]
        super().__init__("the grader failed on {} submission(s):\n  ".format(len(faults)) + "\n  ".join(lines))
        self.faults = faults


FAULTS_FILE = "grader_faults.jsonl"  # the last run's grader faults: student, problem_kind, problem


def grade_one(hand_in: HandIn, config: GradingConfig) -> StudentResult:
    """A pool process's task: one unpacked hand-in through the one per-submission path."""
    return grade_hand_in(hand_in, config)


def _end_now() -> None:
    """A pool process's last step, once its clean-up has run: exit without the interpreter's
    finalisation (tearing down torch's modules took ~1 s, which every batch waited for)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(0)


def _pool_process() -> None:
    """Pool processes die with the grader (kill -9 included) instead of grading on as orphans,
    and clean up when they end: multiprocessing's own exit skips the atexit handlers that stop
    the fork server and remove its files in /tmp, so they run as its first finalizer; the last
    one ends the process at once (`_end_now`)."""
    import atexit
    from multiprocessing import util

    util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)
    util.Finalize(None, _end_now, exitpriority=-100)
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, Linux only
    except (OSError, AttributeError):
        pass


def result_path(out: Path, student: str) -> Path:
    return out / "results" / f"{file_stem(student)}.json"


def load_results(out: Path) -> list[StudentResult]:
    results = []
    for path in sorted((out / "results").glob("*.json")):
        try:
            results.append(StudentResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"warning: ignoring unreadable result file {path}: {exc}", file=sys.stderr)
    return results


def grader_version(parts: tuple[str, ...] | None) -> str:
    """What a stored result was graded with: the assignment version and the parts graded."""
    from autograder.expect import assignment_version  # imports torch: only when a batch runs

    return f"{assignment_version()}|{','.join(parts or PARTS)}"


@dataclass(frozen=True)
class Todo:
    """One submission to grade, and why (new, resubmitted, older grader, forced)."""

    sub: Submission
    hand_in: HandIn  # unpacked once, here; graded by a pool process or sent to a Dask worker
    why: str


def _stale(out: Path, sub: Submission, digest: str, version: str, force: bool) -> str:
    """Why `sub` needs grading, or "" when its stored result is current."""
    if force:
        return "forced"
    try:
        stored = json.loads(result_path(out, sub.student).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "new"
    except (OSError, ValueError):
        return "unreadable result"
    if stored.get("source_sha256") != digest:
        return "resubmitted"
    if stored.get("version") != version:
        return "graded with another grader version or other parts"
    return ""


class Progress:
    """How far a batch is, on `stream`: on a terminal a bar redrawn in place; anywhere else (a log
    file, CI, a pipe) one plain line at most every `every` seconds and one at the end, never a `\\r`."""

    def __init__(self, total: int, stream=sys.stderr, every: float = 5.0) -> None:
        self.total, self.done, self.started, self.stream = total, 0, time.monotonic(), stream
        self.every, self.last = every, float("-inf")
        try:
            self.terminal = bool(stream.isatty())
        except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
            self.terminal = False

    def step(self, label: str) -> None:
        self.done += 1
        now = time.monotonic()
        elapsed = now - self.started
        eta = elapsed / self.done * (self.total - self.done)
        if self.terminal:
            width = 24
            bar = "#" * int(width * self.done / self.total)
            self.stream.write(f"\r[{bar:<{width}}] {self.done}/{self.total}  {elapsed:5.0f}s elapsed  ETA {eta:4.0f}s  {label[:40]:<40}")
            if self.done == self.total:
                self.stream.write("\n")
        elif self.done == self.total or now - self.last >= self.every:
            self.last = now
            self.stream.write(f"graded {self.done}/{self.total}, {elapsed:.0f}s elapsed, ETA {eta:.0f}s; last: {label[:60]}\n")
        else:
            return
        self.stream.flush()


def _grader_fault(student: str, message: str, kind: str) -> StudentResult:
    return StudentResult(student, problem=message, outcome="grader_fault", problem_kind=kind)


def _grade_locally(todo: list[HandIn], jobs: int, config: GradingConfig) -> Iterator[tuple[HandIn, StudentResult]]:
    """(hand-in, result) pairs from a pool of local grading processes, as they finish."""
    pending = list(todo)
    for attempt in range(2):  # a pool broken by a dying process is rebuilt once
        if not pending:
            break
        broken: list[HandIn] = []
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_pool_process) as pool:
            futures = {pool.submit(grade_one, h, config): h for h in pending}
            for fut in as_completed(futures):
                hand_in = futures[fut]
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    if attempt == 0:
                        broken.append(hand_in)  # not graded yet: retried, never recorded as 0
                        continue
                    # Its grading process died twice: this submission brought it down (charged).
                    result = StudentResult(hand_in.student, zero_results(CHARGED, parts=config.parts, kind="charged"), problem=CHARGED,
                                           problem_kind="grading_process_died")
                except Exception as exc:
                    # A grader bug, not the student's doing: not recorded, a re-run retries it.
                    result = _grader_fault(hand_in.student, f"grading process failed: {type(exc).__name__}: {exc}", "grading_process")
                if result.problem_kind == "machinery_down":  # no point grading on: stop, record nothing more
                    for other in futures:
                        other.cancel()
                yield hand_in, result
        pending = broken


@dataclass(frozen=True)
class Change:
    """A stored result replaced by this run, and how the grade moved."""

    student: str
    why: str  # resubmitted, another grader version, forced, ...
    old_total: float
    new_total: float
    checks: tuple[str, ...]  # "part1.x: failed -> passed" for every check whose status changed
    kept_old: bool = False  # --no-decrease kept the higher, older total
    # "torch: 2.4.1 -> 2.14.1" for every provenance entry (grading.provenance) that differs between
    # the stored and the new result: a possible cause of the move besides the hand-in and the suite
    provenance: tuple[str, ...] = ()

    @property
    def delta(self) -> float:
        return round(self.new_total - self.old_total, 4)


@dataclass
class ClassRun:
    """What one `grade` run gives back: the whole class, and what this run changed."""

    results: list[StudentResult]
    changes: list[Change]


# changes.csv's provenance cell when the stored result was graded before provenance was recorded
PROVENANCE_UNKNOWN = "not recorded before"


def provenance_changes(old: dict, new: dict) -> tuple[str, ...]:
    """Every provenance entry whose value differs, as "key: old -> new" (grading.provenance's keys
    in its order, then any others); (PROVENANCE_UNKNOWN,) when the stored result has none."""
    if not old:
        return (PROVENANCE_UNKNOWN,) if new else ()
    keys = list(new) + sorted(set(old) - set(new))
    return tuple(f"{k}: {old.get(k, '-')} -> {new.get(k, '-')}" for k in keys if old.get(k) != new.get(k))


def _change(old: StudentResult, new: StudentResult, why: str, kept_old: bool) -> Change:
    before = {c.check: c.status for c in old.checks}
    moved = tuple(f"{c.check}: {before.get(c.check, '-')} -> {c.status}" for c in new.checks if before.get(c.check) != c.status)
    return Change(new.student, why, old.total if old.graded else 0.0, new.total if new.graded else 0.0, moved, kept_old,
                  provenance_changes(old.provenance, new.provenance))


def _kept_higher(old: StudentResult, new: StudentResult) -> StudentResult:
    """`--no-decrease`: the earlier result, now standing for the new hand-in and grader, with a
    note that says so."""
    old.source_sha256, old.version = new.source_sha256, new.version
    old.notes = [*old.notes, f"重新评分得到 {new.total:g} 分，低于之前的 {old.total:g} 分；按课程规定（--no-decrease）保留 {old.total:g} 分"]
    return old


def _stored(out: Path, student: str) -> StudentResult | None:
    try:
        return StudentResult.from_dict(json.loads(result_path(out, student).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


UNPACK_PREFIX = "cnn_rnn_run_"  # + the pid of the grade run that unpacks there


def _remove_orphaned_unpacks() -> None:
    """Remove what runs killed before their clean-up (kill -9, a lost machine) left in the
    temporary folder: the folders of runs whose process is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{UNPACK_PREFIX}*_*"):
        pid = folder.name[len(UNPACK_PREFIX):].split("_")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def grade_all(submissions: Path, out: Path, **options) -> list[StudentResult]:
    """`grade_class(...).results`: the whole class."""
    return grade_class(submissions, out, **options).results


def grade_class(
    submissions: Path,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    students: list[str] | None = None,
    only: Callable[[StudentResult], bool] | None = None,
    no_decrease: bool = False,
    limits: Limits = Limits(),
    quiet: bool = False,
    parts: tuple[str, ...] | None = None,
    assignment: str = ASSIGNMENT,
    select: Callable[[list[Submission]], list[Submission]] | None = None,
    scheduler: str | None = None,
    insecure: bool = False,
    found: Discovery | None = None,
) -> ClassRun:
    """Grade what is not graded yet (or changed) and return the results of the whole class.

    `students`: (re)grade only these; `only`: (re)grade the students whose stored result it
    selects (e.g. those with a timeout). The others keep their stored results, which are
    returned too, so that the gradebook written from the return value is always the whole class.
    `no_decrease`: a regrade never lowers a stored total (the feedback says so). `found`: what
    the caller's discovery of `submissions` gave (discovered here when None)."""
    log = open(os.devnull, "w") if quiet else sys.stderr
    found = found or discover_report(submissions, assignment)
    for line in found.warnings():
        print(f"warning: {line}", file=log)
    subs = found.submissions
    if select is not None:  # e.g. only each student's newest submission (autograder.grade.late)
        subs = select(subs)
    if students:
        unknown = sorted(set(students) - {s.student for s in subs})
        if unknown:
            raise ValueError(f"no submission for student(s): {', '.join(unknown)}")
    version = grader_version(parts)
    chosen = set(students or ())
    if only is not None:
        chosen |= {s.student for s in subs if (r := _stored(out, s.student)) is not None and only(r)}
    # Each hand-in is unpacked once, here: its digest decides whether to grade it, and the same
    # files are what a pool process grades (or a Dask worker receives). Removed when graded.
    _remove_orphaned_unpacks()
    unpacked = Path(tempfile.mkdtemp(prefix=f"{UNPACK_PREFIX}{os.getpid()}_")).resolve()
    try:
        todo: list[Todo] = []
        for i, sub in enumerate(subs):
            hand_in = unpack_once(sub.path, sub.student, unpacked / str(i), (sub.note,) if sub.note else ())
            why = _stale(out, sub, hand_in.digest, version, force or sub.student in chosen)
            if why and (not (students or only) or sub.student in chosen):
                todo.append(Todo(sub, hand_in, why))
            else:
                hand_in.discard()
        changes = _grade_todo(todo, out, version, jobs, no_decrease, log,
                              # The worker never sees the submissions, the outputs or the other unpacked hand-ins.
                              GradingConfig(limits=limits, parts=parts, hide=(Path(submissions).resolve(), Path(out).resolve(), unpacked)),
                              scheduler, insecure, len(subs))
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    stored = {r.student: r for r in load_results(out)}
    return ClassRun([stored[s.student] for s in subs if s.student in stored], changes)


def _grade_todo(todo: list[Todo], out: Path, version: str, jobs: int | None, no_decrease: bool, log, config: GradingConfig,
               scheduler: str | None, insecure: bool, n_class: int) -> list[Change]:
    """Grade `todo` (local pool or Dask), write each result as it comes; the changes it made."""
    reasons: dict[str, int] = {}
    for t in todo:
        reasons[t.why] = reasons.get(t.why, 0) + 1
    detail = "".join(f", {n} {why}" for why, n in sorted(reasons.items()))
    print(f"{n_class} submission(s), {n_class - len(todo)} up to date, {len(todo)} to grade{detail}", file=log)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    progress = Progress(len(todo), log)
    for stale in (out / "results").glob(".*.tmp"):  # left by a grader killed mid-write
        stale.unlink(missing_ok=True)
    faults: list[StudentResult] = []
    (out / FAULTS_FILE).unlink(missing_ok=True)  # describes the last run only
    by_student = {t.sub.student: t for t in todo}
    if scheduler:  # a Dask cluster instead of the local pool; the rest is the same
        from autograder.grade.cluster import grade_on_cluster

        finished = grade_on_cluster(scheduler, [t.hand_in for t in todo], config, insecure=insecure)
    else:
        finished = _grade_locally([t.hand_in for t in todo], jobs, config)
    changes: list[Change] = []
    for hand_in, result in finished:
        hand_in.discard()
        student = hand_in.student
        if result.outcome == "grader_fault":
            faults.append(result)  # not recorded: a re-run retries it
            progress.step(f"{student}: GRADER ERROR")
            continue
        todo_item = by_student[student]
        result.source_sha256, result.version = hand_in.digest, version
        old = _stored(out, student)
        if old is not None:
            kept = no_decrease and old.graded and result.graded and result.total < old.total
            changes.append(_change(old, result, todo_item.why, kept))
            if kept:
                result = _kept_higher(old, result)
        write_text(result_path(out, student), json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        progress.step(f"{student}: {result.total:g}/{result.max_total:g}")
    if changes:
        write_changes(out, changes)
    if faults:
        write_text(out / FAULTS_FILE, "".join(json.dumps({"student": r.student, "outcome": r.outcome, "problem_kind": r.problem_kind,
                                                         "problem": r.problem}, ensure_ascii=False) + "\n" for r in faults))
        raise GraderFailure(faults)
    return changes


def write_changes(out: Path, changes: list[Change]) -> Path:
    """changes.csv: every stored result this run replaced whose total or check statuses moved,
    with the old and new totals (the regrades that changed nothing are counted, not listed), and
    in `provenance_changed` what else changed between the two gradings (torch, torchvision, Python,
    grader or assignment version, threads, device: "torch: 2.4.1 -> 2.14.1; threads: 1 -> 2"),
    empty when they were graded alike, `not recorded before` for a result stored without it."""
    from autograder.report.files import csv_text

    moved = [c for c in changes if c.delta or c.checks]
    rows = [["student", "old_total", "new_total", "delta", "why", "kept_old_total", "checks_changed", "provenance_changed"]]
    rows += [[c.student, f"{c.old_total:g}", f"{c.new_total:g}", f"{c.delta:+g}", c.why, "yes" if c.kept_old else "",
              "; ".join(c.checks), "; ".join(c.provenance)] for c in sorted(moved, key=lambda c: (c.delta, c.student))]
    path = out / "changes.csv"
    write_text(path, csv_text(rows))
    return path


def changes_summary(changes: list[Change]) -> list[str]:
    """Lines for the console and summary.md: how many went up and down; every decrease by name."""
    if not changes:
        return []
    up = [c for c in changes if c.delta > 0]
    down = [c for c in changes if c.delta < 0]
    lines = [f"{len(changes)} earlier result(s) replaced: {len(up)} up, {len(down)} down, {len(changes) - len(up) - len(down)} unchanged (changes.csv)"]
    lines += [f"  DECREASE {c.student}: {c.old_total:g} -> {c.new_total:g} ({c.why})" + ("; the higher total was kept (--no-decrease)" if c.kept_old else "")
              for c in down]
    return lines

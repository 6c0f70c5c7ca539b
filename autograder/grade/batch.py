"""Grade a class: every submission through `grade_submission` in a pool of grading processes
(or on a Dask cluster); each result is written atomically, and a re-run grades only what changed.

A result stands while its hand-in (sha256) and the grader (`expect.assignment_version()` and the
parts graded) are the same: a resubmission, a changed suite or a changed part selection is
regraded, and the run says which and why. Whatever was graded, the caller gets the whole class.
"""

from __future__ import annotations

import json
import os
import sys
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
from autograder.grade.discover import Submission, discover_report, file_stem
from autograder.grade.submission import grade_submission, source_digest
from autograder.grading import CHARGED
from autograder.launch.settings import Limits
from autograder.results import StudentResult
from autograder.runtime.assignment import ASSIGNMENT, PARTS


class GraderFailure(RuntimeError):
    """The grader itself failed on some submissions (not their fault); nothing was recorded for
    them, so running the same command again retries exactly those."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("the grader failed on {} submission(s):\n  ".format(len(failures)) + "\n  ".join(failures))
        self.failures = failures


def grade_one(sub: Submission, config: GradingConfig) -> StudentResult:
    """A pool process's task: one submission through the one per-submission path."""
    return grade_submission(sub.path, sub.student, config, [sub.note] if sub.note else [])


def _pool_process() -> None:
    """Pool processes die with the grader (kill -9 included) instead of grading on as orphans,
    and clean up when they end: multiprocessing ends its children with os._exit, which skips
    the atexit handlers that stop the fork server and remove its files in /tmp."""
    import atexit
    from multiprocessing import util

    util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)
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
    digest: str
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
    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.started, self.stream = total, 0, time.monotonic(), stream

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        width = 24
        bar = "#" * int(width * self.done / self.total)
        self.stream.write(f"\r[{bar:<{width}}] {self.done}/{self.total}  {elapsed:5.0f}s elapsed  ETA {eta:4.0f}s  {label[:40]:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _grader_fault(student: str, message: str, kind: str) -> StudentResult:
    return StudentResult(student, problem=message, outcome="grader_fault", problem_kind=kind)


def _grade_locally(todo: list[Submission], jobs: int, config: GradingConfig) -> Iterator[tuple[Submission, StudentResult]]:
    """(submission, result) pairs from a pool of local grading processes, as they finish."""
    pending = list(todo)
    for attempt in range(2):  # a pool broken by a dying process is rebuilt once
        if not pending:
            break
        broken: list[Submission] = []
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_pool_process) as pool:
            futures = {pool.submit(grade_one, s, config): s for s in pending}
            for fut in as_completed(futures):
                sub = futures[fut]
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    if attempt == 0:
                        broken.append(sub)  # not graded yet: retried, never recorded as 0
                        continue
                    # Its grading process died twice: this submission brought it down (charged).
                    result = StudentResult(sub.student, zero_results(CHARGED, parts=config.parts), problem=CHARGED,
                                           problem_kind="grading_process_died")
                except Exception as exc:
                    # A grader bug, not the student's doing: not recorded, a re-run retries it.
                    result = _grader_fault(sub.student, f"grading process failed: {type(exc).__name__}: {exc}", "grading_process")
                if result.problem_kind == "machinery_down":  # no point grading on: stop, record nothing more
                    for other in futures:
                        other.cancel()
                yield sub, result
        pending = broken


def grade_all(
    submissions: Path,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    students: list[str] | None = None,
    limits: Limits = Limits(),
    quiet: bool = False,
    parts: tuple[str, ...] | None = None,
    assignment: str = ASSIGNMENT,
    select: Callable[[list[Submission]], list[Submission]] | None = None,
    scheduler: str | None = None,
    insecure: bool = False,
) -> list[StudentResult]:
    """Grade what is not graded yet (or changed) and return the results of the whole class.

    `students`: (re)grade only these; the others keep their stored results, which are returned
    too, so that the gradebook written from the return value is always the whole class."""
    log = open(os.devnull, "w") if quiet else sys.stderr
    found = discover_report(submissions, assignment)
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
    todo: list[Todo] = []
    for sub in subs:
        digest = source_digest(sub.path)
        why = _stale(out, sub, digest, version, force or bool(students and sub.student in students))
        if why and (not students or sub.student in students):
            todo.append(Todo(sub, digest, why))
    reasons: dict[str, int] = {}
    for t in todo:
        reasons[t.why] = reasons.get(t.why, 0) + 1
    detail = "".join(f", {n} {why}" for why, n in sorted(reasons.items()))
    print(f"{len(subs)} submission(s), {len(subs) - len(todo)} up to date, {len(todo)} to grade{detail}", file=log)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    # The worker never sees the submissions or the outputs, even through the sandbox's view.
    config = GradingConfig(limits=limits, parts=parts, hide=(Path(submissions).resolve(), Path(out).resolve()))
    progress = Progress(len(todo), log)
    for stale in (out / "results").glob(".*.tmp"):  # left by a grader killed mid-write
        stale.unlink(missing_ok=True)
    failures: list[str] = []
    by_student = {t.sub.student: t for t in todo}
    if scheduler:  # a Dask cluster instead of the local pool; the rest is the same
        from autograder.grade.cluster import grade_on_cluster

        finished = grade_on_cluster(scheduler, [t.sub for t in todo], config, insecure=insecure)
    else:
        finished = _grade_locally([t.sub for t in todo], jobs, config)
    for sub, result in finished:
        if result.outcome == "grader_fault":
            failures.append(f"{sub.student}: {result.problem}")  # not recorded: a re-run retries it
            progress.step(f"{sub.student}: GRADER ERROR")
            continue
        result.source_sha256, result.version = by_student[sub.student].digest, version
        write_text(result_path(out, sub.student), json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        progress.step(f"{sub.student}: {result.total:g}/{result.max_total:g}")
    if failures:
        raise GraderFailure(failures)
    stored = {r.student: r for r in load_results(out)}
    return [stored[s.student] for s in subs if s.student in stored]

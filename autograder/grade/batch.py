"""Grade many submissions in parallel; every result is written atomically and a re-run resumes."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.atomic import write_text
from autograder.catalog import zero_results
from autograder.config import GradingConfig
from autograder.grade.discover import Submission, code_folder, discover
from autograder.grade.unpack import SubmissionError, unpack
from autograder.grading import CHARGED, MACHINERY_DOWN, SuiteError, grade_folder
from autograder.results import StudentResult
from autograder.launch.settings import Limits


GRADER_ERROR = "grader error: "


class GraderFailure(RuntimeError):
    """The grader itself failed on some submissions (not their fault); nothing was recorded for
    them, so running the same command again retries exactly those."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("the grader failed on {} submission(s):\n  ".format(len(failures)) + "\n  ".join(failures))
        self.failures = failures


def grade_one(sub: Submission, config: GradingConfig) -> dict:
    """Grade one submission; never raises: problems become the student's row (or, for a
    grader problem, a `problem` starting with GRADER_ERROR, which is never recorded)."""
    parts = config.parts
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sub_") as tmp:
        code = Path(tmp) / "code"
        try:
            unpack(sub.path, code)
            folder = code_folder(code)
            if folder is None:
                raise SubmissionError("提交里没有找到任何 part*_*.py 文件（应提交 assignments/cnn_rnn 下的作业文件）")
            result = grade_folder(sub.student, folder, config)
        except SubmissionError as exc:
            result = StudentResult(sub.student, zero_results(str(exc), parts=parts), problem=str(exc))
        except SuiteError as exc:
            result = StudentResult(sub.student, zero_results("评分程序内部错误，请联系助教", parts=parts), problem=f"{GRADER_ERROR}{exc}")
    result.seconds = time.monotonic() - started
    return result.to_dict()


def _die_with_parent() -> None:
    """Pool processes die with the grader (kill -9 included) instead of grading on as orphans."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, Linux only
    except (OSError, AttributeError):
        pass


def result_path(out: Path, student: str) -> Path:
    return out / "results" / f"{student}.json"


def load_results(out: Path) -> list[StudentResult]:
    results = []
    for path in sorted((out / "results").glob("*.json")):
        try:
            results.append(StudentResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError) as exc:
            print(f"warning: ignoring unreadable result file {path}: {exc}", file=sys.stderr)
    return results


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
) -> list[StudentResult]:
    subs = discover(submissions, assignment)
    if select is not None:  # e.g. only each student's newest submission (autograder.grade.late)
        subs = select(subs)
    if students:
        unknown = sorted(set(students) - {s.student for s in subs})
        if unknown:
            raise ValueError(f"no submission for student(s): {', '.join(unknown)}")
        subs = [s for s in subs if s.student in students]
        force = True
    todo = [s for s in subs if force or not result_path(out, s.student).exists()]
    if not quiet:
        print(f"{len(subs)} submission(s), {len(subs) - len(todo)} already graded, {len(todo)} to grade", file=sys.stderr)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    # The worker never sees the submissions or the outputs, even through the sandbox's view.
    config = GradingConfig(limits=limits, parts=parts, hide=(Path(submissions).resolve(), Path(out).resolve()))
    progress = Progress(len(todo), open(os.devnull, "w") if quiet else sys.stderr)
    for stale in (out / "results").glob(".*.tmp"):  # left by a grader killed mid-write
        stale.unlink(missing_ok=True)
    pending = list(todo)
    failures: list[str] = []
    for attempt in range(2):  # a pool broken by a dying process is rebuilt once
        if not pending:
            break
        broken: list[Submission] = []
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_die_with_parent) as pool:
            futures = {pool.submit(grade_one, s, config): s for s in pending}
            for fut in as_completed(futures):
                sub = futures[fut]
                try:
                    data = fut.result()
                except BrokenProcessPool:
                    if attempt == 0:
                        broken.append(sub)  # not graded yet: retried, never recorded as 0
                        continue
                    # Its grading process died twice: this submission brought it down (charged).
                    data = StudentResult(sub.student, zero_results(CHARGED, parts=parts), problem="grader process died twice").to_dict()
                except Exception as exc:
                    # A grader bug, not the student's doing: not recorded, a re-run retries it.
                    data = {"problem": f"{GRADER_ERROR}grading process failed: {type(exc).__name__}: {exc}"}
                if data.get("problem", "").startswith(GRADER_ERROR):
                    failures.append(f"{sub.student}: {data['problem']}")  # not recorded: a re-run retries it
                    progress.step(f"{sub.student}: GRADER ERROR")
                    if MACHINERY_DOWN in data["problem"]:  # no point grading on: stop, record nothing more
                        for other in futures:
                            other.cancel()
                    continue
                write_text(result_path(out, sub.student), json.dumps(data, ensure_ascii=False, indent=1))
                progress.step(f"{sub.student}: {data['total']:g}/{data['max_total']:g}")
        pending = broken
    if failures:
        raise GraderFailure(failures)
    graded = {s.student for s in subs}
    return [r for r in load_results(out) if r.student in graded]

"""Run a suite (hidden or public) against one submission folder, and grade one submission.

A fault of the grading machinery is never the student's: the fork server is replaced and the
submission graded again from the start. Only a submission that brings the machinery down a
second time is charged, on the part whose check was running, with a message that says so.
"""

from __future__ import annotations

import io
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

from autograder.catalog import SUITES, check_functions, zero_results
from autograder.checks import GraderInputError, outcome_of
from autograder.config import GradingConfig
from autograder.launch import forked
from autograder.launch.base import MachineryFault
from autograder.launch.worker import Worker
from autograder.results import CheckResult, StudentResult
from autograder.runtime.assignment import PARTS

CHARGED = ("你的代码让评分进程停止/退出（例如向父进程发送信号、结束或挂起评分用的进程），评分机制被破坏了两次，"
           "所以这一部分的检查记为 0 分。请不要操作你自己创建之外的进程。")


class SuiteError(RuntimeError):
    """The suite itself could not run, or the grading machinery could not be brought back (a
    grader problem, never the student's fault): nothing is recorded for the submission.

    `kind`: "suite" (the suite does not load, or a check's own input cannot be made safe:
    checks.GraderInputError) or "machinery_down" (no fork server will start
    again: a batch stops, since every later submission would meet the same)."""

    def __init__(self, message: str, kind: str = "suite") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class SuiteRun:
    """What one suite run gave back."""

    results: list[CheckResult] = field(default_factory=list)
    sandbox_note: str = ""
    compute_s: float = 0.0
    fault: MachineryFault | None = None
    fault_group: str | None = None  # the part whose check was running when the fault happened


def loaded_checks(suite: str, parts: tuple[str, ...] | None) -> list:
    """The suite's `@check` functions for `parts`; SuiteError (the grader's problem, kind "suite")
    when the suite does not import or has no files for them."""
    try:
        checks = check_functions(suite, parts)
    except Exception as exc:  # a suite that does not import is the grader's problem
        raise SuiteError(f"the {suite} suite could not be loaded: {type(exc).__name__}: {exc}") from exc
    if not checks:
        raise SuiteError(f"no {suite} suite files for {parts or tuple(PARTS)} under {SUITES / suite}")
    return checks


def run_suite(submission: Path, suite: str = "hidden", config: GradingConfig = GradingConfig()) -> SuiteRun:
    """Every `@check` of the suite for `config.parts`, in order, against one submission's worker.

    The suite modules are imported once per process (catalog.py); a check is a function of the
    worker, and its outcome is what it raised (checks.outcome_of), exactly as under pytest."""
    checks = loaded_checks(suite, config.parts)
    run = SuiteRun()
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        try:
            worker = Worker(submission, config)
        except MachineryFault as fault:
            run.fault, run.fault_group = fault, checks[0].__check__.group
            return run
        try:
            run.sandbox_note = worker.sandbox_note
            for i, fn in enumerate(checks):
                meta = fn.__check__
                try:
                    fn(worker)
                    error = None
                except MachineryFault as fault:  # the machinery, not the student: stop here
                    run.fault, run.fault_group = fault, meta.group
                    break
                except GraderInputError as exc:  # the grader's own input is unsafe: no student's 0
                    raise SuiteError(f"{meta.name}: {exc}") from exc
                except Exception as exc:  # what the check concluded, or could not conclude
                    error = exc
                run.results.append(outcome_of(meta, error))
                if i + 1 == len(checks) or checks[i + 1].__check__.group != meta.group:
                    try:  # the part is done: did it leave the machinery answering?
                        worker.checkpoint()
                    except MachineryFault as fault:
                        run.fault, run.fault_group = fault, meta.group
                        break
            run.compute_s = worker.compute_s
        finally:
            try:
                worker.close()
            except MachineryFault as fault:  # cleaning up after the last check
                if run.fault is None:
                    run.fault, run.fault_group = fault, None
    return run


def _replace_machinery(config: GradingConfig, fault: MachineryFault) -> None:
    """A fresh fork server for what follows; SuiteError when none will start."""
    forked.discard()
    if not config.uses_forkserver:
        return
    from autograder.runtime.assignment import given_files

    try:
        forked.shared(config.limits, given_files().resolve(), sandbox=config.sandbox, hide=config.hide)
    except MachineryFault as exc:
        raise SuiteError(f"grading machinery could not be restarted after a fault ({fault}): {exc}", "machinery_down") from exc


def _charged(group: str) -> list[CheckResult]:
    return zero_results(CHARGED, parts=(group,), kind="charged")


def provenance() -> dict[str, str | int]:
    """Where a grade is computed: what could make the same hand-in score otherwise (a changed
    suite or reference, another torch, another thread count for the trusted side's expectations,
    another device). Workers always compute with one thread (launch/settings.py, runtime/serve.py)."""
    import platform

    import torch
    import torchvision

    from autograder import __version__
    from autograder.expect import assignment_version

    return {"grader": __version__, "assignment": assignment_version(), "python": platform.python_version(),
            "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
            "worker_threads": 1, "device": "cpu"}


def grade_folder(student: str, folder: Path, config: GradingConfig = GradingConfig()) -> StudentResult:
    """Hidden suite against one submission (sandboxed whenever this machine allows it, workers
    forked from this process's warm fork server unless `config.forkserver` is off).

    On a MachineryFault the submission is graded again from the start on fresh machinery; a
    second fault charges the part that caused it and grading goes on with the parts after it."""
    started = time.monotonic()
    parts = config.parts or tuple(PARTS)
    results: list[CheckResult] = []
    note, compute = "", 0.0
    todo, retried = parts, False
    while todo:
        run = run_suite(folder, "hidden", config.with_(parts=todo))
        note, compute = run.sandbox_note or note, compute + run.compute_s
        if run.fault is None:
            results += run.results
            break
        _replace_machinery(config, run.fault)
        if run.fault_group is None:  # after the last check (cleaning up): every result stands
            results += run.results
            break
        if not retried:  # the first fault is never held against the submission
            retried, results, compute = True, [], 0.0
            todo = parts
            continue
        results += [r for r in run.results if r.group != run.fault_group] + _charged(run.fault_group)
        todo = todo[todo.index(run.fault_group) + 1:]
    return StudentResult(student, results, sandbox=note, seconds=time.monotonic() - started, compute_seconds=compute,
                         provenance=provenance())

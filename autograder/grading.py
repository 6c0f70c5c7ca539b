"""Run a suite (hidden or public) against one submission folder and return its check results."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stdout, redirect_stderr
from pathlib import Path

import pytest

from autograder.plugin import GraderPlugin
from autograder.results import CheckResult, StudentResult
from autograder.runner import Limits

SUITES = Path(__file__).resolve().parent / "suites"
PARTS = ("part1", "part2", "part3", "part4", "part5")


class SuiteError(RuntimeError):
    """The suite itself could not run (a grader bug, never the student's fault)."""


def suite_files(suite: str = "hidden", parts: tuple[str, ...] | None = None) -> list[Path]:
    folder = SUITES / suite
    wanted = parts or PARTS
    return [p for part in wanted for p in sorted(folder.glob(f"test_{part}*.py"))]


def run_suite(
    submission: Path,
    suite: str = "hidden",
    parts: tuple[str, ...] | None = None,
    limits: Limits = Limits(),
    *,
    sandbox: bool = False,
    hide: tuple[Path, ...] = (),
    zygote: bool = False,
    plugin_out: list | None = None,
) -> list[CheckResult]:
    files = suite_files(suite, parts)
    if not files:
        raise SuiteError(f"no {suite} suite files for {parts or PARTS} under {SUITES / suite}")
    plugin = GraderPlugin(submission, limits, sandbox, hide, zygote)
    if plugin_out is not None:
        plugin_out.append(plugin)
    args = [
        *map(str, files),
        "-q", "-p", "no:cacheprovider", "-p", "no:warnings", "-p", "autograder.plugin",
        "--import-mode=importlib", "--noconftest",
        "-o", "addopts=", "-o", "testpaths=", "--rootdir", str(SUITES), "-c", str(SUITES / "pytest.ini"),
    ]
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        pytest.main(args, plugins=[plugin])
    if plugin.problems:
        raise SuiteError("; ".join(plugin.problems))
    return plugin.results


def grade_folder(
    student: str,
    folder: Path,
    limits: Limits = Limits(),
    parts: tuple[str, ...] | None = None,
    *,
    sandbox: bool = True,
    hide: tuple[Path, ...] = (),
    zygote: bool = True,
) -> StudentResult:
    """Hidden suite against one submission; sandboxed whenever this machine allows it, with
    the worker forked from this process's warm fork server unless `zygote=False`."""
    started = time.monotonic()
    plugins: list[GraderPlugin] = []
    checks = run_suite(folder, "hidden", parts, limits, sandbox=sandbox, hide=hide, zygote=zygote, plugin_out=plugins)
    note = plugins[0].sandbox_note if plugins else ""
    compute = plugins[0].compute_s if plugins else 0.0
    return StudentResult(student, checks, sandbox=note, seconds=time.monotonic() - started, compute_seconds=compute)

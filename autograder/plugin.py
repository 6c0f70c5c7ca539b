"""The pytest plugin that turns a suite run against one submission into `CheckResult`s.

Suites are ordinary pytest files; this plugin gives them a `worker` fixture bound to the
submission and records each check's outcome, points and feedback. It runs in the trusted
process; the submission only ever runs inside the worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.checks import CheckFailed, CheckMeta, ProbeFailed
from autograder.results import CheckResult
from autograder.runner import Limits, Worker
from autograder.zygote import ZygoteError


def outcome_of(meta: CheckMeta, excinfo: pytest.ExceptionInfo | None) -> CheckResult:
    def result(status: str, message: str) -> CheckResult:
        score = meta.points if status == "passed" else 0.0
        return CheckResult(meta.name, meta.group, score, meta.points, status, message, meta.visibility, meta.title)

    if excinfo is None:
        return result("passed", "")
    exc = excinfo.value
    if isinstance(exc, CheckFailed):
        return result("failed", str(exc))
    if isinstance(exc, ProbeFailed):
        return result(exc.status, str(exc))
    # The trusted check itself raised on what came back (odd types, odd values): the answer
    # cannot be graded, so it earns nothing, and the message says what the grader saw.
    return result("error", f"无法检查你的结果（{type(exc).__name__}: {exc}）")


PLUGIN_KEY = pytest.StashKey["GraderPlugin"]()


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest):
    """The untrusted worker bound to the submission under grading (one per suite run)."""
    plugin = request.config.stash[PLUGIN_KEY]
    with Worker(plugin.submission, plugin.limits, sandbox=plugin.sandbox, hide=plugin.hide, zygote=plugin.zygote) as w:
        plugin.sandbox_note = w.sandbox_note
        yield w
        plugin.compute_s = w.compute_s


class GraderPlugin:
    def __init__(
        self, submission: Path, limits: Limits = Limits(), sandbox: bool = False, hide: tuple[Path, ...] = (), zygote: bool = False
    ) -> None:
        self.zygote = zygote
        self.submission = Path(submission)
        self.limits = limits
        self.sandbox = sandbox
        self.hide = hide
        self.sandbox_note = ""
        self.compute_s = 0.0
        self.results: list[CheckResult] = []
        self.problems: list[str] = []
        self._worker: Worker | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PLUGIN_KEY] = self

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        meta: CheckMeta | None = getattr(getattr(item, "function", None), "__check__", None)
        if meta is None:
            if report.when == "call":
                self.problems.append(f"{item.nodeid}: test without @check metadata")
            return
        if report.when == "call" or (report.when == "setup" and report.failed):
            if call.excinfo is not None and isinstance(call.excinfo.value, ZygoteError):
                # The grader's own machinery failed: that is no student's 0, it stops the grading.
                self.problems.append(f"{meta.name}: {call.excinfo.value}")
                return
            self.results.append(outcome_of(meta, call.excinfo))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"collection failed: {report.nodeid}: {report.longreprtext[-2000:]}")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Standalone use: `python -m pytest autograder/suites/hidden -p autograder.plugin --submission DIR`."""
    group = parser.getgroup("autograder")
    group.addoption("--submission", default=None, help="folder with the part*_*.py files to grade")
    group.addoption("--no-sandbox", action="store_true", help="run the worker without bubblewrap")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if PLUGIN_KEY in config.stash:  # registered by autograder.grading
        return
    submission = config.getoption("submission", None)
    if submission:
        plugin = GraderPlugin(Path(submission), sandbox=not config.getoption("no_sandbox"))
        config.pluginmanager.register(plugin, "autograder-grader")
        config.stash[PLUGIN_KEY] = plugin

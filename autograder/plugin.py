"""Suites are ordinary pytest files: this plugin runs one against a submission under pytest.

`python -m pytest autograder/suites/hidden -p autograder.plugin --submission DIR` gives the
suites a `worker` fixture bound to the submission and records each check's outcome, points and
feedback. Grading itself calls the same `@check` functions directly (grading.run_suite) and turns
what they raised into results with the same `checks.outcome_of`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.checks import CheckMeta, GraderInputError, outcome_of
from autograder.config import GradingConfig
from autograder.launch.base import MachineryFault
from autograder.launch.worker import Worker
from autograder.results import CheckResult


PLUGIN_KEY = pytest.StashKey["GraderPlugin"]()


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest):
    """The untrusted worker bound to the submission under grading (one per suite run)."""
    plugin = request.config.stash[PLUGIN_KEY]
    with Worker(plugin.submission, plugin.config) as w:
        plugin.sandbox_note = w.sandbox_note
        yield w
        plugin.compute_s = w.compute_s


class GraderPlugin:
    """Collects the results of one suite run (standalone pytest use). `fault` is set when the
    grading machinery failed: then the session stops at once, and `results` holds what came before."""

    def __init__(self, submission: Path, config: GradingConfig = GradingConfig()) -> None:
        self.submission = Path(submission)
        self.config = config
        self.sandbox_note = ""
        self.compute_s = 0.0
        self.results: list[CheckResult] = []
        self.fault: MachineryFault | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PLUGIN_KEY] = self

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        meta: CheckMeta | None = getattr(getattr(item, "function", None), "__check__", None)
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, MachineryFault):
            # The grader's own machinery failed: that is no student's 0. Stop here, recording
            # nothing after it (grading.grade_folder is what retries on fresh machinery).
            if self.fault is None:
                self.fault = excinfo.value
            item.session.shouldstop = "grading machinery fault"
            return
        if meta is None:  # not a check (catalog.py refuses such a suite for grading)
            return
        if excinfo is not None and isinstance(excinfo.value, GraderInputError):
            return  # the grader's own input is unsafe: pytest reports the error, no student's 0 is recorded
        if self.fault is None and (report.when == "call" or (report.when == "setup" and report.failed)):
            self.results.append(outcome_of(meta, excinfo.value if excinfo is not None else None))


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
        plugin = GraderPlugin(Path(submission), GradingConfig(sandbox=not config.getoption("no_sandbox"), forkserver=False))
        config.pluginmanager.register(plugin, "autograder-grader")
        config.stash[PLUGIN_KEY] = plugin

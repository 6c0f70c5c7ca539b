"""The worker's import path holds the runtime and the submission only, sandboxed or not: the
answer key (`reference/`) and the trusted grader are not importable from student code, and a
module shipped in the submission cannot stand in for the runtime's own."""

from __future__ import annotations

import pytest

from autograder.config import GradingConfig
from autograder.launch.worker import Worker

PROBE_IMPORTS = """
import importlib


def _try(name):
    try:
        importlib.import_module(name)
        return name + ":imported"
    except ImportError as exc:
        return name + ":" + type(exc).__name__

raise RuntimeError("|".join(_try(n) for n in ("reference.retrieval", "autograder.grading", "autograder.suites.hidden.test_part1",
                                              "solutions", "autograder.runtime.wire")))
"""


@pytest.mark.parametrize("forkserver", [False, True], ids=["direct", "forkserver"])
def test_reference_and_grader_are_not_importable_unsandboxed(tmp_path, monkeypatch, forkserver):
    monkeypatch.setenv("CNN_RNN_NO_SANDBOX", "1")
    from autograder.launch import forked, sandbox

    sandbox.bwrap_path.cache_clear()
    forked.discard()
    try:
        (tmp_path / "part1_resnet.py").write_text(PROBE_IMPORTS, encoding="utf-8")
        # A planted copy of the runtime in the submission must not be what the worker runs.
        (tmp_path / "autograder" / "runtime").mkdir(parents=True)
        (tmp_path / "autograder" / "__init__.py").write_text("raise SystemExit('planted autograder imported')\n")
        with Worker(tmp_path, GradingConfig(sandbox=False, forkserver=forkserver)) as worker:
            r = worker.call("part1.import")
        assert r.status == "error", (r.status, r.error, r.output)
        message = r.error["message"]
        assert "reference.retrieval:ModuleNotFoundError" in message
        assert "autograder.grading:ModuleNotFoundError" in message
        assert "autograder.suites.hidden.test_part1:ModuleNotFoundError" in message
        assert "solutions:ModuleNotFoundError" in message
        assert "autograder.runtime.wire:imported" in message  # the runtime itself is there
    finally:
        forked.discard()
        sandbox.bwrap_path.cache_clear()

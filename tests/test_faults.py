"""A hang, a crash, `os._exit`, a memory blow-up or a fork bomb in one function costs only the
checks that call that function (issue 19), in every way a worker can be started.

Each faulty submission is the solution with the same fault planted in one function of every
part (tests/faults.py), so one grading shows that the fault costs its own checks, that the other
checks of the part are untouched, and that every later part is graded as if nothing happened.
A plain `raise` in the same functions is the baseline the other faults must equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.grade.batch import grade_all
from autograder.grading import grade_folder
from autograder.launch.sandbox import bwrap_path
from autograder.config import Limits
from faults import EXPECTED_TOTAL, FAILED, FAULTS, faulty_solution, import_hang

LIMITS = Limits(probe_s=6.0)
# A fork bomb is graded only inside the sandbox (as tests/test_sandbox.py does): there the fork
# server is the namespace's init and kills every process of it; unsandboxed it could take the
# test machine down with it.
SANDBOXED_FAULTS = [f for f in FAULTS if f != "fork_bomb" or bwrap_path() is not None]


def _failed(result) -> set[str]:
    return {c.check for c in result.checks if c.status != "passed"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every fault, and a part 1 that never finishes importing, in one batch (the fork server
    sandboxed when this machine allows it, as an instructor grades a class)."""
    root = tmp_path_factory.mktemp("faults")
    for fault in SANDBOXED_FAULTS:
        faulty_solution(root / "subs" / fault, fault)
    import_hang(root / "subs" / "import_hang")
    results = grade_all(root / "subs", root / "out", jobs=2, limits=LIMITS, quiet=True)
    return {r.student: r for r in results}


@pytest.mark.parametrize("fault", SANDBOXED_FAULTS)
def test_a_fault_in_one_function_costs_only_its_checks(batch, fault):
    result = batch[fault]
    assert not result.problem
    assert _failed(result) == FAILED, fault
    assert result.total == EXPECTED_TOTAL


def test_the_fault_is_named_in_the_feedback(batch):
    def status(fault: str) -> str:
        return next(c for c in batch[fault].checks if c.check == "part3.char_tokenize").status

    assert status("loop") == "timeout"
    assert "超时" in next(c.message for c in batch["loop"].checks if c.check == "part3.char_tokenize")
    assert "异常退出" in next(c.message for c in batch["os_exit"].checks if c.check == "part3.char_tokenize")


def test_a_hang_at_import_costs_that_part_only(batch):
    result = batch["import_hang"]
    assert {c.check for c in result.checks if c.status != "passed"} == {c.check for c in result.checks if c.group == "part1"}
    assert {c.status for c in result.checks if c.group == "part1"} == {"timeout"}
    assert all("导入 part1_resnet.py" in c.message for c in result.checks if c.group == "part1")
    assert result.total == 78.0


# The same with the other launchers, on parts 1 and 3 (the cheapest to grade): the fork server
# unsandboxed, and a fresh interpreter per worker (how Gradescope starts its workers).
MODES = {
    "unsandboxed": GradingConfig(limits=LIMITS, sandbox=False),
    "fresh_interpreter": GradingConfig(limits=LIMITS, forkserver=False),
}
PARTS = ("part1", "part3")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", ["loop", "os_exit", "memory"])
def test_every_launcher_charges_only_the_faulty_checks(tmp_path: Path, mode: str, fault: str):
    folder = faulty_solution(tmp_path / fault, fault)
    result = grade_folder(fault, folder, MODES[mode].with_(parts=PARTS))
    assert _failed(result) == {c for c in FAILED if c.split(".")[0] in PARTS}
    assert result.total == 22 - 2 + 15 - 1

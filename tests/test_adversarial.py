"""Cheating and crashing submissions (kept as regression fixtures in tests/adversarial/).

All of them are graded in one batch with two controls; each must get 0 on part 1 with the
expected status and message, and the controls must score exactly what they score alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.grade.batch import grade_all
from autograder.config import GradingConfig
from autograder.grading import grade_folder
from autograder.config import Limits

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIMITS = Limits(probe_s=5.0)
PART = ("part1",)

# case -> (status of part1.projection_shortcut_identity, text its feedback must contain)
EXPECTED = {
    "sys_exit_on_import": ("error", "SystemExit"),
    "os_exit_on_import": ("error", "异常退出"),
    "sys_exit_in_function": ("error", "SystemExit"),
    "os_exit_in_function": ("error", "异常退出"),
    "patch_allclose": ("failed", "应返回 None"),
    "eq_always_true": ("error", "应返回 nn.Module 或 None"),
    "infinite_loop": ("timeout", "超时"),
    "allocate_50gb": ("error", "异常"),
    "exception_str_raises": ("error", "Nasty"),
    "fake_output": ("error", "尚未实现"),
    # Finds no expected values to steal; its fallback is `None`, which is right only where the
    # shortcut is the identity: the identity check also asks for a module where the shapes change
    # (issue 21: no point for a function that always returns None), so every check fails.
    "frame_and_gc_walk": ("failed", "返回了 None"),
    "ships_conftest": ("failed", "返回了 None"),  # its projection_shortcut always returns None
}


# The correct solution, whose projection_shortcut also changes torch's global state (dtype,
# grad mode, RNG, threads) in the hope of breaking the checks that run after it.
TAMPER = """

_honest_projection_shortcut = projection_shortcut


def projection_shortcut(in_planes, out_planes, stride=1):
    import random

    import numpy

    result = _honest_projection_shortcut(in_planes, out_planes, stride)
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.manual_seed(987654321)
    random.seed(1)
    numpy.random.seed(1)
    torch.set_num_threads(2)
    return result
"""
SHORTCUT_CHECKS = {"part1.projection_shortcut_identity", "part1.projection_shortcut_layers"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    subs = root / "submissions"
    for case in EXPECTED:
        shutil.copytree(HERE / "adversarial" / case, subs / case)
    shutil.copytree(REPO / "solutions" / "cnn_rnn", subs / "control_solution", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "solutions" / "cnn_rnn", subs / "tamper_global_state", ignore=shutil.ignore_patterns("__pycache__"))
    with open(subs / "tamper_global_state" / "part1_resnet.py", "a", encoding="utf-8") as f:
        f.write(TAMPER)
    shutil.copytree(REPO / "assignments" / "cnn_rnn", subs / "control_stub", ignore=shutil.ignore_patterns("__pycache__"))
    results = grade_all(subs, root / "out", jobs=2, limits=LIMITS, quiet=True, parts=PART)
    return {r.student: r for r in results}, subs


def test_every_submission_gets_a_row(batch):
    results, _ = batch
    assert set(results) == set(EXPECTED) | {"control_solution", "control_stub", "tamper_global_state"}


def test_changed_global_state_does_not_leak_into_later_checks(batch):
    results, _ = batch
    clean = {c.check: (c.status, c.score) for c in results["control_solution"].checks}
    tampered = {c.check: (c.status, c.score) for c in results["tamper_global_state"].checks}
    later = {name for name in clean if name not in SHORTCUT_CHECKS}
    assert later and {n: tampered[n] for n in later} == {n: clean[n] for n in later}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_cheat_scores_zero_with_expected_feedback(batch, case):
    results, _ = batch
    r = results[case]
    assert r.total == 0, [(c.check, c.status) for c in r.checks if c.score]
    status, text = EXPECTED[case]
    first = next(c for c in r.checks if c.check == "part1.projection_shortcut_identity")
    assert first.status == status, first.message
    assert text in first.message


def test_controls_score_as_when_graded_alone(batch):
    results, subs = batch
    for name in ("control_solution", "control_stub"):
        alone = grade_folder(name, subs / name, GradingConfig(limits=LIMITS, parts=PART))
        assert [(c.check, c.score, c.status, c.message) for c in alone.checks] == [
            (c.check, c.score, c.status, c.message) for c in results[name].checks
        ]
    assert results["control_solution"].total == results["control_solution"].max_total
    assert results["control_stub"].total == 0

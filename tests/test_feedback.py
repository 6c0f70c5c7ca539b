"""What the trusted side does with odd answers: NaN, wrong dtype, broadcasting shapes, a wrong
device, raised exceptions. The feedback says what was expected and what came back."""

from __future__ import annotations

import pytest
import torch

from autograder.checks import (
    CheckFailed,
    CheckMeta,
    ProbeFailed,
    expect_close,
    require_ok,
)
from autograder.plugin import outcome_of
from autograder.launch.worker import ProbeResult

EXPECTED = torch.arange(6, dtype=torch.float32).reshape(2, 3)


def test_exact_match_passes():
    expect_close(EXPECTED.clone(), EXPECTED, "x")


@pytest.mark.parametrize(
    ("actual", "message"),
    [
        (torch.full((2, 3), float("nan")), "NaN/Inf"),
        (EXPECTED.double(), "dtype 应为 torch.float32，得到 torch.float64"),
        (EXPECTED[:1], "形状 (shape) 应为 [2, 3]，得到 [1, 3]"),  # would broadcast in a naive comparison
        (EXPECTED.T.contiguous(), "形状 (shape) 应为 [2, 3]，得到 [3, 2]"),
    ],
)
def test_odd_answers_fail_with_a_message(actual, message):
    with pytest.raises(CheckFailed, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        expect_close(actual, EXPECTED, "x")


def test_value_error_names_the_worst_element():
    actual = EXPECTED.clone()
    actual[1, 2] = 100.0
    with pytest.raises(CheckFailed) as info:
        expect_close(actual, EXPECTED, "out", hint="检查 ReLU 的位置")
    text = str(info.value)
    assert "(1, 2)" in text and "期望 5" in text and "得到 100" in text and "提示: 检查 ReLU 的位置" in text


def test_probe_failures_become_statuses():
    with pytest.raises(ProbeFailed) as info:
        require_ok(ProbeResult("timeout", error={"type": "Timeout", "message": "5 s"}))
    assert info.value.status == "timeout"
    with pytest.raises(ProbeFailed, match="尚未实现"):
        require_ok(ProbeResult("error", error={"type": "NotImplementedError", "message": "f 尚未实现 (not implemented)", "where": "p.py:3: raise"}))
    with pytest.raises(ProbeFailed, match="RuntimeError: Expected all tensors to be on the same device"):
        require_ok(ProbeResult("error", error={"type": "RuntimeError", "message": "Expected all tensors to be on the same device", "where": ""}))


def test_a_crashing_check_earns_nothing():
    meta = CheckMeta("part1.x", 2.0, "part1", "t", "", "hidden")
    result = outcome_of(meta, KeyError("missing"))
    assert result.status == "error" and result.score == 0 and result.message == "无法检查你的结果（KeyError: 'missing'）"


def test_inplace_autograd_error_gets_a_hint():
    err = {"type": "RuntimeError", "message": "one of the variables needed for gradient computation has been modified by an inplace operation", "where": ""}
    with pytest.raises(ProbeFailed, match="ReLU 在相加之后"):
        require_ok(ProbeResult("error", error=err))

"""The one validation point of the suites (autograder/checks.py): NaN/Inf, empty results, wrong
index dtypes, shapes and ranges are refused wherever a check reads a probe's result."""

from __future__ import annotations

import math

import pytest
import torch

from autograder.checks import CheckFailed, expect_close, expect_indices, tensor, value
from autograder.runtime.wire import ProbeResult


def _result(result=None, tensors=None) -> ProbeResult:
    return ProbeResult("ok", result or {}, tensors or {})


@pytest.mark.parametrize("bad", [torch.tensor([1.0, float("nan")]), torch.tensor([float("inf")]), torch.empty(0, 3)])
def test_tensor_refuses_nonfinite_and_empty(bad):
    with pytest.raises(CheckFailed):
        tensor(_result(tensors={"x": bad}), "x", "x")


def test_tensor_accepts_what_the_check_allows():
    assert tensor(_result(tensors={"x": torch.empty(0)}), "x", "x", allow_empty=True).numel() == 0
    assert tensor(_result(tensors={"x": torch.tensor([math.nan])}), "x", "x", finite=False).numel() == 1
    assert tensor(_result(tensors={"x": torch.tensor([-1, 2])}), "x", "x").tolist() == [-1, 2]


@pytest.mark.parametrize("bad, kind", [([], list), ({}, dict), (float("nan"), float), ([1.0, [float("inf")]], list), (True, int)])
def test_value_refuses_nonfinite_empty_and_bool(bad, kind):
    with pytest.raises(CheckFailed):
        value(_result(result={"v": bad}), "v", "v", kind)


@pytest.mark.parametrize("idx", [torch.tensor([[0, -1]]), torch.tensor([[0, 5]]), torch.tensor([[1, 1]]),
                                 torch.tensor([[0.0, 1.0]]), torch.tensor([0, 1])])
def test_expect_indices_refuses_bad_indices(idx):
    with pytest.raises(CheckFailed):
        expect_indices(idx, [1, 2], 5, "indices")


def test_expect_close_checks_shape_dtype_and_nan():
    e = torch.zeros(2, 3)
    for bad in (torch.zeros(3, 2), torch.zeros(2, 3, dtype=torch.float64), torch.full((2, 3), math.nan)):
        with pytest.raises(CheckFailed):
            expect_close(bad, e, "x")

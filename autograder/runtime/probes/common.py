"""Helpers shared by probes (run inside the worker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from autograder.runtime.probes import Tensors


@contextmanager
def patched(module: Any, **replacements: Any) -> Iterator[None]:
    """While the block runs, the student's module uses the grader's version of the named
    functions or classes: an exercise that calls another exercise is graded apart from it, so a
    bug costs its own checks only. The student's originals are put back afterwards."""
    saved = {name: getattr(module, name, None) for name in replacements}
    for name, value in replacements.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def state_from(tensors: Tensors, prefix: str = "state.") -> dict[str, torch.Tensor]:
    """The state_dict the grader sent, keys without `prefix`."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def as_tensor(value: object, what: str) -> torch.Tensor:
    """Reject non-tensors before they reach the wire (a clear error beats a silent cast)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} 应返回 torch.Tensor，得到 {type(value).__name__}")
    return value


def structure(module: nn.Module) -> list[list[str]]:
    """(name, class name) of every submodule: lets a check see a missing BatchNorm or Flatten."""
    return [[name, type(m).__name__] for name, m in module.named_modules() if name]


def forward_backward(module: nn.Module, x: torch.Tensor, grad_out: torch.Tensor, what: str) -> Tensors:
    """Output, input gradient and every parameter gradient for one forward/backward pass."""
    x = x.clone().requires_grad_(True)
    out = as_tensor(module(x), what)
    if out.shape != grad_out.shape:
        return {"out": out}
    out.backward(grad_out)
    result: Tensors = {"out": out}
    if x.grad is not None:
        result["grad.input"] = x.grad
    for name, p in module.named_parameters():
        if p.grad is not None:
            result[f"grad.{name}"] = p.grad
    return result

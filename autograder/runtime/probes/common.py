"""Helpers shared by probes (run inside the worker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from autograder.runtime.probes import Tensors

# Every fill function of torch.nn.init (what module constructors and `reset_parameters` call).
_INIT_FILLS = ("constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_",
               "sparse_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_")


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


@contextmanager
def skipped_init() -> Iterator[None]:
    """While the block runs, torch.nn.init's fill functions leave their tensor as it is.

    Only for building a model whose every parameter and persistent buffer the grader's
    state_dict replaces right afterwards (`load_state_dict(strict=True)`): the random init would
    be thrown away, and it is nearly all of a build's cost (ResNet-50: 0.3 s of 0.31 s; the
    uninitialised tensors are never touched until the load writes them). The originals are put
    back afterwards, whatever the block raised."""
    saved = {name: getattr(nn.init, name) for name in _INIT_FILLS}

    def keep(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor

    for name in _INIT_FILLS:
        setattr(nn.init, name, keep)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(nn.init, name, fn)


@lru_cache(maxsize=2)
def torchvision_weights(arch: str, seed: int) -> dict[str, torch.Tensor]:
    """The state_dict of torchvision's `arch` (random init) built right after
    `torch.manual_seed(seed)`, the global RNG left as it was; drawn once per process and only read
    (`load_state_dict` copies it). Every process of the same torch draws the same weights from the
    same seed (hidden part 2's truncate_other_layouts relies on it too), so a public check names
    the seed instead of sending 45 MB through the pipe; its expected output is still computed on
    the trusted side, from its own copy. A self-check's worker is a fork of the checking process:
    when the public suite drew them on import, the worker finds them drawn."""
    from torchvision.models import get_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_model(arch, weights=None).state_dict()


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

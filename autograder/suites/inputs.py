"""Seeded inputs for the suites. Hidden and public suites use different seeds (see SEEDS).

Inputs near a decision boundary (a sampled token, an argmax, a top-k cut) are chosen here, on the
trusted side, at expectation time, with the reference and under the running torch: `SafeInputs`
takes the first candidate of a fixed list whose margin test passes (the test raises `Unsafe`
otherwise), so a student's run is never asked to land on the right side of a boundary that
round-off could move. No safe candidate is a grader fault (`GraderInputError`), never a 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from autograder.checks import GraderInputError

SEEDS = {"hidden": 20261, "public": 7}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Seeded normal noise; a fresh copy each call (drawn once per grading process)."""
    return _randn(shape, seed, dtype).clone()


@lru_cache(maxsize=512)
def _randn(shape: tuple[int, ...], seed: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(seed), dtype=dtype)


def randomize_batchnorm(module: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BatchNorm affine parameters and running statistics, so a missing or
    misplaced BatchNorm changes the output (with default init, eval-mode BN is the identity)."""
    g = generator(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return module


def prefixed(state: dict[str, torch.Tensor], prefix: str = "state.") -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in state.items()}


# --------------------------------------------------------------------------- inputs chosen for their margin

Tensors = dict[str, torch.Tensor]


class Unsafe(Exception):
    """Raised by a margin test: this candidate input sits too close to a decision boundary."""


# Every boundary-sensitive check registers its candidates here (tests/test_safe_inputs.py runs them all).
SAFE_INPUTS: dict[str, "SafeInputs"] = {}
# Tests only: (check, candidate index) pairs treated as unsafe whatever their margin.
FORCED_UNSAFE: set[tuple[str, int]] = set()


@dataclass(frozen=True)
class SafeInputs:
    """A check's fixed list of candidate inputs and `expect(candidate)`: the reference's expected
    values for it, raising `Unsafe` when its margin to a boundary is too thin. The first
    candidate is the input the check always had, so grades do not move where it is safe."""

    check: str
    candidates: tuple[Any, ...]
    expect: Callable[[Any], Tensors]

    def compute(self) -> Tensors:
        """The first safe candidate's index ("choice") and its expected values; for `cached`."""
        reasons = []
        for index, candidate in enumerate(self.candidates):
            try:
                if (self.check, index) in FORCED_UNSAFE:
                    raise Unsafe("forced unsafe (test)")
                values = self.expect(candidate)
            except Unsafe as exc:
                reasons.append(f"#{index} {candidate!r}: {exc}")
                continue
            return {"choice": torch.tensor([index], dtype=torch.int64), **values}
        raise GraderInputError(f"grader input of {self.check}: no candidate is safe under torch {torch.__version__} "
                               f"({len(self.candidates)} tried: {'; '.join(reasons)[:600]})")

    def chosen(self, values: Tensors) -> tuple[Any, Tensors]:
        """(the chosen candidate, its expected values) from what `compute` returned."""
        index = int(values["choice"][0])
        return self.candidates[index], {k: v for k, v in values.items() if k != "choice"}


def safe_inputs(check: str, candidates: Sequence[Any], expect: Callable[[Any], Tensors]) -> SafeInputs:
    """Declare (and register) the candidate inputs of a boundary-sensitive check."""
    spec = SafeInputs(check, tuple(candidates), expect)
    SAFE_INPUTS[check] = spec
    return spec


def seed_candidates(first: int, n: int = 8, step: int = 1000) -> tuple[int, ...]:
    """`first` (the seed the check always used), then `n - 1` others."""
    return tuple(first + step * j for j in range(n))

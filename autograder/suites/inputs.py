"""Seeded inputs for the suites. Hidden and public suites use different seeds (see SEEDS)."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

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

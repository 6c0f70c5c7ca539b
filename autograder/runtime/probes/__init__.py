"""Probes: small public programs the untrusted worker runs against a submission.

A probe imports the student's module, exercises it on inputs the grader sends, and returns
plain data (`(json_meta, tensors)`). Probes decide nothing: they hold no expected values, and
the grader checks whatever comes back. They are public; the checks are not.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import torch

from autograder.runtime.assignment import ASSIGNMENT, PARTS

Meta = dict[str, Any]
Tensors = dict[str, torch.Tensor]
ProbeFn = Callable[["Context", Meta, Tensors], "tuple[Meta, Tensors]"]

REGISTRY: dict[str, ProbeFn] = {}


def probe(name: str) -> Callable[[ProbeFn], ProbeFn]:
    """Register a probe under `part<N>.<what>`; the prefix names the student module it needs."""
    if name.split(".", 1)[0] not in PARTS:
        raise ValueError(f"probe {name!r} must start with one of {sorted(PARTS)}")

    def register(fn: ProbeFn) -> ProbeFn:
        if name in REGISTRY:
            raise ValueError(f"probe {name!r} registered twice")
        REGISTRY[name] = fn
        return fn

    return register


class Context:
    """What a probe may use: the student's modules, imported on demand."""

    def __init__(self, package: str = ASSIGNMENT) -> None:
        self.package = package

    def module(self, part: str):
        """The student's module for `part` ("part1" or "part1_resnet")."""
        name = PARTS.get(part, part)
        return importlib.import_module(f"{self.package}.{name}")


def load_all() -> dict[str, ProbeFn]:
    """Import every probe module so the registry is complete."""
    for part in PARTS:
        try:
            importlib.import_module(f"autograder.runtime.probes.{part}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograder.runtime.probes.{part}":
                raise
    return REGISTRY


def warm_all() -> None:
    """Compute, once, what the probes of every worker would otherwise compute for themselves and
    that depends on no submission (a probe module's `warm()`, e.g. part 2's seeded torchvision
    weights). The fork server calls it before it forks any worker, so each worker inherits the
    result; elsewhere (a self-check, a fresh interpreter) the probes compute it when first used."""
    load_all()
    for part in PARTS:
        module = sys.modules.get(f"autograder.runtime.probes.{part}")
        warm = getattr(module, "warm", None)
        if callable(warm):
            warm()


def _register_import_probes() -> None:
    """`part<N>.import`: just import the student's module (used by `autograder submit`)."""

    def make(part: str) -> ProbeFn:
        def import_module(ctx: Context, args: Meta, tensors: Tensors) -> "tuple[Meta, Tensors]":
            ctx.module(part)
            return {"imported": PARTS[part]}, {}

        return import_module

    for part in PARTS:
        probe(f"{part}.import")(make(part))


_register_import_probes()

"""The list of checks a suite holds, read from the `@check` metadata of its test functions."""

from __future__ import annotations

import importlib.util
from functools import lru_cache

from autograder.checks import CheckMeta
from autograder.grading import suite_files
from autograder.results import CheckResult


@lru_cache(maxsize=4)
def checks_of(suite: str = "hidden") -> tuple[CheckMeta, ...]:
    metas: list[CheckMeta] = []
    for path in suite_files(suite):
        spec = importlib.util.spec_from_file_location(f"_catalog_{suite}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        metas += [fn.__check__ for name, fn in vars(module).items() if name.startswith("test") and hasattr(fn, "__check__")]
    return tuple(metas)


def zero_results(message: str, status: str = "error", suite: str = "hidden", parts: tuple[str, ...] | None = None) -> list[CheckResult]:
    """Every check at 0 with the same message: for a submission that could not be graded."""
    return [
        CheckResult(m.name, m.group, 0.0, m.points, status, message, m.visibility, m.title)
        for m in checks_of(suite)
        if parts is None or m.group in parts
    ]


def groups(suite: str = "hidden") -> list[str]:
    seen: dict[str, None] = {}
    for m in checks_of(suite):
        seen.setdefault(m.group, None)
    return list(seen)

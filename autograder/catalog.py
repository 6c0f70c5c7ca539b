"""The checks a suite holds: its files, its `@check` functions, their metadata.

Suite modules are ordinary pytest files; here they are imported once per process and their
`@check` functions kept in definition order, so that grading a submission calls them directly
(no collection per submission). Module-level state of a suite must therefore be per worker
(see `_memo` in suites/hidden/test_part2.py), never per submission.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from autograder.checks import CheckMeta
from autograder.results import CheckResult
from autograder.runtime.assignment import PARTS

SUITES = Path(__file__).resolve().parent / "suites"


def suite_files(suite: str = "hidden", parts: tuple[str, ...] | None = None) -> list[Path]:
    folder = SUITES / suite
    return [p for part in (parts or tuple(PARTS)) for p in sorted(folder.glob(f"test_{part}*.py"))]


@lru_cache(maxsize=None)
def _check_functions_of(path: Path) -> tuple[Callable, ...]:
    spec = importlib.util.spec_from_file_location(f"_suite_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = {name: fn for name, fn in vars(module).items() if name.startswith("test") and callable(fn)}
    unmarked = sorted(name for name, fn in tests.items() if not hasattr(fn, "__check__"))
    if unmarked:
        raise ValueError(f"{path}: test functions without @check metadata: {', '.join(unmarked)}")
    return tuple(tests.values())


def check_functions(suite: str = "hidden", parts: tuple[str, ...] | None = None) -> list[Callable]:
    """The suite's `@check` functions for `parts` (all parts: None), parts in course order."""
    return [fn for path in suite_files(suite, parts) for fn in _check_functions_of(path)]


def checks_of(suite: str = "hidden") -> tuple[CheckMeta, ...]:
    return tuple(fn.__check__ for fn in check_functions(suite))


def zero_results(message: str, status: str = "error", suite: str = "hidden", parts: tuple[str, ...] | None = None,
                 kind: str = "ungradable") -> list[CheckResult]:
    """Every check at 0 with the same message: for a submission that could not be graded (or,
    with kind "charged", a part charged for bringing the grading machinery down)."""
    return [
        CheckResult(m.name, m.group, 0.0, m.points, status, message, m.visibility, m.title, kind)
        for m in checks_of(suite)
        if parts is None or m.group in parts
    ]


def groups(suite: str = "hidden") -> list[str]:
    seen: dict[str, None] = {}
    for m in checks_of(suite):
        seen.setdefault(m.group, None)
    return list(seen)

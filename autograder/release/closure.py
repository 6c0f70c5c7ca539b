"""Which files of the `autograder` package the student bundle needs, derived from the code.

The bundle ships the untrusted side whole (`autograder/runtime/`), the public suites, and every
module the student verbs (`check`, `submit`) and the public suites import, followed through
`import autograder.x` / `from autograder.x import y` statements (lazy ones inside functions
too). Nothing is listed by hand, so a new helper module of `check` comes along by itself and a
trusted module nobody on the student side imports (hidden suites, reference, grading of a class)
stays out. tests/test_release.py checks the result.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ROOTS = ("check/command.py", "submit/command.py", "cli.py", "__main__.py")
WHOLE_FOLDERS = ("runtime", "suites/public")
DATA = ("suites/pytest.ini",)


def _module_file(dotted: str) -> Path | None:
    """`autograder.a.b` -> the file that defines it (a module or a package's __init__)."""
    parts = dotted.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("autograder")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder") and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from autograder import check`
    return names


def student_files() -> list[Path]:
    """Files of the package, relative to it, that the student bundle ships."""
    todo = [PACKAGE / r for r in ROOTS]
    for folder in WHOLE_FOLDERS:
        todo += sorted((PACKAGE / folder).rglob("*.py"))
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        rel = path.relative_to(PACKAGE)
        for parent in rel.parents:  # every package on the way needs its __init__
            init = PACKAGE / parent / "__init__.py"
            if init.is_file() and init not in seen:
                todo.append(init)
        for name in _imports(path):
            found = _module_file(name)
            if found is not None and found not in seen:
                todo.append(found)
    files = {p.relative_to(PACKAGE) for p in seen} | {Path(d) for d in DATA}
    return sorted(files)

"""The graded regions of the solutions: every `### BEGIN/END SOLUTION` block, named by the
function it belongs to (`BasicBlock.forward`, `cosine_topk`) and the part whose checks grade it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from autograder.runtime.assignment import GRADED_FILES
from autograder.release.stubs import SOLUTIONS

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Region:
    part: str  # "part1"
    file: str  # "part1_resnet.py"
    function: str  # "BasicBlock.forward"
    first: int  # 1-based line numbers of the region's code, markers excluded
    last: int

    def holds(self, node: ast.AST) -> bool:
        return self.first <= getattr(node, "lineno", 0) and getattr(node, "end_lineno", 10**9) <= self.last


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef]]:
    found: list[tuple[str, ast.FunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            found += [(f"{node.name}.{m.name}", m) for m in node.body if isinstance(m, ast.FunctionDef)]
    return found


def regions_of(path: Path) -> list[Region]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    functions = _functions(ast.parse(text))
    part = path.name.split("_", 1)[0]
    out: list[Region] = []
    start = None
    for number, line in enumerate(lines, 1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            owner = [name for name, fn in functions if fn.lineno <= start and number <= fn.end_lineno + 1]
            if not owner:
                raise ValueError(f"{path.name}:{start}: solution region outside any function")
            out.append(Region(part, path.name, owner[-1], start + 1, number - 1))
            start = None
    return out


def all_regions(root: Path = SOLUTIONS) -> list[Region]:
    return [r for name in GRADED_FILES for r in regions_of(root / name)]

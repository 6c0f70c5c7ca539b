"""Turn `solutions/cnn_rnn/*.py` into the student stubs of `assignments/cnn_rnn/*.py`.

Every region between `### BEGIN SOLUTION` and `### END SOLUTION` becomes a
`raise NotImplementedError(...)` naming the function; lines of the region that start with
`# HINT:` are kept as hint comments. Files without markers are given code, copied verbatim.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT, REPO

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "# HINT:"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")

SOLUTIONS = REPO / "solutions" / ASSIGNMENT
ASSIGNMENTS = REPO / "assignments" / ASSIGNMENT


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _qualname(lines: list[str], at: int) -> str:
    """Dotted name of the def/class enclosing line `at` (e.g. `BasicBlock.forward`)."""
    names: list[str] = []
    limit = _indent(lines[at])
    for line in reversed(lines[:at]):
        m = _DEF.match(line)
        if m and len(m.group(1)) < limit:
            names.append(m.group(3))
            limit = len(m.group(1))
            if limit == 0:
                break
    return ".".join(reversed(names)) or "<module>"


def strip_solutions(source: str, filename: str = "<source>") -> str:
    lines = source.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == END:
            raise MarkerError(f"{filename}:{i + 1}: {END} without {BEGIN}")
        if line.strip() != BEGIN:
            out.append(line)
            i += 1
            continue
        indent = line[: _indent(line)]
        name = _qualname(lines, i)
        hints: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != END:
            if lines[j].strip() == BEGIN:
                raise MarkerError(f"{filename}:{j + 1}: nested {BEGIN}")
            if lines[j].strip().startswith(HINT):
                hints.append(lines[j].strip()[len(HINT):].strip())
            j += 1
        if j == len(lines):
            raise MarkerError(f"{filename}:{i + 1}: {BEGIN} without {END}")
        out.extend(f"{indent}# 提示: {hint}" for hint in hints)
        out.append(f'{indent}raise NotImplementedError("{name} 尚未实现 (not implemented)")')
        i = j + 1
    return "\n".join(out) + "\n"


def generate(solutions: Path = SOLUTIONS) -> dict[str, str]:
    """File name -> stub source, for every .py file of the solutions package."""
    return {p.name: strip_solutions(p.read_text(encoding="utf-8"), str(p)) for p in sorted(solutions.glob("*.py"))}


def write(out_dir: Path = ASSIGNMENTS, solutions: Path = SOLUTIONS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = generate(solutions)
    for stale in out_dir.glob("*.py"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def drift(out_dir: Path = ASSIGNMENTS, solutions: Path = SOLUTIONS) -> list[str]:
    """Names of files whose committed stub differs from what `generate` produces."""
    files = generate(solutions)
    present = {p.name for p in out_dir.glob("*.py")}
    bad = [n for n, t in files.items() if not (out_dir / n).exists() or (out_dir / n).read_text(encoding="utf-8") != t]
    return sorted(bad + [n for n in present - files.keys()])

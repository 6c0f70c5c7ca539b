"""Library delegation, decided on the trusted side from the submission's source (parsed, never run).

An exercise may declare the library calls that would do its own work: an LSTM cell written from
the gate equations must not hand the step to `torch.lstm_cell`, a residual block written by the
student must not be torchvision's. `find_uses` resolves what each name in the file refers to:
import aliases (`import torch as T`, `from torch import lstm_cell as f`), assignments
(`f = torch._VF.lstm_cell`, `forward = BasicBlock.forward` in a class body), class bases,
`getattr(x, "literal")`, `x.__dict__["literal"]` and `importlib.import_module("literal")`.
Everything else in the file (`nn.Conv2d` in a block, `nn.LSTM` in part 4) is not looked at.
The file is parsed from its bytes as import parses it (`autograder.source`): a BOM, a coding
cookie or an undecodable byte in a comment changes nothing, and a nesting Python imports is
walked in a deep stack. What cannot be analysed raises `Unjudgeable`, never "no use found".
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from autograder.source import SourceText, deeply


@dataclass(frozen=True)
class Use:
    call: str  # the library name it resolves to, e.g. torch.lstm_cell
    line: int
    where: str  # enclosing function or class, "" at module level
    code: str  # the source line, stripped


@dataclass(frozen=True)
class Delegation:
    """The library names that would do an exercise's work: a use anywhere in `file` fails it."""

    exercise: str  # as the student knows it, e.g. "LSTMCell.forward"
    file: str
    names: tuple[str, ...]  # fully qualified; a use matches the name or anything under it
    note: str = ""  # why, in the course's words (Chinese)


class Unjudgeable(Exception):
    """The source could not be analysed here (too deep, too large): nothing can be concluded."""


class _Resolver(ast.NodeVisitor):
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.uses: list[tuple[str, ast.AST, str]] = []
        self.stack: list[str] = []

    # --------------------------------------------------------------- naming
    def resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[-1], ast.Constant):
            fn = self.resolve(node.func)
            literal = node.args[-1].value
            if fn in ("getattr", "builtins.getattr") and len(node.args) >= 2 and isinstance(literal, str):
                base = self.resolve(node.args[0])
                return f"{base}.{literal}" if base else None
            if fn in ("importlib.import_module", "__import__", "builtins.__import__") and isinstance(literal, str):
                return literal
        if isinstance(node, ast.Call) and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and self.resolve(node.func) in ("getattr", "builtins.getattr") and isinstance(node.args[1].value, str):
            base = self.resolve(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            base = self.resolve(node.value)
            if base and base.endswith(".__dict__"):
                return f"{base[: -len('.__dict__')]}.{node.slice.value}"
        return None

    def _record(self, node: ast.AST) -> None:
        name = self.resolve(node)
        if name:
            self.uses.append((name, node, ".".join(self.stack)))

    # --------------------------------------------------------------- bindings
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases.setdefault(a.name.split(".")[0], a.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # the submission's own package
        for a in node.names:
            if a.name == "*":
                self.uses.append((f"{node.module}.*", node, ".".join(self.stack)))
            else:
                self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                self.uses.append((f"{node.module}.{a.name}", node, ".".join(self.stack)))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        name = self.resolve(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and name and not name.startswith(target.id):
                self.aliases[target.id] = name
            self.visit(target)

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.stack.append(name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            self._record(base)
        self._scoped(node, node.name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    # --------------------------------------------------------------- references
    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._record(node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._record(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._record(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._record(node)
        self.generic_visit(node)


def _matches(name: str, declared: str) -> bool:
    if name.endswith(".*"):  # a star import of a module that holds the declared name
        return declared.startswith(name[:-1])
    return name == declared or name.startswith(declared + ".")


def _first_match(name: str, names: tuple[str, ...], rank: dict[str, int]) -> str | None:
    """The first of `names` that `name` matches (`_matches`). A plain name matches a declared
    name only as itself or one of its dotted prefixes, so those are looked up instead of trying
    every declared name (thousands of references times dozens of names per check)."""
    if name.endswith(".*"):
        return next((d for d in names if _matches(name, d)), None)
    parts = name.split(".")
    hits = [p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if p in rank]
    return min(hits, key=rank.__getitem__) if hits else None


@lru_cache(maxsize=64)  # every file of a submission is judged by several checks; parse it once
def _references(source: str | bytes) -> tuple[tuple[str, int, str], ...] | str | None:
    """(resolved name, line, enclosing scope) of every reference in `source`; None when Python
    cannot parse it; why, when it could not be analysed here (kept, so it is tried once)."""

    def analyse() -> tuple[tuple[str, int, str], ...]:
        r = _Resolver()
        r.visit(ast.parse(source))
        return tuple((name, getattr(node, "lineno", 0), where) for name, node, where in r.uses)

    try:
        return deeply(analyse)
    except SyntaxError:
        return None
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, ...: judged by nobody
        return f"{type(exc).__name__}: {exc}"[:200]


def _lines(source: str | SourceText) -> list[str]:
    """The source's lines as the tokenizer counts them (\n, \r\n, \r; not \f or \u2028)."""
    if isinstance(source, SourceText):
        text = source.text if source.text is not None else (source.data or b"").decode("utf-8", "replace")
    else:
        text = source
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def find_uses(source: str | SourceText, names: tuple[str, ...]) -> list[Use]:
    """Every place in `source` whose reference resolves to one of `names` (one per line and name).
    A SourceText is parsed from its bytes, as import parses it. Raises Unjudgeable when the
    source could not be analysed."""
    data = source.data if isinstance(source, SourceText) else source
    if data is None:
        return []  # missing or unreadable: the import fails in the worker and the checks say so
    refs = _references(data)
    if refs is None:
        return []  # the import itself fails in the worker and the checks say so
    if isinstance(refs, str):
        raise Unjudgeable(refs)
    lines = _lines(source)
    rank = {d: i for i, d in reversed(list(enumerate(names)))}  # first position of each declared name
    found: dict[tuple[int, str], Use] = {}
    for name, line, where in refs:
        hit = _first_match(name, names, rank)
        if hit and (line, hit) not in found:
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            found[(line, hit)] = Use(name, line, where, code)
    return sorted(found.values(), key=lambda u: u.line)

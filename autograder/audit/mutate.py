"""One-small-change mutants of a solution region, made with `ast`.

Each mutant replaces one node's source segment with the unparsed mutated node, so the rest of
the file (comments, markers, formatting) stays as written and a mutant reads as a one-line diff.
The operators are the slips a student plausibly makes: a swapped operator, a nudged constant or
slice bound, a changed keyword, a dropped call, a deleted statement, two swapped arguments.
"""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from autograder.audit.regions import Region

BINOP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub, ast.Mult),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Add, ast.Div),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div,),
    ast.MatMult: (ast.Mult,),
    ast.Pow: (ast.Mult,),
    ast.Mod: (ast.FloorDiv,),
}
CMP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt,),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
BOOL_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
# Keywords whose change (or removal) is a plausible slip; their values are nudged below too.
KEYWORDS = ("dim", "keepdim", "largest", "reduction", "ignore_index", "inplace", "set_to_none", "sorted", "stable",
            "descending", "generator", "batch_first", "strict", "bias", "stride", "padding", "min")
STRING_SWAPS = {"mean": "sum", "sum": "mean", "none": "mean"}
# Calls that do one job to their argument or receiver: dropping them is a plausible slip.
DROPPABLE_METHODS = ("eval", "zero_grad", "detach", "clamp_min", "clamp", "float", "contiguous", "flatten", "squeeze",
                     "unsqueeze", "t", "item", "tolist", "lower", "requires_grad_", "train", "norm")
DROPPABLE_FUNCTIONS = ("relu", "tanh", "sigmoid", "l2_normalize", "deepcopy", "sorted", "list", "softmax", "log_softmax",
                       "act", "bn1", "bn2", "bn3", "downsample", "head", "stem", "int", "float")  # by last name
NO_GRAD = ("torch.no_grad",)
# Calls whose first two arguments commute: swapping them is equivalent by construction.
SYMMETRIC = ("min", "max", "torch.maximum", "torch.minimum", "torch.add", "torch.mul")


@dataclass(frozen=True)
class Mutant:
    id: str
    part: str
    file: str
    function: str
    kind: str
    line: int
    old: str  # the original segment
    new: str  # its replacement
    source: str  # the whole mutated file

    def diff(self, original: str) -> str:
        return "".join(difflib.unified_diff(original.splitlines(True), self.source.splitlines(True),
                                            f"a/{self.file}", f"b/{self.file}", n=1))

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "part", "file", "function", "kind", "line", "old", "new")}


def _name(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - every node we pass unparses
        return ""


def _variants(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(kind, replacement node) for every mutation of `node` itself (not its children)."""
    def clone() -> ast.AST:
        return copy.deepcopy(node)

    if isinstance(node, ast.BinOp):
        for op in BINOP_SWAPS.get(type(node.op), ()):
            m = clone()
            m.op = op()
            yield "operator", m
        if not isinstance(node.op, (ast.Add, ast.Mult)):
            m = clone()
            m.left, m.right = m.right, m.left
            yield "swap-operands", m
        yield "drop-operand", copy.deepcopy(node.left)
    elif isinstance(node, ast.AugAssign):
        for op in BINOP_SWAPS.get(type(node.op), ()):
            m = clone()
            m.op = op()
            yield "operator", m
        yield "augassign-to-assign", ast.Assign(targets=[copy.deepcopy(node.target)], value=copy.deepcopy(node.value), lineno=node.lineno)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        for op in CMP_SWAPS.get(type(node.ops[0]), ()):
            m = clone()
            m.ops = [op()]
            yield "comparison", m
    elif isinstance(node, ast.BoolOp):
        m = clone()
        m.op = BOOL_SWAPS[type(node.op)]()
        yield "boolean", m
        for i in range(len(node.values)):
            m = clone()
            del m.values[i]
            yield "drop-condition", (m if len(m.values) > 1 else m.values[0])
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop-not", copy.deepcopy(node.operand)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        v = -node.operand.value
        for nv in (v - 1, v + 1) if isinstance(v, int) else (v * 2, -v):
            yield "constant", ast.Constant(nv)
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            yield "constant", ast.Constant(not v)
        elif isinstance(v, int):
            for nv in (v + 1, v - 1):
                yield "constant", ast.Constant(nv)
        elif isinstance(v, float):
            yield "constant", ast.Constant(v * 2 if v else 1.0)
        elif isinstance(v, str) and v in STRING_SWAPS:
            yield "constant", ast.Constant(STRING_SWAPS[v])
    elif isinstance(node, ast.Slice):
        for field in ("lower", "upper"):
            if getattr(node, field) is not None:
                m = clone()
                setattr(m, field, None)
                yield "slice-bound", m
    elif isinstance(node, ast.Call):
        func = _name(node.func)
        for i, kw in enumerate(node.keywords):
            if kw.arg in KEYWORDS:
                m = clone()
                del m.keywords[i]
                yield "keyword", m
        if isinstance(node.func, ast.Attribute) and node.func.attr in DROPPABLE_METHODS:
            yield "drop-call", copy.deepcopy(node.func.value)
        if func.split(".")[-1] in DROPPABLE_FUNCTIONS and len(node.args) >= 1 and not isinstance(node.args[0], ast.Starred):
            yield "drop-call", copy.deepcopy(node.args[0])
        if func in NO_GRAD:
            m = clone()
            m.func = ast.parse("torch.enable_grad", mode="eval").body
            yield "drop-call", m
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]) and func not in SYMMETRIC:
            m = clone()
            m.args[0], m.args[1] = m.args[1], m.args[0]
            yield "swap-arguments", m
    elif isinstance(node, ast.keyword) and node.arg in ("dim",) and isinstance(node.value, (ast.Constant, ast.UnaryOp)):
        pass  # integer dims are nudged as constants


def _statement_deletions(node: ast.stmt) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.Return, ast.For, ast.With, ast.Try, ast.Raise)):
        yield "delete-statement", ast.Pass()
    if isinstance(node, ast.If) and node.orelse:
        m = copy.deepcopy(node)
        m.orelse = []
        yield "drop-else", m
    if isinstance(node, ast.With) and len(node.items) == 1 and _name(node.items[0].context_expr).startswith(NO_GRAD):
        pass  # handled by the call mutation (no_grad -> enable_grad) so the body keeps its lines


_LOOSE = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.UnaryOp, ast.Lambda, ast.NamedExpr)
_TIGHT_PARENTS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Attribute, ast.Subscript, ast.Await)


def _replace(source: str, offsets: list[int], lines: list[str], node: ast.AST, new: ast.AST, parent: ast.AST | None) -> tuple[str, str, str]:
    """The file with `node`'s segment replaced by `new`: re-indented for statements,
    parenthesised where an operator's precedence would otherwise regroup the expression."""
    start = offsets[node.lineno - 1] + len(lines[node.lineno - 1].encode("utf-8")[: node.col_offset].decode("utf-8"))
    end = offsets[node.end_lineno - 1] + len(lines[node.end_lineno - 1].encode("utf-8")[: node.end_col_offset].decode("utf-8"))
    text = ast.unparse(new)
    bracketed = source[start - 1 : start] == "(" and source[end : end + 1] == ")"
    if isinstance(new, _LOOSE) and isinstance(parent, _TIGHT_PARENTS) and not bracketed:
        text = f"({text})"
    text = text.replace("\n", "\n" + " " * node.col_offset)
    return source[:start] + text + source[end:], source[start:end], text


def mutants_of(source: str, region: Region) -> list[Mutant]:
    """Every distinct, compilable mutant of the nodes that lie inside `region`."""
    tree = ast.parse(source)
    lines = source.splitlines(True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    seen: set[str] = {source}
    found: list[Mutant] = []
    for node in ast.walk(tree):
        if not region.holds(node) or isinstance(node, (ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # a docstring
        if _inside_fstring_or_raise(tree, node):
            continue
        variants = list(_variants(node))
        if isinstance(node, ast.stmt):
            variants += list(_statement_deletions(node))
        for kind, new in variants:
            text, old, new_text = _replace(source, offsets, lines, node, ast.fix_missing_locations(new), parents.get(id(node)))
            if text in seen:
                continue
            # Unparsed nodes in place of nodes of the same kind always parse (tests/test_audit.py
            # parses every mutant); compiling each one here would cost more than generating them.
            seen.add(text)
            key = f"{region.file}|{region.function}|{kind}|{old}|{new_text}|{sum(1 for m in found if (m.old, m.new) == (old, new_text))}"
            mid = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
            found.append(Mutant(mid, region.part, region.file, region.function, kind, node.lineno, old, new_text, text))
    return found


_SKIP: dict[int, set[int]] = {}


def _inside_fstring_or_raise(tree: ast.Module, node: ast.AST) -> bool:
    """Nodes inside error messages (f-strings, `raise` statements) change nothing a check grades."""
    skip = _SKIP.get(id(tree))
    if skip is None:
        skip = set()
        for n in ast.walk(tree):
            if isinstance(n, (ast.JoinedStr, ast.Raise)):
                skip |= {id(c) for c in ast.walk(n) if c is not n or isinstance(n, ast.JoinedStr)}
        _SKIP.clear()
        _SKIP[id(tree)] = skip
    return id(node) in skip

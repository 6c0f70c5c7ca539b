"""Do-nothing mutants: the stubs, with ONE graded function given a trivial body.

The small-change mutants of `mutate.py` measure whether the suites catch a *wrong* solution.
These measure the opposite failure: a check that gives its point to code that does no work.
Every other graded function still raises NotImplementedError, so every point such a submission
earns is a free point (`autograder audit` reports them as "free points: N", which must be 0).

The family is what a lazy student writes, whatever the return type: `return None`, the first
argument unchanged, a deep copy or a clone of it, zeros like it, `1`, `0`, `x.sum() * 0`, `[]`,
an empty tensor, `torch.zeros(1)`, `raise ValueError`, and *the right answer's shape filled with
zeros*: the solution's region run on deep copies of the arguments (so none of its side effects
reach the caller's objects), its result with every tensor and number set to 0 (and any other
object, e.g. a module, replaced by None: its structure is the work).
For `__init__` regions: `pass` and `super().__init__()` only.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

from autograder.audit.mutate import Mutant
from autograder.audit.regions import BEGIN, END, Region, _functions
from autograder.release.stubs import ASSIGNMENTS, SOLUTIONS, strip_solutions

FAMILY = "do-nothing"
ZEROS = "zeros-of-answer"

# (name, body); `{a}` is the function's first argument (after self). Bodies that make no sense for
# a function (e.g. `.clone()` of a model) just raise: such a mutant earns nothing, as it should.
BODIES: tuple[tuple[str, str], ...] = (
    ("return-none", "return None"),
    ("return-first-arg", "return {a}"),
    ("return-deepcopy", "import copy\nreturn copy.deepcopy({a})"),
    ("return-clone", "return {a}.clone()"),
    ("return-zeros-like-arg", "return torch.zeros_like({a})"),
    ("return-one", "return 1"),
    ("return-zero", "return 0"),
    ("return-sum-times-zero", "return {a}.sum() * 0"),
    ("return-empty-list", "return []"),
    ("return-empty-tensor", "return torch.empty(0)"),
    ("return-zeros-1", "return torch.zeros(1)"),
    ("raise-value-error", 'raise ValueError("do nothing")'),
    (ZEROS, ""),  # built from the solution's region, see _zeros_body
)
INIT_BODIES: tuple[tuple[str, str], ...] = (("pass", "pass"), ("super-init-only", "super().__init__()"))

_HELPER = '''

def _do_nothing_zeros(value):
    """The answer's shape, every tensor and number 0 (added by the do-nothing audit)."""
    import torch as _t

    if isinstance(value, _t.Tensor):
        return _t.zeros_like(value.detach())
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, str):
        return ""
    if isinstance(value, (list, tuple)):
        return type(value)(_do_nothing_zeros(v) for v in value)
    if isinstance(value, dict):
        return {k: _do_nothing_zeros(v) for k, v in value.items()}
    return None  # a module, an optimizer, a vocabulary: its structure is the work, there is no "zero" of it


def _do_nothing_copy(value):
    import copy as _c

    try:
        return _c.deepcopy(value)
    except Exception:
        return value
'''


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]  # every parameter, in order (self included)
    first: str | None  # the first argument after self/cls
    is_init: bool


def _signature(tree: ast.Module, function: str) -> Signature:
    fn = dict(_functions(tree))[function]
    a = fn.args
    params = tuple(p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs))
    rest = [p for p in params if p not in ("self", "cls")]
    return Signature(params, rest[0] if rest else None, fn.name == "__init__")


def _returns_in(fn: ast.FunctionDef, region: Region) -> list[ast.Return]:
    """The region's `return` statements that return from `fn` (not from a nested def or lambda)."""
    found: list[ast.Return] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Return) and region.holds(child):
                found.append(child)
            walk(child)

    walk(fn)
    return found


def _names_before(fn: ast.FunctionDef, region: Region) -> list[str]:
    """Parameters and the names the function binds before (or in) its region: what the region may read."""
    names = [p.arg for p in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.lineno <= region.last and node.id not in names:
            names.append(node.id)
    return names


def _zeros_body(source: str, region: Region, indent: str) -> str:
    """The solution's region as a nested function run on deep copies of the function's locals; its
    result zeroed. Side effects land on the copies; what comes back (the returned value, or the
    names a region that falls through leaves for the given code after it) has the answer's shape
    and no value."""
    tree = ast.parse(source)
    fn = dict(_functions(tree))[region.function]
    lines = source.splitlines()
    body_lines = lines[region.first - 1 : region.last]
    starts = [0]
    for line in body_lines:
        starts.append(starts[-1] + len(line) + 1)
    body = "\n".join(body_lines)

    def at(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        line = body_lines[lineno - region.first]
        return starts[lineno - region.first] + len(line.encode("utf-8")[:col].decode("utf-8"))

    # Each `return X` of the region becomes `return ("return", X)`, from the last one up.
    for ret in sorted(_returns_in(fn, region), key=lambda n: (n.lineno, n.col_offset), reverse=True):
        if ret.value is None:
            a, b = at(ret.lineno, ret.col_offset), at(ret.end_lineno, ret.end_col_offset)
            body = body[:a] + 'return ("return", None)' + body[b:]
        else:
            a, b = at(ret.value.lineno, ret.value.col_offset), at(ret.value.end_lineno, ret.value.end_col_offset)
            body = body[:a] + '("return", (' + body[a:b] + "))" + body[b:]
    body_lines = body.split("\n")
    names = _names_before(fn, region)
    inner = "\n".join(("    " + line[len(indent):]) if line.strip() else "" for line in body_lines)
    assigned = sorted({n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                       and region.holds(n)})
    out = [f"def _do_nothing_inner({', '.join(f'{n}=None' for n in names)}):",
           inner,
           '    return ("fell through", locals())',
           "_do_nothing_locals = dict(locals())",
           "_do_nothing_kind, _do_nothing_value = _do_nothing_inner(**{_k: _do_nothing_copy(_v) for _k, _v in "
           f"_do_nothing_locals.items() if _k in {tuple(names)!r}}})",
           'if _do_nothing_kind == "return":',
           "    return _do_nothing_zeros(_do_nothing_value)"]
    out += [f'{n} = _do_nothing_zeros(_do_nothing_value.get("{n}"))' for n in assigned]
    return "\n".join(out)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def trivial_mutants(region: Region, solutions=SOLUTIONS) -> list[Mutant]:
    """The do-nothing mutants of one graded function: the stub file with that function's region
    replaced by each trivial body (every other region still raises NotImplementedError)."""
    source = (solutions / region.file).read_text(encoding="utf-8")
    lines = source.splitlines()
    begin, end = lines[region.first - 2], lines[region.last]
    if begin.strip() != BEGIN or end.strip() != END:
        raise ValueError(f"{region.file}:{region.first}: region markers not where the region says")
    indent = _indent_of(begin)
    sig = _signature(ast.parse(source), region.function)
    stub = (ASSIGNMENTS / region.file).read_text(encoding="utf-8")
    bodies = INIT_BODIES if sig.is_init else BODIES
    found: list[Mutant] = []
    seen: set[str] = set()
    for name, template in bodies:
        if "{a}" in template and sig.first is None:
            continue
        if name == ZEROS:
            text = _zeros_body(source, region, indent)
        else:
            text = template.format(a=sig.first)
        new_lines = lines[: region.first - 2] + [indent + line if line else "" for line in text.splitlines()] + lines[region.last + 1 :]
        mutated = strip_solutions("\n".join(new_lines) + "\n", region.file)
        if name == ZEROS:
            mutated += _HELPER
        if mutated in seen or mutated == stub:
            continue
        seen.add(mutated)
        ast.parse(mutated)  # every do-nothing mutant compiles (else it would earn nothing for the wrong reason)
        key = f"{FAMILY}|{region.file}|{region.function}|{name}"
        mid = "dn" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
        first = text.splitlines()[-1].strip() if name != ZEROS else "return <the answer's shape, all zeros>"
        found.append(Mutant(mid, region.part, region.file, region.function, f"{FAMILY}:{name}", region.first,
                            "<the whole body>", first, mutated))
    return found


def stub_original(file: str) -> str:
    """What a do-nothing mutant's diff is taken against: the stub file."""
    return (ASSIGNMENTS / file).read_text(encoding="utf-8")

"""The template's interface: what a submission must keep of the stubs, read with ast (never imported).

The template is the stubs of `assignments/cnn_rnn/` (in the student bundle: the files the
student edits, so the student commands compare with the skeleton recorded in
`autograder/check/template_snapshot.py`, generated from the stubs and drift-tested).

* `signature_differences(submission, template)`: every function the grader calls (each stub,
  and every public function and method of the template) whose parameters differ from the
  template's: names, order, kinds (positional-only, *args, keyword-only, **kwargs), defaults,
  and @staticmethod / @classmethod / @property. One `Difference` per difference.
* `still_unimplemented(submission, template)`: the template's stubs whose submitted version still
  raises NotImplementedError.

Used by `autograder check` / `autograder submit` (student side) and usable at grading time:

    from autograder.template import signature_differences
    signature_differences(code_folder, given_files())   # given_files(): runtime/assignment.py

Regenerate the snapshot after `release-stubs`: `python -m autograder.template --write`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from autograder.runtime.assignment import GRADED_FILES

SNAPSHOT = Path(__file__).resolve().parent / "check" / "template_snapshot.py"

POSITIONAL_ONLY = "positional-only"
POSITIONAL_OR_KEYWORD = "positional-or-keyword"
VAR_POSITIONAL = "*args"
KEYWORD_ONLY = "keyword-only"
VAR_KEYWORD = "**kwargs"
_KIND_TEXT = {
    POSITIONAL_ONLY: "仅限位置参数 (positional-only，写在 / 之前)",
    POSITIONAL_OR_KEYWORD: "普通参数 (positional-or-keyword)",
    VAR_POSITIONAL: "*args",
    KEYWORD_ONLY: "仅限关键字参数 (keyword-only，写在 * 之后)",
    VAR_KEYWORD: "**kwargs",
}
_BINDINGS = ("staticmethod", "classmethod", "property")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # one of the five kinds above
    default: str | None  # the default's source text (ast.unparse); None: no default

    @property
    def key(self) -> str:
        """What parameters are matched by: the name, but `*args`/`**kwargs` by their kind alone."""
        return self.kind if self.kind in (VAR_POSITIONAL, VAR_KEYWORD) else self.name

    @property
    def shown(self) -> str:
        return {VAR_POSITIONAL: "*", VAR_KEYWORD: "**"}.get(self.kind, "") + self.name


@dataclass(frozen=True)
class Function:
    file: str  # "part3_lstm.py"
    name: str  # "build_vocab", "LSTMCell.forward"
    params: tuple[Param, ...]
    binding: str  # "" or staticmethod / classmethod / property
    stub: bool  # its own body raises NotImplementedError
    line: int = field(compare=False)


@dataclass(frozen=True)
class Difference:
    """One way a submitted function differs from the template. `kind` is one of: missing_file,
    syntax_error, missing_class, missing_function, binding, missing_parameter, extra_parameter,
    order, parameter_kind, default, default_value. `message` is the student-facing line."""

    file: str
    function: str  # "" for missing_file / syntax_error
    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Module:
    """What one file defines: its functions and methods, its classes, other module-level names."""

    file: str
    functions: dict[str, Function]
    classes: set[str]
    other_names: set[str]  # bound by assignment or import (`build_vocab = my_build_vocab`)


class Unparsable(Exception):
    def __init__(self, file: str, line: int | None, detail: str) -> None:
        super().__init__(detail)
        self.file, self.line, self.detail = file, line, detail


# --------------------------------------------------------------------------- reading


def _params(args: ast.arguments) -> tuple[Param, ...]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [
        Param(a.arg, POSITIONAL_ONLY if i < len(args.posonlyargs) else POSITIONAL_OR_KEYWORD, None if d is None else ast.unparse(d))
        for i, (a, d) in enumerate(zip(positional, defaults))
    ]
    if args.vararg is not None:
        out.append(Param(args.vararg.arg, VAR_POSITIONAL, None))
    out += [Param(a.arg, KEYWORD_ONLY, None if d is None else ast.unparse(d)) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg is not None:
        out.append(Param(args.kwarg.arg, VAR_KEYWORD, None))
    return tuple(out)


def _binding(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Name) and dec.id in _BINDINGS:
            return dec.id
    return ""


def _own_nodes(fn: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's own body, not those of functions or classes defined in it."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo += ast.iter_child_nodes(node)


def raises_not_implemented(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body holds `raise NotImplementedError[(...)]`."""
    for node in _own_nodes(fn):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def parse_module(source: str | bytes, file: str) -> Module:
    """The functions a file defines at module level and directly in its module-level classes."""
    try:
        tree = ast.parse(source, filename=file)
        return _read_module(tree, file)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes
        raise Unparsable(file, getattr(exc, "lineno", None), f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}") from None
    except RecursionError:  # absurdly deep expressions (a grader must not crash on them)
        raise Unparsable(file, None, "RecursionError: 表达式嵌套太深") from None


def _read_module(tree: ast.Module, file: str) -> Module:
    module = Module(file, {}, set(), set())

    def add(fn: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str) -> None:
        name = prefix + fn.name
        module.functions.pop(name, None)  # the last definition wins, in its own place
        module.functions[name] = Function(file, name, _params(fn.args), _binding(fn), raises_not_implemented(fn), fn.lineno)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node, "")
        elif isinstance(node, ast.ClassDef):
            module.classes.add(node.name)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(item, node.name + ".")
                else:
                    module.other_names |= {f"{node.name}.{n}" for n in _bound_names(item)}
        else:
            module.other_names |= _bound_names(node)
    return module


@lru_cache(maxsize=32)  # the template's files are read again for every submission graded
def _parsed(data: bytes, file: str) -> Module | Unparsable:
    """parse_module of a file's bytes, or why it cannot be parsed (callers only read the result)."""
    try:
        return parse_module(data, file)
    except Unparsable as exc:
        return exc


def _read_folder(folder: Path, files: Iterable[str]) -> dict[str, Module | Unparsable | None]:
    out: dict[str, Module | Unparsable | None] = {}
    for file in files:
        path = Path(folder) / file
        out[file] = _parsed(path.read_bytes(), file) if path.is_file() else None
    return out


def _public(name: str) -> bool:
    return all(not part.startswith("_") or (part.startswith("__") and part.endswith("__")) for part in name.split("."))


def interface(template: Path | str | Mapping[str, str], files: Iterable[str] = GRADED_FILES) -> dict[str, dict[str, Function]]:
    """The functions of the template a submission must keep: each stub, and every public (or
    dunder) function and method. `template`: a folder of stubs, or {file name: source}."""
    files = list(files)
    if isinstance(template, Mapping):
        modules = {f: parse_module(template[f], f) for f in files if f in template}
    else:
        modules = {f: m for f, m in _read_folder(Path(template), files).items() if isinstance(m, Module)}
    return {f: {n: fn for n, fn in m.functions.items() if fn.stub or _public(n)} for f, m in modules.items()}


# --------------------------------------------------------------------------- comparing


def _compare(file: str, t: Function, s: Function) -> list[Difference]:
    name = t.name
    out: list[Difference] = []

    def diff(kind: str, text: str) -> None:
        out.append(Difference(file, name, kind, f"{file}: {name} 的参数与模板不同：{text}"))

    if t.binding != s.binding:
        mine = f"是 @{s.binding}" if s.binding else "没有这个装饰器"
        theirs = f"是 @{t.binding}" if t.binding else "没有装饰器"
        out.append(Difference(file, name, "binding", f"{file}: {name} 在模板里{theirs}，你的{mine}"))
    tp, sp = {p.key: p for p in t.params}, {p.key: p for p in s.params}
    for key, p in tp.items():
        if key not in sp:
            diff("missing_parameter", f"缺少 {p.shown}")
    for key, p in sp.items():
        if key not in tp:
            why = "" if p.default is not None or p.kind in (VAR_POSITIONAL, VAR_KEYWORD, POSITIONAL_ONLY) else "（它没有默认值，评分程序不会传它，调用会失败）"
            diff("extra_parameter", f"多了 {p.shown}{why}")
    positional = (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)
    t_order = [p.name for p in t.params if p.kind in positional and p.key in sp and sp[p.key].kind in positional]
    s_order = [p.name for p in s.params if p.kind in positional and p.key in tp and tp[p.key].kind in positional]
    if t_order != s_order:
        diff("order", f"参数顺序是 ({', '.join(s_order)})，模板是 ({', '.join(t_order)})")
    for key, p in tp.items():
        q = sp.get(key)
        if q is None:
            continue
        if p.kind != q.kind:
            diff("parameter_kind", f"{p.shown} 在模板里是{_KIND_TEXT[p.kind]}，你的是{_KIND_TEXT[q.kind]}")
        if (p.default is None) != (q.default is None):
            diff("default", f"{p.name} 在模板里有默认值 {p.default}，你的没有" if q.default is None else f"{p.name} 在模板里没有默认值，你的有 (= {q.default})")
        elif p.default != q.default:
            diff("default_value", f"{p.name} 的默认值是 {q.default}，模板是 {p.default}")
    return out


def signature_differences(submission_folder: Path | str, template_folder: Path | str | Mapping[str, str],
                          files: Iterable[str] = GRADED_FILES) -> list[Difference]:
    """Every difference between the submission's functions and the template's, file by file in
    `files` order, functions in the template's order. `template_folder` is a folder of stubs (at
    grading time: `given_files()`), or {file name: source} such as the recorded snapshot."""
    files = list(files)
    template = interface(template_folder, files)
    submitted = _read_folder(Path(submission_folder), [f for f in files if f in template])
    out: list[Difference] = []
    for file, expected in template.items():
        got = submitted[file]
        if got is None:
            out.append(Difference(file, "", "missing_file", f"{file}: 文件不存在，无法和模板比较"))
            continue
        if isinstance(got, Unparsable):
            where = f"第 {got.line} 行" if got.line else ""
            out.append(Difference(file, "", "syntax_error", f"{file}: {where}无法解析（{got.detail}），无法和模板比较函数参数"))
            continue
        missing_classes: set[str] = set()
        for name, t in expected.items():
            cls = name.rpartition(".")[0]
            if cls and cls not in got.classes and cls not in got.other_names:
                if cls not in missing_classes:
                    missing_classes.add(cls)
                    out.append(Difference(file, cls, "missing_class", f"{file}: 找不到模板里的类 {cls}（评分程序按这个名字使用它，不要改名或删除）"))
                continue
            s = got.functions.get(name)
            if s is None:
                if name not in got.other_names and name not in got.classes:  # bound some other way: cannot compare
                    out.append(Difference(file, name, "missing_function", f"{file}: 找不到模板里的 {name}（评分程序按这个名字调用它，不要改名或删除）"))
                continue
            out += _compare(file, t, s)
    return out


def still_unimplemented(submission_folder: Path | str, template_folder: Path | str | Mapping[str, str],
                        files: Iterable[str] = GRADED_FILES) -> list[Function]:
    """The template's stubs whose submitted version still raises NotImplementedError (a
    function missing from the submission, or a file that does not parse, is not listed here:
    `signature_differences` reports it)."""
    files = list(files)
    template = interface(template_folder, files)
    submitted = _read_folder(Path(submission_folder), [f for f in files if f in template])
    out = []
    for file, expected in template.items():
        got = submitted[file]
        if isinstance(got, Module):
            out += [got.functions[n] for n, t in expected.items() if t.stub and n in got.functions and got.functions[n].stub]
    return out


# --------------------------------------------------------------------------- the snapshot


def _params_text(params: tuple[Param, ...]) -> str:
    parts: list[str] = []
    for i, p in enumerate(params):
        if p.kind == KEYWORD_ONLY and not any(q.kind in (VAR_POSITIONAL, KEYWORD_ONLY) for q in params[:i]):
            parts.append("*")
        parts.append(p.shown + ("" if p.default is None else f"={p.default}"))
        if p.kind == POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind != POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts)


def skeleton(functions: Iterable[Function]) -> str:
    """Source that defines the given functions with the same signatures and nothing else: what
    `interface` reads back from it equals what it read from the template."""
    lines: list[str] = []
    current = None
    for fn in functions:
        cls, _, leaf = fn.name.rpartition(".")
        if cls != current:
            if cls:
                lines.append(f"class {cls}:")
            current = cls
        indent = "    " if cls else ""
        if fn.binding:
            lines.append(f"{indent}@{fn.binding}")
        lines.append(f"{indent}def {leaf}({_params_text(fn.params)}): {'raise NotImplementedError' if fn.stub else '...'}")
    return "\n".join(lines) + "\n"


def render_snapshot(template_folder: Path | str, files: Iterable[str] = GRADED_FILES) -> str:
    """The text of autograder/check/template_snapshot.py for the stubs in `template_folder`."""
    folder = Path(template_folder)
    found = interface(folder, files)
    modules = tuple(sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__"))
    pieces = {file: [line[i:i + 100] for line in skeleton(fns.values()).splitlines(keepends=True) for i in range(0, len(line), 100)]
              for file, fns in found.items()}  # adjacent literals concatenate: short lines for the linter
    body = "".join(f"    {file!r}: (\n" + "".join(f"        {piece!r}\n" for piece in lines) + "    ),\n" for file, lines in pieces.items())
    return (
        '"""GENERATED by `python -m autograder.template --write` from assignments/cnn_rnn: do not edit.\n\n'
        "The template's interface (signatures of the stubs and of the public functions), for the student\n"
        "commands: in the student bundle the stubs are the files the student edits.\n"
        '"""\n\n'
        "# every module of the template package (graded and given files)\n"
        f"MODULES = (\n{''.join(f'    {m!r},{chr(10)}' for m in modules)})\n\n"
        f"SKELETONS = {{\n{body}}}\n"
    )


def main(argv: list[str] | None = None) -> int:
    from autograder.runtime.assignment import REPO, given_files

    argv = sys.argv[1:] if argv is None else argv
    text = render_snapshot(given_files(REPO))
    if argv == ["--write"]:
        SNAPSHOT.write_text(text, encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

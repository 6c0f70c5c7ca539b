"""Warnings that cost nothing to give before grading: read from the student's files with ast,
never by importing them.

* imports the grader's environment cannot satisfy (`unsatisfiable_imports`): what it provides is
  the standard library, this project's dependencies (`provided.py`, not what the student's
  machine has installed) and the assignment's own package;
* functions whose parameters differ from the template (`autograder.template.signature_differences`
  against the recorded skeleton of the stubs, `template_snapshot.py`);
* graded functions that still raise NotImplementedError (`autograder.template.still_unimplemented`).

`autograder check` shows the first two; `autograder submit` shows all three and asks before
packing (see submit/command.py).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from autograder.check.provided import COURSE_PACKAGES, import_names
from autograder.check.template_snapshot import MODULES, SKELETONS
from autograder.runtime.assignment import ASSIGNMENT, GRADED_FILES, PARTS
from autograder.template import Difference, Function, signature_differences, still_unimplemented

HEADER = "⚠ 提前提醒（不用运行代码就能发现的问题）："
_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
_TRY = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)


@dataclass(frozen=True)
class ImportProblem:
    """An import in a graded file that fails when the grader imports it. `reason`: "missing"
    (no such package where the grader runs), "sibling" (an assignment module imported as a
    top-level one), "unsubmitted" (a module that is not among the submitted or given files)."""

    file: str
    line: int
    statement: str
    module: str  # the top-level (or, for a relative import, the package's) module it needs
    function: str  # "" when it runs on import of the file, else the enclosing function
    reason: str

    @property
    def message(self) -> str:
        where = f"{self.file} 第 {self.line} 行" + (f"（{self.function} 里）" if self.function else "")
        then = f"调用 {self.function} 会出错（用到它的检查为 0 分）" if self.function else "这个文件会导入失败（该部分全部检查为 0 分）"
        if self.reason == "missing":
            return f"{where}：{self.statement} —— 评分环境里没有这个包，评分时{then}。只使用 {COURSE_PACKAGES} 等课程提供的包。"
        if self.reason == "sibling":
            return (f"{where}：{self.statement} —— 评分时作业文件作为 {ASSIGNMENT} 包导入，这样写找不到 {self.module}，{then}。"
                    f"请改成相对导入 (relative import)：from . import {self.module} 或 from .{self.module} import ...")
        return (f"{where}：{self.statement} —— {self.module}.py 不会被提交（压缩包里只有 {', '.join(GRADED_FILES)}），"
                f"评分时找不到它，{then}。请把需要的代码写进 {self.file}。")

    def __str__(self) -> str:
        return self.message


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any((t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else "") in _GUARDS for t in types):
            return True
    return False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _dynamic_import(node: ast.Call) -> str | None:
    """The constant module name of `importlib.import_module("x")` / `__import__("x")`."""
    f = node.func
    named = (isinstance(f, ast.Name) and f.id in ("__import__", "import_module")) or (isinstance(f, ast.Attribute) and f.attr == "import_module")
    if named and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _import_nodes(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """Every import that can fail (not under `try: ... except ImportError` nor `if TYPE_CHECKING:`),
    with the function it runs in ("" for module level, class bodies included)."""
    found: list[tuple[ast.AST, str]] = []

    def walk(node: ast.AST, scope: str, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for part in (*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
                walk(part, scope, function)  # evaluated where the function is defined
            name = scope + node.name
            for stmt in node.body:
                walk(stmt, name + ".", name)
            return
        if isinstance(node, ast.ClassDef):
            for part in (*node.decorator_list, *node.bases, *node.keywords):
                walk(part, scope, function)
            for stmt in node.body:
                walk(stmt, f"{scope}{node.name}.", function)
            return
        if isinstance(node, _TRY) and _catches_import_error(node):
            for stmt in (*node.handlers, *node.orelse, *node.finalbody):
                walk(stmt, scope, function)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.orelse:
                walk(stmt, scope, function)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, ast.Call) and _dynamic_import(node)):
            found.append((node, function))
        for child in ast.iter_child_nodes(node):
            walk(child, scope, function)

    walk(tree, "", "")
    return found


def _needs(node: ast.AST) -> list[tuple[str, str]]:
    """(what, kind) pairs an import needs: kind "absolute" (a top-level module) or "package" (a
    module of the assignment's package, from a relative or `cnn_rnn.` import)."""
    if isinstance(node, ast.Import):
        out = []
        for a in node.names:
            parts = a.name.split(".")
            out.append((parts[1], "package") if parts[0] == ASSIGNMENT and len(parts) > 1 else (parts[0], "absolute"))
        return out
    if isinstance(node, ast.ImportFrom):
        if node.level > 1:
            return []  # beyond the package: not judged here
        module = node.module or ""
        parts = module.split(".") if module else []
        if node.level == 1 or (parts and parts[0] == ASSIGNMENT):
            inner = parts if node.level == 1 else parts[1:]
            if inner:
                return [(inner[0], "package")]
            return [(a.name, "package") for a in node.names if a.name != "*"]
        return [(parts[0], "absolute")]
    name = _dynamic_import(node)  # type: ignore[arg-type]
    if name is None or name.startswith("."):
        return []
    parts = name.split(".")
    return [(parts[1], "package")] if parts[0] == ASSIGNMENT and len(parts) > 1 else [(parts[0], "absolute")]


def unsatisfiable_imports(folder: Path | str, files: Iterable[str] = GRADED_FILES, modules: Iterable[str] = MODULES) -> list[ImportProblem]:
    """Imports in the graded files that will fail where the grader runs. `modules`: the modules
    of the assignment's package at grading time (graded and given files). A file that does not
    parse is skipped (the signature check and the import check of `submit` report it)."""
    folder = Path(folder)
    modules = set(modules)
    provided = import_names() | set(sys.stdlib_module_names) | {ASSIGNMENT}
    problems: list[ImportProblem] = []
    for file in files:
        path = folder / file
        if not path.is_file():
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=file)
            nodes = _import_nodes(tree)
        except (SyntaxError, ValueError, RecursionError):
            continue
        found = []
        for node, function in nodes:
            for name, kind in _needs(node):
                if kind == "package":
                    reason = None if name in modules else "unsubmitted"
                elif name in provided:
                    reason = None
                elif name in modules:
                    reason = "sibling"
                elif (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file():
                    reason = "unsubmitted"
                else:
                    reason = "missing"
                if reason:
                    found.append(ImportProblem(file, node.lineno, ast.unparse(node), name, function, reason))
        problems += sorted(set(found), key=lambda p: (p.line, p.module))
    return problems


# --------------------------------------------------------------------------- all together


@dataclass
class Precheck:
    imports: list[ImportProblem] = field(default_factory=list)
    signatures: list[Difference] = field(default_factory=list)
    unimplemented: list[Function] = field(default_factory=list)

    def lines(self, *, unimplemented: bool = True) -> list[str]:
        out: list[str] = []
        if self.imports:
            out += ["导入 (import) 问题：", *(f"  - {p.message}" for p in self.imports)]
        if self.signatures:
            out += ["函数名或参数与模板不同（评分程序按模板的函数名和参数调用你的函数）：", *(f"  - {d.message}" for d in self.signatures)]
        if unimplemented and self.unimplemented:
            out += [f"还有 {len(self.unimplemented)} 个函数没有实现（仍然 raise NotImplementedError），它们的检查都是 0 分：",
                    *(f"  - {f.file}: {f.name}（第 {f.line} 行）" for f in self.unimplemented)]
        return out

    def any(self, *, unimplemented: bool = True) -> bool:
        return bool(self.lines(unimplemented=unimplemented))

    def text(self, *, unimplemented: bool = True) -> str:
        lines = self.lines(unimplemented=unimplemented)
        return "\n".join([HEADER, *lines]) if lines else ""


def precheck(folder: Path | str, parts: Iterable[str] | None = None, template: Path | str | Mapping[str, str] = SKELETONS) -> Precheck:
    """The warnings for the graded files of `parts` (all parts when None) in `folder`."""
    files = [f"{PARTS[p]}.py" for p in parts] if parts is not None else list(GRADED_FILES)
    return Precheck(unsatisfiable_imports(folder, files), signature_differences(folder, template, files), still_unimplemented(folder, template, files))

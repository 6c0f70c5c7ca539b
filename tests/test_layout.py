"""The import rules of the layout (docs/ARCHITECTURE.md):

* the untrusted side (`autograder/runtime/`) imports only itself;
* `runtime/assignment.py`, the one home of the assignment's facts, imports nothing of the project;
* nothing in `autograder/` imports `solutions/` (it is not in the wheel) or `tests/`;
* the package has no import cycle, counting imports inside functions;
* imports only go down the floors below (docs/ARCHITECTURE.md), never up.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "autograder"


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Project modules imported by `path` (absolute imports of autograder / reference / solutions / tests)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # `if TYPE_CHECKING:` blocks are not imports at run time
        nodes = [n for n in nodes if not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in found if n.split(".")[0] in ("autograder", "reference", "solutions", "tests")}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _existing(name: str) -> str | None:
    """The module a dotted name refers to (`autograder.a.b` may be the function b of module a)."""
    while name:
        path = REPO.joinpath(*name.split("."))
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return name
        name = name.rpartition(".")[0]
    return None


def test_runtime_imports_only_runtime():
    bad = {
        _module_name(p): sorted(n for n in _imports(p, top_level_only=False) if not n.startswith("autograder.runtime"))
        for p in _files(PACKAGE / "runtime")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_assignment_module_imports_nothing_of_the_project():
    assert _imports(PACKAGE / "runtime" / "assignment.py", top_level_only=False) == set()


def test_package_never_imports_solutions_or_tests():
    bad = {_module_name(p): sorted(n for n in _imports(p, top_level_only=False) if n.split(".")[0] in ("solutions", "tests"))
           for p in _files(PACKAGE)}
    assert {k: v for k, v in bad.items() if v} == {}


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in the file (inside functions too)."""
    graph: dict[str, set[str]] = {}
    for path in _files(PACKAGE):
        deps = {_existing(n) for n in _imports(path, top_level_only=False)}
        graph[_module_name(path)] = {d for d in deps if d and d.startswith("autograder")} - {_module_name(path)}
    return graph


# The floors of the package, bottom first: a module imports its own floor and the ones below.
FLOORS = [
    ["autograder.runtime"],  # the untrusted side
    ["autograder", "autograder.config", "autograder.results", "autograder.atomic", "autograder.ids", "autograder.source",
     "autograder.template"],  # facts and data: settings, the results model, files, sources
    ["autograder.launch"],  # how workers start
    ["autograder.delegation", "autograder.checks", "autograder.catalog", "autograder.expect", "autograder.plugin",
     "autograder.grading", "autograder.notebook", "autograder.assets"],  # checks and grading one folder
    ["autograder.suites", "autograder.check", "autograder.submit", "autograder.release", "autograder.report",
     "autograder.similarity", "autograder.nbgrader", "autograder.gradescope", "autograder.grade", "autograder.audit",
     "autograder.demo", "autograder.examples", "autograder.cli", "autograder.__main__"],  # verbs and outputs
]


def _floor(module: str) -> int | None:
    matches = [(len(prefix), i) for i, floor in enumerate(FLOORS) for prefix in floor
               if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def test_every_module_has_a_floor_and_imports_only_down():
    graph = _graph()
    assert [m for m in graph if _floor(m) is None] == []
    up = sorted(f"{m} (floor {_floor(m)}) -> {d} (floor {_floor(d)})" for m, deps in graph.items() for d in deps
                if _floor(d) > _floor(m))
    assert up == []


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_grading_one_submission_does_not_import_pytest():
    """checks.outcome_of turns what a check raised into a result, so the grading route (CLI verb,
    batch, one submission) needs no test framework; only the standalone pytest plugin imports it."""
    import subprocess
    import sys

    code = ("import sys, autograder.grade.command, autograder.grade.submission, autograder.gradescope.run\n"
            "print(sorted(m for m in sys.modules if m == 'pytest' or m.startswith('_pytest')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_suites_import_no_launcher():
    """The hidden and public suites read probe results (runtime/wire.ProbeResult); how a worker is
    started is none of their business."""
    suites = _files(PACKAGE / "suites")
    bad = sorted(f"{p.relative_to(REPO)} -> {m}" for p in suites for m in _imports(p, top_level_only=False)
                 if m.startswith("autograder.launch"))
    assert bad == []


def test_the_cli_verb_table_names_every_verb_once():
    """cli.VERBS (verb -> the module that adds it) lets a command load only its own verb; it must
    name exactly the verbs the modules add, or a verb would be built with every other one."""
    from autograder.cli import VERBS, build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    assert sorted(verbs) == sorted(VERBS)
    for verb, module in VERBS.items():
        one = next(a for a in build_parser(verb)._actions if a.dest == "verb").choices
        assert verb in one, (verb, module)

"""Generate the companion notebooks of `assignments/notebooks/` (one per part).

    python -m autograder.release.notebooks            # (re)write assignments/notebooks/*.ipynb
    python -m autograder.release.notebooks --check    # fail when the committed notebooks drifted

The notebooks show results (plots, a retrieval grid, generated text); the answers live in the
`cnn_rnn/*.py` files. They import the student's package from `$CNN_RNN_CODE`, `./cnn_rnn`
(nbgrader: the notebooks sit next to the package) or `../cnn_rnn` (student bundle: `notebooks/`
next to `cnn_rnn/`; repository: `assignments/notebooks` next to `assignments/cnn_rnn`).

The cells live in `solutions/notebooks/<module>.py`, plain Python sources with `# %%` cell
markers (`# %% [markdown]` for text, `# %% setup` for the shared first cell in `setup.py`), so
they can be read, diffed and run as code. This module adds what a notebook needs on top:

Every cell carries nbgrader metadata (schema 3): read-only markdown and code cells, and one
autograder-tests cell per part that runs the public checks. That cell is worth 0 points: nbgrader's
validate still reports it when it fails (students see the verdict through the Validate button),
while the grade comes from the hidden suite, which `autograder grade --nbgrader` writes into the
gradebook. Cells use small data and run in seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from autograder.runtime.assignment import PARTS
from autograder.notebook.answers import notebook_document
from autograder.release.stubs import BEGIN, REPO, strip_solutions

NOTEBOOKS = REPO / "assignments" / "notebooks"

SOURCES = REPO / "solutions" / "notebooks"  # partN_*.py: the cells, as `# %%` Python sources

TEST = '''# 自查：运行 {part_title} 的公开检查 (public checks)。全部通过时这个 cell 不报错。
# 最终成绩由隐藏测试 (hidden tests) 决定，它们用不同的输入。
from autograder.check import run_check

report = run_check("{part}", code=CODE)
display(report)
assert report.passed, report.summary()'''


def read_cells(path: Path) -> list[tuple[str, str]]:
    """(kind, text) of every cell of a `# %%` source: `# %% [markdown]` (lines after "# "),
    `# %%` (code as is) and `# %% setup` (the shared first code cell, solutions/notebooks/setup.py)."""
    cells: list[tuple[str, str]] = []
    kind, lines = None, []
    for line in [*path.read_text(encoding="utf-8").split("\n"), "# %% end"]:
        if line.startswith("# %%"):
            if kind == "md":
                cells.append(("md", "\n".join(x[2:] if x.startswith("# ") else x[1:] for x in lines).strip("\n")))
            elif kind == "code":
                cells.append(("code", "\n".join(lines).strip("\n")))
            elif kind == "setup":
                cells.append(("setup", ""))
            header = line[4:].strip()
            kind, lines = {"[markdown]": "md", "": "code", "setup": "setup", "end": None}[header], []
        elif kind is not None:
            lines.append(line)
    return cells


def _meta(grade_id: str, *, grade: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": True, "schema_version": 3, "solution": False, "task": False}
    if grade:
        meta["points"] = 0
    return {"nbgrader": meta}


def build(part: str) -> dict:
    """The companion notebook of `part` as an nbformat 4 dict (no outputs)."""
    file = f"{PARTS[part]}.py"
    title = f"Part {part[4]}"
    setup = (SOURCES / "setup.py").read_text(encoding="utf-8").rstrip("\n").format(file=file)
    cells = []
    for i, (kind, text) in enumerate(read_cells(SOURCES / file)):
        grade_id = f"{part}-{i:02d}"
        kind, text = ("code", setup) if kind == "setup" else (kind, text)
        cell = {"cell_type": "markdown" if kind == "md" else "code", "id": grade_id, "metadata": _meta(grade_id), "source": text}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    cells.append({"cell_type": "markdown", "id": f"{part}-checks-intro", "metadata": _meta(f"{part}-checks-intro"),
                  "source": f"## 自查 (public checks)\n\n下面的 cell 运行 {title} 的公开检查；nbgrader 的 **Validate** 按钮也会运行它。"})
    cells.append({"cell_type": "code", "id": f"{part}-public-checks", "execution_count": None,
                  "metadata": _meta(f"{part}-public-checks", grade=True), "outputs": [],
                  "source": TEST.format(part=part, part_title=title)})
    return notebook_document(cells)


def notebook_name(part: str) -> str:
    return f"{PARTS[part]}.ipynb"


def render(part: str) -> str:
    return json.dumps(build(part), ensure_ascii=False, indent=1) + "\n"


def write(out_dir: Path = NOTEBOOKS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for part in PARTS:
        path = out_dir / notebook_name(part)
        text = render(part)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def drift(out_dir: Path = NOTEBOOKS) -> list[str]:
    """Names of committed notebooks that differ from what `render` produces."""
    bad = []
    for part in PARTS:
        path = out_dir / notebook_name(part)
        if not path.exists() or path.read_text(encoding="utf-8") != render(part):
            bad.append(path.name)
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.release.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed notebooks drifted")
    parser.add_argument("--out", type=Path, default=NOTEBOOKS)
    args = parser.parse_args(argv)
    if args.check:
        bad = drift(args.out)
        if bad:
            print(f"{args.out} drifted: {', '.join(bad)}; run `python -m autograder.release.notebooks`", file=sys.stderr)
            return 1
        print(f"{args.out} matches the generator")
        return 0
    for path in write(args.out):
        print(path)
    return 0


# --------------------------------------------------------------------------- answers notebooks

_TOP_LEVEL = re.compile(r"^(def |class |async def |@|# -{10,})")


def _chunks(source: str) -> list[str]:
    """Split a module at its top-level definitions (decorators and section rules stay attached)."""
    chunks: list[list[str]] = [[]]
    for line in source.splitlines(keepends=True):
        prev = chunks[-1][-1] if chunks[-1] else ""
        starts = _TOP_LEVEL.match(line) and not _TOP_LEVEL.match(prev) and any(x.strip() for x in chunks[-1])
        if starts:
            chunks.append([])
        chunks[-1].append(line)
    return ["".join(c).strip("\n") for c in chunks if "".join(c).strip()]


def _cell(kind: str, source: str, grade_id: str, solution: bool) -> dict:
    meta = {"grade": False, "grade_id": grade_id, "locked": not solution, "schema_version": 3, "solution": solution, "task": False}
    cell = {"cell_type": kind, "id": grade_id.replace(".", "-")[:64], "metadata": {"nbgrader": meta}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def answers_notebook(solution_source: str, part: str, *, with_solutions: bool) -> dict:
    """An answers notebook for `part` from the solution file's text.

    Chunks holding a `### BEGIN SOLUTION` region become solution cells, the others read-only
    cells. `with_solutions=True` keeps the regions (an nbgrader `source/` notebook: nbgrader's
    generate_assignment strips them); `False` writes the student stubs instead.
    """
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    filename = f"{PARTS[part]}.py"
    intro = (
        f"# {part.capitalize()} 答案 notebook（可选的提交方式）\n\n"
        f"这个 notebook 等价于 `{filename}`：评分时把所有 **solution cell**（可编辑）和只读 cell 按顺序拼起来，"
        f"作为你的 `{filename}`，**不会运行** notebook。\n\n"
        "- 只在 solution cell 里写答案，不要修改函数名和参数；\n"
        "- 想做实验请另外新建 cell（没有 nbgrader 标记的 cell 不会被评分程序读取）；\n"
        f"- 提交时把 `{part}_answers.ipynb` 放进压缩包（或 nbgrader 的作业文件夹）。"
        f"如果同时提交了 `{filename}`，以 notebook 为准。"
    )
    cells = [_cell("markdown", intro, f"{part}_answers_intro", False)]
    for i, chunk in enumerate(_chunks(solution_source)):
        solution = BEGIN in chunk
        text = chunk if with_solutions else strip_solutions(chunk).rstrip("\n")
        cells.append(_cell("code", text, f"{part}_answers_{i:02d}", solution))
    return notebook_document(cells)


if __name__ == "__main__":
    raise SystemExit(main())

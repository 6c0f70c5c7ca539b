"""Read a `partN_answers.ipynb` as source text (never execute it) and build such notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.runtime.assignment import PARTS, code_folder

ANSWERS_NAME = re.compile(rf"^({'|'.join(PARTS)})_answers\.ipynb$", re.IGNORECASE)
MAX_NOTEBOOK_BYTES = 5 << 20


class NotebookError(ValueError):
    """The answers notebook cannot be read; the message goes into the student's row."""


def is_answers_notebook(name: str) -> bool:
    return ANSWERS_NAME.match(name) is not None


def _part_file(part: str) -> str:
    return f"{PARTS[part]}.py"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _is_module_cell(cell: dict) -> bool:
    """Solution cells and read-only given cells hold the module; test cells and scratch do not."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not isinstance(meta, dict):
        return False
    return meta.get("solution") is True or (meta.get("locked") is True and meta.get("grade") is not True)


def _load(text: str | bytes, name: str) -> dict:
    try:
        nb = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{name} 不是有效的 notebook（JSON 解析失败: {exc}）") from exc
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{name} 不是 nbformat 4 的 notebook")
    return nb


def untouched(text: str | bytes) -> bool:
    """True when every solution cell still holds what nbgrader released (its checksum matches):
    the student answered in the .py files instead, and the notebook must not override them."""
    try:
        import nbformat
        from nbgrader.utils import compute_checksum, is_solution
    except ImportError:  # without nbgrader, a notebook with answers cells always counts
        return False
    try:
        cells = [c for c in nbformat.reads(text, as_version=4).cells if is_solution(c)]
        return bool(cells) and all(c.metadata.nbgrader.get("checksum") == compute_checksum(c) for c in cells)
    except Exception:  # noqa: BLE001 - an odd notebook is judged by extract_module instead
        return False


def extract_module(text: str | bytes, name: str = "answers.ipynb") -> str:
    """The module source held by an answers notebook (JSON in, Python text out)."""
    nb = _load(text, name)
    cells = [c for c in nb["cells"] if isinstance(c, dict)]
    module = {i for i, c in enumerate(cells) if _is_module_cell(c)}
    if not any(cells[i].get("metadata", {}).get("nbgrader", {}).get("solution") is True for i in module):
        raise NotebookError(
            f"{name} 里没有任何 solution cell（nbgrader 元数据 solution: true）；"
            "答案 notebook 必须把代码写在 solution cell 里"
        )
    out = [f"# Extracted from {name}: its solution and read-only cells, in order (the notebook was not run).\n"]
    for i, cell in enumerate(cells):
        if i in module:
            lines = _source(cell).splitlines()
            # IPython magics and shell escapes are not Python; they cannot be part of a module.
            lines = [f"# (magic removed) {ln}" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines]
            out.append(f"\n# --- cell {i} ---\n" + "\n".join(lines) + "\n")
    return "".join(out)


def answers_to_modules(root: Path) -> list[Path]:
    """Turn every answered `partN_answers.ipynb` under `root` into `partN_*.py` in the
    submission's code folder (overriding a .py of the same part), then delete all notebooks.
    A notebook whose solution cells nbgrader released and nobody changed is skipped."""
    root = Path(root)
    notebooks = sorted(p for p in root.rglob("*.ipynb") if p.is_file())
    by_part: dict[str, Path] = {}
    for nb in notebooks:
        m = ANSWERS_NAME.match(nb.name)
        if m is None:
            continue
        part = m.group(1).lower()
        if part in by_part:
            raise NotebookError(f"提交里有两个 {part} 的答案 notebook: {by_part[part].relative_to(root)} 和 {nb.relative_to(root)}")
        by_part[part] = nb
    written = []
    if by_part:
        target = code_folder(root) or next(iter(by_part.values())).parent
        for part, nb in sorted(by_part.items()):
            if nb.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise NotebookError(f"{nb.name} 太大（{nb.stat().st_size} 字节）；请清除输出 (Clear All Outputs) 后再提交")
            text = nb.read_bytes()
            if untouched(text):  # released as is: the answers are in the .py file
                continue
            path = target / _part_file(part)
            path.write_text(extract_module(text, nb.name), encoding="utf-8")
            written.append(path)
    for nb in notebooks:
        nb.unlink()
    return written


def notebook_document(cells: list[dict]) -> dict:
    """An nbformat 4.5 notebook (as JSON data) with a Python 3 kernel."""
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(nb: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path

"""`autograder release --out DIR`: the student bundle.

It holds the stubs, the companion notebooks, the public checks and the student commands
(`check`, `submit`), and nothing that decides a grade: no solutions, no hidden suites, no
reference implementation, no cached expectations. `tests/test_release.py` proves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.release.closure import PACKAGE, student_files
from autograder.release.stubs import REPO, generate

NOTEBOOKS = REPO / "assignments" / "notebooks"

STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "cnn-rnn-student"
version = "{version}"
description = "模块 6（CNN 与 RNN）作业：学生包"
requires-python = ">=3.10"
dependencies = ["torch", "torchvision", "open_clip_torch", "numpy", "pillow", "safetensors", "scikit-image",
                "scikit-learn", "snownlp", "matplotlib", "pytest"]

[project.scripts]
autograder = "autograder.cli:main"

[tool.setuptools.packages.find]
include = ["autograder*"]
"""

STUDENT_README = """# 模块 6 作业：CNN 与 RNN

1. 安装: `pip install -e .`
2. 在 `cnn_rnn/` 里完成每个 `raise NotImplementedError` 的地方（不要改函数名和参数）。
3. 自查: `autograder check`（或 `autograder check part1`）。在 notebook 里:
   `from autograder.check import run_check; run_check("part1")`
4. 提交: `autograder submit 你的学号`，上传生成的 `学号_cnn_rnn.zip`。

公开检查 (public checks) 只帮助你自查；最终成绩由隐藏测试 (hidden tests) 决定。
"""


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def build_bundle(out: Path) -> Path:
    from autograder import __version__

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder")
    code = out / "cnn_rnn"
    code.mkdir(parents=True)
    for name, text in generate().items():  # fresh from the solutions, never the working copy
        (code / name).write_text(text, encoding="utf-8")
    if NOTEBOOKS.is_dir():
        _copy(NOTEBOOKS, out / "notebooks")
    for rel in student_files():  # derived from what the student side imports
        _copy(PACKAGE / rel, out / "autograder" / rel)
    # Given files are found next to the stubs in the bundle (see assignment.given_files).
    (out / "pyproject.toml").write_text(STUDENT_PYPROJECT.format(version=__version__), encoding="utf-8")
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    return out

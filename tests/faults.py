"""Ordinary student faults planted in one function of every part of the solution.

A fault is one statement put first in a function's body (after its docstring), so the function
keeps its signature and everything else in the file stays correct. `raise` is the baseline: the
checks it fails are exactly the checks that call that function, and every other fault must fail
those checks and no other (issue 19: a failure costs only its own checks).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions" / "cnn_rnn"

# One cheap module-level function per part: file -> function.
TARGETS = {
    "part1_resnet.py": "receptive_field",
    "part2_transfer.py": "unfreeze",
    "part3_lstm.py": "char_tokenize",
    "part4_clm.py": "bag_of_embeddings",
    "part5_retrieval.py": "precision_at_k",
}

FAULTS = {
    "raise": 'raise RuntimeError("planted")',
    "loop": "while True: pass",
    "os_exit": "import os; os._exit(3)",
    "segfault": "import ctypes; ctypes.string_at(0)",
    "memory": "import torch; torch.ones(50 * 2**30 // 4)",  # 50 GB of float32, over the rlimit
    "fork_bomb": "import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass",
}
# The checks that call the target functions (measured with `raise`): what every fault costs.
FAILED = {
    "part1.receptive_field_values", "part1.receptive_field_errors",  # 1 + 1
    "part2.unfreeze_names", "part2.unfreeze_missing_prefix",  # 2 + 1
    "part3.char_tokenize",  # 1
    "part4.word_order_bag_of_embeddings", "part4.word_order_bag_padding", "part4.word_order_invariance",  # 2 + 1 + 1
    "part5.precision_at_k",  # 1
}
EXPECTED_TOTAL = 89.0


def plant(source: str, function: str, statement: str) -> str:
    """`source` with `statement` as the first statement of module-level `function`'s body."""
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    first = fn.body[1] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) else fn.body[0]
    lines = source.splitlines(keepends=True)
    indent = " " * first.col_offset
    stmt = "".join(indent + line.lstrip(" ") if i == 0 else line for i, line in enumerate(statement.splitlines(keepends=True)))
    return "".join(lines[: first.lineno - 1]) + stmt.rstrip("\n") + "\n" + "".join(lines[first.lineno - 1:])


def faulty_solution(dest: Path, fault: str) -> Path:
    """The solution with `FAULTS[fault]` planted in one function of each part."""
    shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for name, function in TARGETS.items():
        path = dest / name
        path.write_text(plant(path.read_text(encoding="utf-8"), function, FAULTS[fault]), encoding="utf-8")
    return dest


def import_hang(dest: Path, file: str = "part1_resnet.py") -> Path:
    """The solution whose `file` never finishes importing."""
    shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    with open(dest / file, "a", encoding="utf-8") as f:
        f.write("\nwhile True:\n    pass\n")
    return dest

"""Answers submitted as a notebook instead of .py files.

Supported format: an optional notebook named `partN_answers.ipynb` (N = 1..5) anywhere in the
submission. Its code cells that nbgrader marks as solution cells (`solution: true`) or as
read-only cells (`locked: true`, not a grade cell), concatenated in order, are the module
`partN_*.py`. Markdown cells, unmarked scratch cells, test cells and all outputs are ignored, and
the notebook is never executed: it is read as JSON and turned into source text. It overrides a
`partN_*.py` of the same part, unless none of its solution cells changed since nbgrader released
it (nbgrader's cell checksums): then the student answered in the .py file.

Such notebooks are built by `autograder.release.notebooks.answers_notebook` (release builds,
this package reads: it imports nothing of release).
"""

from autograder.notebook.answers import (
    ANSWERS_NAME,
    NotebookError,
    answers_to_modules,
    extract_module,
    is_answers_notebook,
)

__all__ = ["ANSWERS_NAME", "NotebookError", "answers_to_modules", "extract_module", "is_answers_notebook"]

"""Lay out an nbgrader course's `source/<assignment>/` folder for this module."""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT, PARTS
from autograder.notebook.answers import write_notebook
from autograder.release.notebooks import answers_notebook
from autograder.release import notebooks
from autograder.release.stubs import SOLUTIONS, generate

CONFIG = '''c = get_config()  # noqa: F821 (nbgrader's config loader defines it)

# The grade of the module 6 exercises ("{assignment}") comes from the sandboxed hidden suite:
#   autograder grade . --out grading --nbgrader . --assignment {assignment}
# writes every check into this course's gradebook.db. The notebooks' own test cells are
# self-checks worth 0 points; `nbgrader autograde` (which runs student code unsandboxed, in the
# notebook kernel) is not needed for the grade.
'''


def write_source(
    course_dir: Path, assignment: str = ASSIGNMENT, *, answers: bool = False, force: bool = False, parts: tuple[str, ...] | None = None
) -> Path:
    """Write `source/<assignment>/` (and `nbgrader_config.py` when the course has none); `parts`
    limits the notebooks (the package always holds every file)."""
    course_dir = Path(course_dir)
    folder = course_dir / "source" / assignment
    if folder.exists():
        if not force:
            raise FileExistsError(f"{folder} exists; pass --force to overwrite it")
        shutil.rmtree(folder)
    code = folder / "cnn_rnn"
    code.mkdir(parents=True)
    for name, text in generate().items():  # student stubs, fresh from the solutions
        (code / name).write_text(text, encoding="utf-8")
    for part in parts or tuple(PARTS):
        write_notebook(notebooks.build(part), folder / notebooks.notebook_name(part))
        if answers:
            source = (SOLUTIONS / notebooks.notebook_name(part).replace(".ipynb", ".py")).read_text(encoding="utf-8")
            write_notebook(answers_notebook(source, part, with_solutions=True), folder / f"{part}_answers.ipynb")
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG.format(assignment=assignment), encoding="utf-8")
    return folder

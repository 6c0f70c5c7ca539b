"""Companion notebooks (generated, nbgrader-valid, run top to bottom on the solutions) and
answers notebooks (a submission format read as JSON, never executed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.nbgraderformat import MetadataValidator

from autograder.grade.unpack import SubmissionError, unpack
from autograder.catalog import suite_files
from autograder.notebook import NotebookError, answers_to_modules, extract_module
from autograder.release.notebooks import answers_notebook
from autograder.release import notebooks
from autograder.release.stubs import SOLUTIONS
from autograder.runtime.assignment import PARTS as ASSIGNMENT_PARTS

REPO = Path(__file__).resolve().parents[1]
PARTS = tuple(ASSIGNMENT_PARTS)


def _read(part: str) -> nbformat.NotebookNode:
    return nbformat.read(notebooks.NOTEBOOKS / notebooks.notebook_name(part), as_version=4)


# --------------------------------------------------------------------------- companion notebooks


def test_committed_notebooks_match_generator():
    assert notebooks.drift() == [], "run `python -m autograder.release.notebooks`"


@pytest.mark.parametrize("part", PARTS)
def test_notebook_metadata_is_valid_nbgrader(part):
    nb = _read(part)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)  # nbgrader's own schema-3 check: raises on bad metadata
    metas = [c.metadata.nbgrader for c in nb.cells]
    assert all(m["locked"] and not m["solution"] for m in metas), "answers are not written in the notebook"
    assert len({m["grade_id"] for m in metas}) == len(metas)
    graded = [c for c in nb.cells if c.metadata.nbgrader["grade"]]
    assert len(graded) == 1 and graded[0].cell_type == "code"
    assert graded[0].metadata.nbgrader["points"] == 0
    assert f'run_check("{part}", code=CODE)' in graded[0].source and "assert report.passed" in graded[0].source
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "committed notebooks carry no outputs"


@pytest.mark.parametrize("part", PARTS)
def test_notebook_runs_top_to_bottom_on_the_solutions(part, monkeypatch):
    nb = _read(part)
    has_public_suite = bool(suite_files("public", (part,)))
    if not has_public_suite:
        # The part's public suite has not landed yet: everything but the self-check cell runs.
        nb.cells = [c for c in nb.cells if not c.metadata.nbgrader["grade"]]
    monkeypatch.setenv("CNN_RNN_CODE", str(SOLUTIONS))
    client = NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(notebooks.NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert str(SOLUTIONS) in text, "the notebook imported the package CNN_RNN_CODE points at"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows its results inline"
    if has_public_suite:
        assert any("公开检查通过" in o.get("data", {}).get("text/html", "") for o in outputs)


def test_notebook_finds_the_package_next_to_it(tmp_path, monkeypatch):
    """Student bundle layout: notebooks/ next to cnn_rnn/; only the setup cells run (fast)."""
    (tmp_path / "cnn_rnn").mkdir()
    for src in SOLUTIONS.glob("*.py"):
        (tmp_path / "cnn_rnn" / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    nb = _read("part3")
    nb.cells = nb.cells[:5] + [nbformat.v4.new_code_cell("print(P3.char_tokenize('残差'))")]
    monkeypatch.delenv("CNN_RNN_CODE", raising=False)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert str(tmp_path / "cnn_rnn") in text and "['残', '差']" in text


# --------------------------------------------------------------------------- answers notebooks


def _solution(part: str = "part1") -> str:
    return (SOLUTIONS / notebooks.notebook_name(part).replace(".ipynb", ".py")).read_text(encoding="utf-8")


def test_answers_notebook_round_trip_gives_a_working_module():
    nb = answers_notebook(_solution(), "part1", with_solutions=True)
    source = extract_module(json.dumps(nb), "part1_answers.ipynb")
    namespace: dict = {}
    exec(compile(source, "part1_resnet.py", "exec"), namespace)
    assert namespace["receptive_field"]([(3, 1), (3, 1)]) == 5
    kinds = [c["metadata"]["nbgrader"]["solution"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert any(kinds) and not all(kinds), "answers in solution cells, given code in read-only cells"


def test_answers_notebook_for_students_holds_stubs_only():
    nb = answers_notebook(_solution(), "part1", with_solutions=False)
    text = json.dumps(nb, ensure_ascii=False)
    assert "### BEGIN SOLUTION" not in text and "rf += (kernel - 1) * jump" not in text
    source = extract_module(json.dumps(nb), "part1_answers.ipynb")
    namespace: dict = {}
    exec(compile(source, "part1_resnet.py", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["receptive_field"]([(3, 1)])


def _nb(cells: list[dict]) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _code(source: str, **nbgrader) -> dict:
    meta = {"nbgrader": {"schema_version": 3, "grade_id": f"c{abs(hash(source))}", **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "metadata": meta, "source": source, "outputs": [], "execution_count": None}


def test_only_solution_and_read_only_cells_are_extracted():
    text = _nb([
        _code("import math\n", locked=True, solution=False, grade=False),
        {"cell_type": "markdown", "metadata": {}, "source": "说明"},
        _code("def f():\n    return math.pi\n", solution=True, grade=False, locked=False),
        _code("scratch = f() * 2\n"),  # no nbgrader metadata: a student's experiment
        _code("assert f() > 3\n", grade=True, solution=False, locked=True, points=1),  # a test cell
        _code("%timeit f()\n", solution=True, grade=False, locked=False),
    ])
    source = extract_module(text, "part1_answers.ipynb")
    assert "import math" in source and "def f()" in source
    assert "scratch" not in source and "assert f()" not in source and "说明" not in source
    assert "# (magic removed) %timeit f()" in source
    compile(source, "part1_resnet.py", "exec")


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "JSON"), (json.dumps({"cells": [], "nbformat": 3}), "nbformat 4"), (_nb([_code("x = 1\n")]), "solution cell")],
)
def test_unreadable_answers_notebooks_are_refused(text, message):
    with pytest.raises(NotebookError, match=message):
        extract_module(text, "part1_answers.ipynb")


def test_unpack_turns_answers_notebook_into_module_without_running_it(tmp_path):
    marker = tmp_path / "executed.txt"
    nb = json.loads(_nb([
        _code("def receptive_field(layers):\n    return 7\n", solution=True, grade=False, locked=False),
        _code(f"open({str(marker)!r}, 'w').write('ran')\n"),  # would leave a file if anything ran it
    ]))
    archive = tmp_path / "s1_cnn_rnn.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cnn_rnn/part1_resnet.py", "raise NotImplementedError\n")  # the notebook wins
        zf.writestr("cnn_rnn/part2_transfer.py", "X = 2\n")
        zf.writestr("notebooks/part1_answers.ipynb", json.dumps(nb))
        zf.writestr("notebooks/part1_resnet.ipynb", _nb([]))  # a companion notebook: ignored
    dest = tmp_path / "code"
    unpack(archive, dest)
    module = (dest / "cnn_rnn" / "part1_resnet.py").read_text(encoding="utf-8")
    assert "return 7" in module and "NotImplementedError" not in module and "executed" not in module
    assert (dest / "cnn_rnn" / "part2_transfer.py").read_text() == "X = 2\n"
    assert not list(dest.rglob("*.ipynb")) and not marker.exists()


def test_two_answers_notebooks_for_one_part_are_refused(tmp_path):
    src = tmp_path / "student"
    for sub in ("a", "b"):
        (src / sub).mkdir(parents=True)
        (src / sub / "part1_answers.ipynb").write_text(_nb([_code("x = 1\n", solution=True)]))
    with pytest.raises(SubmissionError, match="两个 part1"):
        unpack(src, tmp_path / "dest")
    assert answers_to_modules(tmp_path / "empty") == []

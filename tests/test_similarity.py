"""`autograder similarity`: real copydetect on a small class of part 5 answers, the fingerprint index
against copydetect's all-pairs run on it and on the example class (about 1-2 min, most of it the
all-pairs reference on the 68 example submissions)."""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import zipfile
from itertools import combinations

import numpy as np
import pytest
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import filter_code

from autograder.cli import main
from autograder.examples import build_examples
from autograder.release.notebooks import answers_notebook
from autograder.similarity import fingerprint, index
from autograder.similarity import report as sim_report
from autograder.similarity.compare import DEFAULT_BOILERPLATE, NOISE_T, boilerplate_hashes, compare
from tests.classroom import CAI, DAN, FILE, REPO, SOLUTION, STUB, answered, class_files, write_class

THRESHOLD = 0.6


def _pairs(out):
    with (out / "pairs.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return rows, {(r["student_a"], r["student_b"]): float(r["similarity"]) for r in rows if r["file"] == "(overall)"}


def test_planted_copy_is_the_top_pair_and_independent_answers_score_clearly_lower(tmp_path, capsys):
    subs = write_class(tmp_path / "subs", {k: v for k, v in class_files().items() if k != "stub"})
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--threshold", str(THRESHOLD), "--floor", "0"]) == 0
    rows, overall = _pairs(tmp_path / "out")
    assert list(rows[0]) == ["student_a", "student_b", "similarity", "file"]
    sims = [float(r["similarity"]) for r in rows]
    assert sims == sorted(sims, reverse=True) and all(0 <= s <= 1 for s in sims)
    assert {r["file"] for r in rows} == {"(overall)", "part5_retrieval.py"}
    top = max(overall, key=overall.get)
    assert top == ("ana", "ben") and overall[top] >= 0.85, overall
    others = [s for pair, s in overall.items() if pair != top]
    assert len(others) == 5 and max(others) <= 0.45 and overall[top] - max(others) >= 0.4, overall
    report = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert "<mark>" in report and "ana ↔ ben" in report
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "## Code similarity" in summary and "| ana | ben |" in summary and "1 pairs of students at or above the threshold" in summary


def test_a_class_of_stubs_shows_no_pair_above_the_threshold(tmp_path):
    subs = write_class(tmp_path / "subs", {f"s{i}": STUB for i in range(4)})
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--threshold", "0.1"]) == 0
    rows, overall = _pairs(tmp_path / "out")
    assert len(overall) == 6 and max(overall.values()) == 0.0
    assert "0 pairs of students at or above the threshold" in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


def test_notebooks_are_compared_on_their_solution_cells(tmp_path):
    """nina answers in part5_answers.ipynb (ana's solution in its solution cells) and pastes cai's
    code into an unmarked scratch cell: she matches ana, and the scratch cell does not count."""
    files = class_files()
    subs = write_class(tmp_path / "subs", {"ana": files["ana"], "cai": files["cai"]})
    nb = answers_notebook(SOLUTION, "part5", with_solutions=True)
    nb["cells"].append({"cell_type": "code", "id": "scratch", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": answered(CAI)})
    (subs / "nina").mkdir()
    (subs / "nina" / "part5_answers.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--floor", "0"]) == 0
    _, overall = _pairs(tmp_path / "out")
    assert overall[("ana", "nina")] >= 0.9, overall
    # the scratch cell (all of cai's code) would make cai and nina near-identical; it is ignored
    assert overall[("cai", "nina")] <= 0.45 and abs(overall[("cai", "nina")] - overall[("ana", "cai")]) < 0.05, overall


def test_scores_do_not_depend_on_the_hash_seed(tmp_path):
    """copydetect hashes k-grams with Python's salted hash(); every k-gram is kept, so no run picks
    different fingerprints than another."""
    import subprocess
    import sys

    subs = write_class(tmp_path / "subs")
    code = f"from autograder.similarity.compare import compare_class; print([round(p.similarity, 9) for p in compare_class({str(subs)!r})])"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(runs) == 1 and runs.pop().startswith("[0.9")


def _earlier_cohort(root):
    """The 2024 cohort as the LMS gave it back: ana (the copy's source) zipped, eve and fay with
    identical answers (a folder and a tar.gz), and an upload that is not a zip."""
    files = class_files()
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "ana_cnn_rnn.zip", "w") as zf:
        zf.writestr(f"cnn_rnn/{FILE}", files["ana"])
    write_class(root, {"eve": answered(DAN)})
    data = answered(DAN).encode("utf-8")
    with tarfile.open(root / "fay_cnn_rnn.tar.gz", "w:gz") as tf:
        info = tarfile.TarInfo(f"cnn_rnn/{FILE}")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (root / "gus_cnn_rnn.zip").write_bytes(b"not a zip at all")
    return root


def test_earlier_cohorts_and_published_solutions_are_reference_files(tmp_path):
    """ben copied ana, who handed in last year; cai wrote his own. The archive is compared with the
    current class only: eve and fay (identical) never meet, and gus's broken zip is named."""
    files = class_files()
    subs = write_class(tmp_path / "subs", {"ben": files["ben"], "cai": files["cai"]})
    cohort = _earlier_cohort(tmp_path / "archive" / "2024")
    solutions = REPO / "solutions" / "cnn_rnn"  # a folder of .py files: one hand-in
    out = tmp_path / "out"
    assert main(["similarity", str(subs), "--out", str(out), "--threshold", str(THRESHOLD), "--floor", "0",
                 "--archive", str(cohort), "--archive", str(solutions)]) == 0
    rows, overall = _pairs(out)
    archived = {"archive:2024/ana", "archive:2024/eve", "archive:2024/fay", "archive:solutions/cnn_rnn"}
    assert set(overall) == {("ben", "cai")} | {(s, a) for s in ("ben", "cai") for a in archived}, overall
    assert not any(r["student_a"].startswith("archive:") for r in rows)  # archive vs archive: never computed
    assert overall[("ben", "archive:2024/ana")] >= 0.85 and overall[("ben", "archive:solutions/cnn_rnn")] >= 0.85, overall
    flagged = {pair for pair, s in overall.items() if s >= THRESHOLD}
    assert flagged == {("ben", "archive:2024/ana"), ("ben", "archive:solutions/cnn_rnn")}, overall  # cai: nowhere
    assert max(s for (a, _), s in overall.items() if a == "cai") <= 0.45, overall
    assert {r["file"] for r in rows} == {"(overall)", FILE}  # the solutions' other parts meet no current file

    report = (out / "similarity.html").read_text(encoding="utf-8")
    assert "ben ↔ archive:2024/ana" in report and "<span class='tag'>archived</span> archive:2024/eve" in report
    assert "<mark>" in report and "archive:2024/eve ↔" not in report
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "1 pairs of students and 8 pairs with earlier cohorts and published solutions" in summary, summary
    assert "0 pairs of students at or above the threshold 0.60; 2 against earlier cohorts" in summary, summary
    assert "`2024` (3 of 4 hand-ins compared" in summary and "`solutions` (1 of 1" in summary, summary
    assert "archive:2024/gus" in summary and "corrupt 1" in summary, summary
    assert "| ben | archive:2024/ana |" in summary


def test_the_archive_alone_shows_its_identical_pair(tmp_path):
    """The control for the test above: compared as a class, eve and fay are identical."""
    cohort = _earlier_cohort(tmp_path / "2024")
    assert main(["similarity", str(cohort), "--out", str(tmp_path / "out")]) == 0
    _, overall = _pairs(tmp_path / "out")
    assert overall[("eve", "fay")] == 1.0, overall


def test_a_missing_archive_or_the_class_itself_is_a_usage_error(tmp_path, capsys):
    subs = write_class(tmp_path / "subs", {"cai": class_files()["cai"]})
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--archive", str(tmp_path / "nope")]) == 2
    assert "archive folder not found" in capsys.readouterr().err
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--archive", str(subs)]) == 2
    assert "is the submissions folder itself" in capsys.readouterr().err


# --- the fingerprint index against copydetect's all-pairs run --------------------------------------


def _scores(comparison):
    """Every listed pair with its overall and per-file numbers (what pairs.csv and the report show)."""
    return {(p.student_a, p.student_b): (p.similarity, [(f.file, f.similarity, f.overlap, f.tokens_a, f.tokens_b) for f in p.files])
            for p in comparison.pairs}


def _same_as_all_pairs(subs, floors, **options):
    """The index lists the same pairs with the same numbers as copydetect on every pair, at each floor."""
    reference = compare(subs, method="all-pairs", **options)  # floor 0: every pair
    assert reference.total == len(reference.pairs)
    for floor in floors:
        indexed = compare(subs, floor=floor, method="index", **options)
        expected = {pair: v for pair, v in _scores(reference).items() if v[0] >= floor}
        assert _scores(indexed) == expected, floor
        assert [(p.student_a, p.student_b) for p in indexed.pairs] == [pair for pair in _scores(reference) if pair in expected]
        assert indexed.total == reference.total and indexed.total_archived == reference.total_archived
        assert len(expected) <= indexed.compared <= indexed.total
        for top_ref, top_idx in zip(reference.pairs, indexed.pairs[:3]):  # the code shown: copydetect's slices
            for f, g in zip(top_ref.files, top_idx.files):
                assert (f.code_a, f.code_b) == (g.code_a, g.code_b)
                assert f.slices_a.tolist() == g.slices_a.tolist() and f.slices_b.tolist() == g.slices_b.tolist()
    return reference


def test_the_index_lists_the_same_pairs_as_all_pairs_on_the_test_classroom(tmp_path):
    """Every floor from "every pair" to above the copy: same pairs, same scores, per file too; and
    with an earlier cohort and the published solutions as archives."""
    subs = write_class(tmp_path / "subs")
    reference = _same_as_all_pairs(subs, [0.0, 0.2, 0.3, THRESHOLD - 0.1, THRESHOLD, 0.99])
    assert [(p.student_a, p.student_b) for p in reference.pairs if p.similarity >= THRESHOLD] == [("ana", "ben")]
    archives = (_earlier_cohort(tmp_path / "archive" / "2024"), REPO / "solutions" / "cnn_rnn")
    _same_as_all_pairs(subs, [0.0, 0.3, THRESHOLD - 0.1, THRESHOLD], archives=archives)
    ruled = compare(subs, floor=THRESHOLD - 0.1, archives=archives)
    assert ruled.ruled_out > 0 and ruled.compared + ruled.ruled_out == ruled.total == 10 + 5 * 4


@pytest.fixture(scope="module")
def example_class(tmp_path_factory):
    """The project's example class: the solution, the stubs, every wrong example and the correct
    variants (68 hand-ins, 2,278 pairs), compared by copydetect on every pair once."""
    subs = build_examples(tmp_path_factory.mktemp("examples") / "subs", variants=True)
    return subs, compare(subs, method="all-pairs")


@pytest.mark.parametrize("floor", [THRESHOLD - 0.1, 0.9])
def test_the_index_lists_the_same_pairs_as_all_pairs_on_the_example_class(example_class, floor):
    subs, reference = example_class
    indexed = compare(subs, floor=floor, jobs=2)  # worker processes: 68 hand-ins
    expected = {pair: v for pair, v in _scores(reference).items() if v[0] >= floor}
    assert _scores(indexed) == expected
    above = {pair for pair, (s, _) in expected.items() if s >= THRESHOLD}
    assert above == {pair for pair, (s, _) in _scores(indexed).items() if s >= THRESHOLD} and len(above) > 1000
    assert indexed.compared < indexed.total == reference.total  # the stubs pair with no one


def test_fast_filtering_is_copydetects_on_every_example_file_and_odd_ones(tmp_path):
    """`filter_python` (statement pieces, cached) gives `filter_code`'s filtered text and offsets."""
    build_examples(tmp_path / "ex", variants=True)
    texts = sorted({p.read_text(encoding="utf-8") for p in (tmp_path / "ex").rglob("*.py")})  # each distinct file once
    texts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "autograder").rglob("*.py"))]  # all kinds of syntax
    texts += list(class_files().values())
    texts += [
        "def f():\r\n    return 1\r\n\r\ndef g(x):\r\n\treturn x\r\n",  # CRLF, a tab
        "\n\n\ufeffx = 1\n",  # leading newlines (pygments strips them)
        'DOC = """\ndef not_code():\n    pass\n"""\n\ndef real():\n    return DOC\n',  # a "def" line inside a string
        "def f():\n    x = 1\n    \n    \"\"\"doc\"\"\"\n    return x\n",  # spaces-only line above a string statement
        "x = 1 + \\\n    2\ny = 3\n",  # backslash continuation
        "def f(p):\n    match p:\n        case [x, _]:\n            return x\n        case _:\n            return None\n",
        "@decorator\nclass A(B):\n    @property\n    def f(self):\n        return self.x  # c\n",
        "def broken(:\n    return 1\n",  # does not parse: copydetect's own, whole
        "x = f'{a!r:>{w}}' + rb'\\d'\nif x: y = 2; z = 3\n",
        "",
    ]
    for text in texts:
        out, offsets = fingerprint.filter_python(text)
        ref_out, ref_offsets = filter_code(text, "x.py")
        assert out == ref_out and np.array_equal(offsets, ref_offsets), text[:200]


def test_the_exact_overlap_is_copydetects_compare_files():
    """The scan's position-level overlap and `index.overlap` against copydetect's `compare_files`
    on full `CodeFingerprint`s, for every pair of the test classroom and the solution."""
    bp = boilerplate_hashes(DEFAULT_BOILERPLATE)
    texts = {**class_files(), "solution": SOLUTION}
    full = {name: CodeFingerprint(FILE, NOISE_T, 1, bp, fp=io.StringIO(index.normalise(t))) for name, t in texts.items()}
    compact = {name: index.compact_print(t, NOISE_T, 1, bp) for name, t in texts.items()}
    names = list(texts)
    for name in names:
        assert compact[name].tokens == int(full[name].token_coverage) and set(compact[name].hashes) == full[name].hashes
    post = index._Postings(dict(enumerate(compact[n] for n in names)), len(names), limit=2)  # common and rare hashes both
    for (i, a), (j, b) in combinations(enumerate(names), 2):
        ov, (sim_a, sim_b), _ = compare_files(full[a], full[b])
        assert index.overlap(compact[a], compact[b], NOISE_T) == (int(ov), float(sim_a), float(sim_b)), (a, b)
        pos, bits = post.holders(i, compact[a])
        assert index._exact(pos, bits, np.array([j]), NOISE_T).tolist() == [ov], (a, b)


def test_default_floor_bounds_the_outputs_and_says_so(tmp_path, monkeypatch):
    """Default floor: the threshold minus 0.1. pairs.csv states it in a first comment line and holds
    only the pairs at or above it; the summary counts the pairs compared in full and ruled out;
    the report shows the top pairs' code and the rest in a table."""
    subs = write_class(tmp_path / "subs")
    monkeypatch.setattr(sim_report, "SHOWN_PAIRS", 1)
    out = tmp_path / "out"
    assert main(["similarity", str(subs), "--out", str(out), "--threshold", "0.35"]) == 0
    first = (out / "pairs.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# pairs with an overall similarity at or above the floor 0.25:"), first
    rows, overall = _pairs(out)
    assert set(overall) and min(overall.values()) >= 0.25 and len(overall) < 10, overall
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "10 pairs of students" in summary and "compared in full" in summary and "ruled out by the fingerprint index" in summary
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "ana ↔ ben" in page and "<mark>" in page and "Other pairs at or above the floor 0.25" in page
    assert main(["similarity", str(subs), "--out", str(out), "--threshold", "0.6", "--floor", "0.7"]) == 2


def test_the_command_does_not_import_torch_and_keeps_the_summary_heading():
    """The similarity command stays light (no torch); its heading is the one a regrade keeps."""
    import subprocess
    import sys

    code = "import sys, autograder.similarity.command; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert out.strip() == "False"
    from autograder.report.write import SIMILARITY_HEADING

    assert sim_report.SIMILARITY_HEADING == SIMILARITY_HEADING

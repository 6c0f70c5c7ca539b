"""`autograder similarity`: real copydetect on a small class of part 5 answers (about 10 s)."""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import zipfile

from autograder.cli import main
from autograder.release.notebooks import answers_notebook
from tests.classroom import CAI, DAN, FILE, REPO, SOLUTION, STUB, answered, class_files, write_class

THRESHOLD = 0.6


def _pairs(out):
    rows = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    return rows, {(r["student_a"], r["student_b"]): float(r["similarity"]) for r in rows if r["file"] == "(overall)"}


def test_planted_copy_is_the_top_pair_and_independent_answers_score_clearly_lower(tmp_path, capsys):
    subs = write_class(tmp_path / "subs", {k: v for k, v in class_files().items() if k != "stub"})
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--threshold", str(THRESHOLD)]) == 0
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
    assert "## Code similarity" in summary and "| ana | ben |" in summary and "1 at or above the threshold" in summary


def test_a_class_of_stubs_shows_no_pair_above_the_threshold(tmp_path):
    subs = write_class(tmp_path / "subs", {f"s{i}": STUB for i in range(4)})
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out"), "--threshold", "0.1"]) == 0
    rows, overall = _pairs(tmp_path / "out")
    assert len(overall) == 6 and max(overall.values()) == 0.0
    assert "0 at or above the threshold" in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


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
    assert main(["similarity", str(subs), "--out", str(tmp_path / "out")]) == 0
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
    assert main(["similarity", str(subs), "--out", str(out), "--threshold", str(THRESHOLD),
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
    assert "1 pairs compared" in summary and "0 at or above the threshold 0.60" in summary, summary
    assert "Against earlier cohorts and published solutions: 8 pairs; 2 at or above the threshold" in summary, summary
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

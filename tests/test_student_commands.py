"""`autograder check` and `autograder submit`, as a student runs them."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.check import CheckReport, run_check
from autograder.cli import main
from autograder.runtime.assignment import GRADED_FILES
from autograder.submit import SubmitError, build

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    folder = tmp_path / "cnn_rnn"
    shutil.copytree(REPO / "assignments" / "cnn_rnn", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_check_fails_on_stubs_and_says_hidden_tests_decide(stubs, capsys):
    assert main(["check", "part1", "--dir", str(stubs)]) == 1
    out = capsys.readouterr().out
    assert "尚未实现" in out and "隐藏测试 (hidden tests)" in out


def test_check_passes_on_solution_and_renders_in_notebooks():
    report = run_check("part1", REPO / "solutions" / "cnn_rnn")
    assert isinstance(report, CheckReport) and report.passed
    assert "<table>" in report._repr_html_()


def test_check_unknown_part_and_missing_folder(tmp_path, capsys):
    assert main(["check", "--dir", str(tmp_path)]) == 2
    assert "找不到作业文件夹" in capsys.readouterr().err
    with pytest.raises(ValueError, match="未知的部分"):
        run_check("part9", REPO / "solutions" / "cnn_rnn")


def test_submit_packs_only_graded_files_with_manifest(stubs, tmp_path):
    (stubs / "big_weights.pth").write_bytes(b"\0" * 1000)
    (stubs / "notes.txt").write_text("private")
    result = build("s2026001", stubs, tmp_path / "out", self_check="公开检查通过 0/2")
    assert result.path.name == "s2026001_cnn_rnn.zip"
    with zipfile.ZipFile(result.path) as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("cnn_rnn/manifest.json"))
    assert names == sorted([f"cnn_rnn/{f}" for f in GRADED_FILES] + ["cnn_rnn/manifest.json"])
    assert set(manifest["files"]) == set(GRADED_FILES) and manifest["student"] == "s2026001"
    assert manifest["self_check"] == "公开检查通过 0/2" and manifest["package_version"]


def test_submit_refuses_missing_and_unimportable_files(stubs, tmp_path):
    (stubs / "part3_lstm.py").unlink()
    with pytest.raises(SubmitError, match="缺少文件: part3_lstm.py"):
        build("s1", stubs, tmp_path, verify_imports=False)
    shutil.copyfile(REPO / "assignments" / "cnn_rnn" / "part3_lstm.py", stubs / "part3_lstm.py")
    (stubs / "part4_clm.py").write_text("def broken(:\n")
    with pytest.raises(SubmitError, match="part4_clm.py 无法导入: SyntaxError"):
        build("s1", stubs, tmp_path)
    assert not list(tmp_path.glob("*.zip"))


def test_submit_refuses_bad_id_and_oversized_file(stubs, tmp_path):
    with pytest.raises(SubmitError, match="学号"):
        build("../evil", stubs, tmp_path, verify_imports=False)
    (stubs / "part1_resnet.py").write_text("#" * (2 << 20))
    with pytest.raises(SubmitError, match="太大"):
        build("s1", stubs, tmp_path, verify_imports=False)

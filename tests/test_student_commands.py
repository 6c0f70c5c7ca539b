"""`autograder check` and `autograder submit`, as a student runs them."""

from __future__ import annotations

import io
import json
import re
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


# --------------------------------------------------------------------------- early warnings (check/precheck.py)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _dependency_names(pyproject: Path) -> set[str]:
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return {re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;(]", d, maxsplit=1)[0]).lower() for d in deps}


def test_provided_packages_are_the_projects_dependencies():
    """The bundle ships no pyproject.toml: provided.py must list exactly its dependencies, and
    name the modules they really provide (checked where they are installed)."""
    from importlib import metadata

    from autograder.check.provided import DEPENDENCIES, REQUIRED_BY

    assert set(DEPENDENCIES) == _dependency_names(REPO / "pyproject.toml"), "update autograder/check/provided.py"
    owners: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            owners.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), set()).add(module)
    for dist, names in [*DEPENDENCIES.items(), *((d, names) for d, (_, names) in REQUIRED_BY.items())]:
        if dist in owners:
            assert names and set(names) <= owners[dist], (dist, names, owners[dist])
    for dist, (parent, _) in REQUIRED_BY.items():
        assert parent in DEPENDENCIES
        try:
            requires = metadata.requires(parent) or []
        except metadata.PackageNotFoundError:
            continue
        unconditional = {re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;(]", r, maxsplit=1)[0]).lower() for r in requires if "extra" not in r}
        assert dist in unconditional, f"{parent} does not require {dist}"


def test_template_snapshot_matches_the_stubs():
    from autograder.check.template_snapshot import SKELETONS
    from autograder.template import SNAPSHOT, interface, render_snapshot

    assert SNAPSHOT.read_text(encoding="utf-8") == render_snapshot(REPO / "assignments" / "cnn_rnn"), "run `python -m autograder.template --write`"
    assert interface(SKELETONS) == interface(REPO / "assignments" / "cnn_rnn")


def test_unsatisfiable_imports_come_from_the_dependencies_not_the_students_machine(stubs, tmp_path, monkeypatch):
    from autograder.check.precheck import unsatisfiable_imports

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "jieba.py").write_text("")  # installed on the student's machine: still not provided
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (stubs / "myhelpers.py").write_text("")
    _edit(stubs / "part3_lstm.py", "import math\n", "\n".join([
        "import math", "import jieba", "import numpy as np", "import skimage.transform", "from PIL import Image",
        "from collections import Counter", "from . import data", "from .weights import load_clip", "from cnn_rnn import part4_clm",
        "import data", "from . import myhelpers", "import myhelpers",
        "try:", "    import opencc", "except ImportError:", "    opencc = None", ""]))
    _edit(stubs / "part3_lstm.py", '    _check_text(text, "text")\n    # 提示: 遍历', '    import pandas\n    _check_text(text, "text")\n    # 提示: 遍历')
    found = {(p.statement, p.reason, p.function) for p in unsatisfiable_imports(stubs)}
    assert found == {
        ("import jieba", "missing", ""),
        ("import data", "sibling", ""),
        ("from . import myhelpers", "unsubmitted", ""),
        ("import myhelpers", "unsubmitted", ""),
        ("import pandas", "missing", "char_tokenize"),
    }
    [jieba] = [p for p in unsatisfiable_imports(stubs) if p.module == "jieba"]
    assert jieba.message == ("part3_lstm.py 第 19 行：import jieba —— 评分环境里没有这个包，评分时这个文件会导入失败（该部分全部检查为 0 分）。"
                             "只使用 torch、torchvision、numpy 等课程提供的包。")
    assert unsatisfiable_imports(REPO / "solutions" / "cnn_rnn") == []


def test_check_lists_an_unsatisfiable_import(stubs, capsys):
    _edit(stubs / "part3_lstm.py", "import math\n", "import math\nimport jieba\n")
    assert main(["check", "part3", "--dir", str(stubs)]) == 1
    out = capsys.readouterr().out
    assert "part3_lstm.py 第 19 行：import jieba —— 评分环境里没有这个包" in out
    assert "提前提醒" in out


def test_check_of_untouched_stubs_has_no_early_warnings(stubs):
    from autograder.check.precheck import precheck

    found = precheck(stubs)
    assert found.imports == [] and found.signatures == [] and not found.any(unimplemented=False)
    assert len(found.unimplemented) == sum(REPO.joinpath("assignments", "cnn_rnn", f).read_text(encoding="utf-8").count("raise NotImplementedError(")
                                          for f in GRADED_FILES)


def test_examples_raise_no_early_warnings(tmp_path):
    """No false alarm on realistic submissions: every correct variant and wrong example."""
    from autograder import examples
    from autograder.check.precheck import precheck

    for i, m in enumerate(examples.mutants() + examples.mutants(examples.VARIANTS)):
        found = precheck(examples.materialize(m, tmp_path / str(i)))
        assert not found.any(), (m.name, found.lines())


def test_signature_differences_dropped_and_extra_parameters(stubs):
    from autograder.template import signature_differences

    template = REPO / "assignments" / "cnn_rnn"
    _edit(stubs / "part3_lstm.py", "def build_vocab(token_lists: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None)",
          "def build_vocab(token_lists: Iterable[list[str]], min_freq: int = 1)")
    _edit(stubs / "part5_retrieval.py", "def l2_normalize(x: Tensor, dim: int = -1, eps: float = 1e-12)",
          "def l2_normalize(x: Tensor, dim: int = -1, eps: float = 1e-12, p=2)")
    _edit(stubs / "part4_clm.py", "def make_clm_batch(ids: Tensor)", "def make_clm_batch(ids: Tensor, pad_id: int)")
    found = signature_differences(stubs, template)
    assert [(d.file, d.function, d.kind) for d in found] == [
        ("part3_lstm.py", "build_vocab", "missing_parameter"),
        ("part4_clm.py", "make_clm_batch", "extra_parameter"),
        ("part5_retrieval.py", "l2_normalize", "extra_parameter"),
    ]
    assert found[0].message == "part3_lstm.py: build_vocab 的参数与模板不同：缺少 max_size"
    assert "多了 pad_id（它没有默认值" in found[1].message and found[2].message == "part5_retrieval.py: l2_normalize 的参数与模板不同：多了 p"
    from autograder.check.template_snapshot import SKELETONS

    assert signature_differences(stubs, SKELETONS) == found  # the snapshot the student side uses says the same


def test_signature_differences_order_kind_default_binding_and_names(stubs):
    from autograder.template import signature_differences

    _edit(stubs / "part1_resnet.py", "def conv3x3(in_planes: int, out_planes: int, stride: int = 1)", "def conv3x3(out_planes: int, in_planes: int, stride: int = 1)")
    _edit(stubs / "part2_transfer.py", "def make_head(in_dim: int, num_classes: int, hidden: int | None = None)",
          "def make_head(in_dim: int, num_classes: int, *, hidden: int | None = None)")
    _edit(stubs / "part2_transfer.py", "def extract_features(backbone: nn.Module, images: Tensor, batch_size: int = 64)",
          "def extract_features(backbone: nn.Module, images: Tensor, batch_size: int)")
    _edit(stubs / "part3_lstm.py", "def char_tokenize(text: str)", "def char_tokenizer(text: str)")
    _edit(stubs / "part5_retrieval.py", "    @classmethod\n    def load(cls, path", "    def load(cls, path")
    _edit(stubs / "part4_clm.py", "def clm_loss(logits: Tensor, targets: Tensor, pad_id: int)", "def clm_loss(logits, targets, pad_id, *args, **kwargs)")
    found = {(d.function, d.kind) for d in signature_differences(stubs, REPO / "assignments" / "cnn_rnn")}
    assert found == {
        ("conv3x3", "order"), ("make_head", "parameter_kind"), ("extract_features", "default"), ("char_tokenize", "missing_function"),
        ("RetrievalIndex.load", "binding"), ("clm_loss", "extra_parameter"),
    }
    (stubs / "part4_clm.py").write_text("def broken(:\n")
    [syntax] = [d for d in signature_differences(stubs, REPO / "assignments" / "cnn_rnn") if d.file == "part4_clm.py"]
    assert syntax.kind == "syntax_error" and "第 1 行" in syntax.message


def test_check_shows_signature_differences(stubs, capsys):
    _edit(stubs / "part3_lstm.py", "def build_vocab(token_lists: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None)",
          "def build_vocab(token_lists: Iterable[list[str]], min_freq: int = 1)")
    assert main(["check", "part3", "--dir", str(stubs)]) == 1
    assert "part3_lstm.py: build_vocab 的参数与模板不同：缺少 max_size" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _solution_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "solved" / "cnn_rnn"
    folder.mkdir(parents=True)
    for name in GRADED_FILES:
        shutil.copyfile(REPO / "solutions" / "cnn_rnn" / name, folder / name)
    return folder


def test_submit_lists_stubs_and_refuses_without_a_terminal_or_yes(stubs, tmp_path, capsys, monkeypatch):
    _edit(stubs / "part3_lstm.py", '    raise NotImplementedError("char_tokenize 尚未实现 (not implemented)")', "    return [c for c in text if not c.isspace()]")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal: it must not read an answer
    assert main(["submit", "s1", "--dir", str(stubs), "--out", str(tmp_path / "out"), "--skip-check"]) == 2
    captured = capsys.readouterr()
    assert "还有 30 个函数没有实现" in captured.out and "part1_resnet.py: projection_shortcut（第 65 行）" in captured.out
    assert "char_tokenize" not in captured.out
    assert "--yes" in captured.err and "不是交互式终端" in captured.err
    assert not (tmp_path / "out").exists()


def test_submit_with_yes_packs_despite_stubs(stubs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["submit", "s1", "--dir", str(stubs), "--out", str(tmp_path / "out"), "--skip-check", "--yes"]) == 0
    assert "还有 31 个函数没有实现" in capsys.readouterr().out
    assert (tmp_path / "out" / "s1_cnn_rnn.zip").is_file()


def test_submit_asks_in_a_terminal(stubs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert main(["submit", "s1", "--dir", str(stubs), "--out", str(out), "--skip-check"]) == 1
    assert "仍然打包提交吗" in capsys.readouterr().out and not out.exists()
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(["submit", "s1", "--dir", str(stubs), "--out", str(out), "--skip-check"]) == 0
    assert (out / "s1_cnn_rnn.zip").is_file()


def test_submit_does_not_ask_when_nothing_is_wrong_and_warns_about_imports(tmp_path, capsys, monkeypatch):
    folder = _solution_folder(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["submit", "s1", "--dir", str(folder), "--out", str(tmp_path / "ok"), "--skip-check"]) == 0
    assert "提前提醒" not in capsys.readouterr().out
    _edit(folder / "part5_retrieval.py", "import torch\n", "import torch\nimport faiss\n")
    assert main(["submit", "s1", "--dir", str(folder), "--out", str(tmp_path / "bad"), "--skip-check"]) == 2
    assert "part5_retrieval.py 第" in (out := capsys.readouterr().out) and "import faiss —— 评分环境里没有这个包" in out
    assert not (tmp_path / "bad").exists()


def test_early_warnings_survive_files_the_parser_cannot_handle(stubs):
    """At grading time these run in the trusted process: a pathological file is reported, never raised."""
    from autograder.check.precheck import precheck

    with (stubs / "part1_resnet.py").open("a", encoding="utf-8") as f:
        f.write("\nX = " + "+".join(["1"] * 200_000) + "\n")
    (stubs / "part2_transfer.py").write_bytes(b"import torch\x00\n")
    found = precheck(stubs)
    assert [(d.file, d.kind) for d in found.signatures] == [("part1_resnet.py", "syntax_error"), ("part2_transfer.py", "syntax_error")]
    assert found.imports == []

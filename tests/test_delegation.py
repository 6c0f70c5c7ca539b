"""Library delegation is found in the submission's source (never run): aliases, `from` imports,
getattr with a literal, methods assigned from a library class, subclasses; legitimate library
use elsewhere is not flagged, and the solutions are clean."""

from __future__ import annotations

import ast
import codecs
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograder.source as source_module
from autograder.catalog import suite_files
from autograder.config import GradingConfig
from autograder.delegation import Unjudgeable, _references, find_uses
from autograder.examples import build_examples, materialize, mutants
from autograder.grading import grade_folder
from autograder.release.stubs import SOLUTIONS
from autograder.source import read_source

LSTM = ("torch.lstm_cell", "torch._VF.lstm_cell", "torch.nn.LSTMCell", "torch.nn.LSTM")
BLOCKS = ("torchvision.models.resnet.BasicBlock", "torchvision.models.resnet.Bottleneck")
LSTM_FILE = "part3_lstm.py"
OWN_WORK_CHECKS = ("part3.lstm_cell_forward", "part3.lstm_cell_zero_state", "part3.lstm_cell_gradient",
                   "part3.lstm_cell_float64_sequence")  # the part 3 checks that call expect_own_work


def _declared(part: str, name: str):
    path = next(p for p in suite_files("hidden") if p.stem == f"test_{part}")
    spec = importlib.util.spec_from_file_location(f"_delegation_{part}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize("code, call, line", [
    ("import torch\nh = torch.lstm_cell(x, s, a, b)\n", "torch.lstm_cell", 2),
    ("import torch as T\nh = T.lstm_cell(x, s, a, b)\n", "torch.lstm_cell", 2),
    ("from torch import lstm_cell as f\n", "torch.lstm_cell", 1),
    ("import torch\nf = getattr(torch, 'lstm_cell')\n", "torch.lstm_cell", 2),
    ("import torch\nh = torch._VF.lstm_cell(x)\n", "torch._VF.lstm_cell", 2),
    ("from torch import _VF\nh = _VF.lstm_cell(x)\n", "torch._VF.lstm_cell", 2),
    ("import importlib\nT = importlib.import_module('torch')\nh = T.lstm_cell(x)\n", "torch.lstm_cell", 3),
    ("import torch\nh = torch.__dict__['lstm_cell'](x)\n", "torch.lstm_cell", 2),
    ("from torch import nn as n2\nclass LSTMCell(n2.Module):\n    def forward(self, x):\n        return n2.LSTMCell(3, 4)(x)\n", "torch.nn.LSTMCell", 4),
    ("import torch.nn as nn\nclass LSTMCell(nn.LSTMCell):\n    pass\n", "torch.nn.LSTMCell", 2),
])
def test_lstm_cell_delegation_found(code, call, line):
    uses = find_uses(code, LSTM)
    assert uses and uses[0].call.startswith(call) and uses[0].line == line, uses


@pytest.mark.parametrize("code, line", [
    ("import torchvision\nclass BasicBlock:\n    forward = torchvision.models.resnet.BasicBlock.forward\n", 3),
    ("from torchvision.models.resnet import BasicBlock as TVBlock\n", 1),
    ("import torchvision.models.resnet as R\nclass Bottleneck(R.Bottleneck):\n    pass\n", 2),
    ("import torchvision as tv\nclass BasicBlock:\n    pass\nBasicBlock.forward = tv.models.resnet.BasicBlock.forward\n", 4),
])
def test_torchvision_block_delegation_found(code, line):
    uses = find_uses(code, BLOCKS)
    assert uses and uses[0].line == line, uses


def test_legitimate_library_use_is_not_flagged():
    code = ("import torch\nfrom torch import nn\nclass BasicBlock(nn.Module):\n"
            "    def __init__(self):\n        self.conv1 = nn.Conv2d(3, 3, 3)\n        self.relu = nn.ReLU(inplace=True)\n"
            "    def forward(self, x):\n        return torch.sigmoid(self.conv1(x)) @ torch.tanh(x)\n"
            "# torch.lstm_cell in a comment\ns = 'torch.lstm_cell'\n")
    assert find_uses(code, LSTM + BLOCKS) == []


def test_solutions_and_stubs_are_not_flagged():
    for part, name in (("part1", "RESIDUAL_BLOCKS"), ("part3", "LSTM_CELL")):
        declared = _declared(part, name)
        assert find_uses((SOLUTIONS / declared.file).read_text(encoding="utf-8"), declared.names) == []


def test_part4_does_not_forbid_cross_entropy():
    """F.cross_entropy in clm_loss is allowed by design (see the comment in the part 4 suite)."""
    path = next(p for p in suite_files("hidden") if p.stem == "test_part4")
    assert "expect_own_work" not in path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- as import reads the file
# A submission's bytes are judged as Python's import reads them: the encoding (BOM, PEP 263 cookie)
# and bytes Python skips undecoded (in comments) cannot hide a delegation, and a nesting Python
# imports cannot break the checks.

PART3 = ("part3",)
DEEP = 2000  # a left-nested sum Python imports at its default recursion limit (about 2970 on 3.10-3.12)
LINE = re.compile(r"第 \d+ 行")


def _latin1(text: str) -> bytes:
    """`text` as a latin-1 file: a cookie, every other character escaped, one real latin-1 byte."""
    body = text.encode("latin-1", "backslashreplace")
    assert ast.dump(ast.parse(body.decode("latin-1"))) == ast.dump(ast.parse(text))  # same module
    return b"# -*- coding: latin-1 -*-\n" + body + b"# caf\xe9\n"


def _stray_byte(text: str) -> bytes:
    """`text` in UTF-8 with one invalid byte in a comment after its first import."""
    head, rest = text.split("\nimport ", 1)
    line, rest = rest.split("\n", 1)
    return f"{head}\nimport {line}  # ".encode("utf-8") + b"\xff\n" + rest.encode("utf-8")


ENCODINGS = {
    "bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "latin1_cookie": _latin1,
    "stray_byte_in_comment": _stray_byte,
}


def _imports(tmp_path, data: bytes) -> bool:
    """Whether this interpreter's import reads and compiles these bytes (its own loader, not run)."""
    (tmp_path / "probe_mod.py").write_bytes(data)
    code = "from importlib.machinery import SourceFileLoader as L; L('probe_mod', 'probe_mod.py').get_code('probe_mod')"
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True).returncode == 0


def _grade(folder):
    return grade_folder(folder.name, folder, GradingConfig(parts=PART3))


def _outcomes(result) -> dict[str, tuple[str, str]]:
    return {c.check: (c.status, LINE.sub("第 N 行", c.message)) for c in result.checks}


@pytest.fixture(scope="module")
def delegating(tmp_path_factory):
    """The example that hands LSTMCell.forward to torch.lstm_cell, graded on part 3."""
    folder = materialize(next(m for m in mutants() if m.name == "delegates_lstm_cell"), tmp_path_factory.mktemp("plain") / "plain")
    return folder, _grade(folder)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_an_encoded_delegation_is_caught_like_the_plain_one(delegating, tmp_path, encoding):
    plain_folder, plain = delegating
    folder = tmp_path / encoding
    shutil.copytree(plain_folder, folder)
    path = folder / LSTM_FILE
    data = ENCODINGS[encoding](path.read_text(encoding="utf-8"))
    path.write_bytes(data)
    with pytest.raises((UnicodeDecodeError, SyntaxError)):  # how the trusted side used to read it, and gave up
        ast.parse(data.decode("utf-8"))
    assert _imports(tmp_path, data)
    own = [c for c in plain.checks if c.status != "passed"]
    assert own and all("torch.lstm_cell" in c.message for c in own)  # the plain one is caught
    result = _grade(folder)
    assert _outcomes(result) == _outcomes(plain)
    assert result.total == plain.total < result.max_total


@pytest.mark.parametrize("data, imports", [
    (b"x = 1  # caf\xe9\n", True),  # undecodable bytes in a comment: the tokenizer skips them
    (b"x = 1\n# \xff\xfe\n", True),
    (b"# coding: utf-8\nx = 1  # \xff\n", True),
    (b"# \xe9\n# coding: latin-1\nx = '\xe9'\n", True),  # cookie on line 2 under an undecodable line 1
    (b"\xef\xbb\xbfx = 1  # \xff\n", True),
    (b"# coding: ascii\nx = 1  # \xe9\n", False),  # a declared codec decodes comments too
    (b"x = '\xe9'\n", False),
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", False),
    (b"# coding: no-such-codec\nx = 1\n", False),
])
def test_read_source_agrees_with_the_interpreter(tmp_path, data, imports):
    assert _imports(tmp_path, data) is imports
    (tmp_path / "f.py").write_bytes(data)
    source = read_source(tmp_path / "f.py")
    assert (source.text is not None) is imports, source
    assert bool(source.error) is not imports
    if imports:
        assert "x = " in source.text and source.data == data


def test_read_source_decodes_like_import(tmp_path):
    (tmp_path / "f.py").write_bytes(b"\xef\xbb\xbfs = '\xc3\xa9'\r\nt = 1\r\n")
    assert read_source(tmp_path / "f.py").text == "s = 'é'\nt = 1\n"
    (tmp_path / "f.py").write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n")
    assert read_source(tmp_path / "f.py").text == "# -*- coding: latin-1 -*-\ns = 'é'\n"
    assert read_source(tmp_path / "missing.py").data is None


def _deep_solution(root: Path) -> Path:
    folder = build_examples(root, ["solution"]) / "solution"
    with (folder / LSTM_FILE).open("a", encoding="utf-8") as f:
        f.write("\n_DEEP = " + " + ".join(["1"] * DEEP) + "\n")
    return folder


def test_a_deep_but_importable_expression_is_judged(tmp_path):
    """The solution with a sum nested DEEP levels: Python imports it, every part 3 check passes."""
    folder = _deep_solution(tmp_path)
    assert _imports(tmp_path, (folder / LSTM_FILE).read_bytes())
    result = _grade(folder)
    assert result.total == result.max_total, [(c.check, c.status, c.message[:200]) for c in result.checks if c.status != "passed"]
    hidden = "import torch\nh = torch.lstm_cell(x, s)\ny = " + " + ".join(["1"] * 20 * DEEP) + "\n"
    assert [u.line for u in find_uses(hidden, LSTM)] == [2]


def test_what_cannot_be_analysed_fails_only_the_own_work_checks(tmp_path, monkeypatch):
    """Beyond what the analysis can walk (here: a 1 MiB stack), the own-work checks say so and give
    nothing; every other check of the part is graded as usual."""
    folder = _deep_solution(tmp_path)
    monkeypatch.setattr(source_module, "_STACKS", (1 << 20,))
    _references.cache_clear()
    try:
        with pytest.raises(Unjudgeable):
            find_uses(read_source(folder / LSTM_FILE), LSTM)
        result = _grade(folder)
    finally:
        _references.cache_clear()
    failed = {c.check: c for c in result.checks if c.status != "passed"}
    assert set(failed) == set(OWN_WORK_CHECKS), {k: c.message[:200] for k, c in failed.items()}
    for c in failed.values():
        assert c.status == "error" and c.score == 0
        assert "无法分析 part3_lstm.py 的源代码" in c.message and "请联系助教" in c.message, c.message


def test_similarity_reads_the_file_as_import_does(tmp_path):
    """A latin-1 file with its cookie is compared on its decoded text, not dropped as "not text"."""
    import numpy as np

    from autograder.grade.discover import Submission
    from autograder.similarity.compare import fingerprints

    folder = build_examples(tmp_path, ["solution"]) / "solution"
    path = folder / LSTM_FILE
    path.write_bytes(_latin1(path.read_text(encoding="utf-8")))
    prints = fingerprints(Submission("latin1", folder), np.array([], dtype=np.int64))
    assert LSTM_FILE in prints and prints[LSTM_FILE].raw_code.endswith("# café\n")

"""Library delegation is found in the submission's source (never run): aliases, `from` imports,
getattr with a literal, methods assigned from a library class, subclasses; legitimate library
use elsewhere is not flagged, and the solutions are clean."""

from __future__ import annotations

import importlib.util

import pytest

from autograder.delegation import find_uses
from autograder.catalog import suite_files
from autograder.release.stubs import SOLUTIONS

LSTM = ("torch.lstm_cell", "torch._VF.lstm_cell", "torch.nn.LSTMCell", "torch.nn.LSTM")
BLOCKS = ("torchvision.models.resnet.BasicBlock", "torchvision.models.resnet.Bottleneck")


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

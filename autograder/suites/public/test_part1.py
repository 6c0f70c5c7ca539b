"""Public self-checks, part 1. Expectations come from torchvision itself (not the hidden
reference) on inputs different from the hidden suite's."""

from __future__ import annotations

import torch
from torchvision.models import resnet as tv

from autograder.checks import check, expect_close, expect_true, require_ok, tensor
from autograder.suites.inputs import SEEDS, prefixed, randn, randomize_batchnorm

SEED = SEEDS["public"]


@check("part1.projection_shortcut", 1, "projection_shortcut：形状不变返回 None，否则返回模块", visibility="public")
def test_projection_shortcut(worker):
    same = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 4, "out_planes": 4, "stride": 1}))
    expect_true(same.result.get("none") is True, "projection_shortcut(4, 4, 1) 应返回 None")
    diff = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 4, "out_planes": 8, "stride": 2}))
    expect_true(diff.result.get("none") is False, "projection_shortcut(4, 8, 2) 应返回投影模块，而不是 None")


@check("part1.basic_block", 1, "BasicBlock 与 torchvision.models.resnet.BasicBlock 输出一致", visibility="public")
def test_basic_block(worker):
    torch.manual_seed(SEED)
    ref = randomize_batchnorm(tv.BasicBlock(4, 4), SEED).eval()
    x = randn(1, 4, 6, 6, seed=SEED)
    expected = ref(x)
    grad_out = torch.ones_like(expected)
    args = {"cls": "BasicBlock", "inplanes": 4, "planes": 4, "stride": 1, "projection": False}
    r = require_ok(worker.call("part1.block", args, {"x": x, "grad_out": grad_out, **prefixed(ref.state_dict())}))
    expect_close(tensor(r, "out", "BasicBlock.forward(x)"), expected.detach(), "BasicBlock(4, 4).forward(x)",
                 hint="conv1 → bn1 → relu → conv2 → bn2 → 加上 identity → relu。")

"""Hidden checks, part 1: projection shortcut and residual blocks (ResNet)."""

from __future__ import annotations

import torch
from torchvision.models import resnet as tv

from autograder.checks import CheckFailed, check, expect_close, expect_equal, expect_true, require_ok, tensor
from autograder.expect import cached
from autograder.suites.inputs import SEEDS, prefixed, randn, randomize_batchnorm

SEED = SEEDS["hidden"]


def _reference_block(cls: str, inplanes: int, planes: int, stride: int, seed: int):
    block_cls = {"BasicBlock": tv.BasicBlock, "Bottleneck": tv.Bottleneck}[cls]
    out_planes = planes * block_cls.expansion
    downsample = None
    if stride != 1 or inplanes != out_planes:
        downsample = torch.nn.Sequential(tv.conv1x1(inplanes, out_planes, stride), torch.nn.BatchNorm2d(out_planes))
    torch.manual_seed(seed)
    block = block_cls(inplanes, planes, stride, downsample)
    return randomize_batchnorm(block, seed).eval()


def _block_case(worker, cls: str, inplanes: int, planes: int, stride: int, seed: int):
    """Run the student's block on the grader's weights and inputs; return (result, expected)."""
    ref = _reference_block(cls, inplanes, planes, stride, seed)
    x = randn(2, inplanes, 8, 8, seed=seed + 1)

    def compute() -> dict[str, torch.Tensor]:
        xx = x.clone().requires_grad_(True)
        out = ref(xx)
        grad_out = randn(*out.shape, seed=seed + 2)
        out.backward(grad_out)
        return {"out": out, "grad_out": grad_out, "grad.input": xx.grad}

    exp = cached(f"part1.{cls}.{inplanes}.{planes}.{stride}.{seed}", compute)
    tensors = {"x": x, "grad_out": exp["grad_out"], **prefixed(ref.state_dict())}
    args = {"cls": cls, "inplanes": inplanes, "planes": planes, "stride": stride, "projection": ref.downsample is not None}
    return require_ok(worker.call("part1.block", args, tensors)), exp


@check("part1.projection_shortcut_identity", 2, "projection_shortcut 在形状不变时返回 None")
def test_projection_shortcut_none(worker):
    r = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 16, "out_planes": 16, "stride": 1}))
    expect_true(r.result.get("none") is True, "projection_shortcut(16, 16, stride=1) 应返回 None（恒等捷径 identity shortcut）",
                "输入输出形状完全相同时，捷径直接用 x 本身，不需要 1x1 卷积。")


@check("part1.projection_shortcut_layers", 3, "projection_shortcut 是 1x1 卷积 + BatchNorm")
def test_projection_shortcut_layers(worker):
    r = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 8, "out_planes": 16, "stride": 2}))
    if r.result.get("none"):
        raise CheckFailed("projection_shortcut(8, 16, stride=2) 返回了 None，但通道数和空间尺寸都变了，需要投影块 (projection block)")
    kinds = [kind for _, kind in r.result.get("structure", [])]
    expect_equal(kinds, ["Conv2d", "BatchNorm2d"], "projection_shortcut 的子模块",
                 "torchvision 的写法是 nn.Sequential(conv1x1(in, out, stride), nn.BatchNorm2d(out))，BatchNorm 不能少。")
    expect_equal(r.result.get("state_keys"), ["0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight"],
                 "projection_shortcut 的 state_dict 键", "卷积不带 bias (bias=False)，后面接 BatchNorm2d。")


@check("part1.basic_block_identity", 6, "BasicBlock（恒等块）前向输出与 torchvision 一致")
def test_basic_block_identity(worker):
    r, exp = _block_case(worker, "BasicBlock", 16, 16, 1, SEED)
    expect_close(tensor(r, "out", "BasicBlock.forward(x)"), exp["out"], "BasicBlock(16, 16).forward(x)",
                 atol=1e-5, rtol=1e-4, hint="顺序应为 conv1 → bn1 → relu → conv2 → bn2 → out += identity → relu；ReLU 在相加之后。")


@check("part1.basic_block_projection", 5, "BasicBlock（投影块，stride=2）前向输出与 torchvision 一致")
def test_basic_block_projection(worker):
    r, exp = _block_case(worker, "BasicBlock", 8, 16, 2, SEED + 10)
    expect_close(tensor(r, "out", "BasicBlock.forward(x)"), exp["out"], "BasicBlock(8, 16, stride=2).forward(x)",
                 atol=1e-5, rtol=1e-4, hint="形状改变时捷径要先经过 self.downsample(x)（投影块），再与主路径相加。")


@check("part1.basic_block_gradient", 4, "BasicBlock 对输入的梯度与 torchvision 一致（跳跃连接让梯度直接回传）")
def test_basic_block_gradient(worker):
    r, exp = _block_case(worker, "BasicBlock", 16, 16, 1, SEED)
    expect_close(tensor(r, "grad.input", "x.grad"), exp["grad.input"], "BasicBlock 对输入 x 的梯度",
                 atol=1e-5, rtol=1e-4, hint="跳跃连接 (skip connection) 让梯度经 identity 直接流回；不要在 forward 里用 detach() 或原地修改 x。")

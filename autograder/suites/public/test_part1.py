"""Public self-checks, part 1. Expectations come from torch / torchvision themselves (not the hidden
reference) on inputs different from the hidden suite's."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet as tv

from autograder.checks import check, expect_close, expect_equal, expect_true, require_ok, tensor, value
from autograder.runtime.probes.common import skipped_init, torchvision_weights
from autograder.suites.inputs import SEEDS, prefixed, randn, randomize_batchnorm

SEED = SEEDS["public"]
# torchvision's resnet18 drawn from SEED, on import: before a self-check forks its worker, which
# then finds the weights drawn (probes/common.py: torchvision_weights) instead of drawing them again.
RESNET18 = torchvision_weights("resnet18", SEED)


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


@check("part1.bottleneck", 1, "Bottleneck（stride=2 的投影块）与 torchvision.models.resnet.Bottleneck 输出一致", visibility="public")
def test_bottleneck(worker):
    torch.manual_seed(SEED + 1)
    downsample = nn.Sequential(tv.conv1x1(8, 8, 2), nn.BatchNorm2d(8))
    ref = randomize_batchnorm(tv.Bottleneck(8, 2, 2, downsample), SEED + 1).eval()
    x = randn(1, 8, 6, 6, seed=SEED + 1)
    expected = ref(x)
    args = {"cls": "Bottleneck", "inplanes": 8, "planes": 2, "stride": 2, "projection": True}
    r = require_ok(worker.call("part1.block", args, {"x": x, "grad_out": torch.ones_like(expected), **prefixed(ref.state_dict())}))
    expect_close(tensor(r, "out", "Bottleneck.forward(x)"), expected.detach(), "Bottleneck(8, 2, stride=2).forward(x)",
                 hint="1x1 → 3x3（带 stride）→ 1x1（通道 x4），每个卷积后 BatchNorm；加上 self.downsample(x) 之后再 ReLU。")


@check("part1.resnet18", 1, "resnet18() 能严格加载 torchvision.models.resnet18() 的 state_dict 且输出相同", visibility="public")
def test_resnet18(worker):
    with skipped_init():  # every weight comes from RESNET18
        ref = tv.resnet18()
    ref.load_state_dict(RESNET18)
    ref.eval()
    x = randn(1, 3, 32, 32, seed=SEED + 2)
    with torch.no_grad():
        expected = ref(x)
    # The worker draws the same torchvision weights from the same seed (probes/common.py:
    # torchvision_weights) instead of reading 45 MB from its pipe; the expectation stays here.
    r = require_ok(worker.call("part1.resnet", {"arch": "resnet18", "weights_seed": SEED}, {"x": x}, timeout=60))
    expect_true("load_error" not in r.result, f"load_state_dict(strict=True) 失败: {r.result.get('load_error', '')}",
                "检查 _make_layer：只有第一个 block 带 stride，之后 self.inplanes = planes * block.expansion。")
    expect_close(tensor(r, "out", "resnet18()(x)"), expected, "resnet18()(x)", hint="检查 _make_layer 的 block 个数与 stride。")


def _empirical_receptive_field(layers: list[tuple[int, int]], length: int = 256) -> int:
    """Span of the input pixels one output unit depends on, read off autograd through a 1-D stack."""
    convs = nn.Sequential(*(nn.Conv1d(1, 1, k, s, bias=False) for k, s in layers))
    for conv in convs:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, length, requires_grad=True)
    out = convs(x)
    out[0, 0, out.shape[-1] // 2].backward()
    touched = x.grad[0, 0].nonzero().flatten()
    return int(touched.max() - touched.min() + 1)


@check("part1.receptive_field", 1, "receptive_field 与用自动求导量出的感受野一致", visibility="public")
def test_receptive_field(worker):
    stacks = [[(3, 1), (3, 1), (3, 1)], [(3, 2), (3, 1)], [(4, 2), (4, 2)]]
    r = require_ok(worker.call("part1.receptive_field", {"stacks": stacks}))
    expect_equal(value(r, "values", "receptive_field 的结果", list), [_empirical_receptive_field(s) for s in stacks],
                 f"receptive_field 对 {stacks} 的结果", "初始感受野为 1；每层增加 (kernel - 1) * jump，jump 是之前各层 stride 的乘积。")


def _deepnet_state(depth: int, width: int, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    layers = {"stem": nn.Linear(16, width), **{f"layers.{i}": nn.Linear(width, width) for i in range(depth)}, "head": nn.Linear(width, 1)}
    return {f"{name}.{k}": v for name, lin in layers.items() for k, v in lin.state_dict().items()}


def _deepnet_forward(state: dict[str, torch.Tensor], depth: int, x: torch.Tensor, residual: bool) -> torch.Tensor:
    h = nn.functional.linear(x, state["stem.weight"], state["stem.bias"])
    for i in range(depth):
        z = torch.tanh(nn.functional.linear(h, state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]))
        h = h + z if residual else z
    return nn.functional.linear(h, state["head.weight"], state["head.bias"])


@check("part1.deepnet", 1, "DeepNet 的 plain / residual 前向输出正确", visibility="public")
def test_deepnet(worker):
    depth, width = 3, 8
    state = _deepnet_state(depth, width, SEED)
    x = randn(3, 16, seed=SEED + 3)
    for residual in (False, True):
        args = {"depth": depth, "width": width, "residual": residual, "in_features": 16, "out_features": 1}
        r = require_ok(worker.call("part1.deepnet", args, {"x": x, **prefixed(state)}))
        expect_close(tensor(r, "out", "DeepNet.forward(x)"), _deepnet_forward(state, depth, x, residual),
                     f"DeepNet(residual={residual}).forward(x)", hint="plain: h = tanh(layer(h))；residual: h = h + tanh(layer(h))。")


@check("part1.first_layer_grad_norm", 1, "first_layer_grad_norm 等于 autograd 算出的 stem.weight 梯度范数", visibility="public")
def test_first_layer_grad_norm(worker):
    depth, width = 3, 8
    state = _deepnet_state(depth, width, SEED + 4)
    x, y = randn(8, 16, seed=SEED + 5), randn(8, 1, seed=SEED + 6)
    leaves = {k: v.clone().requires_grad_(k == "stem.weight") for k, v in state.items()}
    loss = nn.functional.mse_loss(_deepnet_forward(leaves, depth, x, residual=True), y)
    (grad,) = torch.autograd.grad(loss, leaves["stem.weight"])
    args = {"depth": depth, "width": width, "residual": True, "in_features": 16, "out_features": 1}
    r = require_ok(worker.call("part1.grad_norm", args, {"x": x, "y": y, **prefixed(state)}))
    got = value(r, "first", "first_layer_grad_norm(...)", (int, float))
    expect_close(torch.tensor([float(got)]), grad.norm().reshape(1).detach(), "first_layer_grad_norm(model, x, y)",
                 hint="先 model.zero_grad()，loss = mse_loss(model(x), y)，backward 后取 model.stem.weight.grad.norm().item()。")

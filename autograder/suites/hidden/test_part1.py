"""Hidden checks, part 1: projection shortcut, residual blocks, ResNet assembly, receptive field,
vanishing gradients (22 points)."""

from __future__ import annotations

from functools import lru_cache

import torch

import reference.resnet as ref
from autograder.checks import (
    CheckFailed,
    check,
    expect_at_least,
    expect_close,
    expect_equal,
    expect_own_work,
    expect_state_shapes,
    expect_true,
    require_ok,
    tensor,
    value,
)
from autograder.delegation import Delegation
from autograder.expect import cached
from autograder.suites.inputs import SEEDS, prefixed, randn, randomize_batchnorm
from autograder.threads import one_thread

SEED = SEEDS["hidden"]

# The blocks, the shortcut and the stage assembly are the student's own work: torchvision's
# classes (or their methods) anywhere in part1_resnet.py fail every check of part 1's blocks.
RESIDUAL_BLOCKS = Delegation(
    "projection_shortcut / BasicBlock / Bottleneck / ResNet._make_layer", "part1_resnet.py",
    tuple(f"torchvision.models.{p}{n}" for p in ("", "resnet.")
          for n in ("BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "_resnet")),
    "课程要你自己写出 residual block：不要用 torchvision.models.resnet 里现成的 BasicBlock / Bottleneck / ResNet（类、子类或它们的 forward）。")




# --------------------------------------------------------------------------- blocks


def _reference_block(cls: str, inplanes: int, planes: int, stride: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return randomize_batchnorm(ref.block(cls, inplanes, planes, stride), seed).eval()


def _block_case(worker, cls: str, inplanes: int, planes: int, stride: int, seed: int):
    """Run the student's block on the grader's weights and inputs; return (result, expected)."""
    expect_own_work(worker, RESIDUAL_BLOCKS)
    block = _reference_block(cls, inplanes, planes, stride, seed)
    x = randn(2, inplanes, 8, 8, seed=seed + 1)
    side = -(-8 // stride)  # conv3x3 with padding 1: ceil(H / stride)
    grad_out = randn(2, planes * block.expansion, side, side, seed=seed + 2)  # an input: it goes to the worker

    def compute() -> dict[str, torch.Tensor]:
        with one_thread():
            xx = x.clone().requires_grad_(True)
            out = block(xx)
            out.backward(grad_out)
        return {"out": out, "grad.input": xx.grad}

    exp = cached(f"part1.{cls}.{inplanes}.{planes}.{stride}.{seed}", compute)
    tensors = {"x": x, "grad_out": grad_out, **prefixed(block.state_dict())}
    args = {"cls": cls, "inplanes": inplanes, "planes": planes, "stride": stride, "projection": block.downsample is not None}
    return require_ok(worker.call("part1.block", args, tensors)), exp


@check("part1.projection_shortcut_identity", 1, "projection_shortcut 只在形状不变时返回 None（形状改变时返回投影模块）")
def test_projection_shortcut_none(worker):
    expect_own_work(worker, RESIDUAL_BLOCKS)
    r = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 16, "out_planes": 16, "stride": 1}))
    expect_true(r.result.get("none") is True, "projection_shortcut(16, 16, stride=1) 应返回 None（恒等捷径 identity shortcut）",
                "输入输出形状完全相同时，捷径直接用 x 本身，不需要 1x1 卷积。")
    # `None` is the answer only where the shapes agree: a function that always returns None has
    # decided nothing. Which layers the projection holds is projection_shortcut_layers' business.
    r = require_ok(worker.call("part1.projection_shortcut", {"in_planes": 8, "out_planes": 16, "stride": 2}))
    expect_true(r.result.get("none") is False, "projection_shortcut(8, 16, stride=2) 返回了 None：通道数和 stride 都变了，需要投影块",
                "只有 stride == 1 且 in_planes == out_planes 时才返回 None，其余情况返回 1x1 卷积 + BatchNorm 的投影块。")


# (in_planes, out_planes, stride): the widths change, only the stride changes, only the widths change.
PROJECTIONS = [(8, 16, 2), (16, 16, 2), (8, 16, 1)]


@check("part1.projection_shortcut_layers", 1, "projection_shortcut 在通道数或 stride 改变时是 1x1 卷积（带 stride）+ BatchNorm，输出与 torchvision 一致")
def test_projection_shortcut_layers(worker):
    expect_own_work(worker, RESIDUAL_BLOCKS)
    for k, (cin, cout, stride) in enumerate(PROJECTIONS):
        call = f"projection_shortcut({cin}, {cout}, stride={stride})"
        seed = SEED + 5 + k
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            proj = randomize_batchnorm(ref.projection_shortcut(cin, cout, stride), seed).eval()
        x = randn(2, cin, 8, 8, seed=seed + 1)
        exp = cached(f"part1.projection.{cin}.{cout}.{stride}.{seed}", lambda: {"out": proj(x).detach()})
        grad_out = randn(*exp["out"].shape, seed=seed + 2)
        r = require_ok(worker.call("part1.projection_shortcut", {"in_planes": cin, "out_planes": cout, "stride": stride},
                                   {"x": x, "grad_out": grad_out, **prefixed(proj.state_dict())}))
        if r.result.get("none"):
            raise CheckFailed(f"{call} 返回了 None，但输出形状变了（"
                              + ("stride 不为 1，空间尺寸减半" if stride != 1 else "通道数变了") + "），需要投影块 (projection block)",
                              hint="只有 stride == 1 且 in_planes == out_planes 时才返回 None；两个条件缺一不可。")
        kinds = [kind for _, kind in r.result.get("structure", [])]
        expect_equal(kinds, ["Conv2d", "BatchNorm2d"], f"{call} 的子模块",
                     "torchvision 的写法是 nn.Sequential(conv1x1(in, out, stride), nn.BatchNorm2d(out))，BatchNorm 不能少。")
        expect_equal(r.result.get("state_keys"), ["0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight"],
                     f"{call} 的 state_dict 键", "卷积不带 bias (bias=False)，后面接 BatchNorm2d。")
        expect_close(tensor(r, "out", f"{call}(x)"), exp["out"], f"{call}(x)，x: [2, {cin}, 8, 8]", atol=1e-5, rtol=1e-4,
                     hint="1x1 卷积要带上 stride（conv1x1(in_planes, out_planes, stride)），输出才是 [B, out_planes, H / stride, W / stride]。")


@check("part1.basic_block_identity", 2, "BasicBlock（恒等块）前向输出与 torchvision 一致")
def test_basic_block_identity(worker):
    r, exp = _block_case(worker, "BasicBlock", 16, 16, 1, SEED)
    expect_close(tensor(r, "out", "BasicBlock.forward(x)"), exp["out"], "BasicBlock(16, 16).forward(x)",
                 atol=1e-5, rtol=1e-4, hint="顺序应为 conv1 → bn1 → relu → conv2 → bn2 → out += identity → relu；ReLU 在相加之后。")


@check("part1.basic_block_projection", 1, "BasicBlock（投影块，stride=2）前向输出与 torchvision 一致")
def test_basic_block_projection(worker):
    r, exp = _block_case(worker, "BasicBlock", 8, 16, 2, SEED + 10)
    expect_close(tensor(r, "out", "BasicBlock.forward(x)"), exp["out"], "BasicBlock(8, 16, stride=2).forward(x)",
                 atol=1e-5, rtol=1e-4, hint="形状改变时捷径要先经过 self.downsample(x)（投影块），再与主路径相加。")


@check("part1.basic_block_gradient", 2, "BasicBlock 对输入的梯度与 torchvision 一致（跳跃连接让梯度直接回传）")
def test_basic_block_gradient(worker):
    r, exp = _block_case(worker, "BasicBlock", 16, 16, 1, SEED)
    expect_close(tensor(r, "grad.input", "x.grad"), exp["grad.input"], "BasicBlock 对输入 x 的梯度",
                 atol=1e-5, rtol=1e-4, hint="跳跃连接 (skip connection) 让梯度经 identity 直接流回；不要在 forward 里用 detach() 或原地修改 x。")


@check("part1.bottleneck_structure", 2, "Bottleneck 的结构：expansion=4，层与形状同 torchvision，stride 在 3x3 的 conv2 上")
def test_bottleneck_structure(worker):
    expect_own_work(worker, RESIDUAL_BLOCKS)
    r = require_ok(worker.call("part1.block_layout", {"cls": "Bottleneck", "inplanes": 32, "planes": 16, "stride": 2, "projection": True}))
    expect_equal(r.result.get("expansion"), 4, "Bottleneck.expansion", "bottleneck 的输出通道是 planes * 4：类属性 expansion = 4。")
    block = ref.block("Bottleneck", 32, 16, 2)
    expect_state_shapes(r.result.get("state_shapes"), {k: list(v.shape) for k, v in block.state_dict().items()},
                        "Bottleneck(32, 16, stride=2)",
                        "conv1: 1x1 (inplanes→planes)，conv2: 3x3 (planes→planes)，conv3: 1x1 (planes→planes*4)，每个卷积后一个 BatchNorm2d，名字与 torchvision 相同。")
    strides = {name: [int(s) for s in m.stride] for name, m in block.named_modules() if isinstance(m, torch.nn.Conv2d)}
    expect_equal(r.result.get("conv_strides"), strides, "Bottleneck(32, 16, stride=2) 各卷积的 stride",
                 "ResNet v1.5（torchvision）把 stride 放在中间的 3x3 卷积 conv2 上，而不是第一个 1x1 的 conv1 上。")


@check("part1.bottleneck_identity", 2, "Bottleneck（恒等块）前向输出与 torchvision 一致")
def test_bottleneck_identity(worker):
    r, exp = _block_case(worker, "Bottleneck", 64, 16, 1, SEED + 20)
    expect_close(tensor(r, "out", "Bottleneck.forward(x)"), exp["out"], "Bottleneck(64, 16).forward(x)",
                 atol=1e-5, rtol=1e-4, hint="主路径 conv1-bn1-relu-conv2-bn2-relu-conv3-bn3，bn3 之后先加 identity 再 ReLU。")


@check("part1.bottleneck_projection", 1, "Bottleneck（投影块，stride=2）前向输出与 torchvision 一致")
def test_bottleneck_projection(worker):
    r, exp = _block_case(worker, "Bottleneck", 32, 16, 2, SEED + 30)
    expect_close(tensor(r, "out", "Bottleneck.forward(x)"), exp["out"], "Bottleneck(32, 16, stride=2).forward(x)",
                 atol=1e-5, rtol=1e-4,
                 hint="stride 在 conv2（3x3）上；捷径用 self.downsample(x)（来自 projection_shortcut(inplanes, planes * 4, stride)）。")


# --------------------------------------------------------------------------- ResNet._make_layer


@lru_cache(maxsize=None)  # built once per grading process (~1 s for resnet50), only read afterwards
def _reference_resnet(arch: str, seed: int) -> torch.nn.Module:
    with one_thread():
        torch.manual_seed(seed)
        return randomize_batchnorm(ref.resnet(arch), seed).eval()


def _resnet_case(worker, arch: str, seed: int, hint: str) -> None:
    """The student's `arch()` (its `_make_layer`, torchvision's blocks inside the probe) loads
    torchvision's state_dict with strict=True and reproduces torchvision's output."""
    expect_own_work(worker, RESIDUAL_BLOCKS)
    net = _reference_resnet(arch, seed)
    x = randn(1, 3, 64, 64, seed=seed + 1)

    def compute() -> dict[str, torch.Tensor]:
        with one_thread(), torch.no_grad():
            return {"out": net(x)}

    exp = cached(f"part1.{arch}.{seed}", compute)
    # 100 MB of weights for resnet50, the same for every submission: written once per grading
    # process for sandboxed workers (launch/shared.py); still a generous deadline on a busy machine.
    r = require_ok(worker.call("part1.resnet", {"arch": arch}, {"x": x}, shared=prefixed(net.state_dict()), timeout=90))
    expect_state_shapes(r.result.get("state_shapes"), {k: list(v.shape) for k, v in net.state_dict().items()}, f"{arch}()", hint)
    if "load_error" in r.result:
        raise CheckFailed(f"{arch}().load_state_dict(torchvision 的 state_dict, strict=True) 失败: {r.result['load_error']}", "wrong_shape", hint)
    # Same modules, same ops in the same order on one thread: the outputs are bit-identical.
    expect_close(tensor(r, "out", f"{arch}()(x)"), exp["out"], f"{arch}()(x)，x: [1, 3, 64, 64]",
                 atol=ref.RESNET_ATOL, rtol=0.0, hint=hint)


@check("part1.make_layer_resnet18", 2, "ResNet._make_layer：resnet18 严格加载 torchvision 的 state_dict 且输出完全相同")
def test_make_layer_resnet18(worker):
    _resnet_case(worker, "resnet18", SEED + 40,
                 "只有每个 stage 的第一个 block 带 stride；建完第一个 block 后 self.inplanes = planes * block.expansion；"
                 "block 的个数是 blocks。")


@check("part1.make_layer_resnet50", 1, "ResNet._make_layer：resnet50 严格加载 torchvision 的 state_dict 且输出完全相同")
def test_make_layer_resnet50(worker):
    _resnet_case(worker, "resnet50", SEED + 50,
                 "Bottleneck 的 expansion 是 4：第一个 block 之后 self.inplanes = planes * block.expansion（不是 planes），"
                 "下一个 stage 的输入通道才对得上；只有第一个 block 带 stride。")


# --------------------------------------------------------------------------- receptive field

STACKS = [
    [(3, 1), (3, 1)],
    [(5, 1)],
    [(7, 2), (3, 2)],  # ResNet stem: conv1 + maxpool
    [(7, 2), (3, 2), (3, 1), (3, 1), (3, 1), (3, 1)],  # ... + layer1 of ResNet-18
    [(3, 2), (3, 2), (3, 2), (3, 2)],
    [(1, 2), (3, 1)],  # kernel smaller than stride
    [(2, 2), (2, 2), (3, 1)],
    [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1)],  # AlexNet-like
]


@check("part1.receptive_field_values", 1, "receptive_field 对多种层堆叠的结果与参考一致")
def test_receptive_field_values(worker):
    r = require_ok(worker.call("part1.receptive_field", {"stacks": STACKS}))
    got = value(r, "values", "receptive_field 的结果", list)
    expected = [ref.receptive_field(stack) for stack in STACKS]
    for stack, g, e in zip(STACKS, got, expected):
        expect_equal(g, e, f"receptive_field({stack})",
                     "初始感受野为 1、jump 为 1；每层感受野增加 (kernel - 1) * jump，然后 jump *= stride（先加再乘）。")
    expect_equal(len(got), len(expected), "receptive_field 的结果个数")


BAD_STACKS = [[], [(0, 1)], [(3, 0)], [(3, 1), (2, -1)]]
# Valid stacks of the docstring's kind (stride 1): the errors check needs a function that
# computes a receptive field, not a constant (`return 1` keeps the given checks and earns nothing).
VALID_STACKS = [[(3, 1)], [(3, 1), (3, 1)], [(5, 1)], [(3, 1), (3, 1), (3, 1)]]


@check("part1.receptive_field_errors", 1, "receptive_field 对空列表、kernel < 1 或 stride < 1 抛出 ValueError（对合法输入算出感受野）")
def test_receptive_field_errors(worker):
    r = require_ok(worker.call("part1.receptive_field_errors", {"valid": VALID_STACKS, "bad": BAD_STACKS}))
    valid = value(r, "valid", "receptive_field 对合法输入的结果", list)
    expected = [ref.receptive_field(stack) for stack in VALID_STACKS]
    # Up to a constant: an off-by-one start is receptive_field_values' bug, not this check's.
    expect_true(len(valid) == len(expected) and all(g - valid[0] == e - expected[0] for g, e in zip(valid, expected)),
                f"receptive_field 对合法输入 {VALID_STACKS} 得到 {valid}，没有随层数和 kernel 变化（期望相差与 {expected} 相同）："
                "函数还没有计算感受野，输入检查无从谈起",
                "先实现感受野的计算（每层增加 (kernel - 1) * jump），并保留函数开头给定的输入检查。")
    raised = value(r, "raised", "receptive_field 对错误输入的反应", list)
    for stack, got in zip(BAD_STACKS, raised):
        expect_equal(got, "ValueError", f"receptive_field({stack})",
                     "不要删掉函数开头给定的输入检查：空列表、kernel < 1、stride < 1 都应抛出 ValueError。")
    expect_equal(len(raised), len(BAD_STACKS), "receptive_field 错误输入的结果个数")


# --------------------------------------------------------------------------- vanishing gradients

DEEPNET = {"depth": 5, "width": 12, "in_features": 7, "out_features": 2}


def _deepnet_case(worker, residual: bool) -> None:
    seed = SEED + 60
    params = ref.deep_net_params(DEEPNET["depth"], DEEPNET["width"], seed, DEEPNET["in_features"], DEEPNET["out_features"])
    x = randn(4, DEEPNET["in_features"], seed=seed + 1)
    exp = cached(f"part1.deepnet.{residual}.{seed}", lambda: {"out": ref.deep_net_forward(params, x, residual)})
    r = require_ok(worker.call("part1.deepnet", {**DEEPNET, "residual": residual}, {"x": x, **prefixed(params)}))
    kind = "residual" if residual else "plain"
    hint = ("residual：h = self.stem(x)，每层 h = h + tanh(layer(h))（跳跃连接），最后 self.head(h)。" if residual
            else "plain：h = self.stem(x)（stem 之后不加激活），每层 h = tanh(layer(h))，最后 self.head(h)。")
    expect_close(tensor(r, "out", "DeepNet.forward(x)"), exp["out"], f"DeepNet({DEEPNET['depth']}, {DEEPNET['width']}, residual={residual}).forward(x)（{kind}）",
                 atol=1e-5, rtol=1e-4, hint=hint)


@check("part1.deepnet_plain", 1, "DeepNet（plain）前向输出与参考一致")
def test_deepnet_plain(worker):
    _deepnet_case(worker, residual=False)


@check("part1.deepnet_residual", 1, "DeepNet（residual）前向输出与参考一致")
def test_deepnet_residual(worker):
    _deepnet_case(worker, residual=True)


def _grad_norms(worker, depth: int, width: int, seed: int, batch: int) -> dict[bool, tuple[float, float, float]]:
    """{residual: (student's first call, second call, reference)} on the grader's weights."""
    params = ref.deep_net_params(depth, width, seed)
    x, y = ref.experiment_inputs(seed, batch)
    out = {}
    for residual in (False, True):
        exp = cached(f"part1.grad_norm.{depth}.{width}.{seed}.{batch}.{residual}",
                     lambda: {"norm": torch.tensor(ref.first_layer_grad_norm(params, x, y, residual), dtype=torch.float64)})
        args = {"depth": depth, "width": width, "residual": residual,
                "in_features": ref.DEEPNET_IN_FEATURES, "out_features": ref.DEEPNET_OUT_FEATURES}
        r = require_ok(worker.call("part1.grad_norm", args, {"x": x, "y": y, **prefixed(params)}))
        first = value(r, "first", "first_layer_grad_norm(model, x, y)", (int, float))
        second = value(r, "second", "first_layer_grad_norm(model, x, y)（同一个 model 第二次调用）", (int, float))
        out[residual] = (float(first), float(second), float(exp["norm"]))
    return out


@check("part1.grad_norm_value", 1, "first_layer_grad_norm 的值与参考一致（重复调用结果相同）")
def test_grad_norm_value(worker):
    norms = _grad_norms(worker, depth=4, width=16, seed=SEED + 70, batch=32)
    for residual, (first, second, expected) in norms.items():
        kind = "residual" if residual else "plain"
        expect_close(torch.tensor([first], dtype=torch.float64), torch.tensor([expected], dtype=torch.float64),
                     f"first_layer_grad_norm（{kind}，depth=4）", atol=0.0, rtol=1e-4,
                     hint="loss = nn.functional.mse_loss(model(x), y)（reduction='mean'），返回 model.stem.weight.grad 的 L2 范数。")
        expect_close(torch.tensor([second], dtype=torch.float64), torch.tensor([expected], dtype=torch.float64),
                     f"同一个 model 上第二次调用 first_layer_grad_norm（{kind}）", atol=0.0, rtol=1e-4,
                     hint="backward 之前要先清零旧梯度（model.zero_grad()），否则梯度会累加，第二次调用得到两倍的值。")


@check("part1.grad_norm_vanishing", 2, "depth=30 时 plain 网络第一层梯度比 residual 小几个数量级（梯度消失）")
def test_grad_norm_vanishing(worker):
    norms = _grad_norms(worker, depth=30, width=32, seed=0, batch=64)
    plain, residual = norms[False][0], norms[True][0]
    expect_true(plain > 0 and residual > 0, f"first_layer_grad_norm 应为正数，得到 plain={plain:.3g}、residual={residual:.3g}",
                "返回第一层 model.stem.weight.grad 的范数；梯度为 0 说明没有 backward 或取错了层。")
    expect_at_least(residual / plain, ref.VANISHING_MIN_RATIO_DEPTH30,
                    f"depth=30 时 residual / plain 的第一层梯度范数之比（参考值 {norms[True][2] / norms[False][2]:.3g}）",
                    "要测的是第一层 model.stem 的权重梯度：plain 网络里它经过 30 层 tanh 后几乎消失，残差连接的 \"+1\" 让它保持。")

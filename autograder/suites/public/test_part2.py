"""Public self-checks, part 2. Expectations come from torch / torchvision themselves (not the hidden
reference) on inputs different from the hidden suite's."""

from __future__ import annotations

from functools import cache

import torch
from torch import nn
from torchvision.models import get_model

from autograder.checks import check, expect_close, expect_equal, expect_shape, expect_true, require_ok, tensor, value
from autograder.runtime.probes.common import skipped_init, torchvision_weights
from autograder.suites.inputs import SEEDS, randn

SEED = SEEDS["public"]
# torchvision's resnet18 drawn from SEED, on import: before a self-check forks its worker, which
# then finds the weights drawn (probes/common.py: torchvision_weights) instead of drawing them again.
RESNET18 = torchvision_weights("resnet18", SEED)


@check("part2.truncate_backbone", 1, "truncate_backbone(ResNet-18) 输出 fc 层的输入：展平的 [B, 512] embedding", visibility="public")
def test_truncate_backbone(worker):
    with skipped_init():  # every weight comes from RESNET18
        model = get_model("resnet18", weights=None)
    model.load_state_dict(RESNET18)
    model.eval()
    captured = {}
    hook = model.fc.register_forward_hook(lambda mod, inputs, out: captured.setdefault("embedding", inputs[0].detach()))
    x = randn(2, 3, 32, 32, seed=SEED)
    with torch.no_grad():
        model(x)
    hook.remove()
    # The worker draws the same weights from the same seed instead of reading 45 MB from its pipe.
    r = require_ok(worker.call("part2.truncate", {"arch": "resnet18", "weights_seed": SEED}, {"x": x}, timeout=60))
    got = tensor(r, "embedding", "truncate_backbone(model)(x)")
    expect_shape(got, [2, 512], "truncate_backbone(resnet18)(x)", "只把 model.fc 换成 nn.Identity()，输出是展平的 [B, 512]。")
    expect_close(got, captured["embedding"], "truncate_backbone(resnet18)(x)", hint="embedding 就是原模型 fc 层的输入。")


@check("part2.freeze", 1, "freeze：所有参数 requires_grad=False，且处于 eval 模式", visibility="public")
def test_freeze(worker):
    # Flags and modes only (what forward passes do to the BatchNorm statistics is the hidden suite's
    # business): no pass, so the worker skips MobileNetV2's random init.
    r = require_ok(worker.call("part2.freeze", {"arch": "mobilenet_v2", "passes": 0}))
    flags = value(r, "requires_grad", "requires_grad", dict)
    expect_true(bool(flags) and not any(flags.values()), "freeze 之后仍有参数 requires_grad=True", "对每个参数 requires_grad_(False)。")
    modes = value(r, "training", "training", dict)
    expect_true(not any(modes.values()), "freeze 之后模型仍在 train 模式", "freeze 还要调用 module.eval()。")


@check("part2.make_head", 1, "make_head：一层 Linear，或 Linear → ReLU → Linear", visibility="public")
def test_make_head(worker):
    x = randn(4, 6, seed=SEED + 2)
    for hidden, leaves in ((None, ["Linear"]), (5, ["Linear", "ReLU", "Linear"])):
        r = require_ok(worker.call("part2.make_head", {"in_dim": 6, "num_classes": 2, "hidden": hidden}, {"x": x}))
        expect_equal(value(r, "leaves", "make_head 的层", list), leaves, f"make_head(6, 2, hidden={hidden}) 的层")
        expect_shape(tensor(r, "out", "make_head(...)(x)"), [4, 2], f"make_head(6, 2, hidden={hidden})(x)")


@cache
def _skeleton(arch: str) -> nn.Module:
    """torchvision's `arch` for its parameter names only: built without the random init, ~80 ms of
    MobileNetV2's 85 (on the meta device it costs as much again, through Python decompositions)."""
    with skipped_init():
        return get_model(arch, weights=None)


def _under(arch: str, prefixes: list[str]) -> list[str]:
    """Parameter names under the named submodules, via get_submodule (the module hierarchy)."""
    model = _skeleton(arch)
    return sorted(f"{p}.{n}" for p in prefixes for n, _ in model.get_submodule(p).named_parameters())


@check("part2.unfreeze", 1, "unfreeze 只解冻名字在给定模块之下的参数", visibility="public")
def test_unfreeze(worker):
    prefixes = ["features.18", "classifier"]
    r = require_ok(worker.call("part2.unfreeze", {"arch": "mobilenet_v2", "prefixes": prefixes}))
    expected = _under("mobilenet_v2", prefixes)
    expect_equal(value(r, "returned", "unfreeze 的返回值", list), expected, f"unfreeze(model, {prefixes}) 返回的参数名",
                 "name == prefix 或 name.startswith(prefix + \".\")，结果排好序。")
    expect_equal(value(r, "trainable", "requires_grad=True 的参数", list), expected, f"unfreeze(model, {prefixes}) 之后可训练的参数")


@check("part2.make_optimizer", 1, "make_optimizer 只包含 requires_grad=True 的参数", visibility="public")
def test_make_optimizer(worker):
    trainable = ["features.18"]
    r = require_ok(worker.call("part2.make_optimizer", {"arch": "mobilenet_v2", "trainable": trainable, "lr": 0.01}))
    expected = _under("mobilenet_v2", trainable)
    expect_equal(sorted(value(r, "params", "优化器里的参数", list)), expected, "优化器里的参数",
                 "[p for p in model.parameters() if p.requires_grad]")


@check("part2.watermark_stamp", 1, "stamp_watermark 只给选中的图片在右下角盖 size x size 的方块，不修改输入", visibility="public")
def test_watermark_stamp(worker):
    images = randn(3, 3, 6, 9, seed=SEED + 30)
    which = torch.tensor([True, False, True])
    expected = images.clone()
    expected[0, :, 4:, 7:] = 1.0  # H = 6, W = 9, size = 2: rows 4..5, columns 7..8
    expected[2, :, 4:, 7:] = 1.0
    r = require_ok(worker.call("part2.stamp_watermark", {"cases": [{"size": 2, "value": 1.0}]}, {"images.0": images, "which.0": which}))
    what = "stamp_watermark(images [3, 3, 6, 9], which=[True, False, True], size=2, value=1.0)"
    hint = "out = images.clone()；out[which, :, -size:, -size:] = value。"
    expect_close(tensor(r, "out.0", what), expected, what, atol=0.0, rtol=0.0, hint=hint)
    expect_close(tensor(r, "images_after.0", "调用之后的 images"), images, "调用之后传入的 images（应保持不变）", atol=0.0, rtol=0.0, hint=hint)

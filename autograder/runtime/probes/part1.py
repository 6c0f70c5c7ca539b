"""Probes for part 1 (ResNet blocks, ResNet assembly, receptive field, gradient experiment)."""

from __future__ import annotations

import torch
from torch import nn

from autograder.runtime.probes import Context, Meta, Tensors, probe
from autograder.runtime.probes.common import (
    as_tensor,
    forward_backward,
    patched,
    skipped_init,
    state_from,
    structure,
    torchvision_weights,
)


@probe("part1.projection_shortcut")
def projection_shortcut(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part1")
    sc = m.projection_shortcut(args["in_planes"], args["out_planes"], args["stride"])
    if sc is None:
        return {"none": True, "structure": []}, {}
    if not isinstance(sc, nn.Module):
        raise TypeError(f"projection_shortcut 应返回 nn.Module 或 None，得到 {type(sc).__name__}")
    meta = {"none": False, "structure": structure(sc), "state_keys": sorted(sc.state_dict())}
    if "x" not in tensors:
        return meta, {}
    sc.load_state_dict(state_from(tensors), strict=True)
    sc.eval()
    return meta, forward_backward(sc, tensors["x"], tensors["grad_out"], "projection_shortcut(...)(x)")


def _graders_shortcut(module, use_projection: bool):
    """Blocks are graded apart from `projection_shortcut`: while one is built, the shortcut is
    the one the grader asks for (the layers the docstring names), so a bug in the student's
    `projection_shortcut` costs its own checks only."""

    def shortcut(in_planes: int, out_planes: int, stride: int = 1):
        if not use_projection:
            return None
        return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))

    return patched(module, projection_shortcut=shortcut)


def _student_block(ctx: Context, args: Meta) -> tuple[type, nn.Module]:
    """The student's BasicBlock/Bottleneck class named in `args`, and one built with the grader's shortcut."""
    m = ctx.module("part1")
    cls = {"BasicBlock": m.BasicBlock, "Bottleneck": m.Bottleneck}[args["cls"]]
    with _graders_shortcut(m, bool(args["projection"])):
        return cls, cls(args["inplanes"], args["planes"], args["stride"])


@probe("part1.block")
def block(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """Build the student's BasicBlock/Bottleneck, load the grader's weights, run fwd + bwd."""
    cls, blk = _student_block(ctx, args)
    meta = {
        "expansion": getattr(cls, "expansion", None),
        "structure": structure(blk),
        "state_keys": sorted(blk.state_dict()),
        "state_shapes": {k: list(v.shape) for k, v in blk.state_dict().items()},
    }
    if not args.get("run", True):
        return meta, {}
    blk.load_state_dict(state_from(tensors), strict=True)
    blk.train(bool(args.get("train", False)))
    return meta, forward_backward(blk, tensors["x"], tensors["grad_out"], f"{args['cls']}.forward(x)")


def _conv_strides(module: nn.Module) -> dict[str, list[int]]:
    """Stride of every Conv2d: where a block downsamples (conv1 or conv2) is invisible in shapes."""
    return {name: [int(s) for s in m.stride] for name, m in module.named_modules() if isinstance(m, nn.Conv2d)}


@probe("part1.block_layout")
def block_layout(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """Build the student's block (grader's shortcut) and describe it: no forward."""
    cls, blk = _student_block(ctx, args)
    expansion = getattr(cls, "expansion", None)
    return {
        "expansion": expansion if isinstance(expansion, int) and not isinstance(expansion, bool) else repr(expansion),
        "structure": structure(blk),
        "state_shapes": {k: list(v.shape) for k, v in blk.state_dict().items()},
        "conv_strides": _conv_strides(blk),
    }, {}


def _graders_block(base: type[nn.Module]) -> type[nn.Module]:
    """torchvision's block behind the student's constructor signature `(inplanes, planes, stride)`,
    with the shortcut `ResNet._make_layer` of torchvision would give it."""

    class Block(base):  # type: ignore[misc, valid-type]
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            out_planes = planes * base.expansion
            downsample = None
            if stride != 1 or inplanes != out_planes:
                downsample = nn.Sequential(nn.Conv2d(inplanes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))
            super().__init__(inplanes, planes, stride, downsample)

    Block.__name__ = Block.__qualname__ = base.__name__
    return Block


def _graders_blocks(module):
    """`ResNet._make_layer` is graded apart from the blocks: while a ResNet is built, BasicBlock
    and Bottleneck are torchvision's, so only the way the student stacks them is exercised."""
    from torchvision.models import resnet as tv

    return patched(module, BasicBlock=_graders_block(tv.BasicBlock), Bottleneck=_graders_block(tv.Bottleneck))


@probe("part1.resnet")
def resnet(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The student's resnet18()/resnet50() (its `_make_layer`, torchvision's blocks), loaded
    strictly with the grader's state_dict and run on `x` in eval mode. Built without the random
    init: a strict load replaces every parameter and buffer, and only shapes are read before it.
    The state_dict comes with the request, or (`weights_seed`, the public checks) is torchvision's
    own `arch` drawn from that seed here."""
    m = ctx.module("part1")
    builder = {"resnet18": m.resnet18, "resnet34": m.resnet34, "resnet50": m.resnet50}[args["arch"]]
    with _graders_blocks(m), skipped_init():
        net = builder()
    if not isinstance(net, nn.Module):
        raise TypeError(f"{args['arch']}() 应返回 nn.Module，得到 {type(net).__name__}")
    meta: Meta = {"state_shapes": {k: list(v.shape) for k, v in net.state_dict().items()}}
    seed = args.get("weights_seed")
    state = torchvision_weights(args["arch"], int(seed)) if seed is not None else state_from(tensors)
    if not state:
        return meta, {}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        meta["load_error"] = str(exc)[:1500]
        return meta, {}
    net.eval()
    with torch.no_grad():
        out = as_tensor(net(tensors["x"]), f"{args['arch']}()(x)")
    return meta, {"out": out}


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, torch.Tensor):
            raise TypeError(f"{what} 应返回 Python int，得到 torch.Tensor（用 .item() 或 int(...)）")
        raise TypeError(f"{what} 应返回 int，得到 {type(value).__name__}")
    return value


def _stack(layers: list) -> list[tuple]:
    """JSON lists back into the `(kernel, stride)` tuples of the docstring (values untouched)."""
    return [tuple(layer) for layer in layers]


@probe("part1.receptive_field")
def receptive_field(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part1")
    values = []
    for layers in args["stacks"]:
        values.append(_as_int(m.receptive_field(_stack(layers)), f"receptive_field({_stack(layers)})"))
    return {"values": values}, {}


@probe("part1.receptive_field_errors")
def receptive_field_errors(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The valid stacks first (they must work; their values come back), then the bad inputs: which
    exception each raised."""
    m = ctx.module("part1")
    valid = [_as_int(m.receptive_field(_stack(layers)), f"receptive_field({_stack(layers)})") for layers in args["valid"]]
    raised = []
    for layers in args["bad"]:
        try:
            got = m.receptive_field(_stack(layers))
        except ValueError:
            raised.append("ValueError")
        else:
            raised.append(f"returned {got!r}"[:100])
    return {"valid": valid, "raised": raised}, {}


def _deep_net(m, args: Meta):
    return m.DeepNet(int(args["depth"]), int(args["width"]), bool(args["residual"]),
                     in_features=int(args["in_features"]), out_features=int(args["out_features"]))


@probe("part1.deepnet")
def deepnet(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The student's DeepNet with the grader's weights: forward on x."""
    m = ctx.module("part1")
    net = _deep_net(m, args)
    net.load_state_dict(state_from(tensors), strict=True)
    with torch.no_grad():
        out = as_tensor(net(tensors["x"]), "DeepNet.forward(x)")
    return {}, {"out": out}


class _GradersDeepNet(nn.Module):
    """DeepNet with a known-good forward (same attribute names), so `first_layer_grad_norm` is
    graded apart from `DeepNet.forward`."""

    def __init__(self, depth: int, width: int, residual: bool, in_features: int, out_features: int) -> None:
        super().__init__()
        self.residual = residual
        self.stem = nn.Linear(in_features, width)
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.head = nn.Linear(width, out_features)
        self.act = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.layers:
            z = torch.tanh(layer(h))
            h = h + z if self.residual else z
        return self.head(h)


def _as_float(value: object, what: str) -> float:
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{what} 应返回 Python float，得到 torch.Tensor（用 .item()）")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} 应返回 float，得到 {type(value).__name__}")
    return float(value)


@probe("part1.grad_norm")
def grad_norm(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`first_layer_grad_norm` on the grader's network, called twice on the same model (the
    second call shows whether old gradients were cleared)."""
    m = ctx.module("part1")
    net = _GradersDeepNet(int(args["depth"]), int(args["width"]), bool(args["residual"]),
                          int(args["in_features"]), int(args["out_features"]))
    net.load_state_dict(state_from(tensors), strict=True)
    what = "first_layer_grad_norm(model, x, y)"
    first = _as_float(m.first_layer_grad_norm(net, tensors["x"], tensors["y"]), what)
    second = _as_float(m.first_layer_grad_norm(net, tensors["x"], tensors["y"]), what)
    return {"first": first, "second": second}, {}

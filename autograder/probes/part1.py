"""Probes for part 1 (ResNet blocks, ResNet assembly, receptive field, gradient experiment)."""

from __future__ import annotations

from contextlib import contextmanager

from torch import nn

from autograder.probes import Context, Meta, Tensors, probe
from autograder.probes.common import forward_backward, state_from, structure


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


@contextmanager
def _graders_shortcut(module, use_projection: bool):
    """Blocks are graded apart from `projection_shortcut`: while one is built, the shortcut is
    the one the grader asks for (the layers the docstring names), so a bug in the student's
    `projection_shortcut` costs its own checks only."""

    def shortcut(in_planes: int, out_planes: int, stride: int = 1):
        if not use_projection:
            return None
        return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))

    original = getattr(module, "projection_shortcut", None)
    module.projection_shortcut = shortcut
    try:
        yield
    finally:
        module.projection_shortcut = original


@probe("part1.block")
def block(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """Build the student's BasicBlock/Bottleneck, load the grader's weights, run fwd + bwd."""
    m = ctx.module("part1")
    cls = {"BasicBlock": m.BasicBlock, "Bottleneck": m.Bottleneck}[args["cls"]]
    with _graders_shortcut(m, bool(args["projection"])):
        blk = cls(args["inplanes"], args["planes"], args["stride"])
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

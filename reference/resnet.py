"""Trusted reference for part 1: ResNet blocks, ResNets, receptive field, vanishing gradients.

Independent of `solutions/`:
- blocks and models are torchvision's own (`torchvision.models.resnet`), the shortcut built with
  the exact construction of `ResNet._make_layer`;
- the receptive field uses the backward recursion r_{l-1} = s_l * r_l + (k_l - s_l) from the output
  unit down to the input, not the forward "jump" accumulation;
- the deep-net experiment is a functional forward (`F.linear`, `torch.tanh`) over a plain dict of
  weights, differentiated with `torch.autograd.grad`. The weights are drawn exactly as the
  student-facing `DeepNet` draws them (nn.Linear default init, in the order stem, layers, head, under
  `torch.manual_seed(seed)`), so the two can be compared value for value.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import resnet as tv

BLOCKS: dict[str, type[nn.Module]] = {"BasicBlock": tv.BasicBlock, "Bottleneck": tv.Bottleneck}
MODELS = {"resnet18": tv.resnet18, "resnet34": tv.resnet34, "resnet50": tv.resnet50}
EMBEDDING_DIM = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}

# Architecture constants of the gradient experiment (must match solutions' DeepNet defaults).
DEEPNET_IN_FEATURES = 16
DEEPNET_OUT_FEATURES = 1
# The plain net's first-layer gradient must be at least this many times smaller than the residual
# one at depth >= 30 (measured: ~3e8 at depth 30, ~4e11 at 40, ~2e14 at 50; width 32, seed 0).
VANISHING_MIN_RATIO_DEPTH30 = 1e4

# Forward of the student's ResNets loaded with torchvision's weights: same ops in the same order,
# so the outputs are bit-identical on CPU (measured with torch.equal).
RESNET_ATOL = 0.0


def projection_shortcut(in_planes: int, out_planes: int, stride: int = 1) -> nn.Module | None:
    """The downsample torchvision's `_make_layer` builds for the first block of a stage."""
    if stride != 1 or in_planes != out_planes:
        return nn.Sequential(tv.conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))
    return None


def block(cls: str, inplanes: int, planes: int, stride: int = 1) -> nn.Module:
    """torchvision's BasicBlock / Bottleneck with its `_make_layer` shortcut."""
    block_cls = BLOCKS[cls]
    return block_cls(inplanes, planes, stride, projection_shortcut(inplanes, planes * block_cls.expansion, stride))


def resnet(name: str, num_classes: int = 1000) -> nn.Module:
    """torchvision's resnet18 / resnet34 / resnet50, random init."""
    return MODELS[name](weights=None, num_classes=num_classes)


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field (input pixels) of one output unit of a stack of (kernel, stride) layers."""
    if len(layers) == 0:
        raise ValueError("empty layer list")
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(f"bad layer ({kernel}, {stride})")
    r = 1
    for kernel, stride in reversed(list(layers)):
        r = stride * r + (kernel - stride)
    return r


# --------------------------------------------------------------------------- vanishing gradients


def deep_net_params(
    depth: int, width: int, seed: int, in_features: int = DEEPNET_IN_FEATURES, out_features: int = DEEPNET_OUT_FEATURES
) -> dict[str, Tensor]:
    """A DeepNet state dict (keys stem.*, layers.{i}.*, head.*) drawn as `DeepNet` draws it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        shapes = [("stem", in_features, width)] + [(f"layers.{i}", width, width) for i in range(depth)]
        shapes.append(("head", width, out_features))
        params: dict[str, Tensor] = {}
        for name, fan_in, fan_out in shapes:
            lin = nn.Linear(fan_in, fan_out)
            params[f"{name}.weight"] = lin.weight.detach().clone()
            params[f"{name}.bias"] = lin.bias.detach().clone()
    return params


def deep_net_forward(params: dict[str, Tensor], x: Tensor, residual: bool) -> Tensor:
    depth = sum(1 for k in params if k.startswith("layers.") and k.endswith(".weight"))
    h = F.linear(x, params["stem.weight"], params["stem.bias"])
    for i in range(depth):
        z = torch.tanh(F.linear(h, params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]))
        h = h + z if residual else z
    return F.linear(h, params["head.weight"], params["head.bias"])


def first_layer_grad_norm(params: dict[str, Tensor], x: Tensor, y: Tensor, residual: bool) -> float:
    """L2 norm of d mean((f(x) - y)^2) / d stem.weight."""
    leaves = {k: v.detach().clone().requires_grad_(k == "stem.weight") for k, v in params.items()}
    loss = ((deep_net_forward(leaves, x, residual) - y) ** 2).mean()
    (grad,) = torch.autograd.grad(loss, leaves["stem.weight"])
    return torch.linalg.vector_norm(grad).item()


def experiment_inputs(seed: int, batch_size: int = 64) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, DEEPNET_IN_FEATURES, generator=gen)
    y = torch.randn(batch_size, DEEPNET_OUT_FEATURES, generator=gen)
    return x, y


def gradient_norm_experiment(depths: Sequence[int], width: int = 32, seed: int = 0, batch_size: int = 64) -> dict[str, list]:
    x, y = experiment_inputs(seed, batch_size)
    out: dict[str, list] = {"depths": list(depths), "plain": [], "residual": []}
    for depth in depths:
        params = deep_net_params(depth, width, seed)
        out["plain"].append(first_layer_grad_norm(params, x, y, residual=False))
        out["residual"].append(first_layer_grad_norm(params, x, y, residual=True))
    return out

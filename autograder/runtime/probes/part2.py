"""Probes for part 2 (transfer learning: truncation, freezing, head, features, optimizer, unfreeze).

Models are torchvision's own (`weights=None`, built here) or a small grader-defined CNN; their
weights, when they matter, come from the grader. Each probe calls one student function and
hands every other step to the grader's own code, so a bug costs the checks of its function only.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

import torch
from torch import nn

from autograder.runtime.probes import Context, Meta, Tensors, probe
from autograder.runtime.probes.common import as_tensor, patched, skipped_init, state_from, torchvision_weights


ARCHS = ("resnet18", "mobilenet_v2")


@cache
def _initial_state(arch: str) -> Tensors:
    """The weights of torchvision's `arch` built right after `torch.manual_seed(0)`, computed once
    per process (the fork server computes them before it forks any worker: `warm`). Only read:
    `load_state_dict` copies them into each model."""
    from torchvision.models import get_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return {k: v.detach() for k, v in get_model(arch, weights=None).state_dict().items()}


def warm() -> None:
    """What every part 2 worker would otherwise compute for itself (probes/__init__.py: warm_all)."""
    _initial_state("mobilenet_v2")


def build_model(arch: str, state: Tensors | None = None, *, initial: bool = True) -> nn.Module:
    """A fresh torchvision `arch` with the weights of `state` (loaded strictly), else with
    `initial` the random weights `get_model` gives after `torch.manual_seed(0)`, else zero weights
    (BatchNorm statistics as torch sets them) for a caller that never reads them.

    Built without torch.nn.init's fills, then filled: the same model as a seeded `get_model`
    (every parameter and buffer comes from a state_dict) at a fraction of the cost; the random
    init is what a build costs (MobileNetV2 75 ms of 80, built up to 7 times per submission). The
    global RNG is left as it was, as before."""
    from torchvision.models import get_model

    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}")
    with skipped_init():
        model = get_model(arch, weights=None)
    if state is not None or initial:
        model.load_state_dict(_initial_state(arch) if state is None else state, strict=True)
    else:  # never the uninitialised memory: whatever reaches a message is the same on every run
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    return model


def small_backbone(flatten: bool = True) -> nn.Module:
    """A tiny frozen-backbone stand-in with BatchNorm: images [N, 3, H, W] -> [N, 16], or without
    the final Flatten [N, 16, 1, 1] (as a torchvision body ending in its avgpool gives)."""
    layers = [
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
    ]
    return nn.Sequential(*layers, *([nn.Flatten()] if flatten else []))


def bn_buffers(model: nn.Module) -> Tensors:
    return {
        f"{mod_name}.{buf_name}": buf.detach().clone()
        for mod_name, mod in model.named_modules()
        if isinstance(mod, nn.modules.batchnorm._BatchNorm)
        for buf_name, buf in mod.named_buffers(recurse=False)
    }


def _module(value: object, what: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"{what} 应返回 nn.Module，得到 {type(value).__name__}")
    return value


def _frozen_except(model: nn.Module, prefixes: list[str]) -> nn.Module:
    """The grader's own freeze + unfreeze (module-level prefix match)."""
    for name, param in model.named_parameters():
        param.requires_grad_(any(name == p or name.startswith(p + ".") for p in prefixes))
    return model


def _graders_make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)


def _graders_optimizer(module) -> AbstractContextManager[None]:
    """`train_head` is graded apart from `make_optimizer`: while it runs, the optimizer is the
    grader's (Adam over the trainable parameters, as the docstring asks)."""
    return patched(module, make_optimizer=_graders_make_optimizer)


@probe("part2.truncate")
def truncate(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """truncate_backbone on torchvision's model with the grader's weights (sent, or with
    `weights_seed`, the public check's, torchvision's own drawn from that seed here): the
    backbone's output on x, and the original model's output afterwards (it must still be the
    classifier)."""
    m = ctx.module("part2")
    seed = args.get("weights_seed")
    model = build_model(args["arch"], torchvision_weights(args["arch"], int(seed)) if seed is not None else state_from(tensors))
    model.eval()
    backbone = _module(m.truncate_backbone(model), "truncate_backbone(model)")
    backbone.eval()
    with torch.no_grad():
        embedding = as_tensor(backbone(tensors["x"]), "truncate_backbone(model)(x)")
        model.eval()
        original = as_tensor(model(tensors["x"]), "原模型 model(x)")
    return {"same_object": backbone is model}, {"embedding": embedding, "original": original}


class _Layout(nn.Module):
    """A small model with the attributes of one classifier layout (`fc`, `classifier`, neither)."""

    def __init__(self, layout: str) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        head = {
            "classifier_linear": lambda: nn.Linear(6, 4),  # densenet-style: the classifier is the Linear
            "classifier_no_linear": lambda: nn.Sequential(nn.Dropout(0.2), nn.ReLU()),  # nothing to remove
            "classifier_sequential_of_one": lambda: nn.Sequential(nn.Linear(6, 4)),
            "classifier_empty": lambda: nn.Sequential(),
            "classifier_module_list": lambda: nn.ModuleList([nn.Linear(6, 4)]),  # not a Sequential: unsupported
            "fc_not_linear": lambda: nn.Sequential(nn.Linear(6, 4), nn.ReLU()),
        }
        if layout in ("fc_not_linear",):
            self.fc = head[layout]()
        elif layout in head:
            self.classifier = head[layout]()
        self.layout = layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        for name in ("fc", "classifier"):
            if hasattr(self, name):
                x = getattr(self, name)(x)
        return x


@probe("part2.truncate_layouts")
def truncate_layouts(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """truncate_backbone on small models of other layouts: what it raises, or the embedding."""
    m = ctx.module("part2")
    raised: dict[str, str | None] = {}
    out: Tensors = {}
    for layout in args["layouts"]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = _Layout(layout).eval()
        try:
            backbone = _module(m.truncate_backbone(model), "truncate_backbone(model)")
        except NotImplementedError:
            raise  # "not implemented" feedback, as every other probe gives
        except Exception as exc:  # the check grades which exception, if any
            raised[layout] = type(exc).__name__
            continue
        raised[layout] = None
        with torch.no_grad():
            out[f"embedding.{layout}"] = as_tensor(backbone.eval()(tensors["x"]), "truncate_backbone(model)(x)")
    return {"raised": raised}, out


@probe("part2.freeze")
def freeze(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """freeze on a fresh (train-mode) model, then forward passes: flags, modes, BN buffers. The
    weights matter only to what the passes do to the BN buffers: with no pass, they are zero."""
    m = ctx.module("part2")
    passes = int(args.get("passes", 2))
    model = build_model(args["arch"], initial=passes > 0)
    model.train()
    before = bn_buffers(model)
    frozen = _module(m.freeze(model), "freeze(model)")
    meta = {
        "requires_grad": {name: bool(p.requires_grad) for name, p in frozen.named_parameters()},
        "training": {name or "<model>": bool(mod.training) for name, mod in frozen.named_modules()},
    }
    with torch.no_grad():
        for _ in range(passes):
            frozen(tensors["x"])
    after = bn_buffers(frozen)
    return meta, {**{f"before.{k}": v for k, v in before.items()}, **{f"after.{k}": v for k, v in after.items()}}


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [mod for mod in module.modules() if not list(mod.children())]


@probe("part2.make_head")
def make_head(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The head's leaf layers, the Linear weights in order, and its output on x."""
    m = ctx.module("part2")
    head = _module(m.make_head(args["in_dim"], args["num_classes"], args.get("hidden")), "make_head(...)")
    leaves = _leaves(head)
    linears = [mod for mod in leaves if isinstance(mod, nn.Linear)]
    out: Tensors = {}
    for i, lin in enumerate(linears):
        out[f"linear.{i}.weight"] = lin.weight
        if lin.bias is not None:
            out[f"linear.{i}.bias"] = lin.bias
    head.eval()
    with torch.no_grad():
        out["out"] = as_tensor(head(tensors["x"]), "make_head(...)(x)")
    return {"leaves": [type(mod).__name__ for mod in leaves]}, out


@probe("part2.extract_features")
def extract_features(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """extract_features on the grader's small backbone (with or without its final Flatten), handed
    over in train mode."""
    m = ctx.module("part2")
    backbone = small_backbone(flatten=bool(args.get("flatten", True)))
    backbone.load_state_dict(state_from(tensors), strict=True)
    backbone.train()
    before = bn_buffers(backbone)
    feats = as_tensor(m.extract_features(backbone, tensors["images"], batch_size=int(args["batch_size"])), "extract_features(...)")
    after = bn_buffers(backbone)
    meta = {
        "requires_grad": bool(feats.requires_grad),
        "has_grad_fn": feats.grad_fn is not None,
        "training_after": bool(backbone.training),
    }
    return meta, {
        "features": feats,
        **{f"before.{k}": v for k, v in before.items()},
        **{f"after.{k}": v for k, v in after.items()},
    }


@probe("part2.make_optimizer")
def make_optimizer(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """make_optimizer on a model the grader froze except `trainable`: what the optimizer holds (names
    and learning rates: the weights play no part, so they are zero)."""
    m = ctx.module("part2")
    model = _frozen_except(build_model(args["arch"], initial=False), list(args["trainable"]))
    opt = m.make_optimizer(model, float(args["lr"]))
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"make_optimizer(...) 应返回 torch.optim.Optimizer，得到 {type(opt).__name__}")
    names = {id(p): name for name, p in model.named_parameters()}
    held = [names.get(id(p), "<不属于 model 的张量>") for group in opt.param_groups for p in group["params"]]
    return {"class": type(opt).__name__, "params": held, "lrs": [float(g.get("lr", float("nan"))) for g in opt.param_groups]}, {}


def _losses(value: object) -> list[float]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"train_head(...) 应返回 float 列表，得到 {type(value).__name__}")
    out = []
    for v in value:
        if isinstance(v, torch.Tensor):
            raise TypeError("train_head(...) 应返回 Python float 的列表，得到 torch.Tensor 元素（用 loss.item()）")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"train_head(...) 的列表元素应为 float，得到 {type(v).__name__}")
        out.append(float(v))
    return out


def dropout_head(in_dim: int, hidden: int, num_classes: int, p: float) -> nn.Module:
    """A head with Dropout, so whether train_head trains in train mode shows in its losses."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, num_classes))


@probe("part2.train_head")
def train_head(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """train_head on the grader's head (the grader's optimizer): losses and final weights. The head
    is a Linear, or (`dropout`) a Linear-ReLU-Dropout-Linear handed over in eval mode, with the
    global RNG (Dropout's) seeded with `rng_seed` right before the call."""
    m = ctx.module("part2")
    if args.get("dropout") is not None:
        head = dropout_head(int(args["in_dim"]), int(args["hidden"]), int(args["num_classes"]), float(args["dropout"]))
    else:
        head = nn.Linear(int(args["in_dim"]), int(args["num_classes"]))
    head.load_state_dict(state_from(tensors), strict=True)
    if args.get("eval_first"):
        head.eval()
    if args.get("rng_seed") is not None:
        torch.manual_seed(int(args["rng_seed"]))
    with _graders_optimizer(m):
        losses = _losses(m.train_head(head, tensors["features"], tensors["labels"], epochs=int(args["epochs"]),
                                      lr=float(args["lr"]), batch_size=int(args["batch_size"]), seed=int(args["seed"])))
    return {"losses": losses}, {f"trained.{k}": v for k, v in head.state_dict().items()}


@probe("part2.fit_predict")
def fit_predict(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """make_head + train_head (defaults) on the grader's training features; predicted classes of
    the test features. The test labels stay with the grader."""
    m = ctx.module("part2")
    train_x, train_y, test_x = tensors["train_features"], tensors["train_labels"], tensors["test_features"]
    torch.manual_seed(int(args["seed"]))
    head = _module(m.make_head(train_x.shape[1], int(args["num_classes"]), args.get("hidden")), "make_head(...)")
    with _graders_optimizer(m):
        _losses(m.train_head(head, train_x, train_y, seed=int(args["seed"])))
    head.eval()
    with torch.no_grad():
        logits = as_tensor(head(test_x), "head(test_features)")
    if logits.dim() != 2 or logits.shape[0] != test_x.shape[0]:
        raise ValueError(f"任务头的输出应为 [N, num_classes]，得到 {list(logits.shape)}")
    return {}, {"predictions": logits.argmax(dim=1)}


def _names(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"unfreeze(...) 应返回参数名 (str) 的列表，得到 {type(value).__name__}")
    return list(value)


def _trainable(model: nn.Module) -> list[str]:
    return sorted(name for name, p in model.named_parameters() if p.requires_grad)


@probe("part2.unfreeze")
def unfreeze(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """unfreeze on a model the grader froze: the names returned and those actually trainable (the
    weights play no part, so they are zero)."""
    m = ctx.module("part2")
    model = _frozen_except(build_model(args["arch"], initial=False), [])
    returned = _names(m.unfreeze(model, list(args["prefixes"])))
    return {"returned": returned, "trainable": _trainable(model)}, {}


@probe("part2.unfreeze_errors")
def unfreeze_errors(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """One valid call first (it must work: what it returned and unfroze come back), then each bad
    prefix list on a freshly frozen model: the exception raised and what became trainable anyway."""
    m = ctx.module("part2")
    model = _frozen_except(build_model(args["arch"], initial=False), [])
    valid = {"returned": _names(m.unfreeze(model, list(args["valid"]))), "trainable": _trainable(model)}
    outcomes = []
    for prefixes in args["bad"]:
        model = _frozen_except(build_model(args["arch"], initial=False), [])
        try:
            got = m.unfreeze(model, list(prefixes))
        except ValueError:
            raised = "ValueError"
        else:
            raised = f"returned {got!r}"[:200]
        outcomes.append({"raised": raised, "trainable": _trainable(model)})
    return {"valid": valid, "outcomes": outcomes}, {}


@probe("part2.stamp_watermark")
def stamp_watermark(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`stamp_watermark(images.<k>, which.<k> or None, size, value)` for each case in `args["cases"]`;
    returns the output and the input tensor as it is after the call (the grader compares it with
    what it sent)."""
    m = ctx.module("part2")
    out: Tensors = {}
    for k, case in enumerate(args["cases"]):
        images = tensors[f"images.{k}"].clone()
        which = tensors[f"which.{k}"].clone() if f"which.{k}" in tensors else None
        what = f"stamp_watermark(images {list(images.shape)}, which, size={case['size']}, value={case['value']})"
        out[f"out.{k}"] = as_tensor(m.stamp_watermark(images, which, size=int(case["size"]), value=float(case["value"])), what)
        out[f"images_after.{k}"] = images
    return {}, out

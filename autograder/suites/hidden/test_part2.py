"""Hidden checks, part 2: transfer learning — truncation, freezing, task head, feature extraction,
optimizer, head training, unfreezing, the lfw_subset accuracy of a frozen MobileNetV2, and the
watermark of the shortcut-learning experiment (24 points)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import get_model

import reference.transfer as ref
from autograder.checks import (
    check,
    expect_at_least,
    expect_close,
    expect_equal,
    expect_shape,
    expect_true,
    require_ok,
    tensor,
    value,
)
from autograder.expect import cached, cached_inputs
from autograder.runtime.probes.part2 import dropout_head, small_backbone
from autograder.runtime.wire import ProbeResult
from autograder.suites.inputs import SEEDS, generator, prefixed, randn, randomize_batchnorm
from autograder.threads import one_thread

SEED = SEEDS["hidden"]
T = TypeVar("T")




_memo: "weakref.WeakKeyDictionary[object, dict[str, Any]]" = weakref.WeakKeyDictionary()


def _once(worker, key: str, call: Callable[[], T]) -> T:
    """One probe run per worker for checks that read different parts of the same result."""
    results = _memo.setdefault(worker, {})
    if key not in results:
        results[key] = call()
    return results[key]


def _expect_names(got: list, expected: list[str], what: str, hint: str) -> None:
    extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
    expect_true(not extra and not missing and len(got) == len(expected),
                f"{what}: 期望 {len(expected)} 个参数名，得到 {len(got)} 个"
                + (f"；多了 {len(extra)} 个（例如 {', '.join(map(str, extra[:3]))}）" if extra else "")
                + (f"；少了 {len(missing)} 个（例如 {', '.join(missing[:3])}）" if missing else ""), hint)


# --------------------------------------------------------------------------- truncate_backbone


@lru_cache(maxsize=None)  # built once per grading process (~1 s each), only read afterwards
def _calibrated_model(arch: str, seed: int) -> nn.Module:
    """torchvision's `arch` (random init) whose BatchNorm running statistics are those of a random
    batch: with the initial statistics a random MobileNetV2's features shrink to ~1e-9 and every
    image looks alike, so a comparison would not see a wrong embedding."""
    with one_thread():
        torch.manual_seed(seed)
        model = get_model(arch, weights=None)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: one batch gives exactly its statistics
        model.train()
        with torch.no_grad():
            model(randn(8, 3, 64, 64, seed=seed + 1))
        for bn in bns:
            bn.momentum = 0.1
    return model.eval()


def _truncate_case(worker, arch: str, seed: int) -> tuple[ProbeResult, dict[str, torch.Tensor]]:
    def run() -> tuple[ProbeResult, dict[str, torch.Tensor]]:
        model = _calibrated_model(arch, seed)
        x = randn(2, 3, 64, 64, seed=seed + 2)

        def compute() -> dict[str, torch.Tensor]:
            with one_thread(), torch.no_grad():
                return {"embedding": ref.truncate_backbone(model).eval()(x), "original": model(x)}

        exp = cached(f"part2.truncate.{arch}.{seed}", compute)
        return worker.call("part2.truncate", {"arch": arch}, {"x": x}, shared=prefixed(model.state_dict()), timeout=60), exp

    return _once(worker, f"truncate.{arch}.{seed}", run)


def _check_embedding(worker, arch: str, seed: int, hint: str) -> None:
    r, exp = _truncate_case(worker, arch, seed)
    r = require_ok(r)
    dim = ref.EMBEDDING_DIM[arch]
    got = tensor(r, "embedding", "truncate_backbone(model)(x)")
    expect_shape(got, [2, dim], f"truncate_backbone({arch})(x)，x: [2, 3, 64, 64]",
                 f"backbone 应输出展平的 embedding [B, {dim}]：只替换最后的分类层，不要去掉 avgpool/flatten。")
    # The same layers run either way; the tolerance admits an equivalent route to the pooled
    # embedding (e.g. x.mean((2, 3)) instead of AdaptiveAvgPool2d), which sums in another order.
    expect_close(got, exp["embedding"], f"truncate_backbone({arch})(x)", atol=1e-5, rtol=1e-4, hint=hint)


@check("part2.truncate_resnet18", 1, "truncate_backbone(ResNet-18) 输出展平的 [B, 512] embedding，与参考一致")
def test_truncate_resnet18(worker):
    _check_embedding(worker, "resnet18", SEED, "ResNet 的分类层是 model.fc：把它换成 nn.Identity()，其余层（包括 avgpool 与 flatten）保持不变。")


@check("part2.truncate_mobilenet", 1, "truncate_backbone(MobileNetV2) 输出展平的 [B, 1280] embedding，与参考一致")
def test_truncate_mobilenet(worker):
    _check_embedding(worker, "mobilenet_v2", SEED + 1,
                     "MobileNetV2 的分类层是 model.classifier[-1]（classifier 是 Dropout + Linear 的 nn.Sequential）：只把这个 Linear 换成 nn.Identity()。")


@check("part2.truncate_keeps_original", 1, "truncate_backbone 返回去掉分类层的副本，不修改传入的模型（原模型仍输出 1000 类 logits）")
def test_truncate_keeps_original(worker):
    r, exp = _truncate_case(worker, "mobilenet_v2", SEED + 1)
    r = require_ok(r)
    hint = "先 backbone = copy.deepcopy(model)，在副本上替换分类层并返回副本；原模型之后还可能要用。"
    # Leaving the model alone is a merit only in a function that truncated something: the same
    # call's backbone must give the embedding (an untouched copy of the model earns nothing).
    expect_close(tensor(r, "embedding", "truncate_backbone(model)(x)"), exp["embedding"],
                 "truncate_backbone(mobilenet_v2)(x)（先要真的去掉分类层，才谈得上不修改原模型）", atol=1e-5, rtol=1e-4,
                 hint="在副本上把 classifier[-1] 换成 nn.Identity()，返回这个副本。")
    expect_true(r.result.get("same_object") is False, "truncate_backbone(model) 返回了传入的 model 本身（原地修改了原模型）", hint,
                kind="modified_input")
    expect_close(tensor(r, "original", "model(x)"), exp["original"], "truncate_backbone 之后原模型 model(x) 的输出",
                 atol=1e-5, rtol=1e-4, hint=hint, kind="modified_input")


LAYOUTS = {"classifier_linear": None, "classifier_sequential_of_one": None, "classifier_no_linear": "ValueError",
           "classifier_empty": "ValueError", "classifier_module_list": "ValueError", "fc_not_linear": "ValueError",
           "no_head": "ValueError"}


@check("part2.truncate_other_layouts", 1, "truncate_backbone：classifier 本身是 Linear 时替换它；找不到可去掉的 Linear 时抛出 ValueError")
def test_truncate_other_layouts(worker):
    x = randn(2, 3, 8, 8, seed=SEED + 5)
    r = require_ok(worker.call("part2.truncate_layouts", {"layouts": list(LAYOUTS)}, {"x": x}))
    raised = value(r, "raised", "truncate_backbone 对各种模型的反应", dict)
    hint = ("fc 是 nn.Linear → 换成 nn.Identity()；否则 classifier 是 nn.Linear → 换掉 classifier；否则 classifier 是非空的、以 nn.Linear 结尾的 "
            "nn.Sequential → 换掉 classifier[-1]；都不是时抛出 ValueError（条件要同时满足，不要用 or；先判断非空再取 classifier[-1]）。")
    for layout, expected in LAYOUTS.items():
        what = {"classifier_linear": "classifier = nn.Linear(6, 4) 的模型",
                "classifier_no_linear": "classifier = nn.Sequential(Dropout, ReLU)（没有 Linear）的模型",
                "classifier_sequential_of_one": "classifier = nn.Sequential(nn.Linear(6, 4))（只有一层）的模型",
                "classifier_empty": "classifier = nn.Sequential()（空的）的模型",
                "classifier_module_list": "classifier = nn.ModuleList([nn.Linear])（不是 nn.Sequential）的模型",
                "fc_not_linear": "fc 是 nn.Sequential（不是 nn.Linear）、也没有 classifier 的模型",
                "no_head": "既没有 fc 也没有 classifier 的模型"}[layout]
        expect_equal(raised.get(layout), expected, f"truncate_backbone({what}) 抛出的异常", hint)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        features = nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        expected = features(x)
    for layout in ("classifier_linear", "classifier_sequential_of_one"):
        expect_close(tensor(r, f"embedding.{layout}", "truncate_backbone(model)(x)"), expected,
                     f"truncate_backbone({layout} 的模型)(x)", atol=1e-6, rtol=1e-5, hint=hint)


# --------------------------------------------------------------------------- freeze


def _freeze_case(worker) -> ProbeResult:
    x = randn(2, 3, 64, 64, seed=SEED + 10)
    return _once(worker, "freeze", lambda: worker.call("part2.freeze", {"arch": "mobilenet_v2", "passes": 2}, {"x": x}))


@lru_cache(maxsize=None)  # torchvision's parameter names do not depend on the submission
def _param_names(arch: str) -> tuple[str, ...]:
    with torch.random.fork_rng(devices=[]):
        return tuple(name for name, _ in get_model(arch, weights=None).named_parameters())


@check("part2.freeze_requires_grad", 2, "freeze 之后所有参数 requires_grad=False")
def test_freeze_requires_grad(worker):
    r = require_ok(_freeze_case(worker))
    flags = value(r, "requires_grad", "freeze(model) 之后各参数的 requires_grad", dict)
    _expect_names(list(flags), _param_names("mobilenet_v2"), "freeze(model) 返回的模块的参数", "freeze 原地修改并返回同一个 module。")
    trainable = [name for name, flag in flags.items() if flag]
    expect_true(not trainable,
                f"freeze(model) 之后仍有 {len(trainable)}/{len(flags)} 个参数 requires_grad=True（例如 {', '.join(trainable[:3])}）",
                "遍历 module.parameters()，对每个参数 requires_grad_(False)；只调用 eval() 不会停止梯度计算。")


@check("part2.freeze_eval", 2, "freeze 之后处于 eval 模式：多次前向传播不改变 BatchNorm 的 running 统计量")
def test_freeze_eval(worker):
    r = require_ok(_freeze_case(worker))
    hint = "freeze 还要调用 module.eval()：train 模式下每次 forward 都会更新 BatchNorm 的 running_mean / running_var。"
    modes = value(r, "training", "freeze(model) 之后各模块的 training 标志", dict)
    training = [name for name, flag in modes.items() if flag]
    expect_true(not training, f"freeze(model) 之后 {len(training)} 个模块仍在 train 模式（例如 {', '.join(training[:3])}）", hint)
    before = {k[len("before."):]: v for k, v in r.tensors.items() if k.startswith("before.")}
    expect_true(bool(before), "没有得到 BatchNorm 的 running 统计量", hint)
    for key, old in before.items():
        expect_close(tensor(r, f"after.{key}", key), old, f"两次 forward 之后的 {key}", atol=0.0, rtol=0.0, hint=hint)


# --------------------------------------------------------------------------- make_head


def _head_case(hidden: int | None, hint: str) -> Callable:
    def test(worker) -> None:
        in_dim, num_classes = 20, 3
        x = randn(5, in_dim, seed=SEED + 20)
        r = require_ok(worker.call("part2.make_head", {"in_dim": in_dim, "num_classes": num_classes, "hidden": hidden}, {"x": x}))
        leaves = ["Linear"] if hidden is None else ["Linear", "ReLU", "Linear"]
        expect_equal(value(r, "leaves", "make_head 的层", list), leaves, f"make_head({in_dim}, {num_classes}, hidden={hidden}) 的层", hint)
        dims = [in_dim, num_classes] if hidden is None else [in_dim, hidden, num_classes]
        h = x
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            w = tensor(r, f"linear.{i}.weight", f"第 {i + 1} 个 Linear 的 weight")
            b = tensor(r, f"linear.{i}.bias", f"第 {i + 1} 个 Linear 的 bias")
            expect_shape(w, [fan_out, fan_in], f"第 {i + 1} 个 Linear 的 weight", hint)
            expect_shape(b, [fan_out], f"第 {i + 1} 个 Linear 的 bias", hint)
            h = F.linear(h, w, b)
            if i < len(dims) - 2:
                h = torch.relu(h)
        expect_close(tensor(r, "out", "make_head(...)(x)"), h, f"make_head({in_dim}, {num_classes}, hidden={hidden})(x)",
                     atol=1e-5, rtol=1e-4, hint=hint)

    return test


test_make_head_linear = check("part2.make_head_linear", 1, "make_head(hidden=None) 是一层 Linear(in_dim, num_classes)")(
    _head_case(None, "hidden 为 None 时任务头就是 nn.Linear(in_dim, num_classes)，不加激活。"))
test_make_head_hidden = check("part2.make_head_hidden", 1, "make_head(hidden=h) 是 Linear → ReLU → Linear")(
    _head_case(8, "hidden 不为 None 时：nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))。"))


# --------------------------------------------------------------------------- extract_features


def _features_case(worker) -> tuple[ProbeResult, dict[str, torch.Tensor]]:
    def run():
        seed = SEED + 30
        torch.manual_seed(seed)
        # The backbone ends in AdaptiveAvgPool2d, without Flatten (as a torchvision body cut after
        # its avgpool does): the [N, D] the docstring promises needs extract_features' own flatten.
        backbone = randomize_batchnorm(small_backbone(flatten=False), seed)
        images = randn(20, 3, 6, 6, seed=seed + 1)  # N > H, W: a loop over the wrong dimension shows

        def compute() -> dict[str, torch.Tensor]:
            with one_thread():
                return {"features": ref.extract_features(backbone, images, batch_size=3)}

        exp = cached(f"part2.extract_features.{seed}.n20.unflattened", compute)
        return worker.call("part2.extract_features", {"batch_size": 3, "flatten": False},
                           {"images": images, **prefixed(backbone.state_dict())}), exp

    return _once(worker, "extract_features", run)


@check("part2.extract_features_values", 2, "extract_features 分批（batch_size=3）抽出的 embedding 与参考一致")
def test_extract_features_values(worker):
    r, exp = _features_case(worker)
    r = require_ok(r)
    expect_close(tensor(r, "features", "extract_features(...)"), exp["features"], "extract_features(backbone, images[20], batch_size=3)",
                 atol=1e-5, rtol=1e-4,
                 hint="在 eval() 模式下前向（BatchNorm 用 running 统计量），按 images[i:i + batch_size] 分批，torch.cat 后得到 [N, D]，顺序不变；"
                      "backbone 的输出可能是 [B, D, 1, 1]（以 avgpool 结尾），最后要 .flatten(1)。")


@check("part2.extract_features_no_side_effects", 1, "extract_features 抽出正确的特征，同时不建计算图、不改 BatchNorm 统计量，并恢复原来的 train/eval 模式")
def test_extract_features_no_side_effects(worker):
    r, exp = _features_case(worker)
    r = require_ok(r)
    # No side effects is a merit only in a function that did its job on the same call: a tensor
    # made without the backbone has none either, and earns nothing. (Up to the final flatten,
    # which is extract_features_values' business.)
    features = tensor(r, "features", "extract_features(...)")
    expect_close(features.reshape(features.shape[0], -1) if features.dim() > 1 else features, exp["features"],
                 "extract_features(backbone, images[20], batch_size=3)（先要抽出正确的特征，才谈得上没有副作用）",
                 atol=1e-5, rtol=1e-4, hint="用 backbone 在 eval() 模式下分批前向，torch.cat 后得到 [N, D]。")
    expect_true(not r.result.get("requires_grad") and not r.result.get("has_grad_fn"),
                "extract_features 返回的特征带着计算图 (requires_grad=True)", "前向要放在 with torch.no_grad(): 里，抽特征不需要梯度。")
    before = {k[len("before."):]: v for k, v in r.tensors.items() if k.startswith("before.")}
    for key, old in before.items():
        expect_close(tensor(r, f"after.{key}", key), old, f"extract_features 之后 backbone 的 {key}", atol=0.0, rtol=0.0,
                     hint="先 backbone.eval() 再前向：train 模式下 forward 会改写 BatchNorm 的 running 统计量。")
    expect_true(r.result.get("training_after") is True, "extract_features 之后 backbone 没有回到调用前的 train 模式",
                "先记下 was_training = backbone.training，结束时 backbone.train(was_training)。")


# --------------------------------------------------------------------------- make_optimizer

TRAINABLE = ["features.17", "classifier"]


@check("part2.make_optimizer", 2, "make_optimizer 是只包含可训练参数（freeze + unfreeze 之后）的 Adam")
def test_make_optimizer(worker):
    lr = 0.003
    r = require_ok(worker.call("part2.make_optimizer", {"arch": "mobilenet_v2", "trainable": TRAINABLE, "lr": lr}))
    expect_equal(r.result.get("class"), "Adam", "make_optimizer 返回的优化器类型", "用 torch.optim.Adam(params, lr=lr)。")
    held = value(r, "params", "优化器里的参数", list)
    expected = sorted(n for n in _param_names("mobilenet_v2") if any(n == p or n.startswith(p + ".") for p in TRAINABLE))
    hint = "只把 requires_grad=True 的参数交给优化器：[p for p in model.parameters() if p.requires_grad]。"
    _expect_names(held, expected, "优化器里的参数（freeze 后解冻了 features.17 与 classifier）", hint)
    lrs = value(r, "lrs", "优化器各组的学习率", list)
    expect_true(bool(lrs) and all(abs(v - lr) <= 1e-12 for v in lrs), f"优化器的学习率应为 {lr}，得到 {lrs}", "lr 要传给优化器：Adam(params, lr=lr)。")


# --------------------------------------------------------------------------- train_head


def _train_head_case(worker, seed: int, args: dict, head: nn.Module, hint: str, what: str) -> None:
    """train_head on the grader's `head` (its initial weights sent), compared with the reference
    trained from the same weights, data, seed and (for Dropout) global RNG seed."""
    n, in_dim, num_classes = 40, args["in_dim"], args["num_classes"]
    features = randn(n, in_dim, seed=seed)
    labels = torch.randint(0, num_classes, (n,), generator=generator(seed + 1))
    init = {k: v.clone() for k, v in head.state_dict().items()}

    def compute() -> dict[str, torch.Tensor]:
        head.load_state_dict(init)
        if args.get("eval_first"):
            head.eval()
        with one_thread(), torch.random.fork_rng(devices=[]):
            if args.get("rng_seed") is not None:
                torch.manual_seed(args["rng_seed"])
            losses = ref.train_head(head, features, labels, epochs=args["epochs"], lr=args["lr"],
                                    batch_size=args["batch_size"], seed=args["seed"])
        return {"losses": torch.tensor(losses, dtype=torch.float64), **{f"trained.{k}": v for k, v in head.state_dict().items()}}

    exp = cached(f"part2.train_head.{seed}.{'dropout' if args.get('dropout') else 'linear'}", compute)
    r = require_ok(worker.call("part2.train_head", args, {"features": features, "labels": labels, **prefixed(init)}))
    losses = torch.tensor(value(r, "losses", "train_head 返回的 loss 列表", list), dtype=torch.float64)
    expect_close(losses, exp["losses"], f"train_head（{what}）返回的每个 epoch 的平均 loss", atol=1e-5, rtol=1e-4, hint=hint)
    for key in sorted(k for k in exp if k.startswith("trained.") and k.endswith("weight")):
        name = key[len("trained."):]
        expect_close(tensor(r, key, f"训练后的 head.{name}"), exp[key], f"train_head（{what}）训练后的 head.{name}",
                     atol=1e-5, rtol=1e-4, hint=hint)


@check("part2.train_head", 1, "train_head 的每个 epoch 平均 loss 与训练后的权重与参考一致（含 Dropout 的任务头在 train 模式下训练）")
def test_train_head(worker):
    seed = SEED + 40
    hint = ("每个 epoch 用同一个 torch.Generator().manual_seed(seed) 生成 torch.randperm(N) 打乱，按 batch_size 分批做 "
            "zero_grad / cross_entropy / backward / step；平均 loss 按样本数加权（40 个样本、batch 16：最后一批只有 8 个）。")
    args = {"in_dim": 12, "num_classes": 3, "epochs": 3, "lr": 0.01, "batch_size": 16, "seed": seed % 1000}
    torch.manual_seed(seed)
    _train_head_case(worker, seed, args, nn.Linear(12, 3), hint, "Linear 任务头")
    # A head with Dropout handed over in eval mode (as one comes back from evaluation): trained
    # without head.train(), Dropout stays off and every loss and weight differs.
    args = {**args, "hidden": 8, "dropout": 0.5, "eval_first": True, "rng_seed": seed % 1000 + 1}
    torch.manual_seed(seed + 2)
    _train_head_case(worker, seed + 2, args, dropout_head(12, 8, 3, 0.5), hint + "训练前先 head.train()：传入的 head 可能处于 eval 模式，"
                     "Dropout 只有在 train 模式下才起作用。", "Linear-ReLU-Dropout-Linear 任务头，传入时处于 eval 模式")


# --------------------------------------------------------------------------- unfreeze

UNFREEZE_PREFIXES = ["features.1", "classifier.1.weight"]


@lru_cache(maxsize=None)
def _unfrozen(arch: str, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """The reference's names unfrozen by `prefixes` in torchvision's `arch` (the same for every submission)."""
    with torch.random.fork_rng(devices=[]):
        model = ref.freeze(get_model(arch, weights=None))
    return tuple(ref.unfreeze(model, list(prefixes)))


@check("part2.unfreeze_names", 2, "unfreeze 按模块层级匹配前缀（'features.1' 不匹配 features.18），返回被解冻的参数名")
def test_unfreeze_names(worker):
    r = require_ok(worker.call("part2.unfreeze", {"arch": "mobilenet_v2", "prefixes": UNFREEZE_PREFIXES}))
    expected = _unfrozen("mobilenet_v2", tuple(UNFREEZE_PREFIXES))
    hint = "匹配规则：name == prefix 或 name.startswith(prefix + \".\")；直接 name.startswith(prefix) 会让 'features.1' 误匹配 features.10 ~ features.18。"
    returned = value(r, "returned", f"unfreeze(model, {UNFREEZE_PREFIXES}) 的返回值", list)
    _expect_names(returned, expected, f"unfreeze(model, {UNFREEZE_PREFIXES}) 返回的参数名", hint)
    expect_equal(returned, sorted(returned), f"unfreeze(model, {UNFREEZE_PREFIXES}) 返回的参数名的顺序", "返回排好序的列表：sorted(...)。")
    trainable = value(r, "trainable", "解冻后 requires_grad=True 的参数", list)
    _expect_names(trainable, expected, f"unfreeze(model, {UNFREEZE_PREFIXES}) 之后 requires_grad=True 的参数", hint)


BAD_PREFIXES = [["features.99"], ["classifier", "layer4"]]


UNFREEZE_VALID = ["features.18"]


@check("part2.unfreeze_missing_prefix", 1, "unfreeze 对匹配不到任何参数的前缀抛出 ValueError，且不改动模型（合法前缀照常解冻）")
def test_unfreeze_missing_prefix(worker):
    r = require_ok(worker.call("part2.unfreeze_errors", {"arch": "mobilenet_v2", "valid": UNFREEZE_VALID, "bad": BAD_PREFIXES}))
    # Raising is a merit only in a function that unfreezes: the same call with a valid prefix must
    # unfreeze exactly its parameters and return their names.
    valid = value(r, "valid", f"unfreeze(model, {UNFREEZE_VALID}) 的结果", dict)
    expected = _unfrozen("mobilenet_v2", tuple(UNFREEZE_VALID))
    hint = "对合法的前缀：把匹配的参数设为 requires_grad=True，并返回它们的名字（排好序）。"
    _expect_names(valid.get("returned") or [], expected, f"unfreeze(model, {UNFREEZE_VALID}) 返回的参数名", hint)
    _expect_names(valid.get("trainable") or [], expected, f"unfreeze(model, {UNFREEZE_VALID}) 之后 requires_grad=True 的参数", hint)
    outcomes = value(r, "outcomes", "unfreeze 对错误前缀的反应", list)
    expect_equal(len(outcomes), len(BAD_PREFIXES), "unfreeze 错误前缀的结果个数")
    for prefixes, outcome in zip(BAD_PREFIXES, outcomes):
        expect_equal(outcome.get("raised"), "ValueError", f"unfreeze(model, {prefixes})",
                     "某个前缀一个参数都匹配不到时抛出 ValueError（多半是拼错了名字）。")
        expect_equal(outcome.get("trainable"), [], f"unfreeze(model, {prefixes}) 抛出 ValueError 之后 requires_grad=True 的参数",
                     "先检查每个前缀都匹配到了参数，再修改 requires_grad：出错时模型应保持不变。")


# --------------------------------------------------------------------------- Practice 1 accuracy


def _lfw_features(seed: int = 0) -> dict[str, torch.Tensor]:
    """Frozen pretrained MobileNetV2 (IMAGENET1K_V1, from the torch cache) features of skimage's
    lfw_subset at 112 px, split 50/50 per class: the reference pipeline, no solution code."""
    import numpy as np
    from PIL import Image
    from skimage.data import lfw_subset
    from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
    from torchvision.transforms._presets import ImageClassification

    raw = lfw_subset()  # [200, 25, 25] float64: 100 faces, then 100 non-faces
    labels = torch.tensor([1] * 100 + [0] * 100)
    tf = ImageClassification(crop_size=ref.LFW_IMAGE_SIZE, resize_size=ref.LFW_IMAGE_SIZE)
    images = torch.stack([tf(Image.fromarray(np.uint8(np.clip(np.round(a * 255), 0, 255))).convert("RGB")) for a in raw])
    backbone = ref.freeze(ref.truncate_backbone(mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)))
    feats = ref.extract_features(backbone, images)
    train_idx, test_idx = ref.lfw_split(labels, 0.5, seed)
    # The split's indices are sorted (faces first), so the test labels in that order would be the
    # training labels' pattern: predicting `train_labels` (or "first half faces") would score 100 %.
    # In a seeded random order the test labels cannot be told from positions.
    test_idx = test_idx[torch.randperm(len(test_idx), generator=generator(SEED + 60 + seed))]
    return {"train_features": feats[train_idx], "train_labels": labels[train_idx],
            "test_features": feats[test_idx], "test_labels": labels[test_idx]}


@check("part2.lfw_accuracy", 1, "冻结的预训练 MobileNetV2 特征 + 你的 make_head/train_head：lfw_subset 人脸二分类测试准确率达标")
def test_lfw_accuracy(worker):
    data = cached_inputs("part2.lfw_features.mobilenet_v2.seed0", _lfw_features)
    test_labels = cached("part2.lfw_test_labels.mobilenet_v2.seed0", lambda: {"labels": data["test_labels"]})["labels"]
    tensors = {k: data[k] for k in ("train_features", "train_labels", "test_features")}  # test labels stay here
    r = require_ok(worker.call("part2.fit_predict", {"seed": 0, "num_classes": 2, "hidden": None}, tensors, timeout=60))
    pred = tensor(r, "predictions", "测试集上的预测类别")
    expect_shape(pred, list(test_labels.shape), "测试集上的预测类别")
    accuracy = (pred.to(torch.int64) == test_labels).double().mean().item()
    expect_at_least(accuracy, ref.LFW_PRETRAINED_MIN_ACCURACY,
                    f"lfw_subset 测试准确率（{len(test_labels)} 张；参考值 {ref.LFW_REFERENCE_PRETRAINED_ACCURACY:.2f}）",
                    "make_head(1280, 2) 是一层 Linear；train_head 用 cross_entropy 训练 30 个 epoch（Adam, lr=1e-3），每个 batch 都要 "
                    "zero_grad / backward / step。")


# --------------------------------------------------------------------------- shortcut learning: the watermark

WATERMARK_HINT = ("水印是右下角 size x size 的方块：out[..., -size:, -size:] = value（所有通道）；"
                  "H 和 W 可以不相等，别把行列写反，也别盖到左上角 [:size, :size]。")


def _watermark_call(worker, key: str, cases: list[dict], hint: str) -> tuple[ProbeResult, list[torch.Tensor], list[torch.Tensor]]:
    """Each case: images (seeded), optional `which`, size, value; returns the result, the inputs and the reference outputs."""
    tensors, inputs, expected = {}, [], []
    for k, case in enumerate(cases):
        images = randn(*case["shape"], seed=SEED + 900 + k)
        tensors[f"images.{k}"] = images
        which = case.get("which")
        if which is not None:
            tensors[f"which.{k}"] = torch.tensor(which, dtype=torch.bool)
        inputs.append(images)
        expected.append(cached(f"part2.watermark.{key}.{SEED}.{k}", lambda: {"out": ref.stamp_watermark(
            images, tensors.get(f"which.{k}"), case["size"], case["value"])})["out"])
    args = {"cases": [{"size": c["size"], "value": c["value"]} for c in cases]}
    return require_ok(worker.call("part2.stamp_watermark", args, tensors), hint), inputs, expected


def _watermark_what(case: dict) -> str:
    which = "None" if case.get("which") is None else case["which"]
    return f"stamp_watermark(images {list(case['shape'])}, which={which}, size={case['size']}, value={case['value']})"


def _expect_watermarks(r: ProbeResult, cases: list[dict], expected: list[torch.Tensor], hint: str) -> None:
    for k, (case, exp) in enumerate(zip(cases, expected)):
        what = _watermark_what(case)
        got = tensor(r, f"out.{k}", what)
        expect_shape(got, list(exp.shape), what, hint)
        # Pixels are copied or set, never computed: bit-exact.
        expect_close(got, exp, what, atol=0.0, rtol=0.0, hint=hint)


WATERMARK_ALL = [
    {"shape": (3, 3, 10, 14), "size": 3, "value": 1.0},
    {"shape": (2, 1, 9, 7), "size": 7, "value": -2.5},
]
WATERMARK_SELECTED = [
    {"shape": (5, 3, 8, 8), "which": [True, False, True, False, False], "size": 2, "value": 1.0},
    {"shape": (3, 1, 6, 11), "which": [False, False, False], "size": 4, "value": 0.5},
]


@check("part2.watermark_stamp", 2, "stamp_watermark 把右下角 size x size 的方块（所有通道）设为 value，其余像素不变")
def test_watermark_stamp(worker):
    r, _, expected = _watermark_call(worker, "all", WATERMARK_ALL, WATERMARK_HINT)
    _expect_watermarks(r, WATERMARK_ALL, expected, WATERMARK_HINT)


@check("part2.watermark_selected_images", 1, "stamp_watermark 只给 which[b] 为 True 的图片盖水印")
def test_watermark_selected_images(worker):
    hint = "which 是 [B] 的 bool 张量：只对 which[b] 为 True 的图片盖水印（例如 out[which, :, -size:, -size:] = value）；which 为 None 时才全部盖。"
    r, _, expected = _watermark_call(worker, "selected", WATERMARK_SELECTED, hint)
    _expect_watermarks(r, WATERMARK_SELECTED, expected, hint)


@check("part2.watermark_no_side_effects", 1, "stamp_watermark 返回盖了水印的新张量，不修改传入的 images")
def test_watermark_no_side_effects(worker):
    hint = "先 out = images.clone() 再在 out 上赋值：原地修改（in-place）会把训练集原图也盖上水印。"
    r, inputs, _ = _watermark_call(worker, "all", WATERMARK_ALL[:1], hint)
    # Leaving the input alone is a merit only in a function that stamped something: the output
    # must be the input with one size x size block per image and channel set to `value` (where it
    # sits is watermark_stamp's business). Returning the input, a copy or zeros earns nothing.
    case, images = WATERMARK_ALL[0], inputs[0]
    out = tensor(r, "out.0", _watermark_what(case))
    expect_shape(out, list(images.shape), _watermark_what(case), hint)
    changed = out != images
    b, c = images.shape[:2]
    expect_true(int(changed.sum()) == b * c * case["size"] ** 2 and bool((out[changed] == case["value"]).all()),
                f"{_watermark_what(case)} 的输出不是盖了水印的图片：应恰好有 {b} x {c} x {case['size']}² 个像素变成 {case['value']}，"
                f"得到 {int(changed.sum())} 个像素与输入不同",
                "复制一份 images，把每张图片（所有通道）的一个 size x size 方块设为 value 后返回。")
    after = tensor(r, "images_after.0", "调用 stamp_watermark 之后的 images")
    expect_close(after, inputs[0], f"调用 {_watermark_what(WATERMARK_ALL[0])} 之后传入的 images（应保持不变）", atol=0.0, rtol=0.0, hint=hint,
                 kind="modified_input")

"""Part 2：预训练与迁移学习（transfer learning）—— backbone + task head。

迁移学习的两段式结构：

1. 表示主干（embedding backbone）：一个在 ImageNet 上预训练好的模型（ResNet、MobileNetV2……），
   **去掉最后的分类层**，把图像 ``[B, 3, H, W]`` 压缩成 embedding ``[B, D]``；通常【冻结】。
2. 任务头（task head）：1~2 层全连接网络，把 embedding 映射到任务的类别上；唯一需要训练的部分。

你要实现的部分：``truncate_backbone``、``freeze``、``make_head``、``extract_features``、
``make_optimizer``、``train_head``、``unfreeze``，以及捷径学习实验用的 ``stamp_watermark``。最后的 ``train_binary_classifier``（Practice 1）
是给定代码，它把这些函数串起来：读图片文件夹 -> 冻结的 backbone 抽特征 -> 训练任务头 -> 测试准确率。
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn

from .data import load_image_folder, stratified_split
from .weights import load_torchvision

__all__ = [
    "truncate_backbone",
    "freeze",
    "make_head",
    "extract_features",
    "make_optimizer",
    "train_head",
    "unfreeze",
    "predict",
    "image_transform",
    "preprocess",
    "train_binary_classifier",
    "DEFAULT_IMAGE_SIZE",
]

# lfw_subset images are 25x25: upsampling them to 224 px only costs time. 112 px keeps MobileNetV2's
# final feature map at 4x4, enough for the global average pool, at a quarter of the 224 px cost.
DEFAULT_IMAGE_SIZE = 112


# --------------------------------------------------------------------------- backbone


def truncate_backbone(model: nn.Module) -> nn.Module:
    """去掉 torchvision 分类模型的最后一层分类层（FC layer），得到输出 embedding 的 backbone。

    - ResNet（有 ``fc: nn.Linear``）：``fc`` 换成 ``nn.Identity()``，输出 ``[B, 2048]``
      （ResNet-50）或 ``[B, 512]``（ResNet-18/34）。
    - MobileNetV2 等（``classifier`` 是 ``nn.Sequential``，最后一个元素是 ``nn.Linear``；或
      ``classifier`` 本身就是 ``nn.Linear``）：把这个 Linear 换成 ``nn.Identity()``，
      MobileNetV2 输出 ``[B, 1280]``。

    其余层保持原来的名字（例如 ``layer4.*``、``features.18.*``），所以之后可以按名字
    ``unfreeze``。**不修改传入的 model**：先 ``copy.deepcopy``，在副本上替换，返回副本。
    不支持的模型（既没有 ``fc`` 也没有可识别的 ``classifier``）抛出 ``ValueError``。

    ``images: [B, 3, H, W] -> embedding: [B, D]``
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model 必须是 nn.Module，得到 {type(model).__name__}")
    # 提示: 先 backbone = copy.deepcopy(model)，再把最后的 nn.Linear 换成 nn.Identity()，这样原模型不受影响。
    # 提示: ResNet 的分类层叫 fc；MobileNetV2 的是 classifier[-1]。
    raise NotImplementedError("truncate_backbone 尚未实现 (not implemented)")


def freeze(module: nn.Module) -> nn.Module:
    """冻结 module：所有参数 ``requires_grad = False``，并切到 ``eval()`` 模式。

    只设 ``requires_grad`` 不够：train 模式下每次 forward 都会更新 BatchNorm 的
    running_mean / running_var，backbone 就悄悄变了。返回同一个 module（原地修改）。
    注意：之后再调用 ``module.train()`` 会重新打开 BatchNorm 的统计更新。
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module 必须是 nn.Module，得到 {type(module).__name__}")
    # 提示: 遍历 module.parameters() 设置 requires_grad_(False)，再调用 module.eval()。
    raise NotImplementedError("freeze 尚未实现 (not implemented)")


def make_head(in_dim: int, num_classes: int, hidden: int | None = None) -> nn.Module:
    """任务头（task head）：``[B, in_dim] -> logits [B, num_classes]``。

    ``hidden is None`` 时是一层 ``nn.Linear(in_dim, num_classes)``；否则是
    ``nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))``。
    参数用 PyTorch 的默认初始化（来自全局随机数生成器，调用前用 ``torch.manual_seed`` 固定）。
    """
    for name, value in (("in_dim", in_dim), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} 必须是正整数，得到 {value!r}")
    if hidden is not None and (isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1):
        raise ValueError(f"hidden 必须是 None 或正整数，得到 {hidden!r}")
    # 提示: 两种情况：nn.Linear(in_dim, num_classes)，或 Linear -> ReLU -> Linear。
    raise NotImplementedError("make_head 尚未实现 (not implemented)")


def extract_features(backbone: nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    """用（冻结的）backbone 把图像分批编码成 embedding：``[N, 3, H, W] -> [N, D]``。

    在 ``eval()`` 模式和 ``torch.no_grad()`` 下运行，所以不建计算图，也不改变 BatchNorm 的
    running 统计量；结束后恢复 backbone 原来的 train/eval 模式。每批最多 ``batch_size`` 张图，
    结果按原顺序拼接。
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images 必须是 [N, 3, H, W] 的张量，得到 {shape}")
    if images.shape[0] == 0:
        raise ValueError("images 是空的（N = 0）")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size 必须是正整数，得到 {batch_size!r}")
    # 提示: 记下 was_training = backbone.training，然后 backbone.eval()；
    # 提示: 在 torch.no_grad() 里按 images[i:i + batch_size] 分批 forward，torch.cat 拼起来，最后恢复原模式。
    raise NotImplementedError("extract_features 尚未实现 (not implemented)")


# --------------------------------------------------------------------------- head training


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """只优化 ``requires_grad=True`` 的参数的 Adam 优化器（``torch.optim.Adam(params, lr=lr)``）。

    冻结的参数不放进优化器：这样 ``freeze`` + ``unfreeze`` 之后，优化器里恰好是被解冻的参数。
    没有任何可训练参数、或 ``lr <= 0`` 时抛出 ``ValueError``。
    """
    if not lr > 0:
        raise ValueError(f"学习率 lr 必须 > 0，得到 {lr!r}")
    # 提示: params = [p for p in model.parameters() if p.requires_grad]；为空时报错。
    raise NotImplementedError("make_optimizer 尚未实现 (not implemented)")


def train_head(
    head: nn.Module,
    features: Tensor,
    labels: Tensor,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
) -> list[float]:
    """在（冻结 backbone 抽出的）特征上用 cross-entropy 训练任务头，返回每个 epoch 的平均 loss。

    ``features: [N, D]``，``labels: [N]``（int64，取值 0..num_classes-1）。优化器用
    ``make_optimizer(head, lr)``；每个 epoch 用 ``torch.Generator().manual_seed(seed)`` 生成的
    ``torch.randperm`` 打乱顺序（同一 seed 结果完全一样），按 ``batch_size`` 分批。
    平均 loss 按样本数加权（最后一个不满的 batch 也算对）。返回长度为 ``epochs`` 的 float 列表。
    训练前先 ``head.train()``：传入的 head 可能处于 eval 模式，而 Dropout 只在 train 模式下起作用。
    """
    if not isinstance(features, Tensor) or features.dim() != 2:
        raise ValueError(f"features 必须是 [N, D] 的张量，得到 {getattr(features, 'shape', type(features).__name__)}")
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.dtype != torch.int64:
        raise ValueError(
            f"labels 必须是 [N] 的 int64 张量，得到 {getattr(labels, 'shape', type(labels).__name__)} "
            f"{getattr(labels, 'dtype', '')}"
        )
    if labels.shape[0] != features.shape[0] or labels.shape[0] == 0:
        raise ValueError(f"features 与 labels 的样本数必须相同且 > 0，得到 {features.shape[0]} 和 {labels.shape[0]}")
    if (labels < 0).any():
        raise ValueError(f"labels 不能有负数，得到最小值 {labels.min().item()}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} 必须是正整数，得到 {value!r}")
    # 提示: gen = torch.Generator().manual_seed(seed)；每个 epoch：perm = torch.randperm(N, generator=gen)，
    # 提示: 分批计算 nn.functional.cross_entropy(head(x), y)，zero_grad / backward / step，累加 loss.item() * len(batch)。
    raise NotImplementedError("train_head 尚未实现 (not implemented)")


def unfreeze(model: nn.Module, prefixes: Sequence[str]) -> list[str]:
    """解冻（fine-tune）部分 backbone：名字匹配某个前缀的参数设为 ``requires_grad=True``。

    匹配规则按模块层级：参数名等于前缀，或以 ``前缀 + "."`` 开头。例如 ResNet 的 ``"layer4"``
    匹配 ``layer4.0.conv1.weight`` 等；MobileNetV2 的 ``"features.18"`` 匹配
    ``features.18.0.weight``，但 ``"features.1"`` 不会误匹配 ``features.18.*``。
    返回被解冻的参数名（排好序的列表）。某个前缀一个参数都匹配不到时抛出 ``ValueError``
    （多半是拼错了名字，用 ``model.named_parameters()`` 查看），此时模型保持不变。
    只改 ``requires_grad``，不改 train/eval 模式：被解冻部分的 BatchNorm 仍使用冻结时的统计量。
    """
    if isinstance(prefixes, str) or len(prefixes) == 0:
        raise ValueError(f"prefixes 必须是非空的字符串列表，得到 {prefixes!r}")
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefixes 中每一项都必须是非空字符串，得到 {prefix!r}")
    # 提示: 遍历 model.named_parameters()；name == prefix 或 name.startswith(prefix + ".") 即匹配。
    # 提示: 先检查每个前缀都匹配到了参数（否则抛 ValueError），再把匹配到的参数 requires_grad_(True)。
    raise NotImplementedError("unfreeze 尚未实现 (not implemented)")


def predict(head: nn.Module, features: Tensor) -> Tensor:
    """任务头的预测类别：``features: [N, D] -> [N]`` int64（logits 的 argmax）。"""
    if not isinstance(features, Tensor) or features.dim() != 2:
        raise ValueError(f"features 必须是 [N, D] 的张量，得到 {getattr(features, 'shape', type(features).__name__)}")
    was_training = head.training
    head.eval()
    with torch.no_grad():
        out = head(features).argmax(dim=1)
    head.train(was_training)
    return out


# --------------------------------------------------------------------------- shortcut learning


def stamp_watermark(images: Tensor, which: Tensor | None = None, size: int = 4, value: float = 1.0) -> Tensor:
    """在图片右下角盖一个 ``size x size`` 的方形水印（watermark）：该区域所有通道的像素都设为 ``value``。

    images: ``[B, C, H, W]`` 浮点张量；which: ``[B]`` bool，只给 ``which[b]`` 为 True 的图片盖水印
    （``None`` 表示全部都盖）。返回新的张量（形状、dtype 不变）；**不修改**传入的 ``images``。

    用途（shortcut learning，捷径学习）：训练集里只有“人脸”类带水印时，模型可能只学会“有水印 = 人脸”，
    测试时把水印换到另一类上，准确率就会崩掉。
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.dtype.is_floating_point:
        raise ValueError(f"images 必须是 [B, C, H, W] 的浮点张量，得到 {getattr(images, 'shape', type(images).__name__)}")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(images.shape[-2:]):
        raise ValueError(f"size 必须是 1..{min(images.shape[-2:])} 之间的整数，得到 {size!r}")
    if which is not None and (not isinstance(which, Tensor) or which.dtype != torch.bool or tuple(which.shape) != (images.shape[0],)):
        raise ValueError(f"which 必须是形状 [{images.shape[0]}] 的 bool 张量，得到 {getattr(which, 'shape', type(which).__name__)}")
    # 提示: 先 images.clone()，再对选中的图片把 [..., -size:, -size:] 赋值为 value（负索引 = 从右 / 从下数）
    raise NotImplementedError("stamp_watermark 尚未实现 (not implemented)")


# --------------------------------------------------------------------------- Practice 1 (given)


def image_transform(weights=None, size: int = DEFAULT_IMAGE_SIZE):
    """PIL 图片 -> 归一化张量 ``[3, size, size]`` 的预处理。

    ``weights`` 是 torchvision 的权重枚举（如 ``MobileNet_V2_Weights.IMAGENET1K_V1``）时，
    用它自己的 ``weights.transforms()``（同样的均值/方差），只把尺寸改成 ``size``；
    ``None``（随机初始化）时用相同的 ImageNet 归一化，保证两种设置只差在权重上。
    """
    from torchvision.transforms._presets import ImageClassification

    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"size 必须是 >= 32 的整数（像素），得到 {size!r}")
    if weights is None:
        return ImageClassification(crop_size=size, resize_size=size)
    return weights.transforms(crop_size=size, resize_size=size)


def preprocess(images: Sequence[Image.Image], transform) -> Tensor:
    """把 PIL 图片列表变成一个 batch：``[N, 3, H, W]``（float32）。"""
    if len(images) == 0:
        raise ValueError("images 是空列表")
    return torch.stack([transform(im.convert("RGB")) for im in images])


def train_binary_classifier(
    root: str | Path,
    arch: str = "mobilenet_v2",
    weights: str | None = "IMAGENET1K_V1",
    test_fraction: float = 0.5,
    seed: int = 0,
    hidden: int | None = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
) -> dict:
    """Practice 1：用冻结的预训练 backbone + 线性任务头做二分类（``root/pos`` vs ``root/neg``）。

    ``weights=None`` 表示随机初始化的 backbone（对照组：没有预训练表示时效果如何）。
    返回 ``{"train_accuracy", "test_accuracy", "n_train", "n_test", "feature_dim", "head", "losses"}``。
    """
    from torchvision.models import get_model_weights

    images, labels = load_image_folder(root)
    train_idx, test_idx = stratified_split(labels, test_fraction=test_fraction, seed=seed)

    # Random init and head init draw from the global RNG: seed it locally so runs are reproducible.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = load_torchvision(arch, weights)
        backbone = freeze(truncate_backbone(model))
        enum = get_model_weights(arch)[weights] if weights is not None else None
        x = preprocess(images, image_transform(enum, image_size))  # [N, 3, S, S]
        features = extract_features(backbone, x)  # [N, D]
        head = make_head(features.shape[1], 2, hidden)

    losses = train_head(head, features[train_idx], labels[train_idx], seed=seed)
    train_acc = (predict(head, features[train_idx]) == labels[train_idx]).float().mean().item()
    test_acc = (predict(head, features[test_idx]) == labels[test_idx]).float().mean().item()
    return {
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
        "feature_dim": features.shape[1],
        "head": head,
        "losses": losses,
    }

"""预训练权重（pretrained weights）的加载：torchvision 的 weights API 与缓存。

联网时，``load_torchvision("resnet50", "IMAGENET1K_V2")`` 会像平时一样下载到
``$TORCH_HOME/hub/checkpoints/``（默认 ``~/.cache/torch/hub/checkpoints/``）。
离线且缓存里没有文件时，这里给出清楚的错误信息，告诉你缺哪个文件、放到哪里，
而不是一个看不懂的网络异常。

这是给定代码（不需要修改）。
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

# The offline-friendly default: torchvision's own ImageNet MobileNetV2 checkpoint, which
# `make weights` puts into the torch hub cache (see autograder/assets.py).
DEFAULT_BACKBONE = ("mobilenet_v2", "IMAGENET1K_V1")


class WeightsUnavailable(RuntimeError):
    """预训练权重既不在本地缓存里，也无法下载。"""


def checkpoint_dir() -> Path:
    """torchvision 的权重缓存目录（遵守 ``TORCH_HOME``）。"""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_file(arch: str, weights: str) -> Path:
    """``weights`` 标签（如 ``"IMAGENET1K_V1"``）对应的本地缓存文件路径。"""
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)[weights]
    return checkpoint_dir() / os.path.basename(enum.url)


def load_torchvision(arch: str, weights: str | None = None, **kwargs) -> nn.Module:
    """用 torchvision 的 weights API 构建模型；``weights=None`` 表示随机初始化（from scratch）。

    缓存里没有文件且下载失败时抛出 ``WeightsUnavailable``，消息里写明文件名、缓存目录和
    下载地址。
    """
    from torchvision.models import get_model, get_model_weights

    if weights is None:
        return get_model(arch, weights=None, **kwargs)
    try:
        enum = get_model_weights(arch)[weights]
    except KeyError as exc:
        options = ", ".join(w.name for w in get_model_weights(arch))
        raise WeightsUnavailable(f"{arch} 没有名为 {weights!r} 的权重；可选: {options}") from exc
    try:
        return get_model(arch, weights=enum, **kwargs)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        target = checkpoint_dir() / os.path.basename(enum.url)
        if target.exists():
            raise
        raise WeightsUnavailable(
            f"找不到 {arch} 的预训练权重 {weights}，且无法下载（{type(exc).__name__}: {exc}）。\n"
            f"  需要的文件: {target}\n"
            f"  下载地址:   {enum.url}\n"
            "  联网时直接重试即可；离线时把该文件复制到上面的目录（或设置 TORCH_HOME）。\n"
            "  本课程离线可用的 ImageNet 权重: mobilenet_v2 / IMAGENET1K_V1（运行 `make weights`）。"
        ) from exc


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # behind a proxy a direct probe says nothing; let the real download decide
    parts = urlparse(url)
    try:
        port = parts.port or (80 if parts.scheme == "http" else 443)
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def _hf_hub_offline():
    """Serve Hugging Face Hub files from the local cache only, without retries over the network.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once at import, so setting the environment variable
    here would come too late; its ``constants`` module is what each request consults.
    """
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


def load_clip(model_name: str = "ViT-B-32", pretrained: str | None = "laion2b_s34b_b79k"):
    """加载 open_clip 模型，返回 ``(model, preprocess, tokenizer)``，模型处于 eval 模式。

    ``pretrained`` 可以是 open_clip 的标签（联网时下载），也可以是本地 checkpoint 路径，
    或 ``None``（随机初始化，只用于测试代码路径）。
    离线时只从本地缓存读取；缓存里没有就立刻抛出 ``WeightsUnavailable``（几秒内，而不是反复重试）。
    """
    import open_clip

    offline = nullcontext()
    if pretrained is not None and not Path(str(pretrained)).exists():
        cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        # open_clip prefers the Hub whenever a tag names a Hub repo (huggingface_hub is installed).
        source = os.environ.get("HF_ENDPOINT", "https://huggingface.co") if cfg.get("hf_hub") else cfg.get("url")
        if source and not _reachable(source):
            offline = _hf_hub_offline()
    try:
        with offline:
            model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
    except (OSError, RuntimeError) as exc:
        if pretrained is not None and Path(str(pretrained)).exists():
            raise
        raise WeightsUnavailable(
            f"无法加载 open_clip 模型 {model_name} 的预训练权重 {pretrained!r}"
            f"（{type(exc).__name__}: {exc}）。\n"
            "  联网时 open_clip 会自动从 Hugging Face Hub 下载；离线时请把 checkpoint 文件放在本地，"
            "并传入 pretrained='/path/to/open_clip_model.safetensors'。\n"
            "  没有 CLIP 权重时，检索练习会改用 ImageNet 预训练的 MobileNetV2 作为图像编码器。"
        ) from exc
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(model_name)

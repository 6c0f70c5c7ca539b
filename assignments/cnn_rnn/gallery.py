"""以图搜图（Practice 2）用的小型真实图片库，全部来自离线可用的 pip 包，结果完全确定。

图片库由带标签的几组真实图片组成，这样 precision@K 才有意义（同一标签 = 相关结果）：

- ``photo-<名字>``：13 张真实照片（scikit-image 的 astronaut、chelsea、coffee、camera、horse、
  rocket、coins、moon、brick、grass、gravel，scikit-learn 的 china、flower），
  每张照片做 6 次随机裁剪（random crop）+ 随机水平翻转，6 个视角算同一类；
- ``face`` / ``nonface``：scikit-image ``lfw_subset`` 里的人脸与非人脸（25x25 灰度）；
- ``digit-0`` … ``digit-9``：scikit-learn ``load_digits`` 的手写数字（8x8，放大后使用）。

这是给定代码（不需要修改）。
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .data import lfw_faces

SKIMAGE_PHOTOS = (
    "astronaut", "chelsea", "coffee", "camera", "horse", "rocket",
    "coins", "moon", "brick", "grass", "gravel",
)
VIEWS_PER_PHOTO = 6
FACES_PER_CLASS = 40
DIGITS_PER_CLASS = 10
PHOTO_SIDE = 160  # photos are stored small: the encoders resize to about this size anyway
DIGIT_SIDE = 64


def _to_rgb(array: np.ndarray) -> Image.Image:
    """uint8 ``[H, W]`` or ``[H, W, 3]`` (or bool) -> RGB PIL image."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    image = Image.fromarray(array)
    return image.convert("RGB")


def real_photos() -> list[tuple[str, Image.Image]]:
    """13 张真实照片 ``(名字, RGB 图片)``，顺序固定。"""
    from skimage import data as skdata
    from sklearn.datasets import load_sample_images

    photos = [(name, _to_rgb(getattr(skdata, name)())) for name in SKIMAGE_PHOTOS]
    sample = load_sample_images()
    for filename, array in zip(sample.filenames, sample.images):
        name = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]  # "china", "flower"
        photos.append((name, _to_rgb(array)))
    return photos


def random_view(image: Image.Image, rng: np.random.Generator, side: int = PHOTO_SIDE) -> Image.Image:
    """随机裁剪（保留 40%–80% 的边长）+ 以 0.5 的概率水平翻转，再缩放成 ``side x side``。"""
    w, h = image.size
    frac = rng.uniform(0.4, 0.8)
    cw, ch = max(1, int(w * frac)), max(1, int(h * frac))
    left = int(rng.integers(0, w - cw + 1))
    top = int(rng.integers(0, h - ch + 1))
    view = image.crop((left, top, left + cw, top + ch))
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return view.resize((side, side), Image.Resampling.BILINEAR)


def load_gallery(seed: int = 0) -> tuple[list[Image.Image], list[str], list[str]]:
    """组装图片库，返回 ``(images, names, labels)``，三个列表等长（当前 258 张）。

    ``images`` 是 RGB PIL 图片；``names`` 是唯一的名字（如 ``"chelsea-view2"``、``"face-007"``）；
    ``labels`` 是类别（如 ``"photo-chelsea"``、``"face"``、``"digit-3"``）。
    同一个 ``seed`` 每次得到完全相同的图片库。
    """
    rng = np.random.default_rng(seed)
    images: list[Image.Image] = []
    names: list[str] = []
    labels: list[str] = []

    for name, photo in real_photos():
        for v in range(VIEWS_PER_PHOTO):
            images.append(random_view(photo, rng))
            names.append(f"{name}-view{v}")
            labels.append(f"photo-{name}")

    faces, is_face = lfw_faces()  # [200, 25, 25] uint8: 100 faces, then 100 non-faces
    for label, flag in (("face", 1), ("nonface", 0)):
        idx = np.flatnonzero(is_face == flag)
        idx = np.sort(rng.choice(idx, size=FACES_PER_CLASS, replace=False))
        for i in idx:
            images.append(_to_rgb(faces[i]))
            names.append(f"{label}-{int(i):03d}")
            labels.append(label)

    from sklearn.datasets import load_digits

    digits = load_digits()
    for d in range(10):
        idx = np.flatnonzero(digits.target == d)
        idx = np.sort(rng.choice(idx, size=DIGITS_PER_CLASS, replace=False))
        for i in idx:
            # 0..16 ink intensity -> dark ink on white paper, upscaled from 8x8
            pixels = 255.0 - digits.images[i] * (255.0 / 16.0)
            image = _to_rgb(pixels).resize((DIGIT_SIDE, DIGIT_SIDE), Image.Resampling.BILINEAR)
            images.append(image)
            names.append(f"digit{d}-{int(i):04d}")
            labels.append(f"digit-{d}")

    return images, names, labels

"""Practice 2：用 CLIP 构建图像检索系统（以图搜图）。

流程和讲义一致：

1. 用预训练的 backbone（CLIP 的 image encoder；离线时改用 ImageNet 预训练的 MobileNetV2）
   把每张图片编码成 embedding，并做 L2 归一化；
2. 把 embedding 存成"图片索引库"（``RetrievalIndex``，safetensors + JSON）；
3. 给定查询图片，计算它与索引库中所有图片的余弦相似度（cosine similarity），返回 Top-K；
4. 可视化：查询图 + Top-K 结果（``plot_results``）。

向量归一化之后，余弦相似度就是内积：``cos(q, g) = q̂ · ĝ``。

需要你实现的函数：``l2_normalize``、``cosine_topk``、``encode_images``、
``RetrievalIndex.search``、``precision_at_k``。其余是给定代码。
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import torch
from PIL import Image
from torch import Tensor, nn

from .weights import DEFAULT_BACKBONE, WeightsUnavailable, load_clip, load_torchvision

CLIP_MODEL = ("ViT-B-32", "laion2b_s34b_b79k")


# --------------------------------------------------------------------------- helpers (given)


def _check_float(x: object, name: str, dims: tuple[int, ...]) -> Tensor:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} 必须是 torch.Tensor，得到 {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} 必须是浮点张量（float32/float64），得到 dtype={x.dtype}")
    if x.dim() not in dims:
        want = " 或 ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} 必须是 {want} 张量，得到形状 {tuple(x.shape)}")
    return x


# --------------------------------------------------------------------------- similarity search


def l2_normalize(x: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """沿 ``dim`` 做 L2 归一化：``x / max(||x||, eps)``。

    x: ``[..., D]`` 浮点张量；返回同形状。全零向量保持为零（不会出现 NaN）。
    """
    x = _check_float(x, "x", tuple(range(1, 9)))
    if eps <= 0:
        raise ValueError(f"eps 必须为正数，得到 {eps}")
    ### BEGIN SOLUTION
    # HINT: 先用 x.norm(dim=dim, keepdim=True) 求长度，再用 clamp_min(eps) 防止除以 0。
    norm = x.norm(p=2, dim=dim, keepdim=True).clamp_min(eps)
    return x / norm
    ### END SOLUTION


def cosine_topk(
    queries: Tensor, gallery: Tensor, k: int, chunk_size: int = 65536
) -> tuple[Tensor, Tensor]:
    """余弦相似度 Top-K 检索。

    queries: ``[Q, D]``（或单个查询 ``[D]``）；gallery: ``[N, D]``；两者都不必事先归一化。
    返回 ``(scores, indices)``：``[Q, k]`` 的余弦相似度（每行从大到小）与 gallery 下标（int64）。
    单个查询 ``[D]`` 返回 ``[k]`` 与 ``[k]``。相似度相等（tie）时顺序任意。

    gallery 很大时（如 N = 1,000,000）不能一次算出 ``[Q, N]`` 的相似度矩阵：
    按每块 ``chunk_size`` 行处理 gallery，维护一个"到目前为止最好的 k 个"（running Top-K）。
    """
    queries = _check_float(queries, "queries", (1, 2))
    gallery = _check_float(gallery, "gallery", (2,))
    single = queries.dim() == 1
    if single:
        queries = queries.unsqueeze(0)
    n, d = gallery.shape
    if queries.shape[1] != d:
        raise ValueError(f"queries 的维度 D={queries.shape[1]} 与 gallery 的维度 D={d} 不一致")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k 必须是 1 到 N={n} 之间的整数，得到 {k!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size 必须是正整数，得到 {chunk_size!r}")
    dtype = torch.promote_types(queries.dtype, gallery.dtype)
    ### BEGIN SOLUTION
    # HINT: 逐块计算 q̂ @ ĝ.T，取每块的 topk，再与之前最好的 k 个拼接后重新 topk。
    # HINT: 块内下标要加上块的起始行号 start，才是 gallery 中的下标。
    # HINT: 最后把结果赋给 scores, indices（形状都是 [Q, k]）。
    q = l2_normalize(queries.to(dtype))
    best_scores = q.new_empty(q.shape[0], 0)
    best_idx = torch.empty(q.shape[0], 0, dtype=torch.int64, device=q.device)
    for start in range(0, n, chunk_size):
        chunk = gallery[start : start + chunk_size].to(dtype)  # [c, D], a view when dtypes match
        # Scaling the scores by 1/||g|| gives cos(q, g) without a normalised copy of the chunk.
        sims = (q @ chunk.T) / chunk.norm(dim=1).clamp_min(1e-12)  # [Q, c]
        top = sims.topk(min(k, sims.shape[1]), dim=1)
        cand_scores = torch.cat([best_scores, top.values], dim=1)
        cand_idx = torch.cat([best_idx, top.indices + start], dim=1)
        keep = cand_scores.topk(min(k, cand_scores.shape[1]), dim=1)
        best_scores = keep.values
        best_idx = cand_idx.gather(1, keep.indices)
    scores, indices = best_scores, best_idx
    ### END SOLUTION
    if single:
        return scores[0], indices[0]
    return scores, indices


# --------------------------------------------------------------------------- image encoders


class TorchvisionEncoder(nn.Module):
    """把 torchvision 的分类网络截成 backbone：``features`` + 全局平均池化 -> embedding。

    提供和 open_clip 模型一样的 ``encode_image(x [B, 3, H, W]) -> [B, D]`` 接口，
    所以 ``encode_images`` 不用关心用的是哪种模型。MobileNetV2 的 D = 1280。
    """

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        if not hasattr(classifier, "features"):
            raise ValueError(f"{type(classifier).__name__} 没有 .features 子模块，无法截取 backbone")
        self.features = classifier.features
        self.pool = nn.AdaptiveAvgPool2d(1)

    def encode_image(self, x: Tensor) -> Tensor:
        return self.pool(self.features(x)).flatten(1)  # [B, C, h, w] -> [B, C]

    def forward(self, x: Tensor) -> Tensor:
        return self.encode_image(x)


def load_encoder(prefer_clip: bool = True, image_size: int = 128) -> tuple[nn.Module, Callable, str]:
    """返回 ``(model, preprocess, name)``。

    ``prefer_clip=True`` 时先尝试 open_clip 的 CLIP ViT-B-32（laion2b_s34b_b79k）；
    拿不到权重（例如离线）时打印提示，改用 ImageNet 预训练的 MobileNetV2（torchvision 权重缓存里）。
    MobileNetV2 的 ``preprocess`` 来自其 weights 自带的 transforms，输入边长为 ``image_size``。
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size 必须是不小于 32 的整数，得到 {image_size!r}")
    if prefer_clip:
        try:
            model, preprocess, _ = load_clip(*CLIP_MODEL)
            return model, preprocess, f"open_clip {CLIP_MODEL[0]} ({CLIP_MODEL[1]})"
        except WeightsUnavailable as exc:
            first_line = str(exc).splitlines()[0]
            print(f"[提示] 拿不到 CLIP 权重，改用 ImageNet 预训练的 MobileNetV2 作为图像编码器。\n  原因: {first_line[:200]}")
    from torchvision.models import get_model_weights

    arch, tag = DEFAULT_BACKBONE
    model = TorchvisionEncoder(load_torchvision(arch, tag)).eval()
    preprocess = get_model_weights(arch)[tag].transforms(
        crop_size=image_size, resize_size=int(round(image_size * 256 / 224))
    )
    return model, preprocess, f"torchvision {arch} ({tag})"


def encode_images(model: nn.Module, preprocess: Callable, images: Sequence[Image.Image], batch_size: int = 32) -> Tensor:
    """把图片编码成 L2 归一化的 embedding。

    model: 任何提供 ``encode_image(x [B, 3, H, W]) -> [B, D]`` 的模型（open_clip 模型或
    ``TorchvisionEncoder``）；preprocess: 把一张 PIL 图片变成 ``[3, H, W]`` 张量。
    返回 ``[N, D]`` float32，每行 L2 范数为 1。在 ``model.eval()`` 和 ``torch.no_grad()`` 下分批计算。
    """
    if len(images) == 0:
        raise ValueError("images 不能为空")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size 必须是正整数，得到 {batch_size!r}")
    if not hasattr(model, "encode_image"):
        raise ValueError(f"model ({type(model).__name__}) 没有 encode_image 方法")
    ### BEGIN SOLUTION
    # HINT: 每批先 torch.stack([preprocess(im) for im in batch])，再 model.encode_image(x)。
    # HINT: 别忘了 model.eval()、torch.no_grad()，最后 torch.cat 并 l2_normalize。
    model.eval()
    parts: list[Tensor] = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.stack([preprocess(im) for im in images[start : start + batch_size]])
            parts.append(model.encode_image(x).float())
    return l2_normalize(torch.cat(parts))
    ### END SOLUTION


# --------------------------------------------------------------------------- the index


class RetrievalIndex:
    """图片索引库：L2 归一化的 embedding ``[N, D]`` 加上每张图片的名字。

    ``save(path)`` 写出 ``path``（safetensors，存 embedding）和 ``path`` 同名的 ``.json``（存名字），
    不使用 pickle；``RetrievalIndex.load(path)`` 读回。
    """

    def __init__(self, embeddings: Tensor, names: Sequence[str]) -> None:
        embeddings = _check_float(embeddings, "embeddings", (2,))
        names = list(names)
        if len(names) != embeddings.shape[0]:
            raise ValueError(f"names 有 {len(names)} 个，但 embeddings 有 {embeddings.shape[0]} 行")
        if embeddings.shape[0] == 0:
            raise ValueError("索引库不能为空（embeddings 有 0 行）")
        if not all(isinstance(n, str) for n in names):
            raise ValueError("names 必须都是字符串")
        self.embeddings = l2_normalize(embeddings.detach().to("cpu", torch.float32)).contiguous()
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def search(self, queries: Tensor, k: int) -> list[list[tuple[str, float]]]:
        """queries: ``[Q, D]``（或 ``[D]``，当作 Q = 1）。

        返回长度为 Q 的列表，每项是按相似度从大到小排列的 k 个 ``(名字, 余弦相似度)``。
        """
        ### BEGIN SOLUTION
        # HINT: 调用 cosine_topk(queries, self.embeddings, k)，再把下标换成 self.names 里的名字。
        if isinstance(queries, Tensor) and queries.dim() == 1:
            queries = queries.unsqueeze(0)
        scores, indices = cosine_topk(queries, self.embeddings, k)
        return [
            [(self.names[i], float(s)) for s, i in zip(row_s.tolist(), row_i.tolist())]
            for row_s, row_i in zip(scores, indices)
        ]
        ### END SOLUTION

    @staticmethod
    def _names_path(path: Path) -> Path:
        return path.with_name(path.name + ".json")

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"embeddings": self.embeddings}, str(path))
        self._names_path(path).write_text(json.dumps({"names": self.names}, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "RetrievalIndex":
        from safetensors.torch import load_file

        path = Path(path)
        names_path = cls._names_path(path)
        if not path.exists() or not names_path.exists():
            raise FileNotFoundError(f"找不到索引文件 {path} 或 {names_path}")
        embeddings = load_file(str(path))["embeddings"]
        names = json.loads(names_path.read_text(encoding="utf-8"))["names"]
        index = cls(embeddings, names)
        index.embeddings = embeddings.contiguous()  # stored rows are unit already; keep them bit for bit
        return index


# --------------------------------------------------------------------------- evaluation


def precision_at_k(retrieved_labels: Tensor | Sequence[Sequence], query_labels: Tensor | Sequence, k: int) -> float:
    """precision@K：每个查询的前 K 个结果里与查询同标签的比例，再对所有查询取平均。

    retrieved_labels: ``[Q, >=K]``（张量或嵌套列表，标签可以是整数或字符串）；
    query_labels: ``[Q]``。查询图片本身应由调用者事先从结果中排除。返回 [0, 1] 之间的 float。
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k 必须是正整数，得到 {k!r}")
    retrieved = retrieved_labels.tolist() if isinstance(retrieved_labels, Tensor) else [list(r) for r in retrieved_labels]
    wanted = query_labels.tolist() if isinstance(query_labels, Tensor) else list(query_labels)
    if len(retrieved) != len(wanted) or len(wanted) == 0:
        raise ValueError(f"retrieved_labels 有 {len(retrieved)} 行，query_labels 有 {len(wanted)} 个（需相等且 > 0）")
    short = [i for i, row in enumerate(retrieved) if len(row) < k]
    if short:
        raise ValueError(f"第 {short[0]} 个查询只有 {len(retrieved[short[0]])} 个结果，少于 k={k}")
    ### BEGIN SOLUTION
    # HINT: 对每个查询数 row[:k] 里等于它的标签的个数，除以 k；再对所有查询取平均。
    hits = [sum(label == q for label in row[:k]) / k for row, q in zip(retrieved, wanted)]
    return float(sum(hits) / len(hits))
    ### END SOLUTION


def leave_one_out_topk(embeddings: Tensor, k: int) -> Tensor:
    """每张图片都当一次查询，在其余图片中检索 Top-K（排除自己），返回下标 ``[N, k]``。给定代码。"""
    embeddings = _check_float(embeddings, "embeddings", (2,))
    if not 1 <= k < embeddings.shape[0]:
        raise ValueError(f"k 必须在 1 到 N-1={embeddings.shape[0] - 1} 之间，得到 {k}")
    _, idx = cosine_topk(embeddings, embeddings, k + 1)
    # Drop each query's own row; duplicates of it (score 1 too) may precede it, so filter by index.
    own = torch.arange(embeddings.shape[0]).unsqueeze(1)
    keep = idx != own
    rows = [row[mask][:k] for row, mask in zip(idx, keep)]
    return torch.stack(rows)


# --------------------------------------------------------------------------- visualisation (given)


def plot_results(query: Image.Image, results: Sequence[Image.Image], scores: Sequence[float], path: str | Path, titles: Sequence[str] | None = None) -> Path:
    """画出查询图和它的 Top-K 结果（一行：查询 | 结果 1 … K），标题写相似度，保存为 PNG。"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(results) != len(scores):
        raise ValueError(f"results 有 {len(results)} 张，scores 有 {len(scores)} 个，必须相等")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(results) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.4))
    axes = [axes] if n == 1 else list(axes)
    axes[0].imshow(query)
    axes[0].set_title("query", fontsize=9)
    for i, (ax, image, score) in enumerate(zip(axes[1:], results, scores)):
        ax.imshow(image)
        label = f"#{i + 1} cos={score:.3f}"
        if titles is not None:
            label = f"{titles[i]}\n{label}"
        ax.set_title(label, fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path

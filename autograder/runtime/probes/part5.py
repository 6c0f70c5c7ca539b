"""Probes for part 5 (image retrieval: l2_normalize, cosine_topk, encode_images,
RetrievalIndex.search, precision_at_k, retrieval over the real gallery's embeddings).

Isolation: while a probe runs anything but `l2_normalize` itself, the module's `l2_normalize`
is `torch.nn.functional.normalize` (what its docstring describes), and `RetrievalIndex.search`
calls a `cosine_topk` written here (normalise, inner product, topk), so a bug in one function
costs that function's checks only. No probe is ever sent an expected value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autograder.runtime.probes import Context, Meta, Tensors, probe
from autograder.runtime.probes.common import as_tensor, patched, state_from


def _graders_l2_normalize(module: Any):
    def l2_normalize(x: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
        return F.normalize(x, p=2.0, dim=dim, eps=eps)

    return patched(module, l2_normalize=l2_normalize)


def _topk_pair(value: object, what: str) -> tuple[Tensor, Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{what} 应返回 (scores, indices) 两个张量，得到 {type(value).__name__}")
    return as_tensor(value[0], f"{what}[0] (scores)"), as_tensor(value[1], f"{what}[1] (indices)")


# --------------------------------------------------------------------------- similarity search


@probe("part5.l2_normalize")
def l2_normalize(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part5")
    out = as_tensor(m.l2_normalize(tensors["x"].clone(), dim=int(args.get("dim", -1))), "l2_normalize(x, dim)")
    return {}, {"out": out}


@probe("part5.cosine_topk")
def cosine_topk(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """One call `cosine_topk(queries, gallery, k[, chunk_size])`."""
    m = ctx.module("part5")
    kwargs = {"chunk_size": int(args["chunk_size"])} if args.get("chunk_size") is not None else {}
    with _graders_l2_normalize(m):
        result = m.cosine_topk(tensors["queries"], tensors["gallery"], int(args["k"]), **kwargs)
    scores, indices = _topk_pair(result, "cosine_topk(queries, gallery, k)")
    return {}, {"scores": scores, "indices": indices}


@probe("part5.cosine_topk_errors")
def cosine_topk_errors(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """A valid call first (so an unfinished function reports itself; its answer comes back), then
    each bad input: the name of the exception it raised, or None."""
    m = ctx.module("part5")
    queries, gallery = tensors["queries"], tensors["gallery"]
    k = int(args.get("k", 1))
    with _graders_l2_normalize(m):
        scores, indices = _topk_pair(m.cosine_topk(queries, gallery, k), f"cosine_topk(queries, gallery, {k})")
        cases = {
            "k=0": (queries, gallery, 0),
            f"k=N+1={gallery.shape[0] + 1}": (queries, gallery, gallery.shape[0] + 1),
            "D 不一致": (tensors["queries_bad_dim"], gallery, 1),
        }
        raised: dict[str, Any] = {}
        for name, (q, g, k) in cases.items():
            try:
                m.cosine_topk(q, g, k)
                raised[name] = None
            except Exception as exc:  # the check decides which exception is right
                raised[name] = type(exc).__name__
    return {"raised": raised}, {"scores": scores, "indices": indices}


# --------------------------------------------------------------------------- image encoder


class TinyEncoder(nn.Module):
    """A small conv net with the `encode_image` interface of open_clip and `TorchvisionEncoder`.

    BatchNorm and Dropout make train mode visible in the output."""

    def __init__(self, width: int = 8, dim: int = 6, out_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.out_dtype = out_dtype  # an encoder whose embeddings are not float32 (e.g. float64)
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Linear(width, dim)

    def encode_image(self, x: Tensor) -> Tensor:
        out = self.proj(self.pool(self.features(x)).flatten(1))  # [B, 3, H, W] -> [B, dim]
        return out if self.out_dtype is None else out.to(self.out_dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode_image(x)


def tiny_preprocess(resize: int, crop: int, mean: list[float], std: list[float]) -> Callable:
    """PIL image -> `[3, crop, crop]`, the shape of torchvision's classification presets."""
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor(), transforms.Normalize(mean, std)])


def images_from(tensors: Tensors, count: int) -> list:
    """The grader's uint8 `[H, W, 3]` tensors `img.0 .. img.{count-1}` as RGB PIL images."""
    from PIL import Image

    return [Image.fromarray(tensors[f"img.{i}"].numpy()) for i in range(count)]


@probe("part5.encode_images")
def encode_images(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part5")
    out_dtype = {None: None, "float64": torch.float64}[args.get("out_dtype")]
    model = TinyEncoder(int(args["width"]), int(args["dim"]), out_dtype)
    model.load_state_dict(state_from(tensors), strict=True)
    model.train()  # as a model comes out of training; encode_images must switch it to eval mode
    preprocess = tiny_preprocess(int(args["resize"]), int(args["crop"]), args["mean"], args["std"])
    images = images_from(tensors, int(args["count"]))
    with _graders_l2_normalize(m):
        out = as_tensor(m.encode_images(model, preprocess, images, batch_size=int(args["batch_size"])), "encode_images(...)")
    return {"requires_grad": bool(out.requires_grad)}, {"out": out}


# --------------------------------------------------------------------------- the index


def _graders_topk(module: Any, queries: Tensor, embeddings: Tensor, k: int):
    """`cosine_topk` as its docstring describes it (normalise, inner product, topk), computed here
    from what `RetrievalIndex.search` passes it, after checking that it passes the index's
    embeddings, the queries search received and its k. The grader's expected answer never comes
    here: it is computed on the trusted side from the same embeddings."""
    n, d = embeddings.shape
    sent = F.normalize(torch.atleast_2d(queries).double(), dim=-1)

    def cosine_topk(q: Tensor, gallery: Tensor, kk: int, chunk_size: int = 65536) -> tuple[Tensor, Tensor]:
        if not isinstance(q, Tensor) or not isinstance(gallery, Tensor):
            raise TypeError("RetrievalIndex.search 调用 cosine_topk 时，queries 和 gallery 都应是 torch.Tensor")
        if tuple(gallery.shape) != (n, d):
            raise ValueError(f"RetrievalIndex.search 应在索引库的 embeddings [N={n}, D={d}] 中检索，"
                             f"但传给 cosine_topk 的 gallery 形状是 {tuple(gallery.shape)}")
        q2 = torch.atleast_2d(q)
        if q2.shape != sent.shape or not torch.allclose(F.normalize(q2.double(), dim=-1), sent, atol=1e-5):
            raise ValueError(f"RetrievalIndex.search 传给 cosine_topk 的 queries（形状 {tuple(q.shape)}）不是 search 收到的查询"
                             f"（形状 {tuple(queries.shape)}）")
        if kk != k:
            raise ValueError(f"RetrievalIndex.search(queries, k={k}) 调用 cosine_topk 时传了 k={kk!r}")
        with torch.no_grad():
            sims = F.normalize(q2.float(), dim=-1) @ F.normalize(gallery.float(), dim=-1).T
            scores, indices = sims.topk(k, dim=1)
        if q.dim() == 1:
            return scores[0], indices[0]
        return scores, indices

    return patched(module, cosine_topk=cosine_topk)


def _plain_results(value: object, what: str) -> list[list[list[Any]]]:
    """`[[(name, score), ...], ...]` -> JSON lists, rejecting anything else with a clear message."""
    if not isinstance(value, list):
        raise TypeError(f"{what} 应返回 list（每个查询一项），得到 {type(value).__name__}")
    rows = []
    for qi, row in enumerate(value):
        if not isinstance(row, list):
            raise TypeError(f"{what}[{qi}] 应是 list，得到 {type(row).__name__}")
        items = []
        for j, item in enumerate(row):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"{what}[{qi}][{j}] 应是 (名字, 相似度) 二元组，得到 {type(item).__name__}")
            name, score = item
            if not isinstance(name, str):
                raise TypeError(f"{what}[{qi}][{j}] 的名字应是 str，得到 {type(name).__name__}")
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise TypeError(f"{what}[{qi}][{j}] 的相似度应是 float，得到 {type(score).__name__}")
            items.append([name, float(score)])
        rows.append(items)
    return rows


@probe("part5.search")
def search(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part5")
    k = int(args["k"])
    with _graders_l2_normalize(m):
        index = m.RetrievalIndex(tensors["embeddings"], list(args["names"]))
        with _graders_topk(m, tensors["queries"], index.embeddings, k):
            found = index.search(tensors["queries"].clone(), k)
    return {"results": _plain_results(found, f"RetrievalIndex.search(queries, k={k})")}, {}


# --------------------------------------------------------------------------- evaluation


@probe("part5.precision_at_k")
def precision_at_k(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """Each case: labels as nested lists (`retrieved`, `query`) or as tensors `<name>.retrieved`."""
    m = ctx.module("part5")
    values = []
    for case in args["cases"]:
        name = case["name"]
        if case.get("tensor"):
            retrieved, query = tensors[f"{name}.retrieved"], tensors[f"{name}.query"]
        else:
            retrieved, query = case["retrieved"], case["query"]
        v = m.precision_at_k(retrieved, query, int(case["k"]))
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"precision_at_k(...) 应返回 float，得到 {type(v).__name__}")
        values.append(float(v))
    return {"values": values}, {}


@probe("part5.gallery_topk")
def gallery_topk(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """Every embedding queries the whole gallery (itself included); the grader drops the query."""
    m = ctx.module("part5")
    emb = tensors["embeddings"]
    with _graders_l2_normalize(m):
        _, indices = _topk_pair(m.cosine_topk(emb, emb, int(args["k"])), "cosine_topk(embeddings, embeddings, k)")
    return {}, {"indices": indices}

"""Hidden checks, part 5: image retrieval (l2_normalize, cosine_topk, encode_images,
RetrievalIndex.search, precision_at_k, precision@5 over the real gallery) (15 points)."""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

import reference.retrieval as ref
from autograder.checks import (
    CheckFailed,
    check,
    expect_at_least,
    expect_close,
    expect_dtype,
    expect_equal,
    expect_indices,
    expect_shape,
    expect_true,
    require_ok,
    tensor,
    value,
)
from autograder.expect import cached, cached_inputs
from autograder.runtime.assignment import given_files
from autograder.runtime.probes.part5 import TinyEncoder, tiny_preprocess
from autograder.suites.inputs import SEEDS, Unsafe, generator, prefixed, randn, randomize_batchnorm, safe_inputs, seed_candidates

SEED = SEEDS["hidden"] + 500
ATOL = ref.SCORE_ATOL  # float32 cosines: a different summation order changes the last bits only


def _data(q: int, n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = generator(seed)
    return torch.randn(q, d, generator=g), torch.randn(n, d, generator=g)


# The gap _expect_same_topk treats as a tie: within it any order is right.
TIE_GAP = 10 * ATOL


def _require_gaps(queries: torch.Tensor, gallery: torch.Tensor, k: int, what: str, every: bool = False) -> None:
    """Unsafe unless, for every query, the reference's k-th and (k+1)-th cosines (with `every`:
    any two neighbours of its top k + 1) are more than TIE_GAP apart: a row that round-off could
    move into or out of the top k (or, with `every`, up or down a place) is not a fair input."""
    if k >= gallery.shape[0] and not every:
        return
    scores, _ = ref.cosine_topk(torch.atleast_2d(queries), gallery, min(k + 1, gallery.shape[0]))
    gaps = scores[:, :-1] - scores[:, 1:]
    gap = float(gaps.min() if every else gaps[:, k - 1].min())
    if not gap > TIE_GAP:
        raise Unsafe(f"{what}: reference cosines {gap:.2g} apart {'in' if every else 'at the cut of'} the top {k} (<= {TIE_GAP:g})")


def _topk_expected(spec: list[tuple[str, torch.Tensor, torch.Tensor, int]]) -> dict[str, torch.Tensor]:
    """The reference's top k of each (key, queries, gallery, k), with a safe cut."""
    out = {}
    for key, q, g, k in spec:
        _require_gaps(q, g, k, key)
        out[f"{key}.scores"], out[f"{key}.indices"] = ref.cosine_topk(q, g, k)
    return out


def _call_topk(worker, queries: torch.Tensor, gallery: torch.Tensor, k: int, chunk_size: int | None = None, hint: str = "",
               shared_gallery: bool = False):
    """`shared_gallery`: the gallery is the same for every submission (launch/shared.py)."""
    args = {"k": k, "chunk_size": chunk_size}
    tensors, shared = ({"queries": queries}, {"gallery": gallery}) if shared_gallery else ({"queries": queries, "gallery": gallery}, None)
    r = require_ok(worker.call("part5.cosine_topk", args, tensors, shared=shared), hint)
    return tensor(r, "scores", "cosine_topk(...)[0]"), tensor(r, "indices", "cosine_topk(...)[1]")


def _well_formed(scores: torch.Tensor, idx: torch.Tensor, shape: list[int], n: int, what: str, hint: str,
                 distinct: bool = True) -> None:
    """Shapes and dtypes, in-range (and, with `distinct`, distinct) indices; finite, non-empty
    scores: `tensor` saw to that."""
    expect_shape(scores, shape, f"{what} 的 scores", hint)
    expect_dtype(scores, torch.float32, f"{what} 的 scores", "float32 输入的相似度也应是 float32。")
    expect_indices(idx, shape, n, f"{what} 的 indices", hint, distinct=distinct)


def _did_a_topk(scores: torch.Tensor, idx: torch.Tensor, shape: list[int], n: int, what: str, hint: str) -> None:
    """Evidence that a ranking was made, for checks of a property of the ranking (its order, the
    errors raised around it): k distinct gallery rows per query with scores that are not all
    equal. Zeros of the right shape (a function that does nothing) have neither. Which rows and
    scores are right is cosine_topk_values' business."""
    _well_formed(scores, idx, shape, n, what, hint)
    rows = torch.atleast_2d(scores)
    if bool((rows == rows[:, :1]).all(dim=1).any()):
        raise CheckFailed(f"{what}: 每个查询的 {rows.shape[1]} 个相似度全都相同（{rows[0].tolist()[:4]} …）：还没有真正计算相似度并取 Top-K",
                          hint=hint)


def _by_score(scores: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows sorted by score, largest first: order is graded by its own check only."""
    s2, i2 = torch.atleast_2d(scores), torch.atleast_2d(idx)
    order = s2.argsort(dim=1, descending=True, stable=True)
    return s2.gather(1, order), i2.gather(1, order)


def _expect_same_topk(scores, idx, exp_scores, exp_idx, what: str, hint: str) -> None:
    """Scores as values; indices wherever the expected score is not tied with a neighbour
    (within a tie any order is right)."""
    s, i = _by_score(scores, idx)
    es, ei = torch.atleast_2d(exp_scores), torch.atleast_2d(exp_idx)
    expect_close(s, es, f"{what} 的 scores（按从大到小排好后）", atol=ATOL, rtol=0, hint=hint)
    for row in range(es.shape[0]):
        for j in range(es.shape[1]):
            gap_prev = float(es[row, j - 1] - es[row, j]) if j > 0 else float("inf")
            gap_next = float(es[row, j] - es[row, j + 1]) if j + 1 < es.shape[1] else float("inf")
            if min(gap_prev, gap_next) > 10 * ATOL and int(i[row, j]) != int(ei[row, j]):
                raise CheckFailed(f"{what}: 查询 {row} 的第 {j + 1} 名应是 gallery 下标 {int(ei[row, j])}"
                                  f"（相似度 {float(es[row, j]):.6f}），得到下标 {int(i[row, j])}", hint=hint)


def _expect_true_cosines(scores, idx, queries, gallery, what: str, hint: str) -> None:
    """The returned indices carry the returned scores (catches right scores with wrong indices)."""
    s, i = _by_score(scores, idx)
    q = F.normalize(torch.atleast_2d(queries).double(), dim=-1)
    g = F.normalize(gallery.double(), dim=-1)
    expect_close(torch.gather(q @ g.T, 1, i), s.double(), f"{what}: 返回的下标对应的真实余弦相似度 vs 返回的 scores",
                 atol=ATOL, rtol=0, hint=hint)


# --------------------------------------------------------------------------- l2_normalize

L2_HINT = "沿参数 dim 求长度 x.norm(dim=dim, keepdim=True)（不要写死 dim=0 或 1），再 clamp_min(eps) 后相除。"


@check("part5.l2_normalize", 1, "l2_normalize 沿指定维度归一化，与 F.normalize 一致（各种 dim、float64）")
def test_l2_normalize(worker):
    cases = [
        ("[4, 6], dim=-1", randn(4, 6, seed=SEED + 1) * 3, -1),
        ("[2, 3, 5], dim=-1", randn(2, 3, 5, seed=SEED + 2), -1),
        ("[3, 4, 2] float64, dim=1", randn(3, 4, 2, seed=SEED + 3, dtype=torch.float64), 1),
        ("[5, 3], dim=0", randn(5, 3, seed=SEED + 4) + 1, 0),
    ]
    exp = cached("part5.l2_normalize", lambda: {name: ref.l2_normalize(x, dim=dim) for name, x, dim in cases})
    for name, x, dim in cases:
        r = require_ok(worker.call("part5.l2_normalize", {"dim": dim}, {"x": x}))
        expect_close(tensor(r, "out", "l2_normalize(x)"), exp[name], f"l2_normalize(x {name})", atol=1e-6, rtol=1e-5, hint=L2_HINT)


@check("part5.l2_normalize_zero_rows", 1, "l2_normalize 把全零向量保持为零（不出现 NaN）")
def test_l2_normalize_zero_rows(worker):
    x = randn(5, 7, seed=SEED + 5)
    x[1] = 0.0
    x[3] = 0.0
    r = require_ok(worker.call("part5.l2_normalize", {"dim": -1}, {"x": x}))
    out = tensor(r, "out", "l2_normalize(x)", finite=False)  # NaN is this check's own bug: its hint follows
    expect_shape(out, [5, 7], "l2_normalize(x [5, 7])")
    hint = "全零行的长度是 0，直接相除得到 0/0 = NaN；先 norm.clamp_min(eps) 再除。"
    expect_true(bool(torch.isfinite(out).all()), "l2_normalize(x) 对全零行（第 1、3 行）得到了 NaN/Inf", hint, kind="nan")
    exp = cached("part5.l2_normalize_zero", lambda: {"out": ref.l2_normalize(x)})
    expect_close(out, exp["out"], "l2_normalize(x，第 1、3 行全零)", atol=1e-6, rtol=1e-5, hint=hint)


# --------------------------------------------------------------------------- cosine_topk

TOPK_HINT = ("余弦相似度是归一化之后的内积 q̂ · ĝ：queries 和 gallery 的每一行都要除以自己的长度（长度先 clamp_min(eps)，"
             "全零的行相似度为 0 而不是 NaN）；再用 topk(k, dim=1) 取最大的 k 个。")


def _values_cases(offset: int) -> list[tuple[str, str, torch.Tensor, torch.Tensor, int, list[int]]]:
    plain_q, plain_g = _data(6, 40, 12, seed=SEED + 10 + offset)
    tie_q, tie_g = _data(3, 30, 8, seed=SEED + 11 + offset)
    tie_g[10] = tie_g[3] * 2.0  # same direction as row 3: a tie at cosine 1 for query 0
    tie_g[20] = tie_g[3] * 0.5
    tie_q[0] = tie_g[3] * 3.0
    one_q, one_g = _data(1, 25, 10, seed=SEED + 12 + offset)
    zero_q, zero_g = _data(4, 20, 6, seed=SEED + 13 + offset)
    zero_g[[2, 11]] = 0.0  # all-zero gallery rows: cosine 0 with every query, never NaN
    return [
        ("plain", "cosine_topk(queries [6, 12], gallery [40, 12], k=7)", plain_q, plain_g, 7, [6, 7]),
        ("ties", "cosine_topk(queries [3, 8], gallery [30, 8]（有方向相同的行）, k=5)", tie_q, tie_g, 5, [3, 5]),
        ("single", "cosine_topk(query [10], gallery [25, 10], k=4)", one_q[0], one_g, 4, [4]),
        ("zero_rows", "cosine_topk(queries [4, 6], gallery [20, 6]（第 2、11 行全零）, k=20)", zero_q, zero_g, 20, [4, 20]),
    ]


VALUES = safe_inputs("part5.cosine_topk_values", seed_candidates(0), lambda offset: _topk_expected(
    [(key, q, g, k) for key, _, q, g, k, _ in _values_cases(offset)]))


@check("part5.cosine_topk_values", 2, "cosine_topk 的 Top-K 相似度与下标与参考实现一致（含并列、单个查询 [D]）")
def test_cosine_topk_values(worker):
    offset, exp = VALUES.chosen(cached("part5.topk.values", VALUES.compute))
    for key, what, q, g, k, shape in _values_cases(offset):
        scores, idx = _call_topk(worker, q, g, k, hint=TOPK_HINT)
        _well_formed(scores, idx, shape, g.shape[0], what, TOPK_HINT)
        exp_scores, exp_idx = exp[f"{key}.scores"], exp[f"{key}.indices"]
        _expect_same_topk(scores, idx, exp_scores, exp_idx, what, TOPK_HINT)
        _expect_true_cosines(scores, idx, q, g, what, "scores 与 indices 要一一对应：下标是 gallery 中的行号。")


@check("part5.cosine_topk_descending", 1, "cosine_topk 每行的结果按相似度从大到小排列")
def test_cosine_topk_descending(worker):
    q, g = _data(5, 37, 10, seed=SEED + 20)
    hint = "topk 默认 largest=True、sorted=True；合并各块的候选时也要保持从大到小（不要用 sorted=False 或升序排序）。"
    for chunk in (None, 4):
        scores, idx = _call_topk(worker, q, g, 6, chunk, hint=hint)
        what = f"cosine_topk(queries [5, 10], gallery [37, 10], k=6{'' if chunk is None else f', chunk_size={chunk}'})"
        if chunk is None:  # order means something only for a ranking that was made (zeros are "sorted" too)
            _did_a_topk(scores, idx, [5, 6], 37, what, TOPK_HINT)
        _well_formed(scores, idx, [5, 6], 37, what, hint, distinct=False)  # repeated indices: the chunking check's bug
        bad = (scores[:, 1:] > scores[:, :-1]).any(dim=1)
        if bool(bad.any()):
            row = int(bad.nonzero()[0])
            raise CheckFailed(f"{what}: 查询 {row} 的 scores 不是从大到小: {[round(v, 4) for v in scores[row].tolist()]}", hint=hint)


def _margin(what: str, data: tuple[torch.Tensor, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """For a check that compares two of the submission's own rankings: only the margin test."""
    _require_gaps(*data, k, what)
    return {"safe": torch.ones(1)}


SCALE = safe_inputs("part5.cosine_topk_scale_invariance", seed_candidates(SEED + 30),
                    lambda seed: _margin("scale_invariance", _data(5, 60, 16, seed=seed), 8))


@check("part5.cosine_topk_scale_invariance", 1, "cosine_topk 与 gallery 每行的长度无关（行乘以正数，结果不变）")
def test_cosine_topk_scale_invariance(worker):
    seed, _ = SCALE.chosen(cached("part5.topk.scale_invariance", SCALE.compute))
    q, g = _data(5, 60, 16, seed=seed)
    factors = torch.exp(torch.rand(60, 1, generator=generator(seed + 1)) * 10 - 5)  # 0.007 .. 148
    hint = "余弦相似度只看方向：gallery 的行也要归一化（或把 q̂ · g 除以 ||g||），否则长的向量总是排在前面（这是内积，不是余弦）。"
    base_s, base_i = _call_topk(worker, q, g, 8, hint=hint)
    _well_formed(base_s, base_i, [5, 8], 60, "cosine_topk(queries, gallery, k=8)", hint)
    scaled_s, scaled_i = _call_topk(worker, q, g * factors, 8, hint=hint)
    what = "cosine_topk(queries, gallery * 正数, k=8)（应与不缩放的 gallery 结果相同）"
    _well_formed(scaled_s, scaled_i, [5, 8], 60, what, hint)
    _expect_same_topk(scaled_s, scaled_i, *_by_score(base_s, base_i), what, hint)


CHUNKING = safe_inputs("part5.cosine_topk_chunking", seed_candidates(SEED + 40),
                       lambda seed: _margin("chunking", _data(4, 53, 12, seed=seed), 5))


@check("part5.cosine_topk_chunking", 2, "cosine_topk 分块（chunk_size < N 且不整除 N）与不分块结果一致")
def test_cosine_topk_chunking(worker):
    seed, _ = CHUNKING.chosen(cached("part5.topk.chunking", CHUNKING.compute))
    q, g = _data(4, 53, 12, seed=seed)
    hint = ("块内 topk 的下标要加上块的起始行号 start；最后一块只有 N % chunk_size 行，可能少于 k（topk 要取 min(k, 行数)）；"
            "每块的候选要和之前的 Top-K 拼接后重新 topk。")
    whole_s, whole_i = _call_topk(worker, q, g, 5, None, hint=hint)
    _well_formed(whole_s, whole_i, [4, 5], 53, "cosine_topk(queries [4, 12], gallery [53, 12], k=5)", hint)
    for chunk in (7, 20):
        what = f"cosine_topk(queries [4, 12], gallery [53, 12], k=5, chunk_size={chunk})（应与不分块的结果相同）"
        s, i = _call_topk(worker, q, g, 5, chunk, hint=hint)
        _well_formed(s, i, [4, 5], 53, what, hint)
        _expect_same_topk(s, i, *_by_score(whole_s, whole_i), what, hint)


@check("part5.cosine_topk_errors", 1, "cosine_topk 对 k < 1、k > N、维度 D 不一致抛出 ValueError")
def test_cosine_topk_errors(worker):
    q, g = _data(3, 9, 5, seed=SEED + 50)
    bad_dim = randn(3, 6, seed=SEED + 51)
    r = require_ok(worker.call("part5.cosine_topk_errors", {"k": 3}, {"queries": q, "gallery": g, "queries_bad_dim": bad_dim}))
    # Raising is a merit only in a function that ranks: the same call's valid query must come back
    # as a top-3 (zeros of the right shape raise nothing wrong and earn nothing).
    _did_a_topk(tensor(r, "scores", "cosine_topk(queries, gallery, 3)[0]"), tensor(r, "indices", "cosine_topk(queries, gallery, 3)[1]"),
                [3, 3], 9, "cosine_topk(queries [3, 5], gallery [9, 5], k=3)（合法输入）", TOPK_HINT)
    raised = r.result.get("raised")
    expect_true(isinstance(raised, dict) and len(raised) == 3, "没有得到 cosine_topk 对错误输入的反应")
    for case, kind in raised.items():
        expect_equal(kind, "ValueError", f"cosine_topk(queries [3, 5], gallery [9, 5]) 在 {case} 时抛出的异常",
                     "函数开头给定的参数检查会抛出 ValueError；不要删掉它，也不要用 try/except 吞掉。")


@lru_cache(maxsize=1)  # 51 MB drawn once per grading process (~0.1 s), only read afterwards
def _large_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return randn(4, 64, seed=seed + 1), randn(200_000, 64, seed=seed)


LARGE = safe_inputs("part5.cosine_topk_large_gallery", seed_candidates(SEED + 60),
                    lambda seed: _topk_expected([("large", *_large_data(seed), 10)]))


@check("part5.cosine_topk_large_gallery", 1, "cosine_topk 在 N = 200,000、D = 64、chunk_size = 4096 时按时完成且结果正确")
def test_cosine_topk_large_gallery(worker):
    seed, exp = LARGE.chosen(cached("part5.topk.large", LARGE.compute))
    q, g = _large_data(seed)
    hint = ("逐块处理 gallery：每块算 [Q, chunk] 的余弦相似度、取块内 Top-K（下标加上块的起始行号），再与目前最好的 k 个合并；"
            "结果应与不分块时相同。不要逐行用 Python 循环（会超时）。")
    # The gallery does not depend on the submission: a sandboxed worker maps the file the grading
    # process wrote once (launch/shared.py), instead of 51 MB through its pipe per submission.
    scores, idx = _call_topk(worker, q, g, 10, 4096, hint=hint, shared_gallery=True)
    what = "cosine_topk(queries [4, 64], gallery [200000, 64], k=10, chunk_size=4096)"
    _well_formed(scores, idx, [4, 10], 200_000, what, hint)
    _expect_same_topk(scores, idx, exp["large.scores"], exp["large.indices"], what, hint)


# --------------------------------------------------------------------------- encode_images


@check("part5.encode_images", 2, "encode_images 分批编码、eval 模式、输出 L2 归一化的 embedding")
def test_encode_images(worker):
    width, dim, batch_size = 8, 6, 3
    pre = {"resize": 18, "crop": 16, "mean": [0.5, 0.4, 0.3], "std": [0.25, 0.2, 0.3]}
    sizes = [(20, 24), (18, 18), (30, 22), (16, 40), (25, 25), (19, 21), (28, 17)]  # 7 images: batches of 3, 3, 1
    g = generator(SEED + 70)
    images = {f"img.{i}": torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8) for i, (h, w) in enumerate(sizes)}
    torch.manual_seed(SEED + 71)
    model = randomize_batchnorm(TinyEncoder(width, dim), SEED + 72)

    def compute() -> dict[str, torch.Tensor]:
        from PIL import Image

        class Embedder(torch.nn.Module):  # the reference's feature-extractor interface
            def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
                return {"embedding": model.eval().encode_image(x)}

        pil = [Image.fromarray(images[f"img.{i}"].numpy()) for i in range(len(sizes))]
        return {"out": ref.encode_images(Embedder(), tiny_preprocess(**pre), pil, batch_size=batch_size)}

    exp = cached("part5.encode_images", compute)
    args = {"width": width, "dim": dim, "batch_size": batch_size, "count": len(sizes), **pre}
    r = require_ok(worker.call("part5.encode_images", args, {**images, **prefixed(model.state_dict())}))
    out = tensor(r, "out", "encode_images(...)")
    what = f"encode_images(model, preprocess, 7 张图片, batch_size={batch_size})"
    expect_shape(out, [len(sizes), dim], what, "每张图片一行：把各批的 [B, D] 用 torch.cat 接起来。")
    expect_dtype(out, torch.float32, what)
    norms = out.detach().double().norm(dim=1)
    expect_close(norms, torch.ones(len(sizes), dtype=torch.float64), f"{what} 每行的 L2 范数", atol=1e-5, rtol=0,
                 hint="最后要对 embedding 做 l2_normalize，每行长度为 1。")
    expect_close(out, exp["out"], what, atol=1e-5, rtol=1e-4,
                 hint="先 model.eval()（关掉 Dropout、BatchNorm 用 running statistics），每批 torch.stack([preprocess(im) ...]) 后调用 "
                      "model.encode_image(x)；图片顺序要保持不变。")
    expect_true(r.result.get("requires_grad") is False, f"{what} 的输出带有梯度 (requires_grad=True)",
                "编码时不需要反向传播：放在 torch.no_grad() 里计算。")
    # The same weights behind an encoder whose embeddings come out as float64 (as some CLIP
    # builds do): the docstring promises float32 all the same.
    r = require_ok(worker.call("part5.encode_images", {**args, "out_dtype": "float64"}, {**images, **prefixed(model.state_dict())}))
    what = f"encode_images(输出 float64 embedding 的 model, preprocess, 7 张图片, batch_size={batch_size})"
    out = tensor(r, "out", what)
    expect_dtype(out, torch.float32, what, "encode_image 的输出不一定是 float32：拼接前（或归一化前）用 .float() 转成 float32。")
    expect_close(out, exp["out"], what, atol=1e-5, rtol=1e-4, hint="同一组权重，结果应与 float32 的 model 相同。")


# --------------------------------------------------------------------------- RetrievalIndex.search


def _search_data(seed: int) -> tuple[torch.Tensor, list[str], list[tuple[str, torch.Tensor, int]]]:
    """The index's embeddings, its names (not in index order) and the (label, queries, k) calls."""
    emb = randn(15, 8, seed=seed)
    names = [f"图片-{j:02d}" for j in torch.randperm(15, generator=generator(seed + 1)).tolist()]
    queries = randn(3, 8, seed=seed + 2)
    return emb, names, [("batch", queries, 4), ("single", queries[1], 3)]


def _search_expected(seed: int) -> dict[str, torch.Tensor]:
    """The names come back in order: every neighbour in each query's top k + 1 must be clear."""
    emb, _, calls = _search_data(seed)
    out = {}
    for label, q, k in calls:
        _require_gaps(q, emb, k, f"search.{label}", every=True)
        out[f"{label}.scores"], out[f"{label}.indices"] = ref.cosine_topk(torch.atleast_2d(q), ref.l2_normalize(emb), k)
    return out


SEARCH = safe_inputs("part5.search", seed_candidates(SEED + 80), _search_expected)


@check("part5.search", 1, "RetrievalIndex.search 返回每个查询的 k 个 (名字, 相似度)，从大到小")
def test_search(worker):
    seed, expected_all = SEARCH.chosen(cached("part5.search", SEARCH.compute))
    emb, names, calls = _search_data(seed)
    hint = "调用 cosine_topk(queries, self.embeddings, k)，再用 self.names[i] 把下标换成名字、float(s) 把相似度换成数；单个查询 [D] 先 unsqueeze(0)。"
    for label, q, k in calls:
        exp = {"scores": expected_all[f"{label}.scores"], "indices": expected_all[f"{label}.indices"]}
        # Only the inputs go: the probe's own cosine_topk ranks the index's embeddings, the
        # expected names and scores stay here.
        r = require_ok(worker.call("part5.search", {"names": names, "k": k}, {"embeddings": emb, "queries": q}), hint)
        found = r.result.get("results")
        what = f"RetrievalIndex(embeddings [15, 8], names).search(queries {list(q.shape)}, k={k})"
        expected = [[[names[i], s] for i, s in zip(ri, rs)] for ri, rs in zip(exp["indices"].tolist(), exp["scores"].tolist())]
        expect_true(isinstance(found, list), f"{what}: 没有得到结果列表", hint)
        expect_equal(len(found), len(expected), f"{what} 返回的列表长度（查询个数）", hint)
        for row, (got, want) in enumerate(zip(found, expected)):
            expect_equal([n for n, _ in got], [n for n, _ in want], f"{what}: 查询 {row} 的名字（从大到小）", hint)
            expect_close(torch.tensor([s for _, s in got], dtype=torch.float64), torch.tensor([s for _, s in want], dtype=torch.float64),
                         f"{what}: 查询 {row} 的相似度", atol=1e-6, rtol=0, hint=hint)


# --------------------------------------------------------------------------- precision_at_k


def _precision_cases() -> tuple[list[dict], dict[str, torch.Tensor]]:
    g = generator(SEED + 90)
    tensor_retrieved = torch.randint(0, 3, (5, 5), generator=g)
    tensor_query = torch.randint(0, 3, (5,), generator=g)
    cases = [
        {"name": "strings", "k": 4, "query": ["cat", "dog", "cat"],
         "retrieved": [["cat", "cat", "dog", "cat", "cat", "cat"],
                       ["cat", "bird", "dog", "cat", "dog", "dog"],
                       ["dog", "dog", "dog", "bird", "cat", "cat"]]},
        {"name": "tensor", "k": 5, "tensor": True},
        {"name": "k1", "k": 1, "query": [3, 1, 2, 2], "retrieved": [[3, 1, 3], [2, 1, 1], [2, 2, 2], [1, 2, 2]]},
        {"name": "one_query", "k": 3, "query": ["face"], "retrieved": [["face", "nonface", "face", "face", "face"]]},
    ]
    return cases, {"tensor.retrieved": tensor_retrieved, "tensor.query": tensor_query}


@check("part5.precision_at_k", 1, "precision_at_k 与参考实现一致（字符串/整数标签、张量输入、k 小于结果数）")
def test_precision_at_k(worker):
    cases, tensors = _precision_cases()

    def compute() -> dict[str, torch.Tensor]:
        values = []
        for c in cases:
            if c.get("tensor"):
                values.append(ref.precision_at_k(tensors["tensor.retrieved"], tensors["tensor.query"], c["k"]))
            else:
                values.append(ref.precision_at_k(c["retrieved"], c["query"], c["k"]))
        return {"values": torch.tensor(values, dtype=torch.float64)}

    exp = cached("part5.precision_at_k", compute)["values"].tolist()
    r = require_ok(worker.call("part5.precision_at_k", {"cases": cases}, tensors))
    got = value(r, "values", "precision_at_k 的结果", list)
    expect_equal(len(got), len(cases), "precision_at_k 的结果个数")
    hint = "每个查询只看前 k 个结果 row[:k]，命中数除以 k（不是除以结果总数）；再对所有查询取平均。"
    for c, g_v, e_v in zip(cases, got, exp):
        shape = "张量 [5, 5]" if c.get("tensor") else f"{len(c['retrieved'])} 个查询、每个 {len(c['retrieved'][0])} 个结果"
        expect_true(abs(g_v - e_v) <= 1e-9, f"precision_at_k（{shape}，k={c['k']}）: 期望 {e_v:.6f}，得到 {g_v:.6f}", hint)


# --------------------------------------------------------------------------- the real gallery


def _given(name: str) -> types.ModuleType:
    """A pristine given module (gallery.py and what it imports), never the submission's copy."""
    package = "_cnn_rnn_given"
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(given_files())]
        sys.modules[package] = pkg
    return importlib.import_module(f"{package}.{name}")


def _gallery_expectation() -> dict[str, torch.Tensor]:
    """Real MobileNetV2 (IMAGENET1K_V1) embeddings of the bundled gallery and its label codes,
    computed once; the cache key includes the given gallery code the images come from."""
    digest = hashlib.sha256(b"".join((given_files() / f).read_bytes() for f in ("gallery.py", "data.py"))).hexdigest()[:12]

    def compute() -> dict[str, torch.Tensor]:
        from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

        images, _, labels = _given("gallery").load_gallery(seed=0)
        if len(images) != ref.GALLERY_SIZE:
            raise RuntimeError(f"gallery has {len(images)} images, reference.retrieval expects {ref.GALLERY_SIZE}")
        weights = MobileNet_V2_Weights.IMAGENET1K_V1
        size = ref.GALLERY_IMAGE_SIZE
        preprocess = weights.transforms(crop_size=size, resize_size=int(round(size * 256 / 224)))
        embedder = ref.mobilenet_v2_embedder(mobilenet_v2(weights=weights))
        embeddings = ref.encode_images(embedder, preprocess, images)
        _, codes = np.unique(np.asarray(labels), return_inverse=True)
        return {"embeddings": embeddings, "labels": torch.from_numpy(codes.astype(np.int64))}

    data = cached_inputs(f"part5.gallery.{digest}", compute)
    # The labels score the retrieval: an expectation, kept here (the embeddings go to the worker).
    return {"embeddings": data["embeddings"], "labels": cached(f"part5.gallery_labels.{digest}", lambda: {"labels": data["labels"]})["labels"]}


@check("part5.gallery_precision_at_5", 1,
       f"用你的 cosine_topk 在真实图片库的 MobileNetV2 embedding 上检索，precision@5 ≥ {ref.GALLERY_PRETRAINED_MIN_PRECISION_AT_5}")
def test_gallery_precision_at_5(worker):
    gallery = _gallery_expectation()
    emb, labels = gallery["embeddings"], gallery["labels"]
    n, k = emb.shape[0], ref.PRECISION_K
    hint = "cosine_topk 要返回相似度最大的 k 个（largest=True），下标对应 gallery 的行。"
    r = require_ok(worker.call("part5.gallery_topk", {"k": k + 1}, {"embeddings": emb}), hint)
    idx = tensor(r, "indices", "cosine_topk(embeddings, embeddings, 6)[1]")
    what = f"cosine_topk(embeddings [{n}, {emb.shape[1]}], embeddings, k={k + 1})"
    expect_indices(idx, [n, k + 1], n, f"{what} 的 indices", hint)
    rows = []
    for i, row in enumerate(idx.tolist()):
        rows.append([j for j in row if j != i][:k])  # leave-one-out: the query is not its own result
    retrieved = labels[torch.tensor(rows)]
    precision = ref.precision_at_k(retrieved, labels, k)
    expect_at_least(precision, ref.GALLERY_PRETRAINED_MIN_PRECISION_AT_5,
                    f"真实图片库（{n} 张）逐张查询、排除自己后的 precision@{k}", hint)

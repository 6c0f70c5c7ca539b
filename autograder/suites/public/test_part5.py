"""Public self-checks, part 5. Expectations come from torch built-ins (`F.normalize`,
`torch.topk`) on inputs different from the hidden suite's."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.checks import check, expect_close, expect_equal, expect_true, require_ok, tensor, value
from autograder.suites.inputs import SEEDS, generator, randn

SEED = SEEDS["public"]


@check("part5.l2_normalize_rows", 1, "l2_normalize 与 F.normalize 一致，全零行保持为零", visibility="public")
def test_l2_normalize_rows(worker):
    x = randn(4, 5, seed=SEED)
    x[2] = 0.0
    r = require_ok(worker.call("part5.l2_normalize", {"dim": -1}, {"x": x}))
    expect_close(tensor(r, "out", "l2_normalize(x)"), F.normalize(x, dim=-1), "l2_normalize(x [4, 5]，第 2 行全零)",
                 atol=1e-6, rtol=1e-5, hint="x / x.norm(dim=dim, keepdim=True).clamp_min(eps)；clamp 防止全零行除以 0 得到 NaN。")


@check("part5.cosine_topk_chunked", 1, "cosine_topk（分块）与 torch.topk 在归一化内积上的结果一致", visibility="public")
def test_cosine_topk_chunked(worker):
    g = generator(SEED + 1)
    queries, gallery = torch.randn(3, 6, generator=g), torch.randn(23, 6, generator=g) * 5
    expected = torch.topk(F.normalize(queries, dim=1) @ F.normalize(gallery, dim=1).T, 4, dim=1)
    hint = "每块算 q̂ @ ĝ.T 并取 topk；块内下标加上块的起始行号，再与之前的 Top-K 合并后重新 topk（从大到小）。"
    for chunk in (None, 5):
        r = require_ok(worker.call("part5.cosine_topk", {"k": 4, "chunk_size": chunk}, {"queries": queries, "gallery": gallery}))
        what = f"cosine_topk(queries [3, 6], gallery [23, 6], k=4{'' if chunk is None else f', chunk_size={chunk}'})"
        expect_close(tensor(r, "scores", "cosine_topk(...)[0]"), expected.values, f"{what} 的 scores", atol=1e-5, rtol=0, hint=hint)
        expect_close(tensor(r, "indices", "cosine_topk(...)[1]"), expected.indices, f"{what} 的 indices", atol=0, rtol=0, hint=hint)


@check("part5.precision_at_5", 1, "precision_at_k 与张量运算 (retrieved[:, :k] == query[:, None]).mean() 一致", visibility="public")
def test_precision_at_5(worker):
    g = generator(SEED + 2)
    retrieved = torch.randint(0, 4, (6, 8), generator=g)
    query = torch.randint(0, 4, (6,), generator=g)
    expected = (retrieved[:, :5] == query[:, None]).double().mean().item()
    r = require_ok(worker.call("part5.precision_at_k", {"cases": [{"name": "t", "k": 5, "tensor": True}]},
                               {"t.retrieved": retrieved, "t.query": query}))
    got = value(r, "values", "precision_at_k 的结果", list)
    expect_equal(len(got), 1, "precision_at_k 的结果个数")
    expect_true(abs(got[0] - expected) <= 1e-9, f"precision_at_k(retrieved [6, 8], query [6], k=5): 期望 {expected:.6f}，得到 {got[0]:.6f}",
                "只看每行前 k 个结果，命中数除以 k，再对查询取平均。")

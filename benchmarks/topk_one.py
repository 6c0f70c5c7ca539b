"""One Top-K measurement in a fresh process (so its peak RSS is its own):
`python benchmarks/topk_one.py IMPL N D Q K` prints JSON {seconds, peak_extra_mb}."""

from __future__ import annotations

import json
import resource
import sys
import time

import torch


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main(impl: str, n: int, d: int, q: int, k: int) -> dict:
    torch.set_num_threads(int(torch.get_num_threads()))
    g = torch.Generator().manual_seed(0)
    gallery = torch.randn(n, d, generator=g)
    queries = torch.randn(q, d, generator=g)
    if impl == "faiss":
        import faiss
        import numpy as np

        xb = torch.nn.functional.normalize(gallery, dim=1).numpy()
        xq = torch.nn.functional.normalize(queries, dim=1).numpy()
        index = faiss.IndexFlatIP(d)
        index.add(xb)
        base = rss_mb()
        start = time.perf_counter()
        scores, idx = index.search(np.ascontiguousarray(xq), k)
        seconds = time.perf_counter() - start
    else:
        if impl == "solution":
            from solutions.cnn_rnn.part5_retrieval import cosine_topk
        else:
            from reference.retrieval import cosine_topk
        cosine_topk(queries[:2], gallery[:1000], k)  # warm-up (lazy init of kernels)
        base = rss_mb()
        start = time.perf_counter()
        scores, idx = cosine_topk(queries, gallery, k)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"impl": impl, "n": n, "d": d, "q": q, "k": k, "seconds": round(seconds, 4), "peak_extra_mb": round(max(0.0, peak - base), 1)}


if __name__ == "__main__":
    impl, n, d, q, k = sys.argv[1], *map(int, sys.argv[2:6])
    print(json.dumps(main(impl, n, d, q, k)))

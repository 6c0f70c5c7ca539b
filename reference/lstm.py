"""Trusted reference for part 3: tokenizers, vocabulary rule, LSTM cell.

Independent of `solutions/`: the tokenizer is torchtext's own regex table
(`torchtext.data.utils._basic_english_normalize`), the vocabulary uses `collections.Counter`,
and the LSTM cell is `torch.nn.LSTMCell` itself (unrolled over time by `torch.nn.LSTM`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import torch
from torch import Tensor, nn

SPECIALS: tuple[str, ...] = ("<pad>", "<unk>", "<bos>", "<eos>")

# Tolerances for comparing a submitted LSTMCell with nn.LSTMCell.
LSTM_CELL_ATOL_FP32 = 1e-5
LSTM_CELL_RTOL_FP32 = 1e-5
LSTM_CELL_ATOL_FP64 = 1e-10
LSTM_CELL_RTOL_FP64 = 1e-10

# Verbatim from torchtext/data/utils.py (torchtext 0.18, the last release).
_patterns = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_replacements = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_patterns_dict = list((re.compile(p), r) for p, r in zip(_patterns, _replacements))


def basic_english_tokenize(line: str) -> list[str]:
    """torchtext `get_tokenizer("basic_english")`."""
    line = line.lower()
    for pattern_re, replaced_str in _patterns_dict:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


_NON_SPACE = re.compile(r"\S")


def char_tokenize(text: str) -> list[str]:
    return _NON_SPACE.findall(text)


def build_itos(token_lists: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None) -> list[str]:
    """The vocabulary rule as an id -> token list.

    Specials first; then tokens with count >= min_freq by descending count, ties by first
    appearance (Counter keeps insertion order and most_common sorts stably); truncated so that
    len(itos) <= max_size.
    """
    counter: Counter[str] = Counter()
    for tokens in token_lists:
        counter.update(tokens)
    for special in SPECIALS:
        counter.pop(special, None)
    itos = list(SPECIALS)
    for tok, n in counter.most_common():
        if n < min_freq:
            break
        if max_size is not None and len(itos) >= max_size:
            break
        itos.append(tok)
    return itos


class LSTMCell(nn.LSTMCell):
    """`nn.LSTMCell` with the exercise's call signature `(x [B, I], (h, c) | None) -> (h', c')`."""

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = super().forward(x, None if state is None else tuple(state))
        return h, c


def run_lstm(
    cell: nn.Module, x: Tensor, state: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Unroll a cell's parameters with `nn.LSTM(batch_first=True)`: [B, T, I] -> [B, T, H], (h, c)."""
    lstm = nn.LSTM(cell.weight_ih.shape[1], cell.weight_hh.shape[1], batch_first=True)
    lstm = lstm.to(dtype=cell.weight_ih.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(cell, name))
    hx = None if state is None else (state[0].unsqueeze(0), state[1].unsqueeze(0))
    out, (h, c) = lstm(x, hx)
    return out, (h[0], c[0])

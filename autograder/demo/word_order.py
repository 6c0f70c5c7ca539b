"""Word order: the bag-of-embeddings sentence vector cannot tell "猫在追狗" from "狗在追猫"; the
LSTM's last hidden state h_T can. Used by the part 4 demo on its pretrained LM (and a random one)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnn_rnn import part4_clm as P
from cnn_rnn.part3_lstm import Vocab

# Same characters, other order, other meaning (every character is in the demo LM's vocabulary).
PAIRS = (
    ("猫在追狗", "狗在追猫"),
    ("我爱你", "你爱我"),
    ("他比我高", "我比他高"),
    ("先付款后发货", "先发货后付款"),
    ("不是很好", "很不是好"),
    ("质量好价格贵", "价格好质量贵"),
)


@torch.no_grad()
def cosines(model: P.LSTMLanguageModel, vocab: Vocab, pairs=PAIRS) -> list[dict]:
    """Per pair: cosine of the two bag-of-embeddings vectors and of the two LSTM h_T."""
    rows = []
    for a, b in pairs:
        ids, lengths = P.encode_corpus([a, b], vocab, max_len=64)
        unknown = [ch for ch in a + b if vocab.encode([ch])[0] == vocab.unk_id]
        bag = P.bag_of_embeddings(model, ids, lengths)
        h = P.sentence_embedding(model, ids, lengths)
        rows.append({
            "pair": [a, b],
            "bag_cosine": F.cosine_similarity(bag[0], bag[1], dim=0).item(),
            "lstm_cosine": F.cosine_similarity(h[0], h[1], dim=0).item(),
            "unknown_chars": sorted(set(unknown)),
        })
    return rows


def figure(pretrained: P.LSTMLanguageModel, random_init: P.LSTMLanguageModel, vocab: Vocab) -> dict:
    """figures.json["word_order"]: the means over PAIRS (pretrained LM) and every pair's figures."""
    pre, rnd = cosines(pretrained, vocab), cosines(random_init, vocab)
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {
        "bag_cosine": round(mean(pre, "bag_cosine"), 6),
        "lstm_cosine": round(mean(pre, "lstm_cosine"), 6),
        "lstm_cosine_random_init": round(mean(rnd, "lstm_cosine"), 6),
        "pairs": [{**p, "bag_cosine": round(p["bag_cosine"], 6), "lstm_cosine": round(p["lstm_cosine"], 4),
                   "lstm_cosine_random_init": round(r["lstm_cosine"], 4)} for p, r in zip(pre, rnd)],
    }


def table(fig: dict) -> list[str]:
    lines = [
        "| sentence A | sentence B | cos(bag A, bag B) | cos(h_T A, h_T B), pretrained | h_T, random init |",
        "|---|---|---|---|---|",
    ]
    for p in fig["pairs"]:
        lines.append(f"| {p['pair'][0]} | {p['pair'][1]} | {p['bag_cosine']:.6f} | {p['lstm_cosine']:.4f} "
                     f"| {p['lstm_cosine_random_init']:.4f} |")
    lines.append(f"| **mean** | | {fig['bag_cosine']:.6f} | {fig['lstm_cosine']:.4f} | {fig['lstm_cosine_random_init']:.4f} |")
    return lines

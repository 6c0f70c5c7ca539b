"""Public self-checks, part 4. Expectations come from torch itself (nn.Embedding / nn.LSTM /
nn.Linear, F.cross_entropy) on inputs different from the hidden suite's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import check, expect_close, require_ok, tensor
from autograder.suites.inputs import SEEDS, generator, prefixed, randn

SEED = SEEDS["public"]
V, E, H, PAD = 13, 6, 10, 0


def _torch_parts(seed: int) -> tuple[nn.Embedding, nn.LSTM, nn.Linear, dict[str, torch.Tensor]]:
    """The three layers of the docstring, built by torch, and their state_dict under the exercise's names."""
    torch.manual_seed(seed)
    emb, lstm, head = nn.Embedding(V, E, padding_idx=PAD), nn.LSTM(E, H, batch_first=True), nn.Linear(H, V)
    state = {f"{name}.{k}": v for name, mod in (("embedding", emb), ("lstm", lstm), ("head", head)) for k, v in mod.state_dict().items()}
    return emb, lstm, head, state


def _ids(lengths: list[int], seed: int) -> torch.Tensor:
    ids = torch.randint(1, V, (len(lengths), max(lengths)), generator=generator(seed))
    for row, n in enumerate(lengths):
        ids[row, n:] = PAD
    return ids


MODEL_ARGS = {"vocab_size": V, "embed_dim": E, "hidden_dim": H, "num_layers": 1, "pad_id": PAD}


@check("part4.forward", 1, "LSTMLanguageModel.forward 等于 nn.Embedding -> nn.LSTM -> nn.Linear", visibility="public")
def test_forward(worker):
    emb, lstm, head, state = _torch_parts(SEED)
    ids = _ids([5, 3], SEED + 1)
    with torch.no_grad():
        expected = head(lstm(emb(ids))[0])
    r = require_ok(worker.call("part4.forward", MODEL_ARGS, {"ids": ids, **prefixed(state)}))
    expect_close(tensor(r, "logits", "LSTMLanguageModel.forward(ids)"), expected, "LSTMLanguageModel.forward(ids)，ids: [2, 5]",
                 hint="embedding -> lstm（取 output）-> head，返回 logits [B, T, V]。")


@check("part4.clm_loss", 1, "clm_loss 等于 F.cross_entropy(..., ignore_index=pad_id)", visibility="public")
def test_clm_loss(worker):
    logits = randn(2, 4, V, seed=SEED + 2)
    targets = _ids([4, 2], SEED + 3)
    expected = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)
    args = {"pad_id": PAD, "cases": 1, "backward": False}
    r = require_ok(worker.call("part4.clm_loss", args, {"logits.0": logits, "targets.0": targets}))
    expect_close(tensor(r, "loss.0", "clm_loss(...)"), expected, f"clm_loss(logits [2, 4, {V}], targets（含 padding）, pad_id={PAD})",
                 hint="log_softmax + gather 取目标的 log 概率；只对 targets != pad_id 的位置求平均。")


@check("part4.sentence_embedding", 1, "sentence_embedding 等于 nn.LSTM 只读真实 token 时的最后 hidden state", visibility="public")
def test_sentence_embedding(worker):
    emb, lstm, _, state = _torch_parts(SEED + 4)
    lengths = [4, 1, 3]
    ids = _ids(lengths, SEED + 5)
    with torch.no_grad():
        expected = torch.cat([lstm(emb(ids[b : b + 1, :n]))[1][0][-1] for b, n in enumerate(lengths)])
    tensors = {"ids": ids, "ids_padded": torch.cat([ids, torch.zeros(3, 2, dtype=ids.dtype)], dim=1),
               "lengths": torch.tensor(lengths), **prefixed(state)}
    r = require_ok(worker.call("part4.sentence_embedding", MODEL_ARGS, tensors))
    expect_close(tensor(r, "ids", "sentence_embedding(model, ids, lengths)"), expected,
                 f"sentence_embedding(model, ids, lengths={lengths})",
                 hint="取第 lengths[b] - 1 个位置（最后一个真实 token）的 hidden state，不是 output[:, -1]。")


@check("part4.word_order_bag_of_embeddings", 1, "bag_of_embeddings 等于真实 token 的 nn.Embedding 平均值，且与词序无关", visibility="public")
def test_word_order_bag_of_embeddings(worker):
    emb, _, _, state = _torch_parts(SEED + 6)
    lengths = [5, 2, 4]
    ids = _ids(lengths, SEED + 7)
    swapped = ids.clone()
    swapped[0, :5] = ids[0, :5].flip(0)  # "猫在追狗" -> "狗追在猫": same tokens, other order
    with torch.no_grad():
        expected = torch.stack([emb(ids[b, :n]).mean(0) for b, n in enumerate(lengths)])
    args = {**MODEL_ARGS, "cases": 2}
    tensors = {"ids.0": ids, "lengths.0": torch.tensor(lengths), "ids.1": swapped, "lengths.1": torch.tensor(lengths), **prefixed(state)}
    r = require_ok(worker.call("part4.bag_of_embeddings", args, tensors))
    hint = "只用 model.embedding：对每句前 lengths[b] 个 token 的 embedding 取平均（padding 不算），不经过 LSTM。"
    for k, what in ((0, f"bag_of_embeddings(model, ids, lengths={lengths})"), (1, "第一句倒序后的 bag_of_embeddings")):
        expect_close(tensor(r, f"bag.{k}", what), expected, what, hint=hint)

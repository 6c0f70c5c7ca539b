"""Part 4 solution (CLM with an LSTM) against the trusted reference, plus the grading-size run."""

from __future__ import annotations

import math

import pytest
import torch

import reference.clm as R
from assignments.cnn_rnn import part4_clm as stub
from solutions.cnn_rnn import part4_clm as S
from solutions.cnn_rnn.part3_lstm import SPECIALS, Vocab, build_vocab, char_tokenize

V = 11


def _model(num_layers: int = 1, seed: int = 0) -> S.LSTMLanguageModel:
    torch.manual_seed(seed)
    return S.LSTMLanguageModel(V, embed_dim=6, hidden_dim=8, num_layers=num_layers)


def _padded(lengths: list[int], extra: int = 0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), max(lengths) + extra, dtype=torch.int64)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, V, (n,), generator=gen)
    return ids, torch.tensor(lengths)


@pytest.fixture(scope="module")
def grading() -> dict:
    """The grading-size pretraining of reference.clm's constants, trained with the solution."""
    itos, train_ids, held_ids = R.grading_data()
    model = S.LSTMLanguageModel(len(itos), R.GRADING_EMBED_DIM, R.GRADING_HIDDEN_DIM)
    model.load_state_dict(R.grading_model(len(itos)).state_dict(), strict=True)
    before = S.heldout_cross_entropy(model, held_ids)
    losses = S.train_lm(model, train_ids, R.GRADING_EPOCHS, R.GRADING_BATCH_SIZE, R.GRADING_LR, R.GRADING_SEED)
    return {"itos": itos, "train": train_ids, "held": held_ids, "model": model, "before": before, "losses": losses}


# --------------------------------------------------------------------------- model


def test_model_layout_and_forward_match_reference():
    model = _model(num_layers=2)
    ref = R.LSTMLanguageModel(V, 6, 8, 2)
    ref.load_state_dict(model.state_dict(), strict=True)
    assert model.embedding.padding_idx == 0 and model.lstm.batch_first
    ids, _ = _padded([5, 3, 1])
    logits = model(ids)
    assert logits.shape == (3, 5, V)
    torch.testing.assert_close(logits, R.lm_logits(ref, ids), atol=R.LOGITS_ATOL, rtol=0)


@pytest.mark.parametrize("bad", [torch.zeros(2, 3), torch.zeros(4, dtype=torch.int64), torch.full((1, 2), V)])
def test_forward_rejects_bad_ids(bad):
    with pytest.raises(ValueError, match="ids"):
        _model()(bad)


def test_model_rejects_bad_pad_id():
    with pytest.raises(ValueError, match="pad_id"):
        S.LSTMLanguageModel(5, pad_id=5)


# --------------------------------------------------------------------------- CLM objective


def test_make_clm_batch_shifts_by_one():
    ids = torch.tensor([[2, 7, 8, 3], [2, 9, 3, 0]])
    inputs, targets = S.make_clm_batch(ids)
    assert inputs.tolist() == [[2, 7, 8], [2, 9, 3]]
    assert targets.tolist() == [[7, 8, 3], [9, 3, 0]]
    for a, b in zip((inputs, targets), R.make_clm_batch(ids)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [torch.zeros(3, 1, dtype=torch.int64), torch.zeros(2, 4), torch.zeros(5, dtype=torch.int64)])
def test_make_clm_batch_rejects(bad):
    with pytest.raises(ValueError):
        S.make_clm_batch(bad)


def test_clm_loss_matches_cross_entropy_with_ignore_index():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, V, generator=gen, requires_grad=True)
    ref_logits = logits.detach().clone().requires_grad_(True)
    targets = torch.randint(1, V, (3, 5), generator=gen)
    targets[0, 3:] = 0
    targets[2, 1:] = 0
    loss = S.clm_loss(logits, targets, pad_id=0)
    expected = R.clm_loss(ref_logits, targets, pad_id=0)
    torch.testing.assert_close(loss, expected, atol=R.LOSS_ATOL, rtol=0)
    loss.backward()
    expected.backward()
    torch.testing.assert_close(logits.grad, ref_logits.grad, atol=1e-6, rtol=0)
    assert logits.grad[0, 3:].abs().max() == 0  # padded targets contribute nothing


def test_clm_loss_other_pad_id_and_uniform_logits():
    targets = torch.tensor([[5, 5, 1], [2, 5, 5]])
    loss = S.clm_loss(torch.zeros(2, 3, V), targets, pad_id=5)
    assert loss.item() == pytest.approx(math.log(V))


def test_clm_loss_gradcheck_float64():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[1, 2, 0, 0], [4, 3, 2, 1]])
    assert torch.autograd.gradcheck(lambda z: S.clm_loss(z, targets, 0), (logits,))


def test_clm_loss_all_pad_is_zero_with_gradient():
    logits = torch.randn(2, 3, V, requires_grad=True)
    loss = S.clm_loss(logits, torch.zeros(2, 3, dtype=torch.int64), pad_id=0)
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_clm_loss_invariant_to_right_padding():
    model = _model()
    ids, _ = _padded([6, 4, 2])
    longer = torch.cat([ids, torch.zeros(3, 5, dtype=torch.int64)], dim=1)
    losses = []
    for batch in (ids, longer):
        inputs, targets = S.make_clm_batch(batch)
        losses.append(S.clm_loss(model(inputs), targets, pad_id=0))
    torch.testing.assert_close(losses[0], losses[1], atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "logits, targets",
    [
        (torch.zeros(2, 3, V), torch.zeros(2, 4, dtype=torch.int64)),
        (torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.int64)),
        (torch.zeros(2, 3, V), torch.zeros(2, 3)),
        (torch.zeros(2, 3, V), torch.full((2, 3), V)),
    ],
)
def test_clm_loss_rejects(logits, targets):
    with pytest.raises(ValueError):
        S.clm_loss(logits, targets, pad_id=0)


# --------------------------------------------------------------------------- sentence embedding


@pytest.mark.parametrize("num_layers", [1, 2])
def test_sentence_embedding_matches_packed_h_n(num_layers):
    model = _model(num_layers)
    ids, lengths = _padded([3, 7, 1, 5])  # unsorted lengths
    emb = S.sentence_embedding(model, ids, lengths)
    assert emb.shape == (4, 8)
    torch.testing.assert_close(emb, R.sentence_embedding(model, ids, lengths), atol=R.EMBEDDING_ATOL, rtol=0)


def test_sentence_embedding_invariant_to_extra_right_padding():
    model = _model(2)
    ids, lengths = _padded([4, 2, 6])
    a = S.sentence_embedding(model, ids, lengths)
    b = S.sentence_embedding(model, torch.cat([ids, torch.zeros(3, 9, dtype=torch.int64)], 1), lengths)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert not torch.allclose(a[1], S.sentence_embedding(model, ids, torch.tensor([4, 6, 6]))[1])


@pytest.mark.parametrize("lengths", [torch.tensor([0, 2]), torch.tensor([3, 9]), torch.tensor([2]), torch.tensor([2.0, 1.0])])
def test_sentence_embedding_rejects_bad_lengths(lengths):
    ids, _ = _padded([3, 2])
    with pytest.raises(ValueError, match="lengths"):
        S.sentence_embedding(_model(), ids, lengths)


def test_bag_of_embeddings_matches_embedding_bag_and_ignores_order_and_padding():
    model = _model()
    with torch.no_grad():
        model.embedding.weight[0] = 5.0  # a non-zero <pad> row must not enter the mean
    ids, lengths = _padded([3, 7, 1, 5], extra=2)
    bag = S.bag_of_embeddings(model, ids, lengths)
    assert bag.shape == (4, 6)
    torch.testing.assert_close(bag, R.bag_of_embeddings(model, ids, lengths), atol=R.EMBEDDING_ATOL, rtol=0)
    swapped = ids.clone()
    swapped[1, :7] = ids[1, :7].flip(0)
    torch.testing.assert_close(S.bag_of_embeddings(model, swapped, lengths), bag, atol=1e-6, rtol=0)
    # ... while the LSTM's last hidden state sees the order
    assert not torch.allclose(S.sentence_embedding(model, swapped, lengths)[1], S.sentence_embedding(model, ids, lengths)[1])


# --------------------------------------------------------------------------- generation


def test_greedy_generate_equals_reference(grading):
    model, itos = grading["model"], grading["itos"]
    stoi = {t: i for i, t in enumerate(itos)}
    eos = SPECIALS.index("<eos>")
    for prompt in ("", "这本书", "质量很", "酒店的服务"):
        prefix = [SPECIALS.index("<bos>")] + [stoi.get(ch, 1) for ch in prompt]
        ours = S.generate(model, prefix, 30, temperature=0, eos_id=eos)
        assert ours == R.generate(model, prefix, 30, temperature=0, eos_id=eos)
        assert ours[: len(prefix)] == prefix and len(ours) <= len(prefix) + 30
        assert S.generate(model, prefix, 30, temperature=0) == R.generate(model, prefix, 30, temperature=0)


def test_generate_stops_at_eos_and_sampling_is_seeded():
    model = _model()
    with torch.no_grad():
        model.head.bias.fill_(0.0)
        model.head.bias[3] = 50.0  # <eos> dominates
    assert S.generate(model, [2], 10, temperature=0, eos_id=3) == [2, 3]
    assert S.generate(model, [2], 0, temperature=0) == [2]
    runs = [S.generate(_model(), [2, 5], 20, 1.0, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) == 22


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix_ids": [], "max_new_tokens": 3},
        {"prefix_ids": [2, V], "max_new_tokens": 3},
        {"prefix_ids": [2], "max_new_tokens": -1},
        {"prefix_ids": [2], "max_new_tokens": 3, "temperature": -0.5},
        {"prefix_ids": [2], "max_new_tokens": 3, "temperature": float("nan")},
    ],
)
def test_generate_rejects(kwargs):
    with pytest.raises(ValueError):
        S.generate(_model(), **kwargs)


# --------------------------------------------------------------------------- given pipeline


def test_encode_corpus_matches_reference():
    texts = ["很好", "质量 不错，推荐！", "", "一二三四五六七八九十"]
    vocab = build_vocab(char_tokenize(t) for t in texts[:2])
    ids, lengths = S.encode_corpus(texts, vocab, max_len=6)
    ref_ids, ref_lengths = R.encode_corpus(texts, vocab.stoi, 6)
    assert torch.equal(ids, ref_ids) and torch.equal(lengths, ref_lengths)
    assert ids[0].tolist() == [2, vocab.stoi["很"], vocab.stoi["好"], 3, 0, 0]
    assert ids[3, -1].item() != 3  # truncated: no <eos>


def test_split_reviews_matches_reference():
    texts = [str(i) for i in range(50)]
    parts = S.split_reviews(texts, list(range(50)), [10, 5], seed=3)
    ref = R.split_reviews(50, [10, 5], seed=3)
    assert [p[1].tolist() for p in parts] == ref


def test_grading_size_run_reaches_threshold(grading):
    after = S.heldout_cross_entropy(grading["model"], grading["held"])
    assert grading["before"] == pytest.approx(math.log(len(grading["itos"])), abs=0.1)
    assert after < R.GRADING_HELDOUT_CE_MAX < grading["before"]
    assert grading["losses"][-1] < grading["losses"][0]
    ref_model = R.grading_model(len(grading["itos"]))
    ref_model.load_state_dict(grading["model"].state_dict())
    assert R.heldout_cross_entropy(ref_model, grading["held"]) == pytest.approx(after, abs=1e-4)


def test_reference_training_loop_agrees_with_given_loop(grading):
    # Same data, init, shuffling and clipping: the two loops must land on the same held-out CE.
    _, after = R.grading_run()
    assert after == pytest.approx(S.heldout_cross_entropy(grading["model"], grading["held"]), abs=1e-3)


def test_sentiment_pipeline_runs_on_frozen_embeddings(grading):
    ids = grading["held"][:60]
    lengths = (ids != 0).sum(1)
    labels = torch.arange(60) % 2
    model = grading["model"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    acc = S.sentiment_accuracy(model, (ids[:40], lengths[:40], labels[:40]), (ids[40:], lengths[40:], labels[40:]))
    assert 0.0 <= acc <= 1.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the LM stays frozen


# --------------------------------------------------------------------------- student stubs


def test_every_stub_raises_not_implemented():
    model = stub.LSTMLanguageModel(V, 6, 8)
    ids, lengths = _padded([3, 2])
    calls = [
        lambda: model(ids),
        lambda: stub.make_clm_batch(ids),
        lambda: stub.clm_loss(torch.zeros(2, 3, V), ids, 0),
        lambda: stub.sentence_embedding(model, ids, lengths),
        lambda: stub.bag_of_embeddings(model, ids, lengths),
        lambda: stub.generate(model, [2], 3, temperature=0),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()
    # given code works in the stub (with a given tokenizer: char_tokenize is a part-3 exercise)
    assert stub.encode_corpus(["好"], Vocab(list(SPECIALS) + ["好"]), 4, tokenize=list)[0].tolist() == [[2, 4, 3]]

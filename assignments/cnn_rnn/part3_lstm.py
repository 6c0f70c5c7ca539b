"""Part 3：分词器（Tokenizer）、词典（Vocabulary）与手写 LSTM cell。

语言模型的第一步是把文本变成离散 token，再把每个 token 映射成词典里的唯一索引（id）：

- ``basic_english_tokenize``：复现课件里 torchtext ``get_tokenizer("basic_english")`` 的行为
  （torchtext 已停止维护、装不上，所以我们自己写）。
- ``char_tokenize``：中文按字（character level）切分，一个字一个 token。
- ``Vocab`` / ``build_vocab``：特殊 token ``<pad> <unk> <bos> <eos>`` 固定占 id 0..3，
  之后按词频从高到低排列。
- ``LSTMCell``：按门控公式（forget gate / input gate / output gate）手写一步 LSTM，
  参数布局与 ``nn.LSTMCell`` 完全一致，可以直接加载它的 ``state_dict``。

形状约定：B = batch size，T = 序列长度，I = 输入维度（input size），H = hidden size。
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

SPECIALS: tuple[str, ...] = ("<pad>", "<unk>", "<bos>", "<eos>")

# basic_english: (old, new) pairs in the order torchtext applies them.
_BASIC_ENGLISH_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("'", " '  "),
    ('"', ""),
    (".", " . "),
    ("<br />", " "),
    (",", " , "),
    ("(", " ( "),
    (")", " ) "),
    ("!", " ! "),
    ("?", " ? "),
    (";", " "),
    (":", " "),
)


def _check_text(text: object, name: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{name} 需要一个 str，得到 {type(text).__name__}: {text!r}")
    return text


# --------------------------------------------------------------------------- tokenizers


def basic_english_tokenize(text: str) -> list[str]:
    """英文分词，行为与 torchtext ``get_tokenizer("basic_english")`` 相同。

    步骤：先全部转小写，再依次做替换：``'`` 两边加空格、删掉 ``"``、
    ``. , ( ) ! ?`` 两边加空格（变成单独的 token）、``<br />`` 和 ``; :`` 换成空格，
    最后按空白切分。

    例：``"Don't stop!<br />Ok."`` -> ``["don", "'", "t", "stop", "!", "ok", "."]``
    """
    _check_text(text, "text")
    # 提示: 先 text.lower()，再按 _BASIC_ENGLISH_REPLACEMENTS 的顺序逐个 str.replace
    # 提示: 最后 .split() 会把连续空白一起去掉
    raise NotImplementedError("basic_english_tokenize 尚未实现 (not implemented)")


def char_tokenize(text: str) -> list[str]:
    """中文字符级（character level）分词：每个字是一个 token，空白字符丢掉。

    例：``"很 好用！"`` -> ``["很", "好", "用", "！"]``
    """
    _check_text(text, "text")
    # 提示: 遍历字符串里的每个字符，跳过 ch.isspace() 为 True 的字符
    raise NotImplementedError("char_tokenize 尚未实现 (not implemented)")


# --------------------------------------------------------------------------- vocabulary


class Vocab:
    """词典（Vocabulary）：token <-> id 的双向映射。

    - ``itos``：``list[str]``，id -> token；前 4 个一定是 ``SPECIALS``（id 0..3）。
    - ``stoi``：``dict[str, int]``，token -> id。
    - ``encode``：不在词典里的 token 映射为 ``<unk>``。

    这是给定代码（不需要修改）。
    """

    def __init__(self, itos: Sequence[str]) -> None:
        itos = list(itos)
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"词典的前 {len(SPECIALS)} 个 token 必须是 {SPECIALS}，得到 {itos[: len(SPECIALS)]}")
        if len(set(itos)) != len(itos):
            dup = sorted({t for t in itos if itos.count(t) > 1})
            raise ValueError(f"词典里有重复的 token: {dup[:10]}")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[len(SPECIALS):len(SPECIALS) + 5]})"

    @property
    def pad_id(self) -> int:
        return self.stoi["<pad>"]

    @property
    def unk_id(self) -> int:
        return self.stoi["<unk>"]

    @property
    def bos_id(self) -> int:
        return self.stoi["<bos>"]

    @property
    def eos_id(self) -> int:
        return self.stoi["<eos>"]

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """``tokens`` -> ``list[int]``；可在首尾加 ``<bos>`` / ``<eos>``。"""
        if isinstance(tokens, str):
            raise ValueError(f"encode 需要 token 列表（先分词），得到一个字符串: {tokens[:30]!r}")
        unk = self.unk_id
        ids = [self.stoi.get(tok, unk) for tok in tokens]
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], skip_specials: bool = True) -> list[str]:
        """``ids`` -> token 列表；``skip_specials=True`` 时去掉 ``<pad> <bos> <eos>``（保留 ``<unk>``）。"""
        out: list[str] = []
        skip = {self.pad_id, self.bos_id, self.eos_id} if skip_specials else set()
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self):
                raise ValueError(f"id {i} 超出词典范围 [0, {len(self)})")
            if i not in skip:
                out.append(self.itos[i])
        return out


def build_vocab(token_lists: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """由分好词的语料建立词典。

    规则：

    1. 先放 ``SPECIALS``（id 0..3）；语料里出现的特殊 token 不会重复加入。
    2. 其余 token 只保留出现次数 ``>= min_freq`` 的，按出现次数从高到低排列；
       次数相同时，在语料里先出现的排在前面（first appearance）。
    3. 给定 ``max_size`` 时截断，使 ``len(vocab) <= max_size``（包括 4 个特殊 token）。

    token_lists: 可迭代的 ``list[str]``，例如 ``[char_tokenize(t) for t in texts]``。
    """
    if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
        raise ValueError(f"min_freq 必须是 >= 1 的整数，得到 {min_freq!r}")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < len(SPECIALS)
    ):
        raise ValueError(f"max_size 必须是 >= {len(SPECIALS)} 的整数（要放下特殊 token）或 None，得到 {max_size!r}")
    # 提示: 用 dict 计数（Python 的 dict 保持插入顺序 = 第一次出现的顺序），再按 -count 稳定排序
    # 提示: 别忘了跳过 SPECIALS 本身，并按 max_size - len(SPECIALS) 截断
    raise NotImplementedError("build_vocab 尚未实现 (not implemented)")


# --------------------------------------------------------------------------- LSTM cell


class LSTMCell(nn.Module):
    """手写的一步 LSTM：与 ``nn.LSTMCell(input_size, hidden_size)`` 参数和结果完全一致。

    参数（门的顺序与 PyTorch 相同：i, f, g, o，沿第 0 维拼在一起）：

    - ``weight_ih``: ``[4H, I]``，``weight_hh``: ``[4H, H]``
    - ``bias_ih``: ``[4H]``，``bias_hh``: ``[4H]``

    初始化与 ``nn.LSTMCell`` 相同：全部服从 ``U(-1/sqrt(H), 1/sqrt(H))``。
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} 必须是正整数，得到 {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    def _check(self, x: Tensor, state: tuple[Tensor, Tensor] | None) -> None:
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x 的形状应为 [B, {self.input_size}]，得到 {shape}")
        if state is None:
            return
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError(f"state 应为 (h, c) 二元组或 None，得到 {type(state).__name__}")
        want = (x.shape[0], self.hidden_size)
        for name, t in zip(("h", "c"), state):
            if not isinstance(t, Tensor) or tuple(t.shape) != want:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"state 中 {name} 的形状应为 {list(want)}，得到 {shape}")

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """一个时间步：``x: [B, I]``，``state = (h [B, H], c [B, H])``（None 表示全 0）。

        返回 ``(h', c')``，形状都是 ``[B, H]``::

            i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      # input gate
            f = sigmoid(W_if x + b_if + W_hf h + b_hf)      # forget gate
            g = tanh(W_ig x + b_ig + W_hg h + b_hg)         # candidate
            o = sigmoid(W_io x + b_io + W_ho h + b_ho)      # output gate
            c' = f * c + i * g                              # cell state
            h' = o * tanh(c')                               # hidden state
        """
        self._check(x, state)
        # 提示: 先一次算出 4 个门的预激活 gates: [B, 4H]，再用 gates.chunk(4, dim=1) 按 i, f, g, o 拆开
        # 提示: state 为 None 时 h、c 都用 x.new_zeros(B, H)
        raise NotImplementedError("LSTMCell.forward 尚未实现 (not implemented)")


def run_lstm(
    cell: nn.Module, x: Tensor, state: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """把 ``cell`` 沿时间展开：``x: [B, T, I]`` -> ``(outputs [B, T, H], (h_T, c_T))``。

    ``outputs[:, t]`` 是第 t 步的 hidden state；与 ``nn.LSTM(batch_first=True)`` 的输出对应。

    这是给定代码（不需要修改）。
    """
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[1] < 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x 的形状应为 [B, T, I] 且 T >= 1，得到 {shape}")
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        outputs.append(state[0])
    return torch.stack(outputs, dim=1), state

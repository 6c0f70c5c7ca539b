"""Probes for part 3 (basic_english / char tokenizers, build_vocab, the hand-written LSTMCell).

Every probe calls one student function on inputs the grader sends and returns what came back;
the LSTMCell probes load the grader's `nn.LSTMCell`-style state_dict, so the values can be
compared with PyTorch's own cell.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from autograder.runtime.probes import Context, Meta, Tensors, probe
from autograder.runtime.probes.common import as_tensor, state_from


def _token_list(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        kind = type(value).__name__ if not isinstance(value, list) else "含非 str 元素的 list"
        raise TypeError(f"{what} 应返回 list[str]，得到 {kind}")
    return value


def _id_list(value: object, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TypeError(f"{what} 应返回 list[int]，得到 {type(value).__name__}")
    return value


@probe("part3.tokenize")
def tokenize(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`args["fn"]` ("basic_english_tokenize" or "char_tokenize") on each of `args["texts"]`."""
    m = ctx.module("part3")
    name = {"basic_english_tokenize": "basic_english_tokenize", "char_tokenize": "char_tokenize"}[args["fn"]]
    fn = getattr(m, name)
    return {"tokens": [_token_list(fn(text), f"{name}({text!r})") for text in args["texts"]]}, {}


def _once(token_lists: list[list[str]]) -> Iterator[list[str]]:
    """The corpus as a one-shot generator (the docstring promises any iterable)."""
    yield from (list(tokens) for tokens in token_lists)


@probe("part3.build_vocab")
def build_vocab(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`build_vocab(corpus, min_freq, max_size)` for each case (the corpus as a list, or as a
    one-shot generator when the case says so): its `itos`, and `encode` of the case's probe
    tokens (unknown ones included)."""
    m = ctx.module("part3")
    out = []
    for case in args["cases"]:
        what = f"build_vocab(min_freq={case['min_freq']}, max_size={case['max_size']})"
        corpus = _once(case["corpus"]) if case.get("generator") else [list(tokens) for tokens in case["corpus"]]
        vocab = m.build_vocab(corpus, min_freq=case["min_freq"], max_size=case["max_size"])
        itos = getattr(vocab, "itos", None)
        if not isinstance(vocab, m.Vocab) or not isinstance(itos, list):
            raise TypeError(f"{what} 应返回 Vocab（用 Vocab(itos) 构造），得到 {type(vocab).__name__}")
        itos = _token_list(itos, f"{what}.itos")
        encoded = _id_list(vocab.encode(case["encode"]), f"{what}.encode(...)")
        out.append({"itos": itos, "encoded": encoded})
    return {"cases": out}, {}


def _cell(m, args: Meta, tensors: Tensors, dtype: torch.dtype = torch.float32) -> nn.Module:
    cell = m.LSTMCell(int(args["input_size"]), int(args["hidden_size"])).to(dtype)
    cell.load_state_dict(state_from(tensors), strict=True)
    return cell


def _step(cell: nn.Module, x: torch.Tensor, state, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    out = cell(x, state)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{what} 应返回 (h', c') 二元组，得到 {type(out).__name__}")
    return as_tensor(out[0], f"{what}[0] (h')"), as_tensor(out[1], f"{what}[1] (c')")


@probe("part3.lstm_cell")
def lstm_cell(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """One step of the student's LSTMCell on the grader's weights. With `backward`, also the
    gradients of `sum(h' * grad_h) + sum(c' * grad_c)` w.r.t. x, h, c and every parameter."""
    m = ctx.module("part3")
    cell = _cell(m, args, tensors)
    backward = bool(args.get("backward", False))
    x = tensors["x"].clone().requires_grad_(backward)
    state = None
    if "h" in tensors:
        state = (tensors["h"].clone().requires_grad_(backward), tensors["c"].clone().requires_grad_(backward))
    what = "LSTMCell.forward(x, state)" if state is not None else "LSTMCell.forward(x, None)"
    h, c = _step(cell, x, state, what)
    result: Tensors = {"h": h.detach(), "c": c.detach()}
    if not backward or h.shape != tensors["grad_h"].shape or c.shape != tensors["grad_c"].shape:
        return {}, result
    ((h * tensors["grad_h"]).sum() + (c * tensors["grad_c"]).sum()).backward()
    leaves = {"input": x, "h": state[0], "c": state[1], **dict(cell.named_parameters())}
    result.update({f"grad.{name}": t.grad for name, t in leaves.items() if t.grad is not None})
    return {}, result


@probe("part3.lstm_sequence")
def lstm_sequence(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The student's cell unrolled over `x: [B, T, I]` from state None, in x's dtype."""
    m = ctx.module("part3")
    x = tensors["x"]
    cell = _cell(m, args, tensors, x.dtype)
    state = None
    outputs = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            state = _step(cell, x[:, t], state, f"LSTMCell.forward(x[:, {t}], state)")
            outputs.append(state[0])
    return {}, {"out": torch.stack(outputs, dim=1), "h": state[0], "c": state[1]}

"""Probes for part 4 (LSTM causal language model: forward, make_clm_batch, clm_loss,
sentence_embedding, bag_of_embeddings, generate, and the grading-size pretraining).

Isolation: token ids always come from the grader (built with its own tokenizer and vocabulary),
so part 3 is never called. `sentence_embedding` and `generate` receive a model whose `forward`
is the grader's (same class, same submodules), so a bug in `LSTMLanguageModel.forward` costs
the forward checks only. The pretraining probe necessarily runs the student's forward,
make_clm_batch and clm_loss together; it returns the held-out logits, and the grader computes
the cross-entropy itself.
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.runtime.probes import Context, Meta, Tensors, probe
from autograder.runtime.probes.common import as_tensor, state_from


def _model(m, args: Meta, tensors: Tensors, graders_forward: bool = False) -> nn.Module:
    """The student's LSTMLanguageModel (its given constructor) with the grader's weights; with
    `graders_forward`, its forward is Embedding -> LSTM -> Linear as the docstring describes."""
    cls = m.LSTMLanguageModel
    if graders_forward:

        class GradersLM(cls):  # type: ignore[misc, valid-type]
            def forward(self, ids: torch.Tensor) -> torch.Tensor:
                out, _ = self.lstm(self.embedding(ids))
                return self.head(out)

        GradersLM.__name__ = GradersLM.__qualname__ = cls.__name__
        cls = GradersLM
    model = cls(int(args["vocab_size"]), int(args["embed_dim"]), int(args["hidden_dim"]),
                int(args.get("num_layers", 1)), int(args.get("pad_id", 0)))
    model.load_state_dict(state_from(tensors), strict=True)
    return model.eval()


def _pair(value: object, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{what} 应返回 (inputs, targets) 两个张量，得到 {type(value).__name__}")
    return as_tensor(value[0], f"{what}[0] (inputs)"), as_tensor(value[1], f"{what}[1] (targets)")


@probe("part4.forward")
def forward(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    model = _model(ctx.module("part4"), args, tensors)
    with torch.no_grad():
        return {}, {"logits": as_tensor(model(tensors["ids"]), "LSTMLanguageModel.forward(ids)")}


@probe("part4.make_clm_batch")
def make_clm_batch(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    m = ctx.module("part4")
    inputs, targets = _pair(m.make_clm_batch(tensors["ids"].clone()), "make_clm_batch(ids)")
    return {}, {"inputs": inputs, "targets": targets}


@probe("part4.clm_loss")
def clm_loss(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`clm_loss(logits, targets, pad_id)` for each case `logits.<k>` / `targets.<k>`: the loss,
    whether it is still on the graph, and with `backward` the gradient w.r.t. the logits."""
    m = ctx.module("part4")
    pad_id = int(args["pad_id"])
    meta: Meta = {"requires_grad": []}
    out: Tensors = {}
    for k in range(int(args["cases"])):
        logits = tensors[f"logits.{k}"].clone().requires_grad_(True)
        loss = as_tensor(m.clm_loss(logits, tensors[f"targets.{k}"].clone(), pad_id), "clm_loss(logits, targets, pad_id)")
        out[f"loss.{k}"] = loss.detach()
        meta["requires_grad"].append(bool(loss.requires_grad))
        if args.get("backward") and loss.requires_grad and loss.numel() == 1:
            loss.backward()
            if logits.grad is not None:
                out[f"grad.{k}"] = logits.grad
    return meta, out


@probe("part4.sentence_embedding")
def sentence_embedding(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`sentence_embedding(model, ids, lengths)` on the grader's model, for `ids` and for the same
    sentences with extra right padding (`ids_padded`)."""
    m = ctx.module("part4")
    model = _model(m, args, tensors, graders_forward=True)
    out: Tensors = {}
    with torch.no_grad():
        for key in ("ids", "ids_padded"):
            what = f"sentence_embedding(model, {key}, lengths)"
            out[key] = as_tensor(m.sentence_embedding(model, tensors[key].clone(), tensors["lengths"].clone()), what)
    return {}, out


@probe("part4.bag_of_embeddings")
def bag_of_embeddings(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`bag_of_embeddings(model, ids.<k>, lengths.<k>)` for each case k, on the grader's weights."""
    m = ctx.module("part4")
    model = _model(m, args, tensors, graders_forward=True)
    out: Tensors = {}
    with torch.no_grad():
        for k in range(int(args["cases"])):
            what = f"bag_of_embeddings(model, ids [{', '.join(map(str, tensors[f'ids.{k}'].shape))}], lengths)"
            out[f"bag.{k}"] = as_tensor(
                m.bag_of_embeddings(model, tensors[f"ids.{k}"].clone(), tensors[f"lengths.{k}"].clone()), what)
    return {}, out


def _ids(value: object, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{what} 应返回 list[int]，得到 torch.Tensor（用 .tolist()）")
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TypeError(f"{what} 应返回 list[int]，得到 {type(value).__name__}")
    return value


@probe("part4.generate")
def generate(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """`generate(model, prefix, max_new_tokens, temperature, generator, eos_id)` for each call in
    `args["calls"]`, on the grader's model; also the caller's prefix list as it is after each call."""
    m = ctx.module("part4")
    model = _model(m, args, tensors, graders_forward=True)
    outputs, prefixes_after = [], []
    for call in args["calls"]:
        gen = torch.Generator().manual_seed(int(call.get("seed", 0)))
        what = f"generate(model, {call['prefix']}, max_new_tokens={call['max_new_tokens']}, temperature={call['temperature']}, eos_id={call['eos_id']})"
        prefix = list(call["prefix"])
        got = m.generate(model, prefix, int(call["max_new_tokens"]), float(call["temperature"]), generator=gen, eos_id=call["eos_id"])
        outputs.append(_ids(got, what))
        prefixes_after.append([i if isinstance(i, int) else repr(i) for i in prefix][:200])  # the caller's list after the call
    return {"outputs": outputs, "prefixes_after": prefixes_after}, {}


@probe("part4.pretrain")
def pretrain(ctx: Context, args: Meta, tensors: Tensors) -> tuple[Meta, Tensors]:
    """The grading-size CLM pretraining with the student's model, make_clm_batch and clm_loss
    (the same loop as the given `train_lm`), then the logits on the grader's held-out inputs."""
    m = ctx.module("part4")
    model = _model(m, args, tensors)
    ids, pad_id = tensors["train_ids"], int(args.get("pad_id", 0))
    gen = torch.Generator().manual_seed(int(args["seed"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(args["lr"]))
    model.train()
    for _ in range(int(args["epochs"])):
        for chunk in torch.randperm(ids.shape[0], generator=gen).split(int(args["batch_size"])):
            batch = ids[chunk]
            batch = batch[:, : max(2, int((batch != pad_id).sum(1).max()))]
            inputs, targets = _pair(m.make_clm_batch(batch), "make_clm_batch(ids)")
            loss = as_tensor(m.clm_loss(model(inputs), targets, pad_id), "clm_loss(model(inputs), targets, pad_id)")
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = as_tensor(model(tensors["held_inputs"]), "LSTMLanguageModel.forward(ids)")
    return {}, {"logits": logits}


"""Hidden checks, part 4: LSTM causal language model (forward, make_clm_batch, clm_loss,
sentence_embedding, bag_of_embeddings and word order, generate, grading-size pretraining) (24 points).

Token ids are built by the grader (reference tokenizer and vocabulary), so a part-3 bug never
costs part-4 points; the generate / sentence_embedding probes use the grader's forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import reference.clm as ref
from autograder.checks import (
    check,
    expect_at_most,
    expect_close,
    expect_dtype,
    expect_equal,
    expect_shape,
    expect_true,
    require_ok,
    tensor,
    value,
)
from autograder.expect import cached, cached_inputs
from autograder.suites.inputs import SEEDS, Unsafe, generator, prefixed, randn, safe_inputs, seed_candidates

SEED = SEEDS["hidden"] + 400
PAD, BOS, EOS = ref.PAD, ref.BOS, ref.EOS
V, E, HID = 23, 8, 12


def _reference_model(seed: int, vocab_size: int = V, embed_dim: int = E, hidden_dim: int = HID,
                     num_layers: int = 1, scale: float = 1.0) -> ref.LSTMLanguageModel:
    """Seeded weights; `scale` > 1 makes the dynamics less uniform (clear argmax margins)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ref.LSTMLanguageModel(vocab_size, embed_dim, hidden_dim, num_layers)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model.eval()


def _model_args(model: ref.LSTMLanguageModel) -> dict:
    return {"vocab_size": model.embedding.num_embeddings, "embed_dim": model.embedding.embedding_dim,
            "hidden_dim": model.lstm.hidden_size, "num_layers": model.lstm.num_layers, "pad_id": PAD}


def _padded_ids(lengths: list[int], width: int, seed: int, vocab_size: int = V) -> torch.Tensor:
    """Rows of real tokens (ids 1..V-1, never pad) right-padded with PAD to `width`."""
    ids = torch.randint(1, vocab_size, (len(lengths), width), generator=generator(seed))
    for row, n in enumerate(lengths):
        ids[row, n:] = PAD
    return ids


# --------------------------------------------------------------------------- forward


@check("part4.forward", 3, "LSTMLanguageModel.forward 的 logits [B, T, V] 与参考一致（2 层 LSTM，含 padding）")
def test_forward(worker):
    model = _reference_model(SEED, num_layers=2)
    ids = _padded_ids([9, 5, 1], 9, SEED + 1)
    exp = cached(f"part4.forward.{SEED}", lambda: {"logits": ref.lm_logits(model, ids).detach()})
    hint = ("三步：x = self.embedding(ids) -> out, _ = self.lstm(x)（batch_first=True，要 output 而不是 h_n）"
            "-> self.head(out)；输出的是 logits，不要再做 softmax。")
    r = require_ok(worker.call("part4.forward", _model_args(model), {"ids": ids, **prefixed(model.state_dict())}), hint)
    expect_close(tensor(r, "logits", "LSTMLanguageModel.forward(ids)"), exp["logits"],
                 f"LSTMLanguageModel({V}, {E}, {HID}, num_layers=2).forward(ids)，ids: [3, 9]",
                 atol=ref.LOGITS_ATOL, rtol=1e-4, hint=hint)


# --------------------------------------------------------------------------- make_clm_batch


@check("part4.make_clm_batch", 2, "make_clm_batch 把序列错开一位：inputs = ids[:, :-1]，targets = ids[:, 1:]")
def test_make_clm_batch(worker):
    hint = "第 t 个位置的输入是 ids[:, t]，标签是下一个 token ids[:, t + 1]：inputs 去掉最后一列，targets 去掉第一列。"
    for ids in (_padded_ids([8, 6, 3], 8, SEED + 10), torch.tensor([[BOS, 7], [BOS, EOS]])):
        r = require_ok(worker.call("part4.make_clm_batch", {}, {"ids": ids}))
        exp_in, exp_tg = ref.make_clm_batch(ids)
        for key, exp, name in (("inputs", exp_in, "inputs"), ("targets", exp_tg, "targets")):
            got = tensor(r, key, f"make_clm_batch(ids) 的 {name}")
            what = f"make_clm_batch(ids [{ids.shape[0]}, {ids.shape[1]}]) 的 {name}"
            expect_shape(got, exp.shape, what, hint)
            expect_dtype(got, torch.int64, what, "token id 保持 int64，不要转成浮点数。")
            expect_true(torch.equal(got, exp), f"{what}: 期望 {exp.tolist()}，得到 {got.tolist()}", hint)


# --------------------------------------------------------------------------- clm_loss
# Library delegation: F.cross_entropy(..., ignore_index=pad_id) is ALLOWED in clm_loss. The
# exercise is the shift-by-one objective and the padding mask, which the checks below grade
# (including the all-padding case, where F.cross_entropy alone returns NaN); the lecture itself
# computes the loss with nn.CrossEntropyLoss.


def _padded_targets(lengths: list[int], width: int, seed: int, pad_id: int) -> torch.Tensor:
    """Real targets anywhere in 0..V-1 except `pad_id` (so 0 is a real token when pad_id != 0)."""
    real = torch.randint(0, V - 1, (len(lengths), width), generator=generator(seed))
    targets = real + (real >= pad_id).long()
    for row, n in enumerate(lengths):
        targets[row, n:] = pad_id
    return targets


def _logits(b: int, t: int, seed: int) -> torch.Tensor:
    return randn(b, t, V, seed=seed) * 2.0


def _loss_call(worker, cases: list[tuple[torch.Tensor, torch.Tensor]], pad_id: int, backward: bool = False, hint: str = ""):
    tensors = {}
    for k, (logits, targets) in enumerate(cases):
        tensors[f"logits.{k}"], tensors[f"targets.{k}"] = logits, targets
    return require_ok(worker.call("part4.clm_loss", {"pad_id": pad_id, "cases": len(cases), "backward": backward}, tensors), hint)


def _reference_loss(key: str, logits: torch.Tensor, targets: torch.Tensor, pad_id: int) -> dict[str, torch.Tensor]:
    def compute() -> dict[str, torch.Tensor]:
        leaf = logits.clone().requires_grad_(True)
        loss = ref.clm_loss(leaf, targets, pad_id)
        loss.backward()
        return {"loss": loss.detach(), "grad": leaf.grad}

    return cached(f"part4.loss.{key}", compute)


def _loss(r, k: int, what: str) -> torch.Tensor:
    loss = tensor(r, f"loss.{k}", what)
    expect_shape(loss, [], what, "返回标量张量（0 维，例如 x.sum() / n），不要返回 Python float 或形状为 [1] 的张量。")
    return loss


NO_PAD_TARGETS = (torch.randint(1, V, (3, 6), generator=generator(SEED + 20)), torch.randint(1, V, (1, 4), generator=generator(SEED + 21)))


@check("part4.clm_loss_value", 2, "clm_loss（没有 padding 标签时）等于平均交叉熵 F.cross_entropy")
def test_clm_loss_value(worker):
    cases = [(_logits(*t.shape, seed=SEED + 22 + k), t) for k, t in enumerate(NO_PAD_TARGETS)]
    r = _loss_call(worker, cases, PAD)
    for k, (logits, targets) in enumerate(cases):
        exp = _reference_loss(f"value.{SEED}.{k}", logits, targets, PAD)
        what = f"clm_loss(logits [{', '.join(map(str, logits.shape))}], targets, pad_id={PAD})"
        expect_close(_loss(r, k, what), exp["loss"], what, atol=ref.LOSS_ATOL, rtol=1e-5,
                     hint="对最后一维做 log_softmax（不是直接用 logits），用 gather 取出目标 token 的 log 概率，取负后对所有位置求平均（mean，不是 sum）。")


@check("part4.clm_loss_gradient", 1, "clm_loss 对 logits 的梯度与 F.cross_entropy 一致（损失连在计算图上）")
def test_clm_loss_gradient(worker):
    cases = [(_logits(*t.shape, seed=SEED + 22 + k), t) for k, t in enumerate(NO_PAD_TARGETS)]
    r = _loss_call(worker, cases, PAD, backward=True)
    hint = "损失要由 torch 运算算出并保持在计算图上：不要用 .item()、.detach()、numpy 或 torch.tensor(...) 重新包装。"
    flags = value(r, "requires_grad", "clm_loss 的 requires_grad", list)
    for k, (logits, targets) in enumerate(cases):
        expect_true(bool(flags[k]) if k < len(flags) else False, "clm_loss(...) 返回的张量 requires_grad=False，无法反向传播", hint)
        exp = _reference_loss(f"value.{SEED}.{k}", logits, targets, PAD)
        expect_true(f"grad.{k}" in r.tensors, "clm_loss(...) 没有连在 logits 的计算图上（backward 后 logits.grad 为 None）", hint)
        # The gradient of a mean over N targets is O(1/N): an absolute tolerance of 1e-6 keeps it meaningful.
        expect_close(tensor(r, f"grad.{k}", "logits.grad"), exp["grad"], f"clm_loss 对 logits [{', '.join(map(str, logits.shape))}] 的梯度",
                     atol=1e-6, rtol=1e-4, hint=hint)


@check("part4.clm_loss_padding", 2, "clm_loss 忽略 pad_id 标签：值与 F.cross_entropy(ignore_index) 一致，多补 padding 不改变损失")
def test_clm_loss_padding(worker):
    hint = "mask = targets != pad_id；只对 mask 为 True 的位置求和，再除以 mask.sum()（非 pad 标签个数），pad 位置既不计入分子也不计入分母。"
    for pad_id, seed in ((PAD, SEED + 30), (5, SEED + 31)):
        targets = _padded_targets([6, 2, 4], 6, seed, pad_id)
        logits = _logits(3, 6, seed + 100)
        # Same rows with 3 more pad targets on the right (and arbitrary logits there).
        targets_wide = torch.cat([targets, torch.full((3, 3), pad_id)], dim=1)
        logits_wide = torch.cat([logits, _logits(3, 3, seed + 200) * 5], dim=1)
        r = _loss_call(worker, [(logits, targets), (logits_wide, targets_wide)], pad_id)
        exp = _reference_loss(f"padding.{seed}", logits, targets, pad_id)
        what = f"clm_loss(logits [3, 6, {V}], targets（含 padding）, pad_id={pad_id})"
        expect_close(_loss(r, 0, what), exp["loss"], what, atol=ref.LOSS_ATOL, rtol=1e-5, hint=hint)
        what = f"右侧多补 3 列 padding 后的 clm_loss(..., pad_id={pad_id})"
        expect_close(_loss(r, 1, what), exp["loss"], what + "（应与不补时相同）", atol=ref.LOSS_ATOL, rtol=1e-5, hint=hint)
    # Exactly one real target: the mean is that target's loss, not half of it.
    targets = _padded_targets([1, 0], 3, SEED + 32, PAD)
    logits = _logits(2, 3, SEED + 33)
    r = _loss_call(worker, [(logits, targets)], PAD)
    exp = _reference_loss(f"padding.one.{SEED}", logits, targets, PAD)
    what = f"clm_loss(logits [2, 3, {V}], targets（只有 1 个非 pad 标签）, pad_id={PAD})"
    expect_close(_loss(r, 0, what), exp["loss"], what, atol=ref.LOSS_ATOL, rtol=1e-5, hint=hint)


@check("part4.clm_loss_all_pad", 1, "clm_loss 在全部标签都是 padding 时返回 0（连在计算图上，梯度为 0），不是 NaN")
def test_clm_loss_all_pad(worker):
    logits = _logits(2, 3, SEED + 40)
    targets = torch.full((2, 3), PAD)
    # The same call also gets a batch with real targets: a zero loss for all padding is a merit
    # only in a function that gives a real batch a loss that moves with the logits (a function
    # that always returns `logits.sum() * 0` earns nothing). Its value is clm_loss_value's business.
    real_logits, real_targets = _logits(2, 3, SEED + 41), _padded_targets([3, 2], 3, SEED + 42, PAD)
    r = _loss_call(worker, [(logits, targets), (real_logits, real_targets)], PAD, backward=True)
    hint = "全部是 padding 时 mask.sum() == 0，直接相除得到 0/0 = NaN：分母用 mask.sum().clamp(min=1)，或单独处理；返回值仍要连在计算图上。"
    real = _loss(r, 1, "clm_loss(有非 pad 标签的 targets)")
    real_grad = r.tensors.get("grad.1")
    expect_true(float(real) != 0.0 and real_grad is not None and bool(real_grad.abs().sum() > 0),
                f"clm_loss(有 {int((real_targets != PAD).sum())} 个非 pad 标签的 targets) 得到 {float(real):.6g}，"
                "对 logits 的梯度为 0 或没有梯度：函数还没有计算损失，全 pad 时返回 0 无从谈起",
                "先实现损失：log_softmax 后用 gather 取出目标的 log 概率，对非 pad 位置取负平均。")
    loss = _loss(r, 0, "clm_loss(全 pad 的 targets)")
    expect_true(bool(torch.isfinite(loss)) and float(loss) == 0.0, f"clm_loss(全 pad 的 targets): 期望 0，得到 {float(loss):.6g}", hint)
    flags = value(r, "requires_grad", "clm_loss 的 requires_grad", list)
    expect_true(bool(flags and flags[0]), "clm_loss(全 pad 的 targets) 返回的张量 requires_grad=False：训练循环里的 loss.backward() 会报错", hint)
    expect_true("grad.0" in r.tensors, "clm_loss(全 pad 的 targets) 没有连在 logits 的计算图上（backward 后 logits.grad 为 None）",
                "返回例如 logits.sum() * 0.0 或 (nll * mask).sum() / mask.sum().clamp(min=1)，而不是新建的 torch.tensor(0.0)。")
    grad = tensor(r, "grad.0", "logits.grad")
    expect_close(grad, torch.zeros_like(logits), "clm_loss(全 pad 的 targets) 对 logits 的梯度", atol=0.0, rtol=0.0, hint=hint)


# --------------------------------------------------------------------------- sentence_embedding

EMB_LENGTHS = [6, 1, 4, 6, 2]
EMB_HINT = ("output, _ = model.lstm(model.embedding(ids)) 是每个位置最顶层的 hidden state [B, T, H]；"
            "第 b 句要取第 lengths[b] - 1 个位置（最后一个真实 token），不是 output[:, -1]（那是 padding 处）。")


def _embedding_case(worker):
    model = _reference_model(SEED + 50, num_layers=2)
    ids = _padded_ids(EMB_LENGTHS, 6, SEED + 51)
    lengths = torch.tensor(EMB_LENGTHS)
    ids_padded = torch.cat([ids, torch.full((len(EMB_LENGTHS), 3), PAD)], dim=1)
    exp = cached(f"part4.embedding.{SEED}", lambda: {"emb": ref.sentence_embedding(model, ids, lengths).detach()})
    tensors = {"ids": ids, "ids_padded": ids_padded, "lengths": lengths, **prefixed(model.state_dict())}
    return require_ok(worker.call("part4.sentence_embedding", _model_args(model), tensors), EMB_HINT), exp["emb"]


@check("part4.sentence_embedding", 2, "sentence_embedding 等于每句最后一个真实 token 处最顶层的 hidden state（pack_padded 的 h_n[-1]）")
def test_sentence_embedding(worker):
    r, exp = _embedding_case(worker)
    expect_close(tensor(r, "ids", "sentence_embedding(model, ids, lengths)"), exp,
                 f"sentence_embedding(2 层 LSTM, ids [5, 6], lengths={EMB_LENGTHS})",
                 atol=ref.EMBEDDING_ATOL, rtol=1e-4, hint=EMB_HINT)


@check("part4.sentence_embedding_padding", 1, "sentence_embedding 不受右侧多补的 padding 影响")
def test_sentence_embedding_padding(worker):
    r, exp = _embedding_case(worker)
    expect_close(tensor(r, "ids_padded", "sentence_embedding(model, ids_padded, lengths)"), exp,
                 f"右侧多补 3 列 <pad> 后的 sentence_embedding(..., lengths={EMB_LENGTHS})（应与不补时相同）",
                 atol=ref.EMBEDDING_ATOL, rtol=1e-4, hint=EMB_HINT)


# --------------------------------------------------------------------------- word order: bag of embeddings

BAG_HINT = ("词袋句向量只用 model.embedding（不经过 LSTM）：emb = model.embedding(ids) [B, T, E]，"
            "对每句前 lengths[b] 个位置求和再除以 lengths[b]（平均值，不是和）。")
BAG_PAD_HINT = ("padding 处的 embedding 不能算进平均值：mask = arange(T)[None, :] < lengths[:, None]，"
                "分子只加 mask 内的 embedding，分母是 lengths（不是 T）。")


def _bag_model(seed: int) -> ref.LSTMLanguageModel:
    """Seeded weights whose <pad> row is not zero (a state_dict may carry any values there), so
    an average that lets padding in is visible."""
    model = _reference_model(seed)
    with torch.no_grad():
        model.embedding.weight[PAD] = randn(E, seed=seed + 1) + 1.0
    return model


def _bag_call(worker, model: ref.LSTMLanguageModel, cases: list[tuple[torch.Tensor, torch.Tensor]], hint: str):
    tensors = {f"{name}.{k}": t for k, case in enumerate(cases) for name, t in zip(("ids", "lengths"), case)}
    r = require_ok(worker.call("part4.bag_of_embeddings", {**_model_args(model), "cases": len(cases)},
                               {**tensors, **prefixed(model.state_dict())}), hint)
    return [tensor(r, f"bag.{k}", "bag_of_embeddings(model, ids, lengths)") for k in range(len(cases))]


def _bag_expected(key: str, model: ref.LSTMLanguageModel, cases: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
    exp = cached(f"part4.bag.{key}", lambda: {
        f"bag.{k}": ref.bag_of_embeddings(model, ids, lengths).detach() for k, (ids, lengths) in enumerate(cases)})
    return [exp[f"bag.{k}"] for k in range(len(cases))]


@check("part4.word_order_bag_of_embeddings", 2, "bag_of_embeddings 等于每句 token embedding 的平均值（F.embedding_bag mode='mean'）")
def test_word_order_bag_of_embeddings(worker):
    model = _bag_model(SEED + 70)
    cases = [(_padded_ids([7] * 4, 7, SEED + 71), torch.tensor([7] * 4)), (_padded_ids([1], 1, SEED + 72), torch.tensor([1]))]
    for (ids, lengths), got, exp in zip(cases, _bag_call(worker, model, cases, BAG_HINT), _bag_expected(f"full.{SEED}", model, cases)):
        expect_close(got, exp, f"bag_of_embeddings(model, ids {list(ids.shape)}, lengths={lengths.tolist()})（没有 padding）",
                     atol=ref.EMBEDDING_ATOL, rtol=1e-4, hint=BAG_HINT)


@check("part4.word_order_bag_padding", 1, "bag_of_embeddings 只平均真实 token：不同长度的句子，多补 padding 不改变结果")
def test_word_order_bag_padding(worker):
    model = _bag_model(SEED + 73)
    lengths = torch.tensor(EMB_LENGTHS)
    ids = _padded_ids(EMB_LENGTHS, 6, SEED + 74)
    ids_padded = torch.cat([ids, torch.full((len(EMB_LENGTHS), 3), PAD)], dim=1)
    cases = [(ids, lengths), (ids_padded, lengths)]
    got = _bag_call(worker, model, cases, BAG_PAD_HINT)
    exp = _bag_expected(f"padding.{SEED}", model, cases[:1])[0]
    for g, extra in zip(got, ("", "右侧多补 3 列 <pad> 后的 ")):
        expect_close(g, exp, f"{extra}bag_of_embeddings(model, ids, lengths={EMB_LENGTHS})",
                     atol=ref.EMBEDDING_ATOL, rtol=1e-4, hint=BAG_PAD_HINT)


def _order_inputs(offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three sentences and the same sentences with each row's tokens in another order (a fixed
    permutation per row): the same bag of tokens."""
    ids = _padded_ids([6] * 3, 6, SEED + 76 + offset)
    perm = torch.stack([torch.randperm(6, generator=generator(SEED + 77 + offset + b)) for b in range(3)])
    return ids, ids.gather(1, perm)


def _order_expected(offset: int) -> dict[str, torch.Tensor]:
    """The reference's bag for the candidate; Unsafe unless the contrast the lecture draws (the
    LSTM's h_T does see the order) holds for these inputs."""
    model, (ids, swapped), lengths = _bag_model(SEED + 75), _order_inputs(offset), torch.tensor([6] * 3)
    change = float(_h_T_change(model, ids, swapped, lengths)["max_change"])
    if not change > 1e-3:
        raise Unsafe(f"the reference h_T changes by {change:.2g} only under the permutation")
    return {"bag": ref.bag_of_embeddings(model, ids, lengths).detach()}


WORD_ORDER = safe_inputs("part4.word_order_invariance", seed_candidates(0), _order_expected)


@check("part4.word_order_invariance", 1, "打乱词序（“猫在追狗” / “狗在追猫”）后 bag_of_embeddings 不变，而 LSTM 的 h_T 改变")
def test_word_order_invariance(worker):
    model = _bag_model(SEED + 75)
    offset, exp = WORD_ORDER.chosen(cached(f"part4.word_order.{SEED}", WORD_ORDER.compute))
    ids, swapped = _order_inputs(offset)
    lengths = torch.tensor([6] * 3)
    got, got_swapped = _bag_call(worker, model, [(ids, lengths), (swapped, lengths)], BAG_HINT)
    exp = exp["bag"]
    hint = "平均值与求和顺序无关：不要经过 LSTM，也不要按位置加权；只对 embedding 在时间维 T 上取平均。"
    expect_close(got, exp, "bag_of_embeddings(model, ids [3, 6], lengths)", atol=ref.EMBEDDING_ATOL, rtol=1e-4, hint=hint)
    # Float32 sums in another order differ by round-off only.
    expect_close(got_swapped, got, "打乱每句 token 顺序后的 bag_of_embeddings（应与原顺序相同）", atol=1e-6, rtol=1e-5, hint=hint)


def _h_T_change(model, ids: torch.Tensor, swapped: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        h, h_swapped = (ref.sentence_embedding(model, x, lengths) for x in (ids, swapped))
    return {"max_change": (h - h_swapped).abs().max()}


# --------------------------------------------------------------------------- generate

GEN_V, GEN_E, GEN_H = 30, 16, 24


def _generate(worker, model: ref.LSTMLanguageModel, calls: list[dict], hint: str, keep_prefix: bool = False) -> list:
    """The outputs of `calls`; with `keep_prefix`, also that no call changed the caller's prefix list."""
    r = require_ok(worker.call("part4.generate", {**_model_args(model), "calls": calls}, prefixed(model.state_dict())), hint)
    outputs = value(r, "outputs", "generate 的结果", list)
    expect_equal(len(outputs), len(calls), "generate 的结果个数")
    if keep_prefix:
        after = value(r, "prefixes_after", "调用 generate 之后的 prefix_ids", list)
        for call, got in zip(calls, after):
            expect_equal(got, call["prefix"], f"调用 {_call_text(call)} 之后传入的 prefix_ids（应保持不变）",
                         "先复制一份 ids = list(prefix_ids) 再往 ids 里追加：直接 append 到 prefix_ids 会改掉调用者的列表。")
    return outputs


def _call_text(call: dict) -> str:
    return (f"generate(model, prefix_ids={call['prefix']}, max_new_tokens={call['max_new_tokens']}, "
            f"temperature={call['temperature']}, eos_id={call['eos_id']})")


GREEDY_CALLS = [
    {"prefix": [BOS], "max_new_tokens": 15, "temperature": 0.0, "eos_id": None},
    {"prefix": [BOS, 7, 11, 4], "max_new_tokens": 12, "temperature": 0.0, "eos_id": None},
    {"prefix": [BOS, 9], "max_new_tokens": 0, "temperature": 0.0, "eos_id": None},
]


# Float32 logits of two correct implementations (full re-feed or carried (h, c), another summation
# order) differ by ~1e-5 at most here; an argmax needs 100x that between the top two logits.
GREEDY_MIN_GAP = 1e-3


def _greedy_expected(model: ref.LSTMLanguageModel, call: dict) -> list[int]:
    """The reference's greedy continuation; Unsafe where an argmax margin is so thin that float32
    round-off between two correct implementations could flip a token."""
    out = ref.generate(model, call["prefix"], call["max_new_tokens"], 0.0, eos_id=call["eos_id"])
    with torch.no_grad():
        for k in range(len(call["prefix"]), len(out)):
            top = ref.lm_logits(model, torch.tensor([out[:k]]))[0, -1].topk(2).values
            if float(top[0] - top[1]) < GREEDY_MIN_GAP:
                raise Unsafe(f"argmax gap {float(top[0] - top[1]):.2g} < {GREEDY_MIN_GAP:g} at step {k} of {call}")
    return out


def _greedy_model(seed: int) -> ref.LSTMLanguageModel:
    return _reference_model(seed, GEN_V, GEN_E, GEN_H, scale=2.0)


GREEDY = safe_inputs("part4.generate_greedy", seed_candidates(SEED + 60), lambda seed: {
    f"out.{k}": torch.tensor(_greedy_expected(_greedy_model(seed), call)) for k, call in enumerate(GREEDY_CALLS)})


@check("part4.generate_greedy", 2, "generate 在 temperature=0 时逐 token 等于参考的贪心解码（greedy），且不修改传入的 prefix_ids")
def test_generate_greedy(worker):
    seed, exp = GREEDY.chosen(cached(f"part4.greedy.{SEED}", GREEDY.compute))
    model = _greedy_model(seed)
    hint = ("temperature == 0 时每步取 argmax（不采样）；返回 前缀 + 新 token；每步都要用到之前所有 token："
            "要么把 (h, c) 带到下一步并只喂新 token，要么每步重新喂入整个序列。")
    outputs = _generate(worker, model, GREEDY_CALLS, hint, keep_prefix=True)
    for k, (call, got) in enumerate(zip(GREEDY_CALLS, outputs)):
        expect_equal(got, exp[f"out.{k}"].tolist(), _call_text(call), hint)


EOS_CALLS = [
    {"prefix": [BOS, 5], "max_new_tokens": 10, "temperature": 0.0, "eos_id": EOS},
    {"prefix": [BOS, 5, 8], "max_new_tokens": 10, "temperature": 1.0, "eos_id": EOS, "seed": 3},
    {"prefix": [BOS], "max_new_tokens": 4, "temperature": 0.0, "eos_id": None},
    {"prefix": [BOS], "max_new_tokens": 4, "temperature": 0.0, "eos_id": 7},  # an eos_id the model never says
]


@check("part4.generate_eos", 1, "generate 生成 eos_id 后立即停止（eos 保留在结果里）；eos_id=None 时生成满 max_new_tokens 个")
def test_generate_eos(worker):
    model = _reference_model(SEED + 61, GEN_V, GEN_E, GEN_H)
    with torch.no_grad():
        # The model all but always says <eos> next (probability 1 - 1e-20): greedy and sampling
        # alike must stop right after it.
        model.head.bias[EOS] += 50.0
    hint = "把新 token 接到结果末尾之后，若它等于 eos_id（且 eos_id 不是 None）就 break；eos_id 为 None 或没有生成 eos_id 时不要提前停止。"
    outputs = _generate(worker, model, EOS_CALLS, hint)
    for call, got in zip(EOS_CALLS, outputs):
        n_new = call["max_new_tokens"] if call["eos_id"] != EOS else 1
        expect_equal(got, call["prefix"] + [EOS] * n_new, _call_text(call) + "（这个模型几乎总是预测 <eos>）", hint)


def _sampling_calls(first_seed: int) -> list[dict]:
    return [{"prefix": [BOS, 7], "max_new_tokens": 10, "temperature": t, "eos_id": None, "seed": first_seed + k}
            for k, t in enumerate((0.5, 1.0, 2.0, 3.0))]


# Probabilities of two correct implementations differ by ~1e-5 relative at most (logits' round-off
# over a temperature of 0.5); a draw needs 100x that between the winner and the runner-up.
SAMPLING_MIN_MARGIN = 1e-3


def _draw_margin(probs: torch.Tensor, state: torch.Tensor, drawn: int) -> float:
    """How far `torch.multinomial(probs, 1)` from generator state `state` is from drawing another
    token, relative: torch draws argmax(probs / q) with q ~ Exp(1) from the generator, so this
    replays q. Where the replay does not give `drawn` (a torch that draws otherwise), the margin
    is 0 unless no relative perturbation of the probabilities up to SAMPLING_MIN_MARGIN moves it."""
    g = torch.Generator()
    g.set_state(state)
    ratio = probs.double() / torch.empty_like(probs).exponential_(1, generator=g).double()
    if int(ratio.argmax()) == drawn:
        top = ratio.topk(2).values
        return float((top[0] - top[1]) / top[0])
    noise = torch.Generator().manual_seed(0)
    for _ in range(16):
        g.set_state(state)
        scaled = probs * (1 + SAMPLING_MIN_MARGIN * (2 * torch.rand(probs.shape, generator=noise) - 1))
        if int(torch.multinomial(scaled, 1, generator=g)) != drawn:
            return 0.0
    return SAMPLING_MIN_MARGIN


def _sampled_expected(model: ref.LSTMLanguageModel, call: dict) -> list[int]:
    """The reference's sampled continuation; Unsafe where a draw is so close to another token that
    round-off between two correct implementations could change it."""
    out = ref.generate(model, call["prefix"], call["max_new_tokens"], call["temperature"],
                       generator=torch.Generator().manual_seed(call["seed"]), eos_id=call["eos_id"])
    gen, ids = torch.Generator().manual_seed(call["seed"]), list(call["prefix"])
    with torch.no_grad():
        while len(ids) < len(out):
            probs = F.softmax(ref.lm_logits(model, torch.tensor([ids]))[0, -1] / call["temperature"], dim=-1)
            state = gen.get_state()
            drawn = int(torch.multinomial(probs, 1, generator=gen))
            margin = _draw_margin(probs, state, drawn)
            if margin < SAMPLING_MIN_MARGIN:
                raise Unsafe(f"draw margin {margin:.2g} < {SAMPLING_MIN_MARGIN:g} at step {len(ids)} of {call}")
            ids.append(drawn)
    if ids != out:
        raise Unsafe(f"the replayed draws {ids} are not the reference's {out} for {call}")
    return out


def _exposes_a_stateless_decoder(model: ref.LSTMLanguageModel, call: dict, out: list[int]) -> bool:
    """Whether a decoder that forgets the carried (h, c) (each new token fed alone, the wrong
    example p4_generate_forgets_state) draws another token than `out`, clearly: at its first
    different draw its own margin is safe. Without this, whether such a decoder passes depends on
    torch's random stream (it passed with seeds 11-14 under torch 2.14.1 and failed under 2.4.1)."""
    gen, ids = torch.Generator().manual_seed(call["seed"]), list(call["prefix"])
    with torch.no_grad():
        while len(ids) < len(out):
            seen = ids if len(ids) == len(call["prefix"]) else ids[-1:]
            probs = F.softmax(ref.lm_logits(model, torch.tensor([seen]))[0, -1] / call["temperature"], dim=-1)
            state = gen.get_state()
            drawn = int(torch.multinomial(probs, 1, generator=gen))
            if drawn != out[len(ids)]:
                return _draw_margin(probs, state, drawn) >= SAMPLING_MIN_MARGIN
            ids.append(drawn)
    return False


def _sampling_model() -> ref.LSTMLanguageModel:
    return _reference_model(SEED + 62, GEN_V, GEN_E, GEN_H, scale=1.5)


def _temperature_expected(first_seed: int) -> dict[str, torch.Tensor]:
    model, calls = _sampling_model(), _sampling_calls(first_seed)
    outs = [_sampled_expected(model, call) for call in calls]
    if not any(_exposes_a_stateless_decoder(model, call, out) for call, out in zip(calls, outs)):
        raise Unsafe(f"a decoder that forgets (h, c) draws the reference's tokens with seeds {first_seed}..{first_seed + 3}")
    return {f"out.{k}": torch.tensor(out) for k, out in enumerate(outs)}


# The first candidate is the input the check always had: generator seeds 11, 12, 13, 14.
TEMPERATURE = safe_inputs("part4.generate_temperature", seed_candidates(11, step=100), _temperature_expected)


@check("part4.generate_temperature", 1, "generate 在 temperature > 0 时按 softmax(logits / temperature) 用给定的 generator 采样")
def test_generate_temperature(worker):
    model = _sampling_model()
    first_seed, exp = TEMPERATURE.chosen(cached(f"part4.sampled.{SEED}", TEMPERATURE.compute))
    calls = _sampling_calls(first_seed)
    hint = ("temperature > 0 时：probs = softmax(logits / temperature)（是除以 temperature，不是乘），"
            "next_id = torch.multinomial(probs, 1, generator=generator)；随机数只来自传入的 generator，每步只采样一次。")
    outputs = _generate(worker, model, calls, hint)
    for k, (call, got) in enumerate(zip(calls, outputs)):
        expect_equal(got, exp[f"out.{k}"].tolist(), _call_text(call) + f"，generator 种子 {call['seed']}", hint)


# --------------------------------------------------------------------------- pretraining


def _grading_inputs() -> dict[str, torch.Tensor]:
    def compute() -> dict[str, torch.Tensor]:
        itos, train_ids, held_ids = ref.grading_data()
        with torch.random.fork_rng(devices=[]):
            state = ref.grading_model(len(itos)).state_dict()
        return {"train_ids": train_ids, "held_ids": held_ids, **prefixed(state)}

    return cached_inputs("part4.grading_inputs", compute)


@check("part4.pretraining", 2, f"用你的 forward + make_clm_batch + clm_loss 做小规模 CLM 预训练后，留出集交叉熵 <= {ref.GRADING_HELDOUT_CE_MAX} nats")
def test_pretraining(worker):
    data = _grading_inputs()
    vocab_size = data["state.embedding.weight"].shape[0]
    held_inputs, held_targets = ref.make_clm_batch(data["held_ids"])
    args = {"vocab_size": vocab_size, "embed_dim": ref.GRADING_EMBED_DIM, "hidden_dim": ref.GRADING_HIDDEN_DIM,
            "num_layers": 1, "pad_id": PAD, "epochs": ref.GRADING_EPOCHS, "batch_size": ref.GRADING_BATCH_SIZE,
            "lr": ref.GRADING_LR, "seed": ref.GRADING_SEED}
    inputs = {"train_ids": data["train_ids"], "held_inputs": held_inputs, **{k: v for k, v in data.items() if k.startswith("state.")}}
    # A few seconds with one thread; the deadline leaves room for a loaded machine.
    r = require_ok(worker.call("part4.pretrain", args, shared=inputs, timeout=90))
    hint = ("这一项同时用到你的 LSTMLanguageModel.forward、make_clm_batch 和 clm_loss：先让它们各自的检查通过；"
            "常见原因是标签没有错开一位、损失里漏了 log_softmax，或 forward 返回的不是 logits（多做了 softmax）。")
    logits = tensor(r, "logits", "预训练后 model(held_inputs)")
    what = f"预训练后在 {held_inputs.shape[0]} 条留出评论上的 logits"
    expect_shape(logits, [*held_inputs.shape, vocab_size], what, hint)
    expect_true(logits.is_floating_point() and bool(torch.isfinite(logits).all()), f"{what}: 含 NaN/Inf 或不是浮点数（训练发散？）", hint)
    # The grader's own cross-entropy on the returned logits: nothing the submission computed is trusted.
    ce = F.cross_entropy(logits.double().flatten(0, 1), held_targets.flatten(), ignore_index=PAD).item()
    expect_at_most(ce, ref.GRADING_HELDOUT_CE_MAX,
                   f"留出集每 token 交叉熵（nats；未训练约 ln {vocab_size} = {torch.tensor(float(vocab_size)).log().item():.2f}，参考实现约 4.90）",
                   hint)

"""Part 4：用 LSTM 做 CLM（causal language modeling，自回归语言建模）预训练，再拿句向量做情感分类。

流程（与课件一致）：

1. 标记化层（Embedding Layer）：字符级 token id ``[B, T]`` -> embedding ``[B, T, E]``。
2. LSTM 网络主体：逐步更新 hidden state，``[B, T, E]`` -> ``[B, T, H]``。
3. 输出层：``nn.Linear(H, V)`` 把每个位置的 hidden state 映射成下一个 token 的 logits ``[B, T, V]``。

CLM 的训练目标：给定前文，预测下一个 token；输入是 ``ids[:, :-1]``，标签是 ``ids[:, 1:]``，
不需要人工标签（自监督）。预训练之后，LSTM 读完整句话时最后一个真实 token 处的 hidden state
就是句向量（sentence embedding）；冻结（frozen）它，只训练一个线性分类头，就能做下游情感分类。
作为对照，``bag_of_embeddings`` 把 token embedding 直接取平均：它不看词序（word order）。

形状约定：B = batch size，T = 序列长度，V = 词表大小，E = embedding 维度，H = hidden size。
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .part3_lstm import Vocab, char_tokenize


def _shape(x: object) -> object:
    return tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__


def _check_ids(ids: object, name: str = "ids", vocab_size: int | None = None) -> Tensor:
    if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(f"{name} 应为 [B, T] 的整数 Tensor，得到 {_shape(ids)} {getattr(ids, 'dtype', '')}")
    if vocab_size is not None and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"{name} 的取值应在 [0, {vocab_size}) 内，得到范围 [{int(ids.min())}, {int(ids.max())}]")
    return ids


def _check_lengths(lengths: object, ids: Tensor) -> Tensor:
    if not isinstance(lengths, Tensor) or lengths.dim() != 1 or lengths.dtype.is_floating_point:
        raise ValueError(f"lengths 应为 [B] 的整数 Tensor，得到 {_shape(lengths)}")
    if lengths.shape[0] != ids.shape[0]:
        raise ValueError(f"lengths 有 {lengths.shape[0]} 个元素，但 ids 的 batch size 是 {ids.shape[0]}")
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > ids.shape[1]):
        raise ValueError(
            f"lengths 的取值应在 [1, T={ids.shape[1]}] 内，得到范围 [{int(lengths.min())}, {int(lengths.max())}]"
        )
    return lengths


# --------------------------------------------------------------------------- model


class LSTMLanguageModel(nn.Module):
    """字符级 LSTM 语言模型：Embedding -> LSTM -> Linear。

    - ``embedding``: ``nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)``
    - ``lstm``: ``nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True)``
    - ``head``: ``nn.Linear(hidden_dim, vocab_size)``
    """

    def __init__(
        self, vocab_size: int, embed_dim: int = 64, hidden_dim: int = 128, num_layers: int = 1, pad_id: int = 0
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("embed_dim", embed_dim),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} 必须是正整数，得到 {value!r}")
        if isinstance(pad_id, bool) or not isinstance(pad_id, int) or not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id 必须是 [0, {vocab_size}) 内的整数，得到 {pad_id!r}")
        self.vocab_size = vocab_size
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        """``ids: [B, T]`` (int64) -> 每个位置“下一个 token”的 logits ``[B, T, V]``。"""
        _check_ids(ids, "ids", self.vocab_size)
        ### BEGIN SOLUTION
        # HINT: 三步：self.embedding -> self.lstm（返回 output, (h_n, c_n)，这里只要 output）-> self.head
        x = self.embedding(ids)  # [B, T, E]
        out, _ = self.lstm(x)  # [B, T, H]
        return self.head(out)  # [B, T, V]
        ### END SOLUTION


# --------------------------------------------------------------------------- CLM objective


def make_clm_batch(ids: Tensor) -> tuple[Tensor, Tensor]:
    """CLM 的输入和标签：``ids: [B, T]`` -> ``(inputs [B, T-1], targets [B, T-1])``。

    第 t 个位置的输入是 ``ids[:, t]``，标签是它的下一个 token ``ids[:, t + 1]``。要求 ``T >= 2``。
    """
    _check_ids(ids, "ids")
    if ids.shape[1] < 2:
        raise ValueError(f"序列长度 T 至少为 2 才有“下一个 token”，得到 ids 形状 {tuple(ids.shape)}")
    ### BEGIN SOLUTION
    # HINT: 输入去掉最后一个 token，标签去掉第一个 token（错开一位）
    return ids[:, :-1], ids[:, 1:]
    ### END SOLUTION


def clm_loss(logits: Tensor, targets: Tensor, pad_id: int) -> Tensor:
    """下一个 token 的平均交叉熵（cross-entropy），只对非 padding 的标签求平均。

    logits: ``[B, T, V]``；targets: ``[B, T]`` 整数；``targets == pad_id`` 的位置不计入损失。
    返回标量：``sum(-log p(target)) / (非 pad 标签个数)``。
    全部是 padding 时返回 0（仍连在计算图上，梯度为 0），这样训练循环不会因为空 batch 出 NaN。
    """
    if not isinstance(logits, Tensor) or logits.dim() != 3 or not logits.dtype.is_floating_point:
        raise ValueError(f"logits 应为 [B, T, V] 的浮点 Tensor，得到 {_shape(logits)}")
    _check_ids(targets, "targets")
    if tuple(targets.shape) != tuple(logits.shape[:2]):
        raise ValueError(
            f"targets 形状 {tuple(targets.shape)} 与 logits 的前两维 {tuple(logits.shape[:2])} 不一致"
        )
    real = targets[targets != pad_id]
    if real.numel() and (int(real.min()) < 0 or int(real.max()) >= logits.shape[2]):
        raise ValueError(
            f"targets 的取值应在 [0, V={logits.shape[2]}) 内，得到范围 [{int(real.min())}, {int(real.max())}]"
        )
    ### BEGIN SOLUTION
    # HINT: log_softmax 后用 gather 取出每个位置目标 token 的 log 概率；mask = (targets != pad_id)
    # HINT: 损失 = -(log_prob * mask).sum() / mask.sum()；想想 mask.sum() == 0 时怎么办
    log_probs = logits.log_softmax(dim=-1)  # [B, T, V]
    mask = targets != pad_id  # [B, T]
    safe_targets = targets.masked_fill(~mask, 0)  # any valid index; these positions are masked out
    target_log_probs = log_probs.gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1)  # [B, T]
    nll = torch.where(mask, -target_log_probs, torch.zeros_like(target_log_probs))
    return nll.sum() / mask.sum().clamp(min=1)
    ### END SOLUTION


# --------------------------------------------------------------------------- sentence embedding


def sentence_embedding(model: LSTMLanguageModel, ids: Tensor, lengths: Tensor) -> Tensor:
    """句向量：LSTM 最顶层在每句最后一个真实 token（第 ``lengths[b] - 1`` 个位置）处的 hidden state。

    ids: ``[B, T]``，右侧用 pad 补齐；lengths: ``[B]``，每句的真实长度（``1 <= lengths <= T``）。
    返回 ``[B, H]``。结果不受右侧多补多少 padding 影响。
    """
    _check_ids(ids, "ids", model.embedding.num_embeddings)
    _check_lengths(lengths, ids)
    ### BEGIN SOLUTION
    # HINT: output, _ = model.lstm(model.embedding(ids)) 给出每个位置最顶层的 hidden state [B, T, H]
    # HINT: 用 gather（或高级索引 output[arange(B), lengths - 1]）取出最后一个真实 token 的位置，别取 padding 处的
    out, _ = model.lstm(model.embedding(ids))  # [B, T, H]
    last = (lengths.to(out.device) - 1).view(-1, 1, 1).expand(-1, 1, out.shape[-1])  # [B, 1, H]
    return out.gather(1, last).squeeze(1)  # [B, H]
    ### END SOLUTION


def bag_of_embeddings(model: LSTMLanguageModel, ids: Tensor, lengths: Tensor) -> Tensor:
    """词袋句向量（bag of embeddings）：每句前 ``lengths[b]`` 个真实 token 的 embedding 的平均值。

    ids: ``[B, T]``，右侧用 pad 补齐；lengths: ``[B]``（``1 <= lengths <= T``）。返回 ``[B, E]``，
    E = ``model.embedding.embedding_dim``。只用 ``model.embedding``，不经过 LSTM。

    和 ``sentence_embedding``（LSTM 的 h_T）对比：平均值与 token 的顺序（word order）无关，
    所以“猫在追狗”和“狗在追猫”的词袋句向量完全相同（cosine = 1），而 h_T 不同。
    结果不受右侧多补多少 padding 影响。
    """
    _check_ids(ids, "ids", model.embedding.num_embeddings)
    _check_lengths(lengths, ids)
    ### BEGIN SOLUTION
    # HINT: mask[b, t] = t < lengths[b]（arange(T) 与 lengths 广播比较）；只对 mask 内的 embedding 求和
    # HINT: 再除以 lengths（真实 token 数），不是除以 T：padding 处的 embedding 不能算进平均值
    emb = model.embedding(ids)  # [B, T, E]
    mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None]  # [B, T]
    total = (emb * mask.unsqueeze(-1).to(emb.dtype)).sum(dim=1)  # [B, E]
    return total / lengths.to(emb.dtype).unsqueeze(1)  # [B, E]
    ### END SOLUTION


# --------------------------------------------------------------------------- generation


def generate(
    model: LSTMLanguageModel,
    prefix_ids: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
) -> list[int]:
    """自回归生成：从前缀 ``prefix_ids`` 开始，每次采样一个 token 接到末尾，再预测下一个。

    - ``temperature == 0``：贪心（greedy），每步取 ``argmax``（结果确定）。
    - ``temperature > 0``：按 ``softmax(logits / temperature)`` 用 ``torch.multinomial`` 采样，
      随机数来自 ``generator``。
    - 生成了 ``eos_id`` 时停止（``eos_id`` 本身保留在结果里）。

    返回 ``前缀 + 新生成的 token``（``list[int]``，长度 ``<= len(prefix_ids) + max_new_tokens``）；
    传入的 ``prefix_ids`` 本身不被修改。
    """
    vocab_size = model.embedding.num_embeddings
    if isinstance(prefix_ids, Tensor):
        prefix_ids = prefix_ids.tolist()
    if not isinstance(prefix_ids, (list, tuple)) or not prefix_ids:
        raise ValueError(f"prefix_ids 必须是非空的 int 列表（至少包含 <bos>），得到 {prefix_ids!r}")
    if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < vocab_size for i in prefix_ids):
        raise ValueError(f"prefix_ids 中的 id 必须是 [0, {vocab_size}) 内的整数，得到 {list(prefix_ids)[:20]}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens 必须是 >= 0 的整数，得到 {max_new_tokens!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature 必须是 >= 0 的有限数（0 表示 greedy），得到 {temperature!r}")
    ### BEGIN SOLUTION
    # HINT: 在 torch.no_grad() 下：先把整个前缀喂给 LSTM 得到 (h, c)，之后每步只喂新 token 并带上 (h, c)
    # HINT: temperature == 0 用 argmax；否则 torch.multinomial(softmax(logits / temperature), 1, generator=generator)
    ids = list(prefix_ids)
    with torch.no_grad():
        out, state = model.lstm(model.embedding(torch.tensor([ids])))  # out: [1, T, H]
        for _ in range(max_new_tokens):
            logits = model.head(out[0, -1])  # [V]
            if temperature == 0:
                next_id = int(logits.argmax())
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                next_id = int(torch.multinomial(probs, 1, generator=generator))
            ids.append(next_id)
            if eos_id is not None and next_id == eos_id:
                break
            out, state = model.lstm(model.embedding(torch.tensor([[next_id]])), state)
    return ids
    ### END SOLUTION


# --------------------------------------------------------------------------- given: data and training


def encode_corpus(
    texts: Sequence[str], vocab: Vocab, max_len: int, tokenize: Callable[[str], list[str]] = char_tokenize
) -> tuple[Tensor, Tensor]:
    """文本 -> ``(ids [N, T] int64, lengths [N] int64)``，右侧用 ``<pad>`` 补齐。

    每句是 ``<bos> + tokens``，截断到 ``max_len`` 个 id；没被截断的句子末尾再加 ``<eos>``
    （被截断的句子并没有结束，所以不加）。``T`` 是最长一句的长度（``<= max_len``）。

    这是给定代码（不需要修改）。
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"max_len 必须是 >= 2 的整数，得到 {max_len!r}")
    if isinstance(texts, str) or not len(texts):
        raise ValueError(f"texts 必须是非空的字符串列表，得到 {type(texts).__name__}")
    seqs = []
    for text in texts:
        seq = vocab.encode(tokenize(text), add_bos=True)
        seq = seq[:max_len] if len(seq) >= max_len else seq + [vocab.eos_id]
        seqs.append(seq)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    ids = torch.full((len(seqs), int(lengths.max())), vocab.pad_id, dtype=torch.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.int64)
    return ids, lengths


def _trim(batch: Tensor, pad_id: int) -> Tensor:
    """Drop the all-pad columns on the right: a batch of short reviews need not run T steps."""
    used = int((batch != pad_id).sum(dim=1).max())
    return batch[:, : max(used, 2)]


def train_lm(
    model: LSTMLanguageModel,
    ids: Tensor,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> list[float]:
    """CLM 预训练（Adam），返回每个 batch 的训练损失（list[float]，可以画 loss 曲线）。

    用 ``make_clm_batch`` 错开一位、``clm_loss`` 忽略 padding；打乱顺序用固定 ``seed``，结果确定。

    这是给定代码（不需要修改）。
    """
    _check_ids(ids, "ids", model.embedding.num_embeddings)
    if ids.shape[0] < 1 or ids.shape[1] < 2:
        raise ValueError(f"ids 至少需要 1 句、长度 >= 2，得到形状 {tuple(ids.shape)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} 必须是正整数，得到 {value!r}")
    if not lr > 0:
        raise ValueError(f"lr 必须为正数，得到 {lr!r}")
    pad_id = model.embedding.padding_idx
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(ids.shape[0], generator=gen)
        for start in range(0, ids.shape[0], batch_size):
            inputs, targets = make_clm_batch(_trim(ids[order[start : start + batch_size]], pad_id))
            loss = clm_loss(model(inputs), targets, pad_id)
            optimizer.zero_grad()
            loss.backward()
            # LSTMs occasionally get gradient spikes early on; clipping keeps the short runs stable.
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def heldout_cross_entropy(model: LSTMLanguageModel, ids: Tensor, batch_size: int = 256) -> float:
    """留出集上的平均每 token 交叉熵（nats）：所有非 pad 标签一起平均（不是各 batch 平均的平均）。

    随机猜的模型约为 ``ln(V)``；越低越好。这是给定代码（不需要修改）。
    """
    _check_ids(ids, "ids", model.embedding.num_embeddings)
    pad_id = model.embedding.padding_idx
    total, count = 0.0, 0
    for start in range(0, ids.shape[0], batch_size):
        inputs, targets = make_clm_batch(_trim(ids[start : start + batch_size], pad_id))
        n = int((targets != pad_id).sum())
        if n:
            total += clm_loss(model(inputs), targets, pad_id).item() * n
            count += n
    if count == 0:
        raise ValueError("ids 里没有任何非 pad 的标签，无法计算交叉熵")
    return total / count


# --------------------------------------------------------------------------- given: downstream sentiment


@torch.no_grad()
def embed_corpus(model: LSTMLanguageModel, ids: Tensor, lengths: Tensor, batch_size: int = 256) -> Tensor:
    """冻结的（frozen）LSTM 句向量：``[N, T]`` -> ``[N, H]``。这是给定代码（不需要修改）。"""
    model.eval()
    chunks = []
    for start in range(0, ids.shape[0], batch_size):
        batch, lens = ids[start : start + batch_size], lengths[start : start + batch_size]
        chunks.append(sentence_embedding(model, batch[:, : int(lens.max())], lens))
    return torch.cat(chunks)


def train_linear_head(
    features: Tensor, labels: Tensor, steps: int = 300, lr: float = 0.05, weight_decay: float = 1e-3, seed: int = 0
) -> tuple[nn.Linear, Tensor, Tensor]:
    """在冻结的句向量上训练 logistic regression 任务头（task head）：``nn.Linear(H, 2)``，全批量 Adam。

    特征先按训练集的均值/标准差标准化；返回 ``(head, mean, std)``，预测时用同样的标准化。
    这是给定代码（不需要修改）。
    """
    if features.dim() != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"features 应为 [N, H]、labels 应为 [N]，得到 {_shape(features)} 和 {_shape(labels)}")
    mean, std = features.mean(0), features.std(0).clamp(min=1e-6)
    x = (features - mean) / std
    torch.manual_seed(seed)  # nn.Linear's init draws from the global generator
    head = nn.Linear(features.shape[1], 2)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(head(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return head, mean, std


def sentiment_accuracy(
    model: LSTMLanguageModel,
    train: tuple[Tensor, Tensor, Tensor],
    test: tuple[Tensor, Tensor, Tensor],
    seed: int = 0,
) -> float:
    """下游情感分类：冻结 ``model`` 的句向量 + 线性任务头，返回测试集准确率。

    ``train`` / ``test`` 都是 ``(ids [N, T], lengths [N], labels [N])``，labels 1 = 正面，0 = 负面。
    这是给定代码（不需要修改）。
    """
    head, mean, std = train_linear_head(embed_corpus(model, train[0], train[1]), train[2], seed=seed)
    with torch.no_grad():
        pred = head((embed_corpus(model, test[0], test[1]) - mean) / std).argmax(1)
    return (pred == test[2]).float().mean().item()


def split_reviews(
    texts: Sequence[str], labels: Sequence[int], sizes: Sequence[int], seed: int = 0
) -> list[tuple[list[str], Tensor]]:
    """随机打乱后切出若干个互不重叠的子集，返回 ``[(texts_k, labels_k [n_k]), ...]``。

    这是给定代码（不需要修改）。
    """
    if len(texts) != len(labels):
        raise ValueError(f"texts 有 {len(texts)} 条，labels 有 {len(labels)} 个，数量不一致")
    if any(n < 1 for n in sizes) or sum(sizes) > len(texts):
        raise ValueError(f"sizes={list(sizes)} 不合法：每个都要 >= 1，总和不超过 {len(texts)}")
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed)).tolist()
    out, start = [], 0
    for n in sizes:
        idx = order[start : start + n]
        out.append(([texts[i] for i in idx], torch.tensor([labels[i] for i in idx], dtype=torch.int64)))
        start += n
    return out

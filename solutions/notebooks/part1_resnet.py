# Companion notebook of part1 (`part1_resnet.ipynb`), as cells: python -m autograder.release.notebooks

# %% [markdown]
# # Part 1：ResNet —— residual block、感受野与梯度消失
#
# 本 notebook 展示你在 `part1_resnet.py` 里实现的 residual block（identity block / projection block）、ResNet-18/50 的结构、感受野（receptive field）的计算，以及梯度消失（vanishing gradients）实验。
#
# > 答案写在 `cnn_rnn/part1_resnet.py` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 **Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。

# %% setup

# %%
from cnn_rnn import part1_resnet as P1

# %% [markdown]
# ## 1. BasicBlock：identity block 与 projection block
#
# 输入输出形状相同时，shortcut 是恒等映射（identity）；stride 或通道数变化时，shortcut 上需要 1x1 卷积投影（projection shortcut）。`x: [B, C, H, W]`。

# %%
gen = torch.Generator().manual_seed(0)
x = torch.randn(2, 16, 8, 8, generator=gen)
identity_block = P1.BasicBlock(16, 16).eval()
projection_block = P1.BasicBlock(16, 32, stride=2).eval()
with torch.no_grad():
    print("identity block:  ", tuple(x.shape), "->", tuple(identity_block(x).shape), "downsample =", identity_block.downsample)
    print("projection block:", tuple(x.shape), "->", tuple(projection_block(x).shape))
print(projection_block.downsample)

# %% [markdown]
# ## 2. ResNet-18 与 ResNet-50
#
# 结构和 torchvision 的 `models/resnet.py` 一致，所以参数量也应当完全相同；Bottleneck 的 `expansion = 4`。

# %%
import torchvision

def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

for name, mine, ref in [
    ("resnet18", P1.resnet18(num_classes=10), torchvision.models.resnet18(num_classes=10)),
    ("resnet50", P1.resnet50(num_classes=10), torchvision.models.resnet50(num_classes=10)),
]:
    print(f"{name}: 你的实现 {n_params(mine):,} 个参数, torchvision {n_params(ref):,}")

model = P1.resnet18(num_classes=10).eval()
with torch.no_grad():
    logits = model(torch.randn(1, 3, 64, 64, generator=gen))
print("logits:", tuple(logits.shape))

# %% [markdown]
# ## 3. 感受野（receptive field）
#
# 每加一层 kernel 为 k 的层，感受野增加 (k - 1) × 之前所有 stride 的乘积。下面是 ResNet stem （7x7 conv stride 2 + 3x3 max pool stride 2）之后再叠 3x3 卷积时感受野的增长。

# %%
stem = [(7, 2), (3, 2)]
convs = [(3, 1)] * 8
rfs = [P1.receptive_field(stem + convs[:n]) for n in range(len(convs) + 1)]
print("stem:", rfs[0], "像素; 每多一个 3x3 卷积:", rfs)
plt.figure(figsize=(5, 3))
plt.plot(range(len(rfs)), rfs, marker="o")
plt.xlabel("3x3 convs after the stem")
plt.ylabel("receptive field (pixels)")
plt.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 4. 梯度消失实验
#
# 同一份参数的 plain 网络（`h = tanh(layer(h))`）和 residual 网络（`h = h + tanh(layer(h))`），比较第一层权重梯度的 L2 范数。residual 网络里 ∂h/∂h 多了一个 "+1"，梯度不会随深度指数衰减。

# %%
result = P1.gradient_norm_experiment(depths=[2, 4, 8, 16, 32, 64], width=32, seed=0)
plt.figure(figsize=(5, 3.2))
plt.semilogy(result["depths"], result["plain"], marker="o", label="plain")
plt.semilogy(result["depths"], result["residual"], marker="s", label="residual")
plt.xlabel("depth")
plt.ylabel("first-layer gradient norm")
plt.legend()
plt.grid(alpha=0.3, which="both")
plt.show()
for d, p, r in zip(result["depths"], result["plain"], result["residual"]):
    print(f"depth {d:3d}: plain {p:.2e}   residual {r:.2e}")

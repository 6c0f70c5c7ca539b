"""Part 1：ResNet —— residual block、感受野（receptive field）与梯度消失（vanishing gradients）。

本文件的结构与 torchvision 的 ``models/resnet.py`` 一致（属性名相同），所以你写好的
``resnet18 / resnet34 / resnet50`` 可以用 ``load_state_dict(..., strict=True)`` 直接加载
torchvision 的权重，并给出完全相同的输出。

你要实现的部分：

1. ``projection_shortcut``：捷径路径（shortcut）上的 1x1 卷积投影（projection block）。
2. ``BasicBlock.forward``：ResNet-18/34 的 residual block（identity block / projection block）。
3. ``Bottleneck.__init__`` 与 ``Bottleneck.forward``：ResNet-50 的 1x1 -> 3x3 -> 1x1 block。
4. ``ResNet._make_layer``：把若干个 block 堆成一个 stage（layer1 ... layer4）。
5. ``receptive_field``：一串 (kernel, stride) 层的感受野。
6. ``DeepNet.forward`` 与 ``first_layer_grad_norm``：对比普通深层网络（plain）与残差网络
   （residual）第一层的梯度范数，亲眼看到梯度消失以及残差连接里的 "+1" 如何解决它。

张量形状约定：图像 ``x: [B, C, H, W]``；全连接网络 ``x: [B, F]``。
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "conv3x3",
    "conv1x1",
    "projection_shortcut",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "receptive_field",
    "DeepNet",
    "first_layer_grad_norm",
    "gradient_norm_experiment",
]


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} 必须是正整数，得到 {value!r}")


# --------------------------------------------------------------------------- building blocks


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 卷积，padding=1，无 bias（后面紧跟 BatchNorm，bias 是多余的）。

    ``[B, in_planes, H, W] -> [B, out_planes, ceil(H / stride), ceil(W / stride)]``
    """
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 卷积，无 bias：只在通道之间做线性组合，不看邻域。"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def projection_shortcut(in_planes: int, out_planes: int, stride: int = 1) -> nn.Module | None:
    """残差块的捷径路径（shortcut）。

    - 输入与输出形状完全相同（``stride == 1`` 且 ``in_planes == out_planes``）时是
      identity block：返回 ``None``，表示直接把 x 加到输出上。
    - 否则是 projection block：返回 ``nn.Sequential(conv1x1(in_planes, out_planes, stride),
      nn.BatchNorm2d(out_planes))``，把 ``x: [B, in_planes, H, W]`` 投影成
      ``[B, out_planes, H / stride, W / stride]``，使它能和主路径的输出相加。
    """
    _check_positive_int("in_planes", in_planes)
    _check_positive_int("out_planes", out_planes)
    _check_positive_int("stride", stride)
    ### BEGIN SOLUTION
    # HINT: 形状不变时不需要投影（返回 None）；否则用 1x1 卷积（带 stride）+ BatchNorm2d。
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))
    ### END SOLUTION


class BasicBlock(nn.Module):
    """ResNet-18/34 的 residual block：两个 3x3 卷积，输出 = ReLU(F(x) + shortcut(x))。

    ``x: [B, inplanes, H, W] -> [B, planes, H / stride, W / stride]``
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        _check_positive_int("inplanes", inplanes)
        _check_positive_int("planes", planes)
        _check_positive_int("stride", stride)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = projection_shortcut(inplanes, planes * self.expansion, stride)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        """主路径 conv1-bn1-relu-conv2-bn2 得到 F(x)；加上捷径（identity 或 ``self.downsample(x)``）后再 ReLU。"""
        ### BEGIN SOLUTION
        # HINT: 先保存 identity = x；self.downsample 不是 None 时 identity = self.downsample(x)。
        # HINT: 注意 ReLU 在相加之后：out = relu(out + identity)。
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)
        return out
        ### END SOLUTION


class Bottleneck(nn.Module):
    """ResNet-50 的 bottleneck block：1x1 降维 -> 3x3 -> 1x1 升维（通道数 x4）。

    与 torchvision 一致（ResNet v1.5）：stride 放在中间的 3x3 卷积上，而不是第一个 1x1 上。
    ``x: [B, inplanes, H, W] -> [B, planes * 4, H / stride, W / stride]``

    属性名（必须与 torchvision 相同，才能加载它的权重）：``conv1`` (1x1, inplanes->planes),
    ``bn1``, ``conv2`` (3x3, planes->planes, 带 stride), ``bn2``, ``conv3`` (1x1,
    planes->planes*4), ``bn3``, ``relu`` (inplace), ``downsample``, ``stride``。
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        ### BEGIN SOLUTION
        # HINT: 别忘了 super().__init__()；downsample 用 projection_shortcut(inplanes, planes * self.expansion, stride)。
        super().__init__()
        _check_positive_int("inplanes", inplanes)
        _check_positive_int("planes", planes)
        _check_positive_int("stride", stride)
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = projection_shortcut(inplanes, planes * self.expansion, stride)
        self.stride = stride
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """conv1-bn1-relu-conv2-bn2-relu-conv3-bn3 得到 F(x)；加上捷径后再 ReLU。"""
        ### BEGIN SOLUTION
        # HINT: 和 BasicBlock.forward 一样的套路，只是主路径多了一组 conv3/bn3。
        identity = x

        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)
        return out
        ### END SOLUTION


class ResNet(nn.Module):
    """ResNet：stem（7x7 conv, stride 2 + max pool）-> layer1..layer4 -> global avg pool -> fc。

    ``x: [B, 3, H, W] -> logits [B, num_classes]``；``layers`` 是每个 stage 的 block 个数，
    例如 ResNet-18 是 ``[2, 2, 2, 2]``，ResNet-50 是 ``[3, 4, 6, 3]``。
    """

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: Sequence[int], num_classes: int = 1000) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers 必须有 4 个元素（layer1..layer4 的 block 数），得到 {list(layers)!r}")
        for i, n in enumerate(layers):
            _check_positive_int(f"layers[{i}]", n)
        _check_positive_int("num_classes", num_classes)

        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(
        self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        """一个 stage：``blocks`` 个 block 串起来，返回 ``nn.Sequential``。

        只有第一个 block 带 ``stride``（负责下采样/改变通道数，因此通常是 projection block），
        其余 block 的输入输出形状相同（identity block）。构建完第一个 block 后要把
        ``self.inplanes`` 更新为 ``planes * block.expansion``，下一个 stage 才能接得上。
        """
        ### BEGIN SOLUTION
        # HINT: 第一个 block: block(self.inplanes, planes, stride)；之后 self.inplanes = planes * block.expansion。
        layers = [block(self.inplanes, planes, stride)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)  # [B, 64, H/2, W/2]
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)  # [B, 64, H/4, W/4]

        x = self.layer1(x)  # [B, 64 * e, H/4, W/4]
        x = self.layer2(x)  # [B, 128 * e, H/8, W/8]
        x = self.layer3(x)  # [B, 256 * e, H/16, W/16]
        x = self.layer4(x)  # [B, 512 * e, H/32, W/32]

        x = self.avgpool(x)  # [B, 512 * e, 1, 1]
        x = torch.flatten(x, 1)  # [B, 512 * e]: the embedding
        x = self.fc(x)  # [B, num_classes]
        return x


def resnet18(num_classes: int = 1000) -> ResNet:
    """ResNet-18：BasicBlock x [2, 2, 2, 2]，embedding 维度 512。"""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)


def resnet34(num_classes: int = 1000) -> ResNet:
    """ResNet-34：BasicBlock x [3, 4, 6, 3]，embedding 维度 512。"""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50：Bottleneck x [3, 4, 6, 3]，embedding 维度 2048。"""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes)


# --------------------------------------------------------------------------- receptive field


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """一串卷积/池化层（按从输入到输出的顺序）的感受野（receptive field），单位是输入像素。

    ``layers``：``[(kernel_size, stride), ...]``。例如两个 3x3、stride 1 的卷积：
    ``receptive_field([(3, 1), (3, 1)]) == 5``。padding 不影响感受野大小。
    列表为空、kernel < 1 或 stride < 1 时抛出 ``ValueError``。
    """
    if len(layers) == 0:
        raise ValueError("layers 不能为空：至少需要一层 (kernel, stride)")
    for i, layer in enumerate(layers):
        if len(layer) != 2:
            raise ValueError(f"layers[{i}] 必须是 (kernel, stride) 二元组，得到 {layer!r}")
        kernel, stride = layer
        if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1:
            raise ValueError(f"layers[{i}] 的 kernel 必须是 >= 1 的整数，得到 {kernel!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"layers[{i}] 的 stride 必须是 >= 1 的整数，得到 {stride!r}")
    ### BEGIN SOLUTION
    # HINT: 记录 jump = 之前所有层 stride 的乘积（相邻输出在输入上相隔多少像素）。
    # HINT: 每加一层 kernel 为 k 的层，感受野增加 (k - 1) * jump；初始感受野为 1。
    rf, jump = 1, 1
    for kernel, stride in layers:
        rf += (kernel - 1) * jump
        jump *= stride
    return rf
    ### END SOLUTION


# --------------------------------------------------------------------------- vanishing gradients


class DeepNet(nn.Module):
    """用于梯度消失实验的深层全连接网络（tanh 激活，PyTorch 默认初始化）。

    结构：``stem``（输入 Linear，in_features -> width）-> ``layers``（``depth`` 个
    width -> width 的 Linear，放在 ``nn.ModuleList`` 里）-> ``head``（输出 Linear）。

    - plain（``residual=False``）：``h = tanh(layer(h))``
    - residual（``residual=True``）：``h = h + tanh(layer(h))``

    两种变体的参数完全相同（同一个 seed 得到同一份 state_dict），只有 forward 不同。
    ``x: [B, in_features] -> [B, out_features]``
    """

    def __init__(
        self, depth: int, width: int, residual: bool, in_features: int = 16, out_features: int = 1
    ) -> None:
        super().__init__()
        _check_positive_int("depth", depth)
        _check_positive_int("width", width)
        _check_positive_int("in_features", in_features)
        _check_positive_int("out_features", out_features)
        self.residual = bool(residual)
        self.stem = nn.Linear(in_features, width)
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.head = nn.Linear(width, out_features)
        self.act = nn.Tanh()

    def forward(self, x: Tensor) -> Tensor:
        """``x: [B, in_features] -> [B, out_features]``；stem 之后不加激活，直接进入 ``layers``。"""
        ### BEGIN SOLUTION
        # HINT: h = self.stem(x)；对 self.layers 中每一层：plain 时 h = act(layer(h))，residual 时 h = h + act(layer(h))。
        h = self.stem(x)  # [B, width]
        for layer in self.layers:
            if self.residual:
                h = h + self.act(layer(h))
            else:
                h = self.act(layer(h))
        return self.head(h)
        ### END SOLUTION


def first_layer_grad_norm(model: DeepNet, x: Tensor, y: Tensor) -> float:
    """一次反向传播后，第一层（``model.stem``）权重梯度的 L2 范数。

    损失函数：均方误差 ``nn.functional.mse_loss(model(x), y)``（reduction="mean"）。
    先把旧的梯度清零（否则会累加），再 backward，返回 ``model.stem.weight.grad`` 的 L2 范数
    （Frobenius 范数），类型是 Python float。

    ``x: [B, in_features]``，``y: [B, out_features]``（与 ``model(x)`` 同形状）。
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x 与 y 必须是 [B, F] 且 batch 大小相同，得到 x {tuple(x.shape)}、y {tuple(y.shape)}")
    ### BEGIN SOLUTION
    # HINT: 先清零旧梯度（model.zero_grad()），再用 nn.functional.mse_loss 算 loss 并 backward。
    # HINT: 第一层是 model.stem；用 .norm().item() 得到 Python float。
    model.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    return model.stem.weight.grad.norm().item()
    ### END SOLUTION


def gradient_norm_experiment(
    depths: Sequence[int], width: int = 32, seed: int = 0, batch_size: int = 64
) -> dict[str, list]:
    """对每个 depth，构建同一份参数的 plain / residual ``DeepNet``，测第一层的梯度范数。

    返回 ``{"depths": [...], "plain": [...], "residual": [...]}``（各一个 float 列表）。
    输入 ``x ~ N(0, 1)``、目标 ``y ~ N(0, 1)``，由 ``seed`` 决定；同一 depth 的两个变体共享参数，
    所以它们的差别只来自残差连接。
    """
    if len(depths) == 0:
        raise ValueError("depths 不能为空")
    for d in depths:
        _check_positive_int("depth", d)
    _check_positive_int("width", width)
    _check_positive_int("batch_size", batch_size)
    in_features = 16
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, in_features, generator=gen)
    y = torch.randn(batch_size, 1, generator=gen)
    result: dict[str, list] = {"depths": list(depths), "plain": [], "residual": []}
    for depth in depths:
        # nn.Linear draws its init from the global RNG; fork it so the caller's stream is untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            plain = DeepNet(depth, width, residual=False, in_features=in_features)
            residual = DeepNet(depth, width, residual=True, in_features=in_features)
        residual.load_state_dict(plain.state_dict())
        result["plain"].append(first_layer_grad_norm(plain, x, y))
        result["residual"].append(first_layer_grad_norm(residual, x, y))
    return result

"""Trusted reference for part 2: backbone truncation, freezing, feature extraction, head training.

Independent of `solutions/`:
- truncation is `torchvision.models.feature_extraction.create_feature_extractor` returning the
  `flatten` node (the input of the classification layer, for both ResNet and MobileNetV2);
- freezing uses `Module.requires_grad_` / `Module.train(False)`;
- feature extraction runs under `torch.inference_mode` over `torch.split`;
- head training precomputes the per-epoch permutations and iterates `torch.split` chunks;
- unfreezing resolves prefixes with `get_submodule` / `get_parameter`;
- the LFW sanity figure uses scikit-learn's LogisticRegression on the reference features.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.feature_extraction import create_feature_extractor

# Practice 1 on skimage's lfw_subset (faces vs non-faces), MobileNetV2 backbone, 112 px, 50/50 split.
# Measured with the solution for seeds 0, 1, 2 (docs/measurements/part2.md):
LFW_REFERENCE_PRETRAINED_ACCURACY = 1.00  # IMAGENET1K_V1, every seed
LFW_REFERENCE_RANDOM_ACCURACY = 0.50  # weights=None, every seed (chance)
# Thresholds for the grader, with margin.
LFW_PRETRAINED_MIN_ACCURACY = 0.90
LFW_MIN_GAP_OVER_RANDOM = 0.25  # pretrained test accuracy - random-init test accuracy
LFW_IMAGE_SIZE = 112

EMBEDDING_DIM = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "mobilenet_v2": 1280}


class _Embedding(nn.Module):
    """Wraps a feature-extractor GraphModule so that calling it returns the [B, D] tensor."""

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, x: Tensor) -> Tensor:
        return self.extractor(x)["embedding"]


def truncate_backbone(model: nn.Module) -> nn.Module:
    return _Embedding(create_feature_extractor(copy.deepcopy(model), return_nodes={"flatten": "embedding"}))


def freeze(module: nn.Module) -> nn.Module:
    return module.requires_grad_(False).train(False)


def make_head(in_dim: int, num_classes: int, hidden: int | None = None) -> nn.Module:
    if hidden is None:
        return nn.Sequential(nn.Linear(in_dim, num_classes))
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def extract_features(backbone: nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    mode = backbone.training
    backbone.train(False)
    with torch.inference_mode():
        feats = torch.cat([backbone(chunk).reshape(len(chunk), -1) for chunk in torch.split(images, batch_size)])
    backbone.train(mode)
    return feats.clone()  # leave inference mode's tensor flag behind


def bn_buffers(model: nn.Module) -> dict[str, Tensor]:
    """Copies of every BatchNorm buffer (running stats and counters)."""
    return {
        f"{mod_name}.{buf_name}": buf.detach().clone()
        for mod_name, mod in model.named_modules()
        if isinstance(mod, nn.modules.batchnorm._BatchNorm)
        for buf_name, buf in mod.named_buffers(recurse=False)
    }


def trainable_parameter_ids(model: nn.Module) -> set[int]:
    return {id(p) for p in model.parameters() if p.requires_grad}


def optimizer_parameter_ids(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def train_head(
    head: nn.Module, features: Tensor, labels: Tensor, epochs: int = 30, lr: float = 1e-3, batch_size: int = 16, seed: int = 0
) -> list[float]:
    """Adam + cross-entropy, one `torch.randperm(N, generator)` per epoch from one seeded generator."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    perms = [torch.randperm(len(labels), generator=gen) for _ in range(epochs)]
    opt = torch.optim.Adam([p for p in head.parameters() if p.requires_grad], lr=lr)
    head.train(True)
    history = []
    for perm in perms:
        losses, sizes = [], []
        for idx in torch.split(perm, batch_size):
            loss = F.cross_entropy(head(features[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            sizes.append(len(idx))
        history.append(float(np.average(losses, weights=sizes)))
    head.train(False)
    return history


def unfreeze(model: nn.Module, prefixes: Sequence[str]) -> list[str]:
    """Prefixes name a submodule (or a parameter); every parameter under it becomes trainable."""
    names: set[str] = set()
    for prefix in prefixes:
        try:
            sub = model.get_submodule(prefix)
            found = {f"{prefix}.{n}": p for n, p in sub.named_parameters()}
        except AttributeError:
            try:
                found = {prefix: model.get_parameter(prefix)}
            except AttributeError:
                found = {}
        if not found:
            raise ValueError(f"prefix {prefix!r} matches no parameter")
        for name, param in found.items():
            param.requires_grad = True
            names.add(name)
    return sorted(names)


# --------------------------------------------------------------------------- LFW sanity figure


def lfw_split(labels: Tensor, test_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Per-class shuffle with one seeded generator, classes in ascending order (the Practice 1 split)."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    train, test = [], []
    for cls in sorted(set(labels.tolist())):
        idx = (labels == cls).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_test = max(1, int(round(len(idx) * test_fraction)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def lfw_accuracy(pretrained: bool = True, seed: int = 0, test_fraction: float = 0.5) -> float:
    """Test accuracy of LogisticRegression on reference MobileNetV2 features of lfw_subset."""
    from PIL import Image
    from skimage.data import lfw_subset
    from sklearn.linear_model import LogisticRegression
    from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
    from torchvision.transforms._presets import ImageClassification

    raw = lfw_subset()  # [200, 25, 25] float64, first 100 faces
    labels = torch.tensor([1] * 100 + [0] * 100)
    tf = ImageClassification(crop_size=LFW_IMAGE_SIZE, resize_size=LFW_IMAGE_SIZE)
    imgs = torch.stack([tf(Image.fromarray(np.uint8(np.clip(np.round(a * 255), 0, 255))).convert("RGB")) for a in raw])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1 if pretrained else None)
    feats = extract_features(freeze(truncate_backbone(model)), imgs).numpy()
    train_idx, test_idx = lfw_split(labels, test_fraction, seed)
    clf = LogisticRegression(max_iter=2000).fit(feats[train_idx], labels[train_idx].numpy())
    return float(clf.score(feats[test_idx], labels[test_idx].numpy()))


def stamp_watermark(images: Tensor, which: Tensor | None = None, size: int = 4, value: float = 1.0) -> Tensor:
    """A size x size square of `value` in the bottom-right corner of the selected images: a mask
    built by padding a block of ones, then `torch.where` (never writes into `images`)."""
    h, w = images.shape[-2:]
    corner = F.pad(torch.ones(size, size, dtype=torch.bool), (w - size, 0, h - size, 0))  # [H, W]
    selected = torch.ones(images.shape[0], dtype=torch.bool) if which is None else which
    mask = selected.view(-1, 1, 1, 1) & corner  # [B, 1, H, W]
    return torch.where(mask, torch.tensor(value, dtype=images.dtype), images)

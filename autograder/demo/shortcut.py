"""Shortcut learning: a watermark that means "face" in training and "non-face" at test time.

    python -m autograder.demo.shortcut --out demo-out/part2   # shortcut.md / shortcut.png (seeds 0, 1, 2)

lfw_subset (faces vs non-faces, 25 x 25 grey), split 50/50 per class. Training set: the solution's
`stamp_watermark` (a white 8 x 8 square, bottom-right) on every face, on no non-face. Test sets: clean
(no watermark) and flipped (the watermark on every non-face, on no face). Remedy: the same training
images with the watermark on a random half of each class, so it carries no label information.
Two classifiers: a small CNN trained from scratch on the pixels, and a linear head on frozen
ImageNet MobileNetV2 features (the part 2 pipeline, 112 px).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autograder.demo import demo_main
from autograder.atomic import save_figure, write_text
from autograder.threads import one_thread
from cnn_rnn import part2_transfer as P
from cnn_rnn.data import lfw_faces, stratified_split
from cnn_rnn.weights import load_torchvision

SEED = 0
SEEDS = (0, 1, 2)
MARK_SIZE, MARK_VALUE = 8, 1.0  # about 10 % of the 25 x 25 image; the sweep in docs/measurements/shortcut.md
IMAGE_SIZE = 112  # the part 2 pipeline's input size
CNN_EPOCHS, CNN_LR = 60, 3e-3


def data(seed: int) -> dict[str, Tensor]:
    """Pixels [N, 1, 25, 25] in [0, 1]: the training variants and the test variants."""
    images, labels = lfw_faces()
    x = torch.from_numpy(images).float().div(255.0).unsqueeze(1)
    y = torch.from_numpy(labels)
    train_idx, test_idx = stratified_split(y, test_fraction=0.5, seed=seed)
    xtr, ytr, xte, yte = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
    coin = torch.rand(len(ytr), generator=torch.Generator().manual_seed(seed)) < 0.5
    return {
        "y_train": ytr,
        "y_test": yte,
        "train_clean": xtr,
        "train_shortcut": P.stamp_watermark(xtr, ytr == 1, MARK_SIZE, MARK_VALUE),  # faces only
        "train_remedy": P.stamp_watermark(xtr, coin, MARK_SIZE, MARK_VALUE),  # both classes, at random
        "test_clean": xte,
        "test_flipped": P.stamp_watermark(xte, yte == 0, MARK_SIZE, MARK_VALUE),  # non-faces only
    }


class SmallCNN(nn.Module):
    """Two conv blocks and a linear layer on 25 x 25 grey images (about 5 k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Linear(16 * 6 * 6, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


def _cnn_accuracies(train_x: Tensor, y: Tensor, tests: dict[str, Tensor], y_test: Tensor, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=CNN_LR)
    for _ in range(CNN_EPOCHS):  # full batch: 100 images
        loss = F.cross_entropy(model(train_x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return {k: (model(x).argmax(1) == y_test).float().mean().item() for k, x in tests.items()}


def _mobilenet_features(backbone: nn.Module, x: Tensor) -> Tensor:
    """Grey [N, 1, 25, 25] -> ImageNet-normalised RGB at 112 px -> frozen features [N, 1280]."""
    rgb = F.interpolate(x.expand(-1, 3, -1, -1), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return P.extract_features(backbone, (rgb - mean) / std)


def _head_accuracies(train_f: Tensor, y: Tensor, tests: dict[str, Tensor], y_test: Tensor, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    head = P.make_head(train_f.shape[1], 2)
    P.train_head(head, train_f, y, seed=seed)
    return {k: (P.predict(head, f) == y_test).float().mean().item() for k, f in tests.items()}


def experiment(seed: int = SEED, backbone: nn.Module | None = None) -> dict[str, dict[str, float]]:
    """{classifier: {clean_test_accuracy, flipped_test_accuracy, remedy_clean_..., remedy_flipped_...}}."""
    d = data(seed)
    tests = {"clean": d["test_clean"], "flipped": d["test_flipped"]}
    out: dict[str, dict[str, float]] = {}
    for name in ("scratch_cnn", "pretrained_mobilenet_v2"):
        if name == "scratch_cnn":
            fit = lambda train: _cnn_accuracies(train, d["y_train"], tests, d["y_test"], seed)  # noqa: E731
        else:
            if backbone is None:
                backbone = P.freeze(P.truncate_backbone(load_torchvision("mobilenet_v2", "IMAGENET1K_V1")))
            feats = {k: _mobilenet_features(backbone, v) for k, v in tests.items()}
            fit = lambda train: _head_accuracies(  # noqa: E731
                _mobilenet_features(backbone, train), d["y_train"], feats, d["y_test"], seed)
        shortcut, remedy = fit(d["train_shortcut"]), fit(d["train_remedy"])
        out[name] = {
            "clean_test_accuracy": round(shortcut["clean"], 4),
            "flipped_test_accuracy": round(shortcut["flipped"], 4),
            "remedy_clean_test_accuracy": round(remedy["clean"], 4),
            "remedy_flipped_test_accuracy": round(remedy["flipped"], 4),
        }
    return out


KEYS = ("clean_test_accuracy", "flipped_test_accuracy", "remedy_clean_test_accuracy", "remedy_flipped_test_accuracy")


def measure(seeds: tuple[int, ...] = SEEDS) -> dict:
    """Means over `seeds` per classifier, and every seed's figures."""
    backbone = P.freeze(P.truncate_backbone(load_torchvision("mobilenet_v2", "IMAGENET1K_V1")))
    with one_thread():
        runs = {seed: experiment(seed, backbone) for seed in seeds}
    means = {name: {k: round(sum(runs[s][name][k] for s in seeds) / len(seeds), 4) for k in KEYS}
             for name in runs[seeds[0]]}
    return {"seeds": list(seeds), "mean": means, "runs": {str(s): r for s, r in runs.items()}}


def _plot(means: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ("clean test", "flipped test", "remedy: clean", "remedy: flipped")
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    width = 0.38
    for i, (name, m) in enumerate(means.items()):
        xs = [j + (i - 0.5) * width for j in range(len(KEYS))]
        ax.bar(xs, [m[k] for k in KEYS], width, label=name)
    ax.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    ax.set_xticks(range(len(KEYS)), labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Shortcut learning: {MARK_SIZE}x{MARK_SIZE} watermark on faces only (lfw_subset)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    save_figure(fig, path)


def run(out_dir: Path) -> dict:
    """Writes shortcut.md / shortcut.png into out_dir; returns figures.json["shortcut"]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = measure()
    _plot(r["mean"], out_dir / "shortcut.png")
    lines = [
        f"# Shortcut learning: a {MARK_SIZE}x{MARK_SIZE} watermark on every training face (solution, seeds {r['seeds']})",
        "",
        "Train: 100 lfw_subset images, the watermark on faces only. Flipped test: the watermark on non-faces only. "
        "Remedy: the watermark on a random half of each class.",
        "",
        "| classifier | clean test | flipped test | remedy: clean test | remedy: flipped test |",
        "|---|---|---|---|---|",
    ]
    for name, m in r["mean"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")
    write_text(out_dir / "shortcut.md", "\n".join(lines) + "\n")
    cnn = r["mean"]["scratch_cnn"]
    return {
        "classifier": "scratch_cnn",
        "clean_test_accuracy": cnn["clean_test_accuracy"],
        "flipped_test_accuracy": cnn["flipped_test_accuracy"],
        "remedy_flipped_test_accuracy": cnn["remedy_flipped_test_accuracy"],
        "remedy_clean_test_accuracy": cnn["remedy_clean_test_accuracy"],
        "pretrained_mobilenet_v2": r["mean"]["pretrained_mobilenet_v2"],
        "watermark": {"size": MARK_SIZE, "value": MARK_VALUE},
        "seeds": r["seeds"],
        "files": ["shortcut.md", "shortcut.png"],
    }


def main(argv: list[str] | None = None) -> int:
    return demo_main("python -m autograder.demo.shortcut", __doc__, run, "demo-out/part2", argv)


if __name__ == "__main__":
    raise SystemExit(main())

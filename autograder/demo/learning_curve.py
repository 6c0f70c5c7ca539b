"""Few-label learning curve on lfw_subset: test accuracy against labelled images per class, frozen
ImageNet MobileNetV2 + linear head against the same network at random initialisation.

    python -m autograder.demo.learning_curve --out demo-out/part2   # learning_curve.md / .png

Split 50/50 per class (seed 0): 100 test images; for each seed, k labelled images per class are
drawn from the other 100 (k = 1, 2, 5, 10, 30), and the solution's `make_head` + `train_head`
(30 epochs, Adam 1e-3, batch 16) is trained on their frozen features. Features are computed once
per backbone (112 px, ImageNet normalisation), so the curve costs two feature passes over 200
images plus 30 tiny head trainings.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from autograder.demo import demo_main
from autograder.atomic import save_figure, write_text
from autograder.demo.shortcut import _mobilenet_features
from autograder.threads import one_thread
from cnn_rnn import part2_transfer as P
from cnn_rnn.data import lfw_faces, stratified_split
from cnn_rnn.weights import load_torchvision

PER_CLASS = (1, 2, 5, 10, 30)
SEEDS = (0, 1, 2)
SPLIT_SEED = 0


def features(weights: str | None) -> Tensor:
    """Frozen MobileNetV2 features [200, 1280] of every lfw_subset image (random init: seed 0)."""
    images, _ = lfw_faces()
    x = torch.from_numpy(images).float().div(255.0).unsqueeze(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = P.freeze(P.truncate_backbone(load_torchvision("mobilenet_v2", weights)))
    return _mobilenet_features(backbone, x)


def _draw(pool: Tensor, labels: Tensor, k: int, seed: int) -> Tensor:
    """k indices per class from `pool`, seeded."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for cls in (0, 1):
        idx = pool[labels[pool] == cls]
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:k]])
    return torch.cat(picks)


def accuracy(feats: Tensor, labels: Tensor, train: Tensor, test: Tensor, seed: int) -> float:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = P.make_head(feats.shape[1], 2)
    P.train_head(head, feats[train], labels[train], seed=seed)
    return (P.predict(head, feats[test]) == labels[test]).float().mean().item()


def measure(per_class=PER_CLASS, seeds=SEEDS) -> dict:
    _, y = lfw_faces()
    labels = torch.from_numpy(y)
    pool, test = stratified_split(labels, test_fraction=0.5, seed=SPLIT_SEED)
    out: dict = {"per_class": list(per_class), "seeds": list(seeds), "n_test": len(test)}
    with one_thread():
        for name, weights in (("pretrained", "IMAGENET1K_V1"), ("random_init", None)):
            feats = features(weights)
            runs = [[accuracy(feats, labels, _draw(pool, labels, k, seed), test, seed) for seed in seeds] for k in per_class]
            out[name] = [round(sum(r) / len(r), 4) for r in runs]
            out[f"{name}_runs"] = [[round(a, 4) for a in r] for r in runs]
    return out


def _plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    for name, label in (("pretrained", "frozen ImageNet MobileNetV2 + head"), ("random_init", "same network, random init")):
        ax.plot(r["per_class"], r[name], marker="o", label=label)
        for k, runs in zip(r["per_class"], r[f"{name}_runs"]):
            ax.scatter([k] * len(runs), runs, s=8, alpha=0.4, color=ax.lines[-1].get_color())
    ax.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(r["per_class"], [str(k) for k in r["per_class"]])
    ax.set_xlabel("labelled images per class")
    ax.set_ylabel(f"test accuracy ({r['n_test']} images)")
    ax.set_ylim(0.3, 1.02)
    ax.set_title(f"lfw_subset faces vs non-faces, mean of seeds {r['seeds']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def run(out_dir: Path) -> dict:
    """Writes learning_curve.md / .png; returns figures.json["part2"]["learning_curve"]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = measure()
    _plot(r, out_dir / "learning_curve.png")
    lines = [
        f"# Few-label learning curve, lfw_subset (solution, seeds {r['seeds']}, {r['n_test']} test images)",
        "",
        "| labelled per class | " + " | ".join(map(str, r["per_class"])) + " |",
        "|---|" + "---|" * len(r["per_class"]),
        "| frozen pretrained MobileNetV2 + head | " + " | ".join(f"{a:.3f}" for a in r["pretrained"]) + " |",
        "| random init + head | " + " | ".join(f"{a:.3f}" for a in r["random_init"]) + " |",
    ]
    write_text(out_dir / "learning_curve.md", "\n".join(lines) + "\n")
    return r


def main(argv: list[str] | None = None) -> int:
    return demo_main("python -m autograder.demo.learning_curve", __doc__, run, "demo-out/part2", argv)


if __name__ == "__main__":
    raise SystemExit(main())

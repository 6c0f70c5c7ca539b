"""Domain shift ("温室" -> "荒野"): accuracy on shifted test images (blur, noise, contrast, crop) of a
frozen ImageNet MobileNetV2 + linear head against a small CNN trained from scratch, both trained on
clean lfw_subset images.

    python -m autograder.demo.domain_shift --out demo-out/part2   # domain_shift.md / .png

Same split as the shortcut experiment (50/50 per class, 100 train / 100 test). Each shift is applied
to the test images only, on the [0, 1] grey pixels; its size is reported as the mean absolute
pixel change it causes. Noise is seeded, so every figure is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision.transforms.functional as TF
from torch import Tensor

from autograder.demo import demo_main
from autograder.atomic import save_figure, write_text
from autograder.demo import shortcut as S
from autograder.threads import one_thread
from cnn_rnn import part2_transfer as P
from cnn_rnn.weights import load_torchvision

SEEDS = (0, 1, 2)


def _crop(x: Tensor, keep: float) -> Tensor:
    side = round(x.shape[-1] * keep)
    return TF.resize(TF.center_crop(x, [side, side]), list(x.shape[-2:]), antialias=True)


def _noise(x: Tensor, std: float) -> Tensor:
    return (x + std * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)


# name -> (family, level, function on [N, 1, 25, 25] in [0, 1])
SHIFTS = {
    "clean": ("clean", 0.0, lambda x: x),
    "blur σ=1": ("blur", 1.0, lambda x: TF.gaussian_blur(x, [7, 7], [1.0, 1.0])),
    "blur σ=2": ("blur", 2.0, lambda x: TF.gaussian_blur(x, [9, 9], [2.0, 2.0])),
    "noise σ=0.1": ("noise", 0.1, lambda x: _noise(x, 0.1)),
    "noise σ=0.3": ("noise", 0.3, lambda x: _noise(x, 0.3)),
    "contrast ×0.5": ("contrast", 0.5, lambda x: TF.adjust_contrast(x, 0.5)),
    "contrast ×0.2": ("contrast", 0.2, lambda x: TF.adjust_contrast(x, 0.2)),
    "crop 80%": ("crop", 0.8, lambda x: _crop(x, 0.8)),
    "crop 60%": ("crop", 0.6, lambda x: _crop(x, 0.6)),
}


def measure(seeds=SEEDS) -> dict:
    backbone = P.freeze(P.truncate_backbone(load_torchvision("mobilenet_v2", "IMAGENET1K_V1")))
    rows = {name: {"pretrained": [], "scratch": []} for name in SHIFTS}
    change = {}
    with one_thread():
        for seed in seeds:
            d = S.data(seed)
            clean_train = d["train_clean"]
            tests = {name: fn(d["test_clean"]) for name, (_, _, fn) in SHIFTS.items()}
            change = {name: round((x - d["test_clean"]).abs().mean().item(), 4) for name, x in tests.items()}
            cnn = S._cnn_accuracies(clean_train, d["y_train"], tests, d["y_test"], seed)
            feats = {k: S._mobilenet_features(backbone, v) for k, v in tests.items()}
            head = S._head_accuracies(S._mobilenet_features(backbone, clean_train), d["y_train"], feats, d["y_test"], seed)
            for name in SHIFTS:
                rows[name]["pretrained"].append(head[name])
                rows[name]["scratch"].append(cnn[name])
    mean = lambda xs: round(sum(xs) / len(xs), 4)  # noqa: E731
    return {
        "seeds": list(seeds),
        "shifts": [{"name": name, "family": fam, "level": lvl, "mean_abs_pixel_change": change[name],
                    "pretrained": mean(rows[name]["pretrained"]), "scratch": mean(rows[name]["scratch"])}
                   for name, (fam, lvl, _) in SHIFTS.items()],
        "classifiers": {"pretrained": "frozen ImageNet MobileNetV2 + linear head (112 px)",
                        "scratch": "small CNN trained from scratch on 25 x 25 pixels"},
    }


def _plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["name"] for s in r["shifts"]]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=120)
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [s["pretrained"] for s in r["shifts"]], 0.4, label=r["classifiers"]["pretrained"])
    ax.bar([x + 0.2 for x in xs], [s["scratch"] for s in r["shifts"]], 0.4, label=r["classifiers"]["scratch"])
    ax.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    ax.set_xticks(list(xs), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Domain shift on lfw_subset test images (mean of seeds {r['seeds']})")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    save_figure(fig, path)


def run(out_dir: Path) -> dict:
    """Writes domain_shift.md / .png; returns figures.json["domain_shift"]."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = measure()
    _plot(r, out_dir / "domain_shift.png")
    lines = [
        f"# Domain shift on lfw_subset (solution, seeds {r['seeds']})",
        "",
        "| test-time shift | mean abs pixel change | frozen pretrained MobileNetV2 + head | small CNN from scratch |",
        "|---|---|---|---|",
        *(f"| {s['name']} | {s['mean_abs_pixel_change']:.3f} | {s['pretrained']:.3f} | {s['scratch']:.3f} |" for s in r["shifts"]),
    ]
    write_text(out_dir / "domain_shift.md", "\n".join(lines) + "\n")
    return {**r, "files": ["domain_shift.md", "domain_shift.png"]}


def main(argv: list[str] | None = None) -> int:
    return demo_main("python -m autograder.demo.domain_shift", __doc__, run, "demo-out/part2", argv)


if __name__ == "__main__":
    raise SystemExit(main())

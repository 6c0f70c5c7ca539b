"""Part 1 demo: vanishing gradients, plain vs residual deep net, with the solution.

    python -m autograder.demo.part1 --out demo-out/part1

Writes `gradient_norms.png` (first-layer gradient norm against depth, log scale) and
`gradient_norms.json` (the numbers behind it), plus a check that the solution's ResNet-18 loads
torchvision's state dict strictly and reproduces its output bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from autograder.demo import demo_main
from autograder.atomic import save_figure, write_text
from cnn_rnn import part1_resnet as P

DEPTHS = (1, 2, 5, 10, 15, 20, 30, 40, 50)
WIDTH = 32
SEED = 0


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.semilogy(result["depths"], result["plain"], "o-", label="plain: h = tanh(W h + b)")
    ax.semilogy(result["depths"], result["residual"], "s-", label="residual: h = h + tanh(W h + b)")
    ax.set_xlabel("depth (hidden Linear layers)")
    ax.set_ylabel("||dL/dW|| of the first layer")
    ax.set_title(f"Vanishing gradients (width {WIDTH}, seed {SEED})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def _resnet18_matches_torchvision() -> bool:
    import torchvision

    torch.manual_seed(SEED)
    reference = torchvision.models.resnet18(weights=None).eval()
    student = P.resnet18().eval()
    student.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        return torch.equal(student(x), reference(x))


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = P.gradient_norm_experiment(list(DEPTHS), width=WIDTH, seed=SEED)
    result["ratio_residual_over_plain"] = [r / p if p > 0 else float("inf") for p, r in zip(result["plain"], result["residual"])]
    result["width"], result["seed"] = WIDTH, SEED
    write_text(out_dir / "gradient_norms.json", json.dumps(result, indent=1))
    _plot(result, out_dir / "gradient_norms.png")
    at = result["depths"].index(30)
    return {
        "plain_grad_norm_depth30": result["plain"][at],
        "residual_grad_norm_depth30": result["residual"][at],
        "ratio_depth30": result["ratio_residual_over_plain"][at],
        "ratio_depth50": result["ratio_residual_over_plain"][-1],
        "receptive_field_resnet_stem": P.receptive_field([(7, 2), (3, 2)]),
        "resnet18_bit_identical_to_torchvision": _resnet18_matches_torchvision(),
        "files": ["gradient_norms.png", "gradient_norms.json"],
    }


def main(argv: list[str] | None = None) -> int:
    return demo_main("python -m autograder.demo.part1", __doc__, run, "demo-out/part1", argv)


if __name__ == "__main__":
    raise SystemExit(main())

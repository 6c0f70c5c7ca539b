"""Part 2 demo: Practice 1 (faces vs non-faces on skimage's lfw_subset), pretrained vs random init.

    python -m autograder.demo.part2 --out demo-out/part2

Exports lfw_subset as pos/neg image folders, runs the solution's `train_binary_classifier` with
MobileNetV2 ImageNet weights (IMAGENET1K_V1, from the torch cache) and with random weights, for
seeds 0, 1, 2, and writes `accuracy.md` / `accuracy.json`. These are the figures of
docs/measurements/part2.md. Then the few-label learning curve (`autograder.demo.learning_curve`: `learning_curve.md/.png`,
figures.json["part2"]["learning_curve"]), shortcut learning (`autograder.demo.shortcut`:
`shortcut.md/.png`, figures.json["shortcut"]) and domain shift (`autograder.demo.domain_shift`:
`domain_shift.md/.png`, figures.json["domain_shift"]).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


from autograder.atomic import write_text
from autograder.demo import domain_shift, learning_curve, shortcut
from autograder.threads import one_thread
from cnn_rnn import part2_transfer as P
from cnn_rnn.data import export_lfw_folder

ARCH = "mobilenet_v2"
SETTINGS = (("pretrained (IMAGENET1K_V1)", "IMAGENET1K_V1"), ("random init (weights=None)", None))
SEEDS = (0, 1, 2)




def measure(seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    rows = []
    with one_thread(), tempfile.TemporaryDirectory(prefix="lfw-") as tmp:
        root = export_lfw_folder(tmp)
        for setting, weights in SETTINGS:
            for seed in seeds:
                started = time.monotonic()
                r = P.train_binary_classifier(root, arch=ARCH, weights=weights, seed=seed)
                rows.append(
                    {
                        "setting": setting,
                        "weights": weights,
                        "seed": seed,
                        "train_accuracy": round(r["train_accuracy"], 4),
                        "test_accuracy": round(r["test_accuracy"], 4),
                        "n_train": r["n_train"],
                        "n_test": r["n_test"],
                        "final_loss": round(r["losses"][-1], 4),
                        "seconds": round(time.monotonic() - started, 2),
                    }
                )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        f"Practice 1 on lfw_subset (faces vs non-faces), {ARCH}, {P.DEFAULT_IMAGE_SIZE} px, frozen backbone + linear head",
        "",
        "| setting | seed | train acc | test acc | n_test | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['setting']} | {r['seed']} | {r['train_accuracy']:.2f} | {r['test_accuracy']:.2f} | {r['n_test']} | {r['seconds']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = measure()
    write_text(out_dir / "accuracy.json", json.dumps(rows, indent=1))
    write_text(out_dir / "accuracy.md", markdown(rows))

    def mean(weights):
        accs = [r["test_accuracy"] for r in rows if r["weights"] == weights]
        return round(sum(accs) / len(accs), 4)

    return {
        "pretrained_test_accuracy_mean": mean("IMAGENET1K_V1"),
        "random_init_test_accuracy_mean": mean(None),
        "pretrained_test_accuracy_min": min(r["test_accuracy"] for r in rows if r["weights"] is not None),
        "seeds": list(SEEDS),
        "learning_curve": learning_curve.run(out_dir),
        "files": ["accuracy.md", "accuracy.json", "learning_curve.md", "learning_curve.png", "shortcut.md",
                  "shortcut.png", "domain_shift.md", "domain_shift.png"],
        # figures.json top-level keys (they span the lecture, not one part's exercises)
        "figures": {"shortcut": shortcut.run(out_dir), "domain_shift": domain_shift.run(out_dir)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.demo.part2", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out/part2"))
    args = parser.parse_args(argv)
    print(json.dumps(run(args.out), indent=1))
    print((args.out / "accuracy.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

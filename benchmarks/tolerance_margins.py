"""How far inside its tolerance every numeric comparison of the hidden suites sits, for correct
submissions (docs/THRESHOLDS.md, "Tolerance margins").

    python benchmarks/tolerance_margins.py --part part3 --part part4 --part part5 [--variants] [--out FILE.json]

Runs the hidden checks of the parts against the solution (and, with --variants, the bundles of
correct variants from examples/correct_variants), with `expect_close` recording, per check, the
largest |got - expected| / (atol + rtol * |expected|) over every element it compares (the "use" of
the tolerance: 1.0 is the edge, 0.1 is 10x inside it; a zero tolerance is used 0 or infinitely),
and `expect_at_least` / `expect_at_most` recording the figure against its threshold.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", action="append", help="parts (default: all)")
    ap.add_argument("--variants", action="store_true", help="also the bundles of correct variants")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    import autograder.checks as checks
    from autograder.catalog import check_functions
    from autograder.config import GradingConfig
    from autograder.examples import build_examples
    from autograder.launch.worker import Worker
    from autograder.runtime.assignment import PARTS

    parts = tuple(args.part or PARTS)
    uses: dict[str, dict] = {}
    current = {"check": ""}

    def note(kind: str, what: str, use: float, detail: str) -> None:
        row = uses.setdefault(current["check"], {"use": 0.0, "comparisons": 0, "worst": "", "thresholds": []})
        if kind == "close":
            row["comparisons"] += 1
            if use >= row["use"]:
                row["use"], row["worst"] = use, f"{what}: {detail}"
        elif f"{what}: {detail}" not in row["thresholds"]:
            row["thresholds"].append(f"{what}: {detail}")

    real_close, real_least, real_most = checks.expect_close, checks.expect_at_least, checks.expect_at_most

    def expect_close(actual, expected, what, *, atol=1e-5, rtol=1e-4, **kw):
        real_close(actual, expected, what, atol=atol, rtol=rtol, **kw)  # raises first when it fails
        a, e = actual.detach().double(), expected.detach().double()
        if a.numel():
            diff, tol = (a - e).abs(), atol + rtol * e.abs()
            ratio = torch.where(tol > 0, diff / tol.clamp_min(1e-300), torch.where(diff > 0, torch.inf, 0.0))
            note("close", what, float(ratio.max()), f"max abs diff {float(diff.max()):.3g}, atol {atol:g}, rtol {rtol:g}")

    def expect_at_least(value, threshold, what, hint=""):
        real_least(value, threshold, what, hint)
        note("threshold", what, 0.0, f"{value:.4g} >= {threshold:g}")

    def expect_at_most(value, threshold, what, hint=""):
        real_most(value, threshold, what, hint)
        note("threshold", what, 0.0, f"{value:.4g} <= {threshold:g}")

    fns = check_functions("hidden", parts)
    for fn in fns:
        for name, fake in (("expect_close", expect_close), ("expect_at_least", expect_at_least), ("expect_at_most", expect_at_most)):
            if name in fn.__globals__:
                fn.__globals__[name] = fake
    failures = []
    with tempfile.TemporaryDirectory(prefix="tolerance_") as tmp:
        folders = [REPO / "solutions" / "cnn_rnn"]
        if args.variants:
            root = build_examples(Path(tmp) / "variants", names=[], variants=True)
            folders += sorted(p for p in root.iterdir() if p.name.startswith("variants_"))
        for folder in folders:
            with Worker(folder, GradingConfig(parts=parts)) as worker:
                for fn in fns:
                    current["check"] = fn.__check__.name
                    try:
                        fn(worker)
                    except Exception as exc:  # a correct submission fails nothing: a finding
                        failures.append(f"{folder.name}: {fn.__check__.name}: {type(exc).__name__}: {str(exc)[:200]}")
    report = {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(),
              "parts": list(parts), "submissions": len(folders), "checks": uses, "failures": failures}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(folders)} correct submissions")
    print("| check | comparisons | largest use of the tolerance | worst comparison | thresholds |")
    print("|---|---|---|---|---|")
    for name, row in sorted(uses.items()):
        print(f"| `{name}` | {row['comparisons']} | {row['use']:.3g} | {row['worst']} | {'; '.join(row['thresholds'])} |")
    for f in failures:
        print("FAILED", f)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

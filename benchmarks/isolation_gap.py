"""Where isolation costs time: one submission at a time, ours against the floor, phase by phase.

    python benchmarks/isolation_gap.py [--reps 2] [--json benchmarks/results/isolation-gap.json]

grading_speed.py reports `isolation_efficiency` for a whole class on every core. This script
explains the number: the same six examples (the solution and one wrong example of each part)
graded in turn by this package (`grade_folder`: a sandboxed worker forked from the warm fork
server) and by the floor (benchmarks/inprocess.py: the same checks, probes called in this
process), one at a time, after one warm-up each. For ours, the time of each step of the machinery
on the trusted side is summed per submission by wrapping the methods that do it (a wrapper costs
~1 us; the steps are milliseconds):

* place: hard-link the submission into the fork server's folder;
* spawn: the fork server forks a worker (`spawn` command), start: until the worker says ready;
* encode / read: each request written, each answer waited for and parsed (the wait holds the
  probe's own run: `compute` is the part of it the worker reports as inside the probe);
* ping: the fork server still answers (once per part);
* kill / reap: the worker and whatever it started killed, the sandbox's /tmp emptied.

No figure here is a target; grading_speed.py's table is the one the docs quote.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

import inprocess  # noqa: E402
from autograder.config import GradingConfig  # noqa: E402
from autograder.examples import build_examples  # noqa: E402
from autograder.grading import grade_folder  # noqa: E402
from autograder.launch import forked  # noqa: E402
from autograder.launch import worker as worker_module  # noqa: E402
from autograder.runtime import wire  # noqa: E402

KINDS = ("solution", "p1_relu_before_add", "p2_truncate_in_place", "p3_tokenizer_no_lowercase", "p4_forward_softmax",
         "part5_dot_product_not_cosine")
STEPS = {  # step -> (class, method) whose calls it sums
    "place": (forked.ForkServer, "place"),
    "spawn": (forked.ForkServerLauncher, "start"),
    "start": (worker_module.Worker, "_start"),
    "encode": (worker_module.Worker, "_request"),
    "read": (wire.FrameReader, "read"),
    "ping": (forked.ForkServerLauncher, "check"),
    "kill": (forked.ForkServerLauncher, "kill"),
    "reap": (forked.ForkServerLauncher, "close"),
}


def instrument(totals: dict[str, float], calls: dict[str, int]) -> None:
    for step, (cls, name) in STEPS.items():
        original = getattr(cls, name)

        def timed(*args, __original=original, __step=step, **kwargs):
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                totals[__step] += time.perf_counter() - started
                calls[__step] += 1

        setattr(cls, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2, help="rounds over the six examples (after one warm-up each)")
    parser.add_argument("--json", type=Path, default=None)
    ns = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # the grading process's checking thread, as in a batch
    root = Path(tempfile.mkdtemp(prefix="cnn_rnn_gap_"))
    examples = build_examples(root / "examples", list(KINDS))
    totals: dict[str, float] = collections.defaultdict(float)
    calls: dict[str, int] = collections.defaultdict(int)
    instrument(totals, calls)

    grade_folder("warm-up", examples / "solution", GradingConfig())  # fork server, expectations
    inprocess.grade_here(examples / "solution")  # the floor's modules and its first-call costs
    torch.set_num_threads(1)
    totals.clear(), calls.clear()
    ours, floor, compute = [], [], []
    try:
        for _ in range(ns.reps):
            for kind in KINDS:
                started = time.perf_counter()
                result = grade_folder(kind, examples / kind, GradingConfig())
                ours.append(time.perf_counter() - started)
                compute.append(result.compute_seconds)
                started = time.perf_counter()
                inprocess.grade_here(examples / kind)
                floor.append(time.perf_counter() - started)
                torch.set_num_threads(1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(ours)
    per = {step: round(1000 * totals[step] / n, 1) for step in STEPS}
    report = {
        "submissions": n, "kinds": list(KINDS), "torch": torch.__version__,
        "ours_mean_s": round(statistics.mean(ours), 3), "floor_mean_s": round(statistics.mean(floor), 3),
        "gap_mean_s": round(statistics.mean(ours) - statistics.mean(floor), 3),
        "sequential_efficiency": round(statistics.mean(floor) / statistics.mean(ours), 3),
        "worker_compute_mean_s": round(statistics.mean(compute), 3),
        "steps_ms_per_submission": per,
        "calls_per_submission": {step: round(calls[step] / n, 1) for step in STEPS},
        # Waiting for the worker, less the time it reports inside its probes: reading and
        # resetting before each probe, encoding and writing its answer, and the wake-ups.
        "worker_outside_probes_ms": round(1000 * totals["read"] / n - 1000 * statistics.mean(compute), 1),
    }
    print(f"one submission at a time, {n} submissions ({', '.join(KINDS)})")
    print(f"  ours  {report['ours_mean_s']:.3f} s   floor {report['floor_mean_s']:.3f} s   gap {report['gap_mean_s']:.3f} s   "
          f"efficiency {report['sequential_efficiency']:.3f}")
    print(f"  worker inside its probes {report['worker_compute_mean_s']:.3f} s; outside them {report['worker_outside_probes_ms']:.1f} ms")
    for step in STEPS:
        print(f"  {step:7s} {per[step]:8.1f} ms  ({report['calls_per_submission'][step]:g} calls)")
    if ns.json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

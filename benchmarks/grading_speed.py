"""Grading speed, three ways on the same machine, plus self-check and Top-K timings.

    python benchmarks/grading_speed.py            # N = 50 submissions (make bench)
    python benchmarks/grading_speed.py --n 5      # the small version CI runs

1. this package: `grade_all` (parallel pool, sandboxed workers forked from a warm zygote,
   expectations cached once per assignment version);
2. a naive runner: a fresh `python -m pytest` per submission on the same hidden suites
   (`-p autograder.plugin --submission DIR`), as many at a time as we have cores;
3. nbgrader `autograde` of the same answers in nbgrader notebooks: one notebook per student
   whose autograder test cells run the same hidden suites in the kernel (one kernel per
   notebook, one notebook at a time, as nbgrader does);
4. this package on a local Dask cluster of `--jobs` one-thread workers (`grade_all(...,
   scheduler=...)`), against (1) on the same cores, and from its measured time per submission
   a paper estimate of time and cost for 5,000 submissions on N machines.

Writes benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.examples import build_examples  # noqa: E402
from autograder.grade.batch import grade_all  # noqa: E402
from autograder.runtime.assignment import GRADED_FILES, PARTS  # noqa: E402

PY = sys.executable


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def make_submissions(root: Path, n: int) -> Path:
    """N submissions cycling through the solution, the stubs and the realistic wrong ones."""
    examples = build_examples(root / "examples")
    # The solution and the stubs first, so that even a small N has its known-score controls.
    kinds = sorted((p.name for p in examples.iterdir()), key=lambda k: (k not in ("solution", "stubs"), k))
    subs = root / "subs"
    subs.mkdir()
    for i in range(n):
        shutil.copytree(examples / kinds[i % len(kinds)], subs / f"s{i:03d}_{kinds[i % len(kinds)]}")
    return subs


def children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench_ours(subs: Path, out: Path, jobs: int) -> dict:
    start = time.perf_counter()
    results = grade_all(subs, out, jobs=jobs, force=True, quiet=True)
    wall = time.perf_counter() - start
    solutions = [r.total for r in results if r.student.endswith("_solution")]
    if not solutions or min(solutions) != 100:  # timings of a broken grader would be meaningless
        raise SystemExit(f"benchmark aborted: the solution submissions scored {solutions}, not 100")
    per = [r.seconds for r in results]
    overhead = [max(0.0, r.seconds - r.compute_seconds) for r in results]
    return {
        "wall_s": round(wall, 2),
        "per_submission_median_s": round(statistics.median(per), 3),
        "per_submission_p95_s": round(percentile(per, 0.95), 3),
        "overhead_median_s": round(statistics.median(overhead), 3),
        "throughput_per_min": round(60 * len(results) / wall, 2),
        # The pool's grading processes have exited: the largest of them (or of their fork servers).
        "grading_process_peak_rss_mb": round(children_peak_mb(), 1),
        "scores": {r.student: r.total for r in results},
    }


def bench_dask(subs: Path, out: Path, jobs: int, local: dict) -> dict:
    """The same class through a local Dask cluster (scheduler + `jobs` one-thread workers) on
    the same cores as the local pool; the timed run includes registering the worker plugin and
    starting the warm grading processes, as the local run includes starting its pool."""
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        started = time.perf_counter() - start
        start = time.perf_counter()
        results = grade_all(subs, out, force=True, quiet=True, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - start
    scores = {r.student: r.total for r in results}
    if scores != local["scores"]:  # a faster but different gradebook would be worthless
        raise SystemExit(f"benchmark aborted: the Dask run's scores differ from the local run's: {scores} vs {local['scores']}")
    return {"cluster_start_s": round(started, 2), "wall_s": round(wall, 2), "throughput_per_min": round(60 * len(results) / wall, 2),
            "overhead_vs_local_pool_pct": round(100 * (wall / local["wall_s"] - 1), 1),
            "core_seconds_per_submission": round(wall * jobs / len(results), 2)}


def estimate_5000(core_s: float, start_s: float, machine_cores: int, core_hour_usd: float, machines=(1, 4, 16, 64)) -> list[dict]:
    """Paper estimate, not a measurement: linear scaling in cores from the measured core-seconds
    per submission, plus one cluster start-up; cost = machines x cores x hours x price per core-hour."""
    rows = []
    for m in machines:
        hours = (5000 * core_s / (m * machine_cores) + start_s) / 3600
        rows.append({"machines": m, "cores": m * machine_cores, "minutes": round(60 * hours, 1),
                     "submissions_per_min": round(5000 / (60 * hours), 1), "cost_usd": round(m * machine_cores * hours * core_hour_usd, 2)})
    return rows


def bench_naive(subs: Path, jobs: int) -> dict:
    def one(folder: Path) -> float:
        start = time.perf_counter()
        subprocess.run(
            [PY, "-m", "pytest", str(REPO / "autograder" / "suites" / "hidden"), "-p", "autograder.plugin", "--submission", str(folder),
             "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO / "autograder" / "suites"), "-c", str(REPO / "autograder" / "suites" / "pytest.ini")],
            cwd=REPO, capture_output=True,
        )
        return time.perf_counter() - start

    folders = sorted(p for p in subs.iterdir() if p.is_dir())
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        per = list(pool.map(one, folders))
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 2), "per_submission_median_s": round(statistics.median(per), 3),
            "per_submission_p95_s": round(percentile(per, 0.95), 3), "throughput_per_min": round(60 * len(per) / wall, 2)}


def _nb_cell(source: str, kind: str = "code", **nbgrader) -> dict:
    import nbformat

    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False, "task": False, **nbgrader}
    return cell


def bench_nbgrader(subs: Path, root: Path, limit: int | None = None) -> dict:
    """nbgrader autograde: the answers sit in solution cells that write the .py files; one
    autograded test cell per part runs that part's hidden checks in the kernel."""
    import nbformat

    course = root / "course"
    (course / "source" / "bench").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\nc.ExecutePreprocessor.timeout = 600\n"
        "c.CourseDirectory.db_assignments = [dict(name='bench')]\n"
    )
    files = GRADED_FILES

    def notebook(folder: Path | None) -> "nbformat.NotebookNode":
        cells = [_nb_cell("import pathlib, sys\nANSWERS = pathlib.Path('answers'); ANSWERS.mkdir(exist_ok=True)", locked=True, grade_id="setup")]
        for name in files:
            code = (folder / name).read_text(encoding="utf-8") if folder else "### BEGIN SOLUTION\n### END SOLUTION\n"
            cells.append(_nb_cell(f"%%writefile answers/{name}\n{code}", solution=True, grade_id=f"answer_{name[:5]}"))
        for part in PARTS:
            cells.append(_nb_cell(
                f"sys.path.insert(0, {str(REPO)!r})\nfrom autograder.config import GradingConfig\nfrom autograder.grading import run_suite\n"
                f"r = run_suite(ANSWERS.resolve(), 'hidden', GradingConfig(parts=({part!r},), forkserver=False)).results\n"
                f"assert all(c.status == 'passed' for c in r), [c.check for c in r if c.status != 'passed']",
                grade=True, grade_id=f"test_{part}", points=20, locked=True))
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        return nb

    nbformat.write(notebook(None), course / "source" / "bench" / "bench.ipynb")
    env = {**os.environ, "PATH": f"{Path(PY).parent}:{os.environ.get('PATH', '')}"}
    nbg = [str(Path(PY).parent / "nbgrader")]
    subprocess.run([*nbg, "generate_assignment", "bench", "--force"], cwd=course, check=True, capture_output=True, env=env)
    students = sorted(p for p in subs.iterdir() if p.is_dir())[:limit]
    for folder in students:
        dest = course / "submitted" / folder.name / "bench"
        dest.mkdir(parents=True)
        nbformat.write(notebook(folder), dest / "bench.ipynb")
        (dest / "timestamp.txt").write_text("2026-11-22 12:00:00.000000 UTC")
    start = time.perf_counter()
    proc = subprocess.run([*nbg, "autograde", "bench", "--force"], cwd=course, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:], "wall_s": round(wall, 2)}
    return {"n": len(students), "wall_s": round(wall, 2), "per_submission_median_s": round(wall / len(students), 3),
            "throughput_per_min": round(60 * len(students) / wall, 2)}


def bench_check(parts: tuple[str, ...] = tuple(PARTS)) -> dict:
    def timed(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([PY, "-m", "autograder", "check", *args, "--dir", str(REPO / "solutions" / "cnn_rnn")], cwd=REPO, capture_output=True)
        return round(time.perf_counter() - start, 2)

    def bare_import() -> float:  # the floor of any fresh process that uses torch
        start = time.perf_counter()
        subprocess.run([PY, "-c", "import torch, torchvision"], cwd=REPO, capture_output=True)
        return round(time.perf_counter() - start, 2)

    timed(["part1"])  # warm the expectation-free caches (bytecode, weights) once
    floor = min(bare_import() for _ in range(2))
    times = {part: timed([part]) for part in dict.fromkeys(("part3", *parts))}  # part 3: check_one_part_s
    return {"check_all_parts_s": timed([]), **{f"check_{p}_s": t for p, t in times.items()}, "check_one_part_s": times["part3"],
            "bare_import_torch_torchvision_s": floor, "check_over_bare_import": {p: round(t / floor, 2) for p, t in times.items()}}


def bench_topk(sizes: list[int]) -> dict:
    out = {}
    for n in sizes:
        row = {}
        for impl in ("solution", "reference", "faiss"):
            proc = subprocess.run([PY, str(REPO / "benchmarks" / "topk_one.py"), impl, str(n), "512", "100", "10"],
                                  cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
            row[impl] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
        if "seconds" in row["solution"] and "seconds" in row.get("faiss", {}):
            row["ratio_solution_over_faiss"] = round(row["solution"]["seconds"] / max(row["faiss"]["seconds"], 1e-9), 3)
        out[str(n)] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--nbgrader-n", type=int, default=None, help="grade only this many with nbgrader (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["naive", "nbgrader", "topk", "check", "dask"])
    parser.add_argument("--check-parts", nargs="*", default=list(PARTS), choices=list(PARTS), help="parts whose self-check is timed alone")
    parser.add_argument("--machine-cores", type=int, default=16, help="cores per machine in the 5,000-submission estimate")
    parser.add_argument("--core-hour-usd", type=float, default=0.045,
                        help="price of one core-hour in the estimate (default: roughly an on-demand compute-optimised cloud vCPU)")
    parser.add_argument("--topk-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)

    report: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()},
        "n_submissions": args.n,
        "jobs": args.jobs,
    }
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_bench_") as tmp:
        root = Path(tmp)
        subs = make_submissions(root, args.n)
        grade_all(subs, root / "warm", jobs=1, quiet=True, students=[sorted(p.name for p in subs.iterdir())[0]])  # fill the expectation cache
        print(f"grading {args.n} submissions with this package ...", flush=True)
        report["ours"] = bench_ours(subs, root / "ours", args.jobs)
        if "dask" not in args.skip:
            print(f"... through a local Dask cluster of {args.jobs} workers ...", flush=True)
            report["dask"] = bench_dask(subs, root / "dask", args.jobs, report["ours"])
            report["dask"]["estimate_5000"] = estimate_5000(report["dask"]["core_seconds_per_submission"], 60.0,
                                                           args.machine_cores, args.core_hour_usd)
            report["dask"]["estimate_assumptions"] = (
                f"{args.machine_cores} cores per machine, ${args.core_hour_usd}/core-hour, one grading process per core, "
                "linear scaling from the measured core-seconds per submission, 60 s to start the cluster and warm the workers")
        if "naive" not in args.skip:
            print("... with a naive runner (fresh pytest per submission) ...", flush=True)
            report["naive"] = bench_naive(subs, args.jobs)
        if "nbgrader" not in args.skip:
            print("... with nbgrader autograde ...", flush=True)
            report["nbgrader"] = bench_nbgrader(subs, root, args.nbgrader_n)
    report["peak_child_rss_mb"] = round(children_peak_mb(), 1)
    if "check" not in args.skip:
        report.update(bench_check(tuple(args.check_parts)))
    if "topk" not in args.skip:
        print("Top-K vs faiss ...", flush=True)
        report["topk"] = bench_topk(args.topk_sizes)

    ours = report["ours"]["wall_s"]
    report["speedup_vs_naive"] = round(report["naive"]["wall_s"] / ours, 2) if "naive" in report else None  # same N
    nb = report.get("nbgrader", {})
    # Throughput ratio, so that a smaller nbgrader sample (--nbgrader-n) still compares fairly.
    report["speedup_vs_nbgrader"] = (
        round(report["ours"]["throughput_per_min"] / nb["throughput_per_min"], 2) if "throughput_per_min" in nb else None
    )
    report["overhead_s_median"] = report["ours"]["overhead_median_s"]
    report["check_all_parts_s"] = report.get("check_all_parts_s")
    big = report.get("topk", {}).get("1000000", {})
    report["topk_vs_faiss_1m"] = big.get("ratio_solution_over_faiss")
    report["dask_overhead_pct"] = report.get("dask", {}).get("overhead_vs_local_pool_pct")
    report["ours"].pop("scores")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    report["check_one_part_s"] = report.get("check_one_part_s")
    keys = ("speedup_vs_nbgrader", "speedup_vs_naive", "overhead_s_median", "check_all_parts_s", "check_one_part_s", "topk_vs_faiss_1m",
            "peak_child_rss_mb", "dask_overhead_pct")
    print(json.dumps({k: report[k] for k in keys}, indent=2))
    print(f"full report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grading speed: this package against the floor, fair nbgrader and a naive runner, every result checked.

    python benchmarks/grading_speed.py        # make bench: every example submission once, all five parts
    python benchmarks/grading_speed.py --n 3 --parts part3 --jobs 2 --skip dask check topk   # tests/test_benchmark.py

The same N submissions go through every runner, on the same machine, one runner at a time:

1. **ours**: `grade_all` with `--jobs` grading processes (sandboxed workers forked from a warm
   fork server, expectations read from the cache filled before the timed runs);
2. **floor**: `--jobs` warm processes (benchmarks/inprocess.py --serve), each grading one
   submission after another by calling the same checks, whose probes run as plain calls in that
   process: no isolation, no sandbox, no fork, no pipe. The fastest any grader can be with these
   checks here. Its per-submission time is split into the submission's own calls, the grader's
   scaffolding inside the probes, and the trusted side;
3. **nbgrader** 0.9.6, fair (benchmarks/nbgrader_fair.py): one notebook per student whose test
   cells run the same checks in the kernel (one cell per check, no sandbox, one kernel per
   notebook); `nbgrader autograde` as documented (one process) and as `--jobs` processes at once;
4. **naive**: a fresh `python -m pytest` per submission on the hidden suites, `--jobs` at a time;
5. **dask**: ours through a local Dask cluster of `--jobs` one-thread workers (not a baseline:
   the same grader, scheduled elsewhere).

Every runner's score and failed checks for every submission must equal the example's known
result (solution 100, stubs 0, each wrong example 100 minus the points of the checks it is known
to fail: examples/wrong_submissions/) and ours; otherwise the script aborts before writing any
figure. Then it times `autograder check` per part against a bare `import torch, torchvision`, and
`cosine_topk` against faiss. Writes benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import queue
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

import nbgrader_fair  # noqa: E402
from autograder.catalog import checks_of  # noqa: E402
from autograder.examples import build_examples, mutants  # noqa: E402
from autograder.grade.batch import grade_all  # noqa: E402
from autograder.runtime.assignment import PARTS, part_of  # noqa: E402

PY = sys.executable
BASELINES = ("floor", "nbgrader", "nbgrader_parallel", "naive")


class Aborted(SystemExit):
    """A runner's results differ from the known ones: its timings would mean nothing."""


# --------------------------------------------------------------------------- the class


def example_order(parts: tuple[str, ...]) -> list[str]:
    """The solution and the stubs first (so that even a small N has both controls), then the wrong
    examples of the graded parts taken in turn from each part (part 1's first, part 2's first, ...),
    so that any N of at least 2 + len(parts) covers every part."""
    by_part: dict[str, list[str]] = {p: [] for p in parts}
    for m in mutants():
        if part_of(m.file) in by_part:
            by_part[part_of(m.file)].append(m.name)
    order = ["solution", "stubs"]
    for i in range(max((len(v) for v in by_part.values()), default=0)):
        order += [names[i] for names in by_part.values() if i < len(names)]
    return order


def expected_failures(kind: str, parts: tuple[str, ...]) -> set[str]:
    """The hidden checks of `parts` this example is known to fail."""
    graded = {m.name for m in checks_of("hidden") if m.group in parts}
    if kind == "solution":
        return set()
    if kind == "stubs":
        return graded
    return set(next(m for m in mutants() if m.name == kind).fails) & graded


def make_submissions(root: Path, n: int | None, parts: tuple[str, ...]) -> tuple[Path, dict[str, dict]]:
    """N submissions (None: every example once) cycling through `example_order`; returns their
    folder and, per submission, its known result {"total", "failed"}."""
    order = example_order(parts)
    n = len(order) if n is None else n
    examples = build_examples(root / "examples", sorted(set(order[:n])))
    points = {m.name: m.points for m in checks_of("hidden") if m.group in parts}
    subs = root / "subs"
    subs.mkdir()
    known: dict[str, dict] = {}
    for i in range(n):
        kind = order[i % len(order)]
        name = f"s{i:03d}_{kind}"
        shutil.copytree(examples / kind, subs / name)
        failed = expected_failures(kind, parts)
        known[name] = {"kind": kind, "total": round(sum(p for c, p in points.items() if c not in failed), 4), "failed": sorted(failed)}
    return subs, known


def verify(runner: str, got: dict[str, dict], known: dict[str, dict]) -> None:
    """Abort unless `got` (submission -> {"total", "failed"}) has every submission's known result."""
    wrong = {}
    for name, want in known.items():
        have = got.get(name)
        if have is None or round(have["total"], 4) != want["total"] or sorted(have["failed"]) != want["failed"]:
            wrong[name] = {"expected": want, "got": have}
    if wrong:
        raise Aborted(f"benchmark aborted: {runner} graded {len(wrong)} of {len(known)} submissions otherwise than known "
                      f"(its timings would mean nothing):\n{json.dumps(wrong, indent=1, ensure_ascii=False)[:6000]}")


# --------------------------------------------------------------------------- helpers


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def timing(wall: float, n: int, per: list[float] | None = None) -> dict:
    out = {"wall_s": round(wall, 2), "throughput_per_min": round(60 * n / wall, 2)}
    if per:
        out |= {"per_submission_median_s": round(statistics.median(per), 3), "per_submission_p95_s": round(percentile(per, 0.95), 3)}
    return out


def failed_of(result) -> list[str]:
    return sorted(c.check for c in result.checks if c.status != "passed")


# --------------------------------------------------------------------------- runners


def warm_up(solution: Path, parts: tuple[str, ...]) -> None:
    """Fill the expectation cache every runner reads (computed once per assignment version), by
    grading the solution in this process; torch's thread count is put back afterwards."""
    import torch

    import inprocess

    threads = torch.get_num_threads()
    try:
        inprocess.grade_here(solution, parts)
    finally:
        torch.set_num_threads(threads)


def bench_ours(subs: Path, out: Path, jobs: int, parts: tuple[str, ...], known: dict) -> tuple[dict, dict]:
    start = time.perf_counter()
    results = grade_all(subs, out, jobs=jobs, force=True, quiet=True, parts=parts)
    wall = time.perf_counter() - start
    got = {r.student: {"total": r.total, "failed": failed_of(r)} for r in results}
    verify("this package", got, known)
    per = [r.seconds for r in results]
    report = timing(wall, len(results), per) | {
        # compute_seconds: wall time inside the probes that succeeded, as the worker reports it
        # (the submission's own calls and the probes' scaffolding; failing probes left out).
        "compute_median_s": round(statistics.median(r.compute_seconds for r in results), 3),
        "compute_total_s": round(sum(r.compute_seconds for r in results), 2),
        "seconds_total_s": round(sum(per), 2),  # inside the grading processes, summed over the submissions
        "overhead_median_s": round(statistics.median(max(0.0, r.seconds - r.compute_seconds) for r in results), 3),
        # The pool's grading processes have exited: the largest of them (or of their fork servers).
        "grading_process_peak_rss_mb": round(children_peak_mb(), 1),
    }
    return report, {"got": got, "seconds": {r.student: r.seconds for r in results}, "compute": {r.student: r.compute_seconds for r in results}}


def bench_floor(subs: Path, jobs: int, parts: tuple[str, ...], known: dict, log: Path) -> tuple[dict, dict]:
    """`jobs` warm processes of benchmarks/inprocess.py, fed submissions one at a time (the next
    to whichever is free); the wall time includes starting them, as ours includes its pool."""
    folders: queue.Queue[Path] = queue.Queue()
    for folder in sorted(p for p in subs.iterdir() if p.is_dir()):
        folders.put(folder)
    answers: list[dict] = []
    ready: list[dict] = []
    failures: list[str] = []
    lock = threading.Lock()

    def lane(k: int) -> None:
        with open(log.with_name(f"{log.stem}_{k}.log"), "wb") as err:
            proc = subprocess.Popen([PY, str(BENCH / "inprocess.py"), "--serve", "--parts", *parts], cwd=REPO, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
            try:
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError("the floor process did not start")
                with lock:
                    ready.append(json.loads(line))
                while True:
                    try:
                        folder = folders.get_nowait()
                    except queue.Empty:
                        break
                    proc.stdin.write(f"{folder}\n")
                    line = proc.stdout.readline()
                    if not line:
                        raise RuntimeError(f"the floor process ended while grading {folder.name}")
                    with lock:
                        answers.append(json.loads(line))
            except Exception as exc:
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
            finally:
                proc.stdin.close()
                proc.wait()

    start = time.perf_counter()
    threads = [threading.Thread(target=lane, args=(k,)) for k in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if failures:
        tails = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(log.parent.glob(f"{log.stem}_*.log")))
        raise Aborted(f"benchmark aborted: the floor runner failed: {failures}\n{tails}")
    got = {a["student"]: {"total": a["total"], "failed": sorted(c for c, ok in a["passed"].items() if not ok)} for a in answers}
    verify("the floor runner", got, known)
    per = [a["seconds"] for a in answers]
    own = [a["own_s"] + a["import_s"] for a in answers]
    scaffolding = [a["probe_s"] - a["own_s"] - a["import_s"] for a in answers]
    trusted = [a["seconds"] - a["probe_s"] for a in answers]
    wrapper = max(r["wrapper_cost_s"] for r in ready)
    report = timing(wall, len(answers), per) | {
        "process_peak_rss_mb": round(max(a["rss_mb"] for a in answers), 1),
        # Where a submission's time goes when nothing isolates it (sums over the N submissions):
        "split_total_s": {
            "submission_own_calls": round(sum(own), 2),  # its functions and methods, and importing its modules
            "probe_scaffolding": round(sum(scaffolding), 2),  # the rest of the probes: models built, weights loaded, answers converted
            "trusted_side": round(sum(trusted), 2),  # the checks themselves: inputs, expectations, comparisons
            "successful_probes": round(sum(a["ok_probe_s"] for a in answers), 2),  # what a worker reports as compute_seconds
        },
        "split_median_s": {"submission_own_calls": round(statistics.median(own), 3),
                           "probe_scaffolding": round(statistics.median(scaffolding), 3),
                           "trusted_side": round(statistics.median(trusted), 3)},
        # The wrappers that time the submission's calls cost this much in all (already inside the figures above).
        "instrumentation_s": round(wrapper * sum(a["own_calls"] for a in answers), 3),
    }
    return report, {"got": got, "seconds": {a["student"]: a["seconds"] for a in answers}}


def test_names(parts: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(part, the test's name in its suite module, as pytest reports it) -> check name. A check is
    not always a `def test_...` (`test_x = check(...)(make_case(...))`), so the module is read."""
    import importlib.util

    from autograder.catalog import suite_files

    names = {}
    for path in suite_files("hidden", parts):
        spec = importlib.util.spec_from_file_location(f"_bench_names_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, fn in vars(module).items():
            if name.startswith("test") and hasattr(fn, "__check__"):
                names[(part_of(path.stem.removeprefix("test_")), name)] = fn.__check__.name
    return names


def bench_naive(subs: Path, jobs: int, parts: tuple[str, ...], known: dict, scratch: Path) -> tuple[dict, dict]:
    """A fresh `python -m pytest` per submission, `jobs` at a time. Each one starts the pytest
    interpreter (torch, the suites, the expectations from the cache) and, through the plugin's
    `worker` fixture, one sandboxed worker interpreter (`python -m autograder.runtime` under
    bubblewrap; torch again), started afresh after a crash or a timeout. Scores: its JUnit XML."""
    suites = REPO / "autograder" / "suites"
    files = [str(p) for part in parts for p in sorted((suites / "hidden").glob(f"test_{part}*.py"))]
    metas = {m.name: m for m in checks_of("hidden") if m.group in parts}
    by_test = test_names(parts)

    def one(folder: Path) -> tuple[str, float, dict | str]:
        xml = scratch / f"{folder.name}.xml"
        start = time.perf_counter()
        proc = subprocess.run([PY, "-m", "pytest", *files, "-p", "autograder.plugin", "--submission", str(folder), "-q",
                               "-p", "no:cacheprovider", "--rootdir", str(suites), "-c", str(suites / "pytest.ini"), f"--junitxml={xml}"],
                              cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if not xml.is_file():
            return folder.name, seconds, f"pytest exit {proc.returncode}, no JUnit XML:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
        passed = {}
        for case in ET.parse(xml).iter("testcase"):
            part = case.get("classname", "").rsplit(".", 1)[-1].removeprefix("test_").split("_")[0]
            check = by_test.get((part, case.get("name", "")))
            if check is not None:
                passed[check] = not any(child.tag in ("failure", "error", "skipped") for child in case)
        failed = sorted(c for c in metas if not passed.get(c, False))
        return folder.name, seconds, {"total": round(sum(metas[c].points for c in metas if c not in failed), 4), "failed": failed}

    folders = sorted(p for p in subs.iterdir() if p.is_dir())
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        rows = list(pool.map(one, folders))
    wall = time.perf_counter() - start
    broken = {name: res for name, _, res in rows if isinstance(res, str)}
    if broken:
        raise Aborted(f"benchmark aborted: the naive runner's pytest gave no results for {sorted(broken)}:\n{next(iter(broken.values()))}")
    got = {name: res for name, _, res in rows}
    verify("the naive runner", got, known)
    return timing(wall, len(rows), [s for _, s, _ in rows]), {"got": got}


def bench_nbgrader(subs: Path, root: Path, jobs: int, parts: tuple[str, ...], known: dict) -> tuple[dict, dict, dict]:
    folders = sorted(p for p in subs.iterdir() if p.is_dir())
    jobs = min(jobs, len(folders))  # every process has notebooks to grade
    course, ids = nbgrader_fair.build_course(root, folders, parts, jobs)

    def checked(runner: str, run: dict) -> dict:
        got = {name: {"total": s["total"], "failed": sorted(c for c, ok in s["passed"].items() if not ok)} for name, s in run["scores"].items()}
        verify(runner, got, known)
        return got

    print("    nbgrader autograde, one process ...", flush=True)
    serial = nbgrader_fair.autograde_serial(course, ids, parts)
    got_serial = checked("nbgrader autograde (serial)", serial)
    print(f"    nbgrader autograde, {jobs} processes at once ...", flush=True)
    parallel = nbgrader_fair.autograde_parallel(course, ids, parts, jobs)
    got_parallel = checked(f"nbgrader autograde ({jobs} processes)", parallel)
    n = len(folders)
    serial_report = timing(serial["wall_s"], n) | {"per_notebook_s": round(serial["wall_s"] / n, 3)}
    parallel_report = timing(parallel["wall_s"], n) | {"processes": jobs}
    return serial_report, parallel_report, {"serial": got_serial, "parallel": got_parallel}


def bench_dask(subs: Path, out: Path, jobs: int, parts: tuple[str, ...], known: dict, local: dict) -> tuple[dict, dict]:
    """The same class through a local Dask cluster (scheduler + `jobs` one-thread workers) on
    the same cores as the local pool; the timed run includes registering the worker plugin and
    starting the warm grading processes, as the local run includes starting its pool."""
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        started = time.perf_counter() - start
        start = time.perf_counter()
        results = grade_all(subs, out, force=True, quiet=True, parts=parts, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - start
    got = {r.student: {"total": r.total, "failed": failed_of(r)} for r in results}
    verify("this package on Dask", got, known)
    return timing(wall, len(results)) | {
        "cluster_start_s": round(started, 2), "overhead_vs_local_pool_pct": round(100 * (wall / local["wall_s"] - 1), 1),
        "core_seconds_per_submission": round(wall * jobs / len(results), 2)}, {"got": got}


def estimate_5000(core_s: float, start_s: float, machine_cores: int, core_hour_usd: float, machines=(1, 4, 16, 64)) -> list[dict]:
    """Paper estimate, not a measurement: linear scaling in cores from the measured core-seconds
    per submission, plus one cluster start-up; cost = machines x cores x hours x price per core-hour."""
    rows = []
    for m in machines:
        hours = (5000 * core_s / (m * machine_cores) + start_s) / 3600
        rows.append({"machines": m, "cores": m * machine_cores, "minutes": round(60 * hours, 1),
                     "submissions_per_min": round(5000 / (60 * hours), 1), "cost_usd": round(m * machine_cores * hours * core_hour_usd, 2)})
    return rows


def bench_check(parts: tuple[str, ...], reps: int) -> dict:
    """`autograder check PART` (public checks, the solution) against a bare `import torch,
    torchvision`, both fresh processes; each the fastest of `reps` runs, taken in turn."""
    def timed(args: list[str]) -> float:
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:  # the solution passes every public check: anything else is no timing
            raise Aborted(f"benchmark aborted: {shlex.join(args[1:])} exited {proc.returncode}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
        return seconds

    check = [PY, "-m", "autograder", "check"]
    solution = ["--dir", str(REPO / "solutions" / "cnn_rnn")]
    timed([*check, "part1", *solution])  # warm the caches (bytecode, weights, expectations) once
    bare: list[float] = []
    times: dict[str, list[float]] = {p: [] for p in ("all", *parts)}
    for _ in range(reps):
        bare.append(timed([PY, "-c", "import torch, torchvision"]))
        for part in parts:
            times[part].append(timed([*check, part, *solution]))
        times["all"].append(timed([*check, *solution]))
    floor = min(bare)
    best = {p: min(t) for p, t in times.items()}
    return {"bare_import_torch_torchvision_s": round(floor, 2), "check_all_parts_s": round(best.pop("all"), 2),
            **{f"check_{p}_s": round(t, 2) for p, t in best.items()},
            "check_part_vs_import": {p: round(t / floor, 2) for p, t in best.items()}, "reps": reps}


def bench_topk(sizes: list[int]) -> dict:
    out = {}
    for n in sizes:
        row = {}
        for impl in ("solution", "reference", "faiss"):
            proc = subprocess.run([PY, str(BENCH / "topk_one.py"), impl, str(n), "512", "100", "10"],
                                  cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
            row[impl] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
        if "seconds" in row["solution"] and "seconds" in row.get("faiss", {}):
            row["ratio_solution_over_faiss"] = round(row["solution"]["seconds"] / max(row["faiss"]["seconds"], 1e-9), 3)
        out[str(n)] = row
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="submissions (default: every example once; more cycle through them)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="grading processes of every parallel runner")
    parser.add_argument("--parts", nargs="*", default=list(PARTS), choices=list(PARTS), help="parts graded by every runner")
    parser.add_argument("--skip", nargs="*", default=[], choices=["floor", "naive", "nbgrader", "dask", "check", "topk"])
    parser.add_argument("--check-reps", type=int, default=2, help="runs of each self-check timing (the fastest counts)")
    parser.add_argument("--machine-cores", type=int, default=16, help="cores per machine in the 5,000-submission estimate")
    parser.add_argument("--core-hour-usd", type=float, default=0.045,
                        help="price of one core-hour in the estimate (default: roughly an on-demand compute-optimised cloud vCPU)")
    parser.add_argument("--topk-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)
    parts = tuple(p for p in PARTS if p in args.parts)
    import torch

    report: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "commit": commit(),
        "command": shlex.join(["python", "benchmarks/grading_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__},
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "jobs": args.jobs,
        "parts": list(parts),
    }
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_bench_") as tmp:
        root = Path(tmp)
        subs, known = make_submissions(root, args.n, parts)
        report["n_submissions"] = len(known)
        report["submissions"] = {"order": "solution, stubs, then the wrong examples of each part in turn; cycled when N is larger",
                                 "per_part": {p: sum(1 for k in known.values() if k["kind"] not in ("solution", "stubs")
                                                     and part_of(next(m.file for m in mutants() if m.name == k["kind"])) == p) for p in parts},
                                 "controls": sum(1 for k in known.values() if k["kind"] in ("solution", "stubs"))}
        warm_up(subs / sorted(known)[0], parts)
        scores: dict[str, dict] = {name: {"known": k["total"]} for name, k in known.items()}
        checked: list[str] = []

        def record(runner: str, got: dict) -> None:
            checked.append(runner)
            for name, res in got.items():
                scores[name][runner] = res["total"]

        print(f"grading {len(known)} submissions ({', '.join(parts)}) with this package ...", flush=True)
        report["ours"], ours = bench_ours(subs, root / "ours", args.jobs, parts, known)
        record("ours", ours["got"])
        report["peak_rss_mb"] = report["ours"]["grading_process_peak_rss_mb"]
        if "floor" not in args.skip:
            print("... the floor: the same checks in warm processes, no isolation ...", flush=True)
            report["floor"], floor = bench_floor(subs, args.jobs, parts, known, root / "floor.log")
            record("floor", floor["got"])
            gaps = [ours["seconds"][s] - floor["seconds"][s] for s in known]
            report["floor"]["ours_minus_floor_per_submission_median_s"] = round(statistics.median(gaps), 3)
        if "dask" not in args.skip:
            print(f"... ours through a local Dask cluster of {args.jobs} workers ...", flush=True)
            report["dask"], dask = bench_dask(subs, root / "dask", args.jobs, parts, known, report["ours"])
            record("dask", dask["got"])
            report["dask"]["estimate_5000"] = estimate_5000(report["dask"]["core_seconds_per_submission"], 60.0,
                                                           args.machine_cores, args.core_hour_usd)
            report["dask"]["estimate_assumptions"] = (
                f"{args.machine_cores} cores per machine, ${args.core_hour_usd}/core-hour, one grading process per core, "
                "linear scaling from the measured core-seconds per submission, 60 s to start the cluster and warm the workers")
        if "nbgrader" not in args.skip:
            print("... fair nbgrader: the same checks in the kernel ...", flush=True)
            report["nbgrader"], report["nbgrader_parallel"], nbg = bench_nbgrader(subs, root, args.jobs, parts, known)
            record("nbgrader", nbg["serial"])
            record("nbgrader_parallel", nbg["parallel"])
        if "naive" not in args.skip:
            print("... a naive runner: a fresh pytest per submission ...", flush=True)
            (root / "junit").mkdir()
            report["naive"], naive = bench_naive(subs, args.jobs, parts, known, root / "junit")
            record("naive", naive["got"])
    report["scores"] = scores
    report["checked"] = checked
    report["baselines_checked"] = all(b in checked for b in BASELINES)
    if "check" not in args.skip:
        print("autograder check per part vs a bare import ...", flush=True)
        report["self_check"] = bench_check(parts, args.check_reps)
    if "topk" not in args.skip:
        print("Top-K vs faiss ...", flush=True)
        report["topk"] = bench_topk(args.topk_sizes)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    ours_tp = report["ours"]["throughput_per_min"]

    def ratio(runner: str) -> float | None:
        return round(ours_tp / report[runner]["throughput_per_min"], 2) if runner in report else None

    floor_tp = report.get("floor", {}).get("throughput_per_min")
    report["isolation_efficiency"] = round(ours_tp / floor_tp, 3) if floor_tp else None
    report["speedup_vs_nbgrader"] = ratio("nbgrader")
    report["speedup_vs_nbgrader_parallel"] = ratio("nbgrader_parallel")
    report["speedup_vs_naive"] = ratio("naive")
    report["check_part_vs_import"] = report.get("self_check", {}).get("check_part_vs_import")
    report["topk_vs_faiss_1m"] = report.get("topk", {}).get("1000000", {}).get("ratio_solution_over_faiss")
    report["dask_overhead_pct"] = report.get("dask", {}).get("overhead_vs_local_pool_pct")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    keys = ("isolation_efficiency", "speedup_vs_nbgrader", "speedup_vs_nbgrader_parallel", "speedup_vs_naive", "check_part_vs_import",
            "peak_rss_mb", "topk_vs_faiss_1m", "baselines_checked", "dask_overhead_pct", "commit", "n_submissions")
    print(json.dumps({k: report.get(k) for k in keys}, indent=2))
    print(f"full report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

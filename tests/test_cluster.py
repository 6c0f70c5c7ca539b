"""`autograder grade --scheduler`: a real Dask scheduler and two `dask worker` processes on
localhost over TCP grade a small example class (part 3) with the same gradebook as the local
pool, also when one Dask worker is killed in the middle of the batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import shutil
import threading
import time
import zipfile
from pathlib import Path

import distributed  # the `cluster` extra, which `make install` installs
import pytest

from autograder.cli import main
from autograder.examples import build_examples
from autograder.grade.batch import UNPACK_PREFIX, grade_class, result_path
from autograder.config import Limits
from autograder.grade.cluster import check_address
from dask_local import dask_cluster
from faults import FAILED, faulty_solution

REPO = Path(__file__).resolve().parents[1]
PART = "part3"  # the cheapest part to grade
PROBE_S = "5"  # p3_loop's hang costs one probe deadline per grading
# Controls, two part-3 bugs, one of them zipped (it travels as the zip's files), and a corrupt zip
# (its problem row is made by the coordinator, as a local run makes it).
CLASS = ["solution", "stubs", "p3_tokenizer_no_lowercase", "p3_gate_order_f_i_swapped"]
STUDENTS = ["broken", "p3_gate", "p3_loop", "p3_tokenizer_no_lowercase", "solution", "stubs"]


@pytest.fixture(scope="module")
def subs(tmp_path_factory) -> Path:
    root = build_examples(tmp_path_factory.mktemp("class") / "subs", CLASS)
    with zipfile.ZipFile(root / "p3_gate_cnn_rnn.zip", "w") as zf:
        for path in sorted((root / "p3_gate_order_f_i_swapped").iterdir()):
            zf.write(path, f"cnn_rnn/{path.name}")
    shutil.rmtree(root / "p3_gate_order_f_i_swapped")
    (root / "broken.zip").write_bytes(b"not a zip")
    faulty_solution(root / "p3_loop", "loop")  # an infinite loop in char_tokenize: one check of part 3
    return root


@pytest.fixture(scope="module")
def local(subs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    assert main(["grade", str(subs), "--out", str(out), "-j", "2", "-q", "--part", PART, "--probe-timeout", PROBE_S]) == 1  # broken.zip
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (each with its nanny), as an instructor starts them."""
    root = tmp_path_factory.mktemp("dask")
    with dask_cluster(REPO, root, workers=("w0", "w1")) as address:
        client = distributed.Client(address, timeout=60, set_as_default=False)  # the coordinator must not lean on it
        client.wait_for_workers(2, timeout=120)
        yield address, client
        client.close()


def _result(out: Path, student: str) -> dict:
    data = json.loads(result_path(out, student).read_text(encoding="utf-8"))
    # Timings differ by nature; the provenance names the grading process's thread count (a Dask
    # nanny starts its workers with OMP_NUM_THREADS=1), which must not change a grade.
    return {k: v for k, v in data.items() if k not in ("seconds", "compute_seconds", "provenance")}


def _lines(path: Path) -> list[str]:
    if path.suffix != ".jsonl":
        return path.read_text(encoding="utf-8").splitlines()
    return [json.dumps({k: v for k, v in json.loads(x).items() if k != "provenance"}) for x in path.read_text(encoding="utf-8").splitlines()]


def test_cluster_gradebook_matches_local_run(subs, local, cluster, tmp_path):
    address, _ = cluster
    out = tmp_path / "out"
    assert main(["grade", str(subs), "--out", str(out), "--scheduler", address, "-q", "--part", PART, "--probe-timeout", PROBE_S]) == 1
    for name in ("grades.csv", "results.jsonl"):
        assert _lines(out / name) == _lines(local / name), name
    for student in STUDENTS:
        assert _result(out, student) == _result(local, student)
    assert _result(out, "solution")["total"] == _result(out, "solution")["max_total"] > 0  # not a gradebook of zeros
    assert 0 < _result(out, "p3_gate")["total"] < _result(out, "p3_gate")["max_total"]  # the zip was graded, not refused
    loop = _result(out, "p3_loop")  # the hang costs the checks of that function only, on Dask too
    assert {c["check"] for c in loop["checks"] if c["status"] != "passed"} == {c for c in FAILED if c.startswith(PART)}
    assert loop["total"] == loop["max_total"] - 1


def test_killed_worker_loses_nothing_and_duplicates_nothing(subs, local, cluster, tmp_path):
    address, client = cluster
    out = tmp_path / "out"
    killed: list[tuple[str, list]] = []

    def kill_a_busy_worker() -> None:
        """Once a submission graded on the cluster is written, SIGKILL a Dask worker that is grading another."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            if len(list((out / "results").glob("*.json"))) >= 2:  # the corrupt zip's row and a graded one
                pids = client.run(os.getpid)
                for worker, keys in client.processing().items():
                    if keys and worker in pids:
                        os.kill(pids[worker], signal.SIGKILL)
                        killed.append((worker, list(keys)))
                        return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    run = grade_class(subs, out, scheduler=address, parts=(PART,), limits=Limits(probe_s=float(PROBE_S)))
    results = run.results
    killer.join(timeout=5)
    assert killed, "no worker was killed mid-batch: the test did not test anything"
    assert len(killed[0][1]) >= 1 and len(list((out / "results").glob("*.json"))) == len(STUDENTS)
    assert sorted(r.student for r in results) == STUDENTS
    # Each student's result was written exactly once: a second write in this run (out was empty)
    # would have replaced the first, and the run lists every result it replaced.
    assert run.changes == []
    for student in STUDENTS:
        assert _result(out, student) == _result(local, student)


def test_killed_coordinator_resumes_and_grades_each_student_once(subs, local, cluster, tmp_path, capsys):
    """SIGKILL the coordinator (`autograder grade --scheduler`) once it has written a graded result
    while the workers grade others; the same command again grades only the rest: each result
    written before the kill stays as it was (byte for byte), none is replaced, and every student
    ends with exactly one result, the local run's."""
    address, client = cluster
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--scheduler", address, "-q",
           "--part", PART, "--probe-timeout", PROBE_S]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    coordinator = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    in_flight: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and coordinator.poll() is None:
            written = {p.stem for p in (out / "results").glob("*.json")}
            busy = [key for keys in client.processing().values() for key in keys]
            if written - {"broken"} and busy:  # a graded result is written, and the workers grade others
                coordinator.send_signal(signal.SIGKILL)
                in_flight = busy
                break
            time.sleep(0.05)
    finally:
        if coordinator.poll() is None and not in_flight:
            coordinator.kill()
        coordinator.wait(timeout=30)
    assert in_flight, "the coordinator finished (or never got going) before it could be killed: the test tested nothing"
    orphaned = list(Path(tempfile.gettempdir()).glob(f"{UNPACK_PREFIX}{coordinator.pid}_*"))
    assert orphaned, "the killed coordinator's unpacked hand-ins"
    before = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert 1 <= len(before) < len(STUDENTS), sorted(before)

    capsys.readouterr()
    run = grade_class(subs, out, scheduler=address, parts=(PART,), limits=Limits(probe_s=float(PROBE_S)))
    left = len(STUDENTS) - len(before)
    assert f"{len(STUDENTS)} submission(s), {len(before)} up to date, {left} to grade, {left} new" in capsys.readouterr().err
    assert sorted(r.student for r in run.results) == STUDENTS
    assert run.changes == []  # no stored result was graded again (a replaced result is listed as a change)
    assert {name: (out / "results" / name).read_bytes() for name in before} == before  # untouched
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == STUDENTS  # one file each, nothing left half-written
    assert not list((out / "results").glob(".*"))
    for student in STUDENTS:
        assert _result(out, student) == _result(local, student)
    assert not any(p.exists() for p in orphaned), "the next run removes what the killed one left in the temporary folder"


@pytest.mark.parametrize("address, ok", [
    ("tcp://127.0.0.1:8786", True), ("tcp://localhost:8786", True), ("tcp://[::1]:8786", True), ("127.0.0.1:8786", True),
    ("tls://10.1.2.3:8786", True), ("tcp://10.1.2.3:8786", False), ("tcp://192.0.2.7:8786", False),
])
def test_unencrypted_scheduler_off_this_machine_is_refused(address, ok):
    if ok:
        check_address(address)
    else:
        with pytest.raises(ValueError, match="--insecure"):
            check_address(address)
        check_address(address, insecure=True)


def test_cli_refuses_before_connecting(tmp_path, capsys):
    (tmp_path / "subs" / "x").mkdir(parents=True)
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "o"), "--scheduler", "tcp://192.0.2.7:8786"]) == 2
    assert "--insecure" in capsys.readouterr().err

"""Grade a class on a Dask cluster: `autograder grade SUBMISSIONS --out DIR --scheduler ADDRESS`.

The coordinator (the `autograder grade` process) unpacks each hand-in once (`unpack_once`, as for
a local run) and sends the files of the folder to grade in a Dask task; no shared file system is
needed. The worker writes them back once and grades them with the same `grade_hand_in` as a local
run. A hand-in that cannot be unpacked is never sent: its row comes from the same function here. It
registers `GraderPlugin` with the scheduler itself, so plain `dask worker ADDRESS` processes
(and a `LocalCluster`) need no extra flag, and workers that join later get it too. The plugin
gives each worker thread one warm grading process (autograder/grade/grading_process.py: the
grader imported, fork server and sandbox up), which grades one submission at a time exactly as
the local pool does. Only the student's result comes back (as JSON); the coordinator remains the
only writer of the output folder (autograder/grade/batch.py).

Failures: Dask reruns the tasks of a worker that dies on another worker and keeps one result per
task; a task that cannot be graded (worker lost too often, grading process dead twice, grader
version mismatch) comes back as a grader fault, which is never recorded, so running the same
command again retries it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

try:
    from distributed import Client, WorkerPlugin, as_completed, get_worker
    from distributed.comm.addressing import parse_address, parse_host_port
except ModuleNotFoundError as exc:  # an optional extra: students never need it
    raise ModuleNotFoundError("grading on a Dask cluster needs Dask's `distributed`: pip install -e '.[cluster]'") from exc

from autograder.config import GradingConfig
from autograder.grade.grading_process import GradingProcess, GradingProcessDied, Payload
from autograder.results import StudentResult
from autograder.runtime.assignment import REPO

if TYPE_CHECKING:  # the Dask worker process never imports the grader itself (nor torch)
    from autograder.grade.submission import HandIn

PLUGIN_NAME = "cnn_rnn-grader"
SECURE_SCHEMES = ("tls", "wss", "inproc")
CONNECT_S = 30
WORKERS_WAIT_S = 120
MIN_WINDOW = 4


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_address(address: str, insecure: bool = False) -> None:
    """Refuse an unencrypted scheduler outside the loopback range unless `insecure`: whoever can
    reach a Dask scheduler can run code on its workers (Dask messages carry pickled functions)."""
    scheme, location = parse_address(address, strict=False)
    if scheme in SECURE_SCHEMES:
        return
    host, _ = parse_host_port(location, default_port=8786)
    if _is_loopback(host):
        return
    if not insecure:
        raise ValueError(
            f"refusing an unencrypted Dask connection to {address}: it is not on this machine (loopback), and anyone who "
            "can reach the scheduler can run code on every worker. Use a tls:// address with Dask's TLS settings "
            "(see docs/DISTRIBUTED.md), or pass --insecure on a network you trust."
        )
    print(f"WARNING: unencrypted, unauthenticated Dask connection to {address} (--insecure)", file=sys.stderr)


def grader_fingerprint() -> str:
    """What decides a grade on a worker: this package's code, the reference, the given files, torch."""
    h = hashlib.sha256()
    for dist in ("torch", "torchvision"):
        try:
            h.update(f"{dist} {version(dist)}|".encode())
        except PackageNotFoundError:
            h.update(f"{dist} missing|".encode())
    for root in ("autograder", "reference", "assignments/cnn_rnn", "cnn_rnn"):
        for path in sorted((REPO / root).rglob("*.py")):
            h.update(str(path.relative_to(REPO)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def pack(hand_in: HandIn) -> Payload:
    """The files of the folder to grade, with their times (OSError: the coordinator's own copy is
    unreadable, a grader fault)."""
    folder = hand_in.prepared.folder
    files = tuple((p.relative_to(folder).as_posix(), p.read_bytes(), p.stat().st_mtime)
                  for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts)
    return Payload(hand_in.student, folder.name, files, hand_in.notes, hand_in.prepared.notes)


class GraderPlugin(WorkerPlugin):
    """One warm grading process per worker thread, started when the plugin is registered."""

    def __init__(self, config: GradingConfig, fingerprint: str) -> None:
        self.config, self.fingerprint = config, fingerprint

    def setup(self, worker) -> None:
        self.where = f"Dask worker {worker.address}"
        self.fault = ""
        if grader_fingerprint() != self.fingerprint:
            self.fault = f"{self.where} runs a different version of the grader (code, reference or torch) than the coordinator"
        # The coordinator's folders mean nothing here; Dask's scratch space is not the student's business.
        self.worker_config = self.config.with_(hide=(Path(worker.local_directory).resolve(),))
        self.lock = threading.Lock()
        self.closed = False
        self.processes: list[GradingProcess] = []
        self.idle: Queue[GradingProcess] = Queue()
        if not self.fault:
            for _ in range(worker.state.nthreads):  # started now, warmed up while tasks travel
                self.idle.put(self._start())

    def _start(self) -> GradingProcess:
        proc = GradingProcess(self.worker_config)
        with self.lock:
            if self.closed:  # torn down meanwhile (worker closing, or a newer run registered its own plugin)
                proc.close()
                raise GradingProcessDied(f"the grader plugin on {self.where} was replaced or closed")
            self.processes.append(proc)
        return proc

    def _replace(self, proc: GradingProcess) -> GradingProcess:
        proc.close()
        with self.lock:
            if proc in self.processes:
                self.processes.remove(proc)
        return self._start()

    def teardown(self, worker) -> None:
        with self.lock:
            self.closed = True
            for proc in self.processes:
                proc.close()
            self.processes.clear()

    def grade(self, payload: Payload) -> dict:
        """The student's result as a dict (StudentResult.to_dict); a grader fault is one too."""
        if self.fault:
            return _fault(payload.student, self.fault, "grader_version")
        proc = self.idle.get()
        try:
            for _ in range(2):  # a grading process that died is replaced once
                try:
                    return proc.grade(payload)
                except GradingProcessDied as exc:
                    last = exc
                    try:
                        proc = self._replace(proc)
                    except GradingProcessDied as closed:
                        return _fault(payload.student, str(closed), "grading_process")
            return _fault(payload.student, f"{last} (twice, on {self.where})", "grading_process")
        finally:
            self.idle.put(proc)


def _fault(student: str, message: str, kind: str) -> dict:
    return StudentResult(student, problem=message, outcome="grader_fault", problem_kind=kind).to_dict()


def grade_task(payload: Payload) -> dict:
    """The Dask task: grade one submission in this worker's warm grading process."""
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, GraderPlugin):
        raise RuntimeError(f"the {PLUGIN_NAME} worker plugin is missing on this Dask worker")
    return plugin.grade(payload)


def grade_on_cluster(address: str, todo: list[HandIn], config: GradingConfig, *, insecure: bool = False) -> Iterator[tuple[HandIn, StudentResult]]:
    """(hand-in, result) pairs as the cluster finishes them, like the local pool."""
    check_address(address, insecure)
    return _graded(address, todo, config)


def _graded(address: str, todo: list[HandIn], config: GradingConfig) -> Iterator[tuple[HandIn, StudentResult]]:
    # Coordinator side only: the Dask worker process never imports the grader itself (nor torch).
    from autograder.grade.submission import grade_hand_in

    if not todo:
        return
    with Client(address, timeout=CONNECT_S, set_as_default=False) as client:
        try:
            client.wait_for_workers(1, timeout=WORKERS_WAIT_S)
        except TimeoutError as exc:
            raise ValueError(f"no Dask worker joined {address} within {WORKERS_WAIT_S} s") from exc
        client.register_plugin(GraderPlugin(config, grader_fingerprint()), name=PLUGIN_NAME)
        waiting, running, done = iter(todo), {}, as_completed(loop=client.loop)
        while True:
            # A bounded number of submissions in flight: the coordinator never holds a whole class in memory.
            window = max(MIN_WINDOW, 2 * sum(client.nthreads().values()))
            while len(running) < window and (hand_in := next(waiting, None)) is not None:
                if hand_in.prepared is None:  # cannot be graded: the one path says why, grading nothing
                    yield hand_in, grade_hand_in(hand_in, config)
                    continue
                try:
                    payload = pack(hand_in)
                except OSError as exc:
                    yield hand_in, StudentResult.from_dict(_fault(hand_in.student, f"cannot read the unpacked hand-in: {exc}", "unpacked_unreadable"))
                    continue
                fut = client.submit(grade_task, payload, key=f"grade-{hand_in.student}-{uuid.uuid4().hex[:8]}", pure=False)
                running[fut] = hand_in
                done.add(fut)
            if not running:
                return
            fut = next(done)
            hand_in = running.pop(fut)
            if fut.status == "finished":
                result = StudentResult.from_dict(fut.result())
            else:  # lost with too many workers, cancelled, or the task raised: a grader fault
                exc = fut.exception() if fut.status == "error" else fut.status
                result = StudentResult.from_dict(_fault(hand_in.student, f"Dask task failed: {type(exc).__name__}: {exc}", "dask"))
            fut.release()
            yield hand_in, result
            if result.problem_kind == "machinery_down":  # as the local pool: stop, record nothing more
                client.cancel(list(running))
                for rest in [*running.values(), *waiting]:
                    yield rest, StudentResult.from_dict(_fault(rest.student, "not graded: the batch stopped (grading machinery down on a worker)", "machinery_down"))
                return

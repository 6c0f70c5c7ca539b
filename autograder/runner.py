"""Trusted side of the worker protocol: start a worker for one submission and call its probes.

Every call has a wall-clock deadline; on expiry the worker's whole process group is killed and
the next call starts a fresh worker, so a hang, a crash or an `os._exit` costs one check, not
the submission. Memory, file size and core dumps are capped with rlimits in the child.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from autograder import sandbox as sandboxing
from autograder import wire
from autograder.zygote import Zygote, ZygoteError
from autograder.zygote import shared as shared_zygote

REPO = Path(__file__).resolve().parents[1]
# The pristine given modules (data.py, weights.py, ...) a submission falls back to: in the
# repository they sit in assignments/, in the student bundle next to the stubs.
GIVEN_FILES = next((p for p in (REPO / "assignments" / "cnn_rnn", REPO / "cnn_rnn") if p.is_dir()), REPO / "cnn_rnn")


@dataclass(frozen=True)
class Limits:
    """Per-worker resource limits (the trusted side picks them; a probe cannot raise them)."""

    memory_mb: int = 6144  # address space; torch itself maps ~1.5 GB of it
    file_mb: int = 64  # largest file the worker may write (stdout log included)
    startup_s: float = 60.0  # importing torch and the probes
    probe_s: float = 20.0  # default per-probe deadline
    run_as: tuple[int, int] | None = None  # (uid, gid) for the worker; needs root (e.g. Gradescope)


@dataclass
class ProbeResult:
    """What came back from one probe call; `status` is ok / error / timeout / crash."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    error: dict[str, str] = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _apply_limits(limits: Limits, cap: "sandboxing.ProcessGroupCap | None" = None) -> None:
    """Runs in the child between fork and exec."""
    if cap is not None:
        cap.join()
    mem = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits.file_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Over-size writes then fail with EFBIG inside the student's code instead of killing us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if limits.run_as is not None:  # last: joining the cgroup and setting limits need root
        uid, gid = limits.run_as
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def _copy_for(submission: Path, folder: Path, owner: tuple[int, int], sandbox: bool) -> Path:
    """A copy of the submission owned by the worker's user, in a folder that user can enter."""
    dest = folder / "submission"
    shutil.copytree(submission, dest, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    os.chmod(folder, 0o711)
    for path in (dest, *dest.rglob("*")):
        os.chown(path, *owner, follow_symlinks=False)
    if sandbox and sandboxing.bwrap_path():  # bwrap, started as that user, binds the worker runtime (public code) read-only
        os.chmod(sandboxing.runtime_dir(), 0o755)
    return dest


def worker_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TORCH_HOME", "XDG_CACHE_HOME", "VIRTUAL_ENV", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        # The worker runs the same copy of the package as this process (repository or bundle).
        PYTHONPATH=str(REPO),
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        MPLBACKEND="Agg",
    )
    return env


class _Reader:
    """Reads one framed message from a pipe before a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()

    def _fill(self, n: int, deadline: float) -> None:
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError
            self.buf += chunk

    def read(self, deadline: float) -> tuple[dict, dict]:
        head = len(wire.MAGIC)
        self._fill(head + 8, deadline)
        (n_json,) = struct.unpack("<Q", self.buf[head : head + 8])
        if n_json > wire.MAX_JSON_BYTES:
            raise wire.WireError(f"JSON part too large ({n_json} bytes)")
        self._fill(head + 8 + n_json + 8, deadline)
        (n_blob,) = struct.unpack("<Q", self.buf[head + 8 + n_json : head + 16 + n_json])
        if n_blob > wire.MAX_TENSOR_BYTES:
            raise wire.WireError(f"tensor part too large ({n_blob} bytes)")
        total = head + 16 + n_json + n_blob
        self._fill(total, deadline)
        frame, self.buf = bytes(self.buf[:total]), self.buf[total:]
        return wire.decode(frame)


class Worker:
    """One untrusted worker process per submission, restarted after a kill or crash."""

    CRASH_BUDGET = 2

    def __init__(
        self,
        submission: Path,
        limits: Limits = Limits(),
        given: Path = GIVEN_FILES,
        *,
        sandbox: bool = False,
        hide: tuple[Path, ...] = (),
        zygote: bool = False,
    ) -> None:
        self.submission = Path(submission).resolve()
        self.given = Path(given).resolve()
        self.limits = limits
        self._tmp = tempfile.TemporaryDirectory(prefix="cnn_rnn_worker_")
        if limits.run_as is not None:
            # Another user runs the worker: it gets its own copy of the submission, and the
            # fork server (which runs as the grading user) is not used.
            self.submission, zygote = _copy_for(self.submission, Path(self._tmp.name), limits.run_as, sandbox), False
        self.zygote: Zygote | None = None
        self.child_pid: int | None = None
        if zygote:
            # Forked from a warm fork server: the submission is copied into its work folder.
            self.zygote = shared_zygote(limits, self.given, sandbox=sandbox, hide=hide)
            self.placed, self.inner = self.zygote.place(self.submission)
            self.jail = None
            self.sandbox_note = self.zygote.sandbox_note
        else:
            self.jail = sandboxing.jail(self.submission, self.given, hide) if sandbox else None
            self.sandbox_note = sandboxing.describe(self.jail is not None)
        self.proc: subprocess.Popen | None = None
        self.cap: sandboxing.ProcessGroupCap | None = None
        self.log_path = Path(self._tmp.name) / "output.log"
        self.starts = 0
        self.compute_s = 0.0
        # A part whose code keeps killing the worker (os._exit on import, say) is not
        # restarted forever: after CRASH_BUDGET crashes its remaining probes fail at once.
        self.crashes: dict[str, ProbeResult] = {}
        self.crash_counts: dict[str, int] = {}

    # -- lifecycle -----------------------------------------------------------------------
    def _running(self) -> bool:
        if self.zygote is not None:
            return self.child_pid is not None
        return self.proc is not None and self.proc.poll() is None

    def _spawn_from_zygote(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = open(self.log_path, "ab")
        try:
            self.child_pid = self.zygote.spawn(self.inner, req_r, resp_w, log.fileno())
        finally:
            os.close(req_r)
            os.close(resp_w)
            log.close()
        self._req = os.fdopen(req_w, "wb", buffering=0)
        self._reader = _Reader(resp_r)
        self._resp_fd = resp_r

    def _start(self) -> ProbeResult | None:
        if self.zygote is not None:
            try:
                self._spawn_from_zygote()
            except ZygoteError as exc:
                return ProbeResult("crash", error={"type": "WorkerError", "message": f"fork server failed: {exc}"})
            self.starts += 1
            return self._await_ready()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = open(self.log_path, "ab")
        self.cap = sandboxing.ProcessGroupCap.create()
        cap = self.cap
        env = worker_env()
        if self.jail is None:
            cmd = [sys.executable, "-m", "autograder.worker", str(self.submission), str(self.given), str(req_r), str(resp_w)]
        else:
            cmd = [*self.jail.prefix, sys.executable, "-m", "autograder.worker", self.jail.submission, self.jail.given, str(req_r), str(resp_w)]
            env["PYTHONPATH"] = self.jail.pythonpath
        try:
            self.proc = subprocess.Popen(
                cmd,
                pass_fds=(req_r, resp_w),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.submission,
                env=env,
                start_new_session=True,
                preexec_fn=lambda: _apply_limits(self.limits, cap),
            )
        finally:
            os.close(req_r)
            os.close(resp_w)
            log.close()
        self.starts += 1
        self._req = os.fdopen(req_w, "wb", buffering=0)
        self._reader = _Reader(resp_r)
        self._resp_fd = resp_r
        return self._await_ready()

    def _await_ready(self) -> ProbeResult | None:
        try:
            meta, _ = self._reader.read(time.monotonic() + self.limits.startup_s)
            if meta.get("ready"):
                return None
            return ProbeResult("crash", error={"type": "WorkerError", "message": "worker did not start"})
        except TimeoutError:
            self.kill()
            return ProbeResult("timeout", error={"type": "Timeout", "message": "worker startup timed out"})
        except (EOFError, wire.WireError) as exc:
            self.kill()
            return ProbeResult("crash", error={"type": "WorkerCrash", "message": f"worker died on start ({exc})"}, output=self.output_tail())

    def _close_pipes(self) -> None:
        for closer in (getattr(self, "_req", None),):
            try:
                closer and closer.close()
            except OSError:
                pass
        try:
            os.close(self._resp_fd)
        except (OSError, AttributeError):
            pass

    def kill(self) -> None:
        if self.zygote is not None:
            if self.child_pid is not None:
                try:
                    self.zygote.kill(self.child_pid)
                except ZygoteError:
                    pass
                self.child_pid = None
                self._close_pipes()
            return
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        if self.cap is not None:  # daemons that left the process group die here
            self.cap.kill_all()
            self.cap = None
        self._close_pipes()
        self.proc = None

    def close(self) -> None:
        self.kill()
        if self.zygote is not None:
            try:
                self.zygote.reap(self.placed)
            except ZygoteError:
                pass
        self._tmp.cleanup()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output_tail(self, limit: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- calls ---------------------------------------------------------------------------
    def call(
        self,
        probe: str,
        args: dict[str, Any] | None = None,
        tensors: dict[str, torch.Tensor] | None = None,
        *,
        seed: int = 0,
        timeout: float | None = None,
    ) -> ProbeResult:
        started = time.monotonic()
        part = probe.split(".", 1)[0]
        if self.crash_counts.get(part, 0) >= self.CRASH_BUDGET:
            last = self.crashes[part]
            return ProbeResult(last.status, error=dict(last.error), output=last.output)
        result = self._call(probe, args, tensors, seed, timeout, started)
        if result.status == "crash":
            self.crash_counts[part] = self.crash_counts.get(part, 0) + 1
            self.crashes[part] = result
        return result

    def _call(self, probe, args, tensors, seed, timeout, started) -> ProbeResult:
        if not self._running():
            self.kill()
            failed = self._start()
            if failed is not None:
                failed.seconds = time.monotonic() - started
                return failed
        deadline = time.monotonic() + (timeout or self.limits.probe_s)
        try:
            self._req.write(wire.encode({"probe": probe, "args": args or {}, "seed": seed}, tensors))
            meta, out = self._reader.read(deadline)
        except TimeoutError:
            self.kill()
            return ProbeResult("timeout", error={"type": "Timeout", "message": f"{timeout or self.limits.probe_s:.0f} s"}, output=self.output_tail(), seconds=time.monotonic() - started)
        except (EOFError, BrokenPipeError, wire.WireError, ValueError) as exc:
            self.kill()
            code = ""
            return ProbeResult("crash", error={"type": "WorkerCrash", "message": f"worker process ended or sent garbage ({type(exc).__name__}: {exc}){code}"}, output=self.output_tail(), seconds=time.monotonic() - started)
        elapsed = time.monotonic() - started
        if meta.get("ok") is True and isinstance(meta.get("result"), dict):
            reported = meta.get("elapsed")
            if isinstance(reported, float) and 0 <= reported <= elapsed:
                self.compute_s += reported  # self-reported by untrusted code: benchmarks only
            return ProbeResult("ok", result=meta["result"], tensors=out, seconds=elapsed)
        error = meta.get("error") if isinstance(meta.get("error"), dict) else {}
        error = {k: str(error.get(k, "")) for k in ("type", "message", "where")}
        return ProbeResult("error", error=error, output=self.output_tail(), seconds=elapsed)

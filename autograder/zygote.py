"""Trusted side of the fork server (autograder/worker/zygote.py).

One zygote per grading process: started once (sandboxed like any worker), it forks a fresh
worker for each submission. The submission's files are copied into the zygote's work folder,
the only writable place it shares with its children, and removed after grading, together
with every process and temporary file the submission left behind.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import sandbox as sandboxing

INNER_WORK = "/tmp/work"


class ZygoteError(RuntimeError):
    pass


class Zygote:
    def __init__(self, limits, given: Path, *, sandbox: bool, hide: tuple[Path, ...] = ()) -> None:
        from autograder.runner import _apply_limits, worker_env

        self.work = Path(tempfile.mkdtemp(prefix="cnn_rnn_zygote_"))
        self.given = Path(given).resolve()
        self.jail = sandboxing.jail(self.work, self.given, hide, inner=INNER_WORK) if sandbox else None
        self.sandbox_note = sandboxing.describe(self.jail is not None)
        self.key = (limits, sandbox, tuple(hide))
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = open(self.work.parent / f"{self.work.name}.log", "ab")
        self.cap = sandboxing.ProcessGroupCap.create()
        env = worker_env()
        given_arg = str(self.given)
        cmd = [sys.executable, "-m", "autograder.worker.zygote", given_arg, str(child.fileno())]
        if self.jail is not None:
            cmd = [*self.jail.prefix, sys.executable, "-m", "autograder.worker.zygote", self.jail.given, str(child.fileno())]
            env["PYTHONPATH"] = self.jail.pythonpath
        cap = self.cap
        self.proc = subprocess.Popen(
            cmd, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=self.work, env=env, start_new_session=True, preexec_fn=lambda: _apply_limits(limits, cap),
        )
        child.close()
        self._request_timeout(limits.startup_s)
        if not json.loads(self._recv() or b"{}").get("ready"):
            self.close()
            raise ZygoteError("zygote did not start")
        self.sock.settimeout(10)
        atexit.register(self.close)

    def _request_timeout(self, seconds: float) -> None:
        self.sock.settimeout(seconds)

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except (OSError, socket.timeout) as exc:
            raise ZygoteError(f"zygote not answering: {exc}") from exc

    def _command(self, cmd: dict, fds: list[int] = ()) -> dict:
        try:
            socket.send_fds(self.sock, [json.dumps(cmd).encode()], list(fds))
        except OSError as exc:
            raise ZygoteError(f"zygote gone: {exc}") from exc
        reply = self._recv()
        if not reply:
            raise ZygoteError("zygote exited")
        return json.loads(reply)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def place(self, submission: Path) -> tuple[Path, str]:
        """Copy a submission into the work folder; return its host path and in-zygote path."""
        name = f"s{os.urandom(6).hex()}"
        shutil.copytree(submission, self.work / name, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
        inner = f"{INNER_WORK}/{name}" if self.jail is not None else str(self.work / name)
        return self.work / name, inner

    def spawn(self, inner_submission: str, req_r: int, resp_w: int, log_w: int) -> int:
        return int(self._command({"cmd": "spawn", "submission": inner_submission}, [req_r, resp_w, log_w])["pid"])

    def kill(self, pid: int) -> None:
        self._command({"cmd": "kill", "pid": pid})

    def reap(self, placed: Path | None = None) -> None:
        """Kill everything the last submission started and remove its files."""
        self._command({"cmd": "reap"})
        if self.cap is not None:
            zygote_pids = {self.proc.pid}
            for pid in self.cap.pids():  # daemons outside any session, when not in a PID namespace
                if pid not in zygote_pids and self.jail is None:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
        if placed is not None:
            shutil.rmtree(placed, ignore_errors=True)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()
        if self.cap is not None:
            self.cap.kill_all()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


_current: Zygote | None = None


def shared(limits, given: Path, *, sandbox: bool, hide: tuple[Path, ...] = ()) -> Zygote:
    """The zygote of this grading process, (re)started when missing, dead or configured differently."""
    global _current
    key = (limits, sandbox, tuple(hide))
    if _current is None or not _current.alive() or _current.key != key:
        if _current is not None:
            _current.close()
        _current = Zygote(limits, given, sandbox=sandbox, hide=hide)
    return _current

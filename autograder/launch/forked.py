"""Workers forked from a warm fork server (autograder/runtime/forkserver.py).

One fork server per grading process: started once (sandboxed like any worker), it forks a
fresh worker for each submission. The submission's files are copied into the fork server's
work folder and removed after grading, together with every process and temporary file the
submission left behind.

A fork server that stops answering (stopped, hung, dead) is a MachineryFault: it is detected by
a command deadline of `Limits.forkserver_s` seconds (a ping after any worker crash or timeout),
never charged to a student, and replaced (`restart`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from autograder.launch import sandbox as sandboxing
from autograder.launch.base import Channel, Launcher, MachineryFault, SpawnRefused
from autograder.config import Limits
from autograder.launch.process import start_untrusted
from autograder.launch.shared import SharedInputs

INNER_WORK = "/tmp/work"
KILL_S = 30.0  # deadline of the commands that kill a submission's processes (a fork bomb's take a while)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links refused (protected_hardlinks)
        shutil.copy2(src, dst)


class ForkServer:
    """The trusted client of one fork server process."""

    def __init__(self, limits: Limits, given: Path, *, sandbox: bool, hide: tuple[Path, ...] = ()) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="cnn_rnn_forkserver_"))
        self.given = Path(given).resolve()
        self.limits = limits
        # Sandboxed workers map the inputs every submission shares from a read-only folder; without
        # a sandbox a worker could rewrite that folder for the next submission, so they go
        # through each worker's pipe.
        self.inputs = SharedInputs() if sandbox and sandboxing.bwrap_path() else None
        self.jail = (sandboxing.jail(self.work, self.given, hide, inner=INNER_WORK, forkserver=True,
                                     shared=self.inputs.folder if self.inputs else None) if sandbox else None)
        self.sandbox_note = sandboxing.describe(self.jail is not None)
        self.key = (limits, sandbox, tuple(hide))
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = open(self.work.parent / f"{self.work.name}.log", "ab")
        self.cap = sandboxing.ProcessGroupCap.create()
        given_inside = self.jail.given if self.jail is not None else str(self.given)
        self.proc = start_untrusted("autograder.runtime.forkserver", [given_inside, str(child.fileno())], jail=self.jail,
                                    limits=limits, cap=self.cap, stdout=self.log, pass_fds=(child.fileno(),))
        child.close()
        self.sock.settimeout(limits.startup_s)
        try:
            ready = json.loads(self._recv() or b"{}")
        except (MachineryFault, ValueError):
            ready = {}
        if not ready.get("ready"):
            self.close()
            raise MachineryFault("the fork server did not start")
        self.sock.settimeout(limits.forkserver_s)
        # Processes of a fork server at rest (bwrap and the fork server, or the fork server alone).
        self.resting = len(self.cap.pids()) if self.cap is not None else 0
        atexit.register(self.close)

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except (OSError, socket.timeout) as exc:
            raise MachineryFault(f"fork server not answering ({exc or type(exc).__name__})") from exc

    def command(self, cmd: dict, fds: list[int] = (), *, timeout: float | None = None) -> dict:
        """Send one command and wait for its reply, within `Limits.forkserver_s` or `timeout`
        (killing a fork bomb's processes takes a while)."""
        try:
            socket.send_fds(self.sock, [json.dumps(cmd).encode()], list(fds))
        except OSError as exc:
            raise MachineryFault(f"fork server gone ({exc})") from exc
        self.sock.settimeout(timeout or self.limits.forkserver_s)
        try:
            reply = self._recv()
        finally:
            self.sock.settimeout(self.limits.forkserver_s)
        if not reply:
            raise MachineryFault("fork server exited")
        return json.loads(reply)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ping(self) -> None:
        """MachineryFault unless the fork server is running and answers within the deadline."""
        if not self.alive():
            raise MachineryFault(f"fork server exited (status {self.proc.returncode})")
        self.command({"cmd": "ping"})

    def place(self, submission: Path) -> tuple[Path, str]:
        """Place a submission in the work folder; return its host path and in-sandbox path.

        Its files are hard links to the grading process's unpacked copy where the file system
        allows (a copy otherwise): nothing is duplicated, a sandboxed worker sees them read-only
        and copies them into its private /tmp, and an unsandboxed worker, which could write to
        them, could as well write to that copy, which belongs to the same submission."""
        name = f"s{os.urandom(6).hex()}"
        shutil.copytree(submission, self.work / name, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"),
                        copy_function=_link_or_copy)
        inner = f"{INNER_WORK}/{name}" if self.jail is not None else str(self.work / name)
        return self.work / name, inner

    def reap(self) -> None:
        """Kill everything the last submission started; empty the work folder."""
        try:
            if not self.command({"cmd": "reap"}, timeout=KILL_S).get("ok"):
                raise MachineryFault("the fork server could not remove what the last submission left")
            if self.cap is not None:
                self._await_rest()
        finally:
            for entry in self.work.iterdir():  # whatever was written there, not only the copy
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() and not entry.is_symlink() else entry.unlink(missing_ok=True)

    def _await_rest(self, deadline_s: float = 20.0) -> None:
        """Every process of the last submission is gone (the next one must not find the process
        cap full); daemons outside any session are killed here when there is no PID namespace."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            extra = [pid for pid in self.cap.pids() if pid != self.proc.pid]
            if len(extra) + 1 <= self.resting:
                return
            if self.jail is None:
                for pid in extra:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
            time.sleep(0.02)
        raise MachineryFault("processes of the last submission outlived it")

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
        Path(self.log.name).unlink(missing_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)
        if self.inputs is not None:
            self.inputs.close()


_current: ForkServer | None = None


def shared(limits: Limits, given: Path, *, sandbox: bool, hide: tuple[Path, ...] = ()) -> ForkServer:
    """The fork server of this grading process, (re)started when missing, dead or configured
    differently. MachineryFault when it cannot start."""
    global _current
    if _current is None or not _current.alive() or _current.key != (limits, sandbox, tuple(hide)):
        discard()
        _current = ForkServer(limits, given, sandbox=sandbox, hide=hide)
    return _current


def discard() -> None:
    """Kill this process's fork server (after a fault): the next `shared` starts a fresh one."""
    global _current
    if _current is not None:
        _current.close()
        _current = None


class ForkServerLauncher(Launcher):
    def __init__(self, submission: Path, given: Path, limits: Limits, *, sandbox: bool, hide: tuple[Path, ...]) -> None:
        self.server = shared(limits, given, sandbox=sandbox, hide=hide)
        self.sandbox_note = self.server.sandbox_note
        self.shared_inputs = self.server.inputs
        self.placed, self.inner = self.server.place(submission)
        self.child: int | None = None

    def start(self, log: Path) -> Channel:
        channel, req_r, resp_w = Channel.open()
        try:
            with open(log, "ab") as out:
                reply = self.server.command({"cmd": "spawn", "submission": self.inner}, [req_r, resp_w, out.fileno()])
            if not reply.get("ok"):
                raise SpawnRefused(str(reply.get("error", "fork failed")))
            self.child = int(reply["pid"])
        except BaseException:
            channel.close()
            raise
        finally:
            os.close(req_r)
            os.close(resp_w)
        return channel

    def running(self) -> bool:
        return self.child is not None

    def kill(self) -> None:
        child, self.child = self.child, None
        if child is not None and not self.server.command({"cmd": "kill", "pid": child}, timeout=KILL_S).get("ok"):
            raise MachineryFault("the fork server could not kill a worker's processes")

    def check(self) -> None:
        self.server.ping()

    def close(self) -> None:
        self.child = None
        self.server.reap()

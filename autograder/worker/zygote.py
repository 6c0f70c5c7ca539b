"""Fork server: `python -m autograder.worker.zygote GIVEN_DIR SOCKET_FD`.

Imports torch, torchvision and the probes once, holds no student code, and forks one worker
per submission on request, so a submission pays only for its own code instead of ~3 s of
imports. Runs inside the same sandbox a plain worker would (see autograder/sandbox.py); each
child is a session leader, and between submissions the zygote kills every process but itself
and clears the private /tmp, so nothing of one student reaches the next.

Commands arrive as JSON datagrams on a Unix SEQPACKET socket, file descriptors (the child's
request pipe, response pipe and log file) alongside them via SCM_RIGHTS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

KEEP_IN_TMP = {"cnn_rnn_runtime", "cnn_rnn_given", "work"}


def _warm_imports() -> None:
    import numpy  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch
    import torchvision  # noqa: F401
    from torch import nn  # noqa: F401

    torch.set_num_threads(1)  # no OpenMP pool exists before the fork

    from autograder.probes import load_all

    load_all()


def _child(sock: socket.socket, cmd: dict, fds: list[int], given: Path) -> None:
    """In the forked child: become the worker for one submission. Never returns."""
    code = 1
    try:
        sock.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        req_r, resp_w, log_w = fds
        os.dup2(log_w, 1)
        os.dup2(log_w, 2)
        os.close(log_w)
        os.chdir(cmd["submission"])
        from autograder.worker.serve import serve

        code = serve(Path(cmd["submission"]), given, req_r, resp_w)
    finally:
        os._exit(code)


def _reap(children: set[int], own_pid_namespace: bool) -> None:
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    children.clear()
    if own_pid_namespace:  # daemons that left their session die too
        me = os.getpid()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (1, me):
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        for entry in os.listdir("/tmp"):
            if entry not in KEEP_IN_TMP:
                path = os.path.join("/tmp", entry)
                shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the grading process dies, sandbox or not."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    given, sock = Path(argv[0]), socket.socket(fileno=int(argv[1]))
    _die_with_parent()
    own_pid_namespace = os.environ.get("CNN_RNN_SANDBOXED") == "1"
    _warm_imports()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    children: set[int] = set()
    sock.send(json.dumps({"ready": True}).encode())
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 65536, 3)
        except OSError:
            return 1
        if not msg:
            return 0
        cmd = json.loads(msg)
        reply: dict = {"ok": True}
        if cmd["cmd"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(sock, cmd, fds, given)
            children.add(pid)
            reply["pid"] = pid
        elif cmd["cmd"] == "kill":
            for kill in (os.killpg, os.kill):  # the child may not have called setsid yet
                try:
                    kill(int(cmd["pid"]), signal.SIGKILL)
                except OSError:
                    pass
            children.discard(int(cmd["pid"]))
        elif cmd["cmd"] == "reap":
            _reap(children, own_pid_namespace)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps(reply).encode())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

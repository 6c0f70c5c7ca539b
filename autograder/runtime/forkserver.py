"""Fork server: `python -m autograder.runtime.forkserver GIVEN_DIR SOCKET_FD`.

Imports torch, torchvision and the probes once, holds no student code, and forks one worker
per submission on request, so a submission pays only for its own code instead of ~3 s of
imports. It runs inside the same sandbox a plain worker would (autograder/launch/sandbox.py).

Isolation between submissions (see docs/ARCHITECTURE.md, "One submission cannot reach
another"):
* Sandboxed, the fork server is PID 1 of the sandbox's PID namespace. The kernel delivers to a
  namespace's init only the signals it has a handler for, so a worker's SIGSTOP, SIGKILL or
  SIGTERM to its parent, or `kill(-1, ...)`, never reaches it.
* It is not dumpable: a worker of the same uid cannot ptrace it, read or write its memory
  through /proc/<pid>/mem, or use process_vm_readv/writev on it.
* The submission folder is bound read-only; each worker runs on its own copy in the private,
  size-capped /tmp. Between submissions the fork server kills every other process in its
  namespace and empties /tmp (all but the trusted side's mount points), so no file, process or
  module of one student reaches the next.

Commands arrive as JSON datagrams on a Unix SEQPACKET socket, file descriptors (the child's
request pipe, response pipe and log file) alongside them via SCM_RIGHTS.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from autograder.runtime.serve import become_worker, seal_imports

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the sandbox is unavailable there anyway
        pass


def _warm_imports() -> None:
    import numpy  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch
    import torchvision  # noqa: F401
    from torch import nn  # noqa: F401

    torch.set_num_threads(1)  # no OpenMP pool exists before the fork

    from autograder.runtime.probes import warm_all

    warm_all()  # imports every probe module, and computes once what every worker would
    # Everything alive now (torch, torchvision, the probes: ~300k objects) lives as long as the
    # fork server: out of the collector's sight, a worker's full collection no longer walks them
    # (0.1-0.4 s each) nor writes to their headers, which copied every shared page.
    gc.freeze()


def _private_copy(placed: str) -> str:
    """The worker's own writable copy of the (read-only) placed submission, in private /tmp.

    One folder per worker, not per submission: a submission restarts its worker after every
    hang or crash, and the killed worker's copy stays until the fork server's clean-up at the
    end of the submission. A fixed name made every later worker of that submission die on start
    (copytree into an existing folder), so one infinite loop failed every later part."""
    dest = tempfile.mkdtemp(prefix=f"{Path(placed).name}-", dir="/tmp")
    shutil.copytree(placed, dest, dirs_exist_ok=True)
    return dest


def _child(sock: socket.socket, cmd: dict, fds: list[int], given: Path, sandboxed: bool) -> None:
    """In the forked child: become the worker for one submission. Never returns."""
    code = 1
    try:
        sock.close()
        _prctl(PR_SET_DUMPABLE, 1)  # the worker itself behaves like any process
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        req_r, resp_w, log_w = fds
        submission = _private_copy(cmd["submission"]) if sandboxed else cmd["submission"]
        code = become_worker(Path(submission), given, req_r, resp_w, log_fd=log_w, new_session=True)
    finally:
        os._exit(code)


def pauses(longest: float = 0.01) -> Iterator[None]:
    """The rounds of a polling loop: the first at once, then after 0.5 ms, doubling up to
    `longest` seconds. A killed worker is usually gone within a millisecond or two; a fixed 10 ms
    sleep cost every submission that much at each of its kills."""
    pause = 0.0005
    yield  # the first round at once
    while True:
        time.sleep(pause)
        pause = min(2 * pause, longest)
        yield


def _kill_namespace(deadline_s: float = 20.0) -> bool:
    """As PID 1: kill every other process of the namespace (daemons that left their session,
    sleepers waiting for the next submission, a fork bomb) and wait until none is left; dying
    processes with a large address space take a while. False if some survive the deadline."""
    me = os.getpid()
    deadline = time.monotonic() + deadline_s
    for _ in pauses():
        try:
            os.kill(-1, signal.SIGKILL)  # every process but ourselves (we are init)
        except ProcessLookupError:
            pass
        if not [e for e in os.listdir("/proc") if e.isdigit() and int(e) != me]:
            return True
        if time.monotonic() >= deadline:
            return False


def _kill_worker(pid: int, sandboxed: bool) -> bool:
    """Kill a worker (after a hang or a crash) and everything it started, before the same
    submission's next worker starts: a fork bomb's processes left alive would fill the process
    cap and fail every later check. Sandboxed, the submission's workers are the only other
    processes of the namespace (one submission at a time), so all of them go. Otherwise its
    process group is killed until empty (one round can miss children forked meanwhile)."""
    if sandboxed:
        return _kill_namespace()
    try:
        os.kill(pid, signal.SIGKILL)  # the child may not have called setsid yet
    except OSError:
        pass
    deadline = time.monotonic() + 20.0
    for _ in pauses():
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:  # ProcessLookupError included: the group is empty
            return True
        if time.monotonic() >= deadline:
            return False


def _remove(path: str) -> None:
    """Remove a file or a tree the worker left, even one it made unreadable (same uid: we may
    give ourselves the permissions back)."""
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                except OSError:
                    pass

        def retry(func, target, _exc):  # a folder whose permissions were taken away
            os.chmod(os.path.dirname(target), 0o700)
            func(target)

        shutil.rmtree(path, onexc=retry) if sys.version_info >= (3, 12) else shutil.rmtree(path, onerror=retry)
    else:
        os.unlink(path)


def _mount_points() -> set[str]:
    """Every mount point of this sandbox (field 5 of /proc/self/mountinfo, octal escapes undone):
    the trusted side's read-only binds and masks, which no clean-up may touch."""
    points = set()
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4:
                points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def _clean(folder: str, mounts: set[str]) -> list[str]:
    """Remove everything under `folder` except mount points and the folders that lead to one
    (a mask of the submissions folder under /tmp sits in such a folder); returns what is left
    that should not be."""
    left = []
    try:
        os.chmod(folder, 0o755)  # a worker may have taken the permissions of a folder it owns
        entries = os.listdir(folder)
    except OSError:
        return [folder]
    for entry in entries:
        path = os.path.join(folder, entry)
        if path in mounts:
            continue
        if any(m.startswith(path + "/") for m in mounts):
            left += _clean(path, mounts) if os.path.isdir(path) and not os.path.islink(path) else [path]
            continue
        try:
            _remove(path)
        except OSError:
            left.append(path)
    return left


def _reap(children: set[int], sandboxed: bool) -> bool:
    """Kill what the last submission started and remove what it wrote; False when something
    could not be removed (the trusted side then replaces this fork server)."""
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    children.clear()
    if sandboxed:  # the sandbox's only writable places: /tmp and /dev/shm (every mask is read-only)
        if not _kill_namespace():
            return False
        mounts = _mount_points()
        return not [path for folder in ("/tmp", "/dev/shm") for path in _clean(folder, mounts)]
    return True


def main(argv: list[str]) -> int:
    seal_imports()
    given, sock = Path(argv[0]), socket.socket(fileno=int(argv[1]))
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the grading process, sandbox or not
    _prctl(PR_SET_DUMPABLE, 0)  # no ptrace, /proc/<pid>/mem or process_vm_* by our children
    # Sandboxed we are PID 1 (bwrap --as-pid-1): with no handlers, no signal from inside the
    # namespace can reach us. Python's own SIGINT handler would be one; drop it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sandboxed = os.environ.get("CNN_RNN_SANDBOXED") == "1" and os.getpid() == 1
    _warm_imports()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children (and orphans, as init) are reaped automatically
    children: set[int] = set()
    sock.send(json.dumps({"ready": True, "pid1": sandboxed}).encode())
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
            try:
                pid = os.fork()
            except OSError as exc:  # the submission's own processes fill the sandbox's process cap
                reply = {"ok": False, "error": f"fork failed: {exc}"}
            else:
                if pid == 0:
                    _child(sock, cmd, fds, given, sandboxed)
                children.add(pid)
                reply["pid"] = pid
        elif cmd["cmd"] == "kill":
            reply["ok"] = _kill_worker(int(cmd["pid"]), sandboxed)
            children.discard(int(cmd["pid"]))
        elif cmd["cmd"] == "reap":
            reply["ok"] = _reap(children, sandboxed)
        elif cmd["cmd"] == "ping":
            reply["children"] = len(children)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps(reply).encode())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

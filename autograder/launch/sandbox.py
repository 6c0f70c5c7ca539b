"""Worker isolation on Linux with bubblewrap (Debian package `bubblewrap`).

The worker sees a read-only view of the system with the grader's secrets masked: the
repository (hidden suites, reference, solutions), the home folder (caches of expectations),
the submissions folder and the output folder are replaced by empty tmpfs mounts. Only what the
worker needs comes back, read-only: the Python installation, a copy of the worker runtime
(`wire`, `worker`, `probes`; no suites, no reference) and the given files. The submission copy
is the only writable place besides a private /tmp. Fresh user, mount, PID, network, IPC and UTS
namespaces: no network, no view of other processes, and every process of the run dies with it.

Without bubblewrap (macOS, a kernel without unprivileged user namespaces) grading still works
with rlimits and timeouts, and `describe()` says loudly that confidentiality is not enforced.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder.runtime.assignment import REPO
from autograder.runtime.wire import SHARED_FOLDER

PACKAGE = Path(__file__).resolve().parents[1]  # the trusted `autograder` package
TMP_SIZE = 512 << 20  # bytes of the sandbox's private /tmp (a tmpfs, i.e. memory)
SHM_SIZE = 256 << 20  # bytes of its /dev/shm (torch's shared memory)

IN_RUNTIME = "/tmp/cnn_rnn_runtime"
IN_GIVEN = "/tmp/cnn_rnn_given"
IN_SUBMISSION = "/tmp/submission"

SANDBOXED = "sandboxed (bubblewrap: read-only system, secrets hidden, no network, own PID namespace)"
UNSANDBOXED = (
    "NOT SANDBOXED: bubblewrap unavailable; rlimits and timeouts only. Submissions could read "
    "files this user can read (confidentiality is not enforced); scores are still decided in the "
    "trusted process."
)


@lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bwrap binary if it exists and can create namespaces here."""
    path = shutil.which("bwrap")
    if path is None or os.environ.get("CNN_RNN_NO_SANDBOX"):
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"], capture_output=True)
    return path if probe.returncode == 0 else None


def describe(enabled: bool) -> str:
    return SANDBOXED if enabled else UNSANDBOXED


@lru_cache(maxsize=1)
def runtime_dir() -> Path:
    """A copy of just the untrusted side (the `autograder/runtime/` folder and the package's
    `__init__`), made once per grading process: the only project code a worker can import, in
    either mode. Files are read-only; the folder is world-readable so that a worker running as
    another user (Gradescope's `student`) can import it."""
    root = Path(tempfile.mkdtemp(prefix="cnn_rnn_runtime_"))
    pkg = root / "autograder"
    shutil.copytree(PACKAGE / "runtime", pkg / "runtime", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(PACKAGE / "__init__.py", pkg / "__init__.py")
    for path in (root, *root.rglob("*")):
        path.chmod(0o555 if path.is_dir() else 0o444)
    atexit.register(_remove_read_only, root)
    return root


def _remove_read_only(root: Path) -> None:
    for path in (root, *root.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Jail:
    """How to start one sandboxed worker: the command prefix and the in-sandbox paths."""

    prefix: list[str]
    submission: str
    given: str
    pythonpath: str


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _python_installation() -> list[Path]:
    """Folders the interpreter needs: its prefixes and every site-packages on sys.path (a venv
    may reach another environment's packages through a .pth file)."""
    folders = [Path(sys.prefix), Path(sys.base_prefix)]
    folders += [Path(p) for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    resolved = [p.resolve() for p in folders if p.is_dir()]
    # A folder inside another kept folder comes with it.
    return [p for p in dict.fromkeys(resolved) if not any(p != q and _under(p, q) for q in resolved)]


def jail(submission: Path, given: Path, hide: tuple[Path, ...] = (), inner: str = IN_SUBMISSION, *, forkserver: bool = False,
         shared: Path | None = None) -> Jail | None:
    """bwrap arguments for one worker, or None when no sandbox is available.

    With `forkserver`, for a fork server: `submission` is its work folder, bound read-only (each
    worker copies its submission into the private /tmp), and the command runs as PID 1 of the
    namespace, which no signal from its children can reach (see runtime/forkserver.py).
    `shared`: the grading process's shared-inputs folder (launch/shared.py), bound read-only."""
    bwrap = bwrap_path()
    if bwrap is None:
        return None
    home = Path.home()
    masked = [REPO, home, Path(tempfile.gettempdir()), Path("/tmp"), *hide]
    # The only writable places of the sandbox: the private /tmp and /dev/shm (size-capped tmpfs,
    # emptied between submissions by the fork server) and, started directly, the submission's own
    # folder. Every other mask is an empty tmpfs made read-only once the binds inside it are in
    # place: a worker must not leave files there for the next submission of the same fork server.
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--proc", "/proc", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    # Masks go on outermost first, so a mask inside another one (a repo under /tmp) is not lost.
    masks = [p for p in sorted(dict.fromkeys(p.resolve() for p in masked if p.exists()), key=lambda p: len(p.parts))
             if p != Path("/tmp")]  # /tmp: already a size-capped tmpfs
    for path in masks:
        args += ["--tmpfs", str(path)]
    # The interpreter and its packages come back, read-only, wherever they live (after every
    # mask, so that no later mask covers them again).
    for keep in _python_installation():
        # (a venv inside the repository comes back; nothing that would bring the repository back)
        if any(_under(keep, m) for m in masked if m.exists()) and not _under(REPO, keep):
            args += ["--ro-bind", str(keep), str(keep)]
    args += ["--ro-bind", str(runtime_dir()), IN_RUNTIME, "--ro-bind", str(given), IN_GIVEN]
    args += ["--ro-bind", str(shared), SHARED_FOLDER] if shared is not None else []
    args += ["--ro-bind" if forkserver else "--bind", str(submission), inner, "--chdir", IN_RUNTIME]
    for path in masks:
        args += ["--remount-ro", str(path)]
    args += ["--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534"]
    args += ["--as-pid-1"] if forkserver else []
    args += ["--setenv", "HOME", "/tmp", "--setenv", "CNN_RNN_SANDBOXED", "1", "--"]
    return Jail(args, inner, IN_GIVEN, IN_RUNTIME)


PIDS_ROOT = Path("/sys/fs/cgroup/pids")
MAX_PROCESSES = 64


class ProcessGroupCap:
    """A cgroup (v1 `pids` controller) holding every process of one worker run.

    It caps the number of processes (fork bombs stop at MAX_PROCESSES) and lets the grader kill
    every process the run started, daemons that double-forked out of the process group
    included. RLIMIT_NPROC cannot do this for root, who is exempt from it. Available when the
    grader may create cgroups (root, as in CI); otherwise `create()` returns None and the PID
    namespace of the sandbox, or the process group, is what reaps the run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit: int = MAX_PROCESSES) -> "ProcessGroupCap | None":
        if not PIDS_ROOT.is_dir() or os.environ.get("CNN_RNN_NO_CGROUP"):
            return None
        path = PIDS_ROOT / "cnn_rnn" / f"w{os.getpid()}_{os.urandom(4).hex()}"
        try:
            path.mkdir(parents=True)
            (path / "pids.max").write_text(str(limit))
        except OSError:
            return None
        return cls(path)

    def join(self) -> None:
        """Called in the child before exec: the worker and all its descendants count."""
        with open(self.path / "cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            return [int(x) for x in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill_all(self) -> None:
        import signal
        import time

        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        try:
            self.path.rmdir()
        except OSError:
            pass

"""Launch settings of a worker process, in one place: resource limits, rlimits, environment."""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.launch.sandbox import ProcessGroupCap


@dataclass(frozen=True)
class Limits:
    """Per-worker resource limits (the trusted side picks them; a probe cannot raise them)."""

    memory_mb: int = 6144  # address space; torch itself maps ~1.5 GB of it
    file_mb: int = 64  # largest file the worker may write (stdout log included)
    startup_s: float = 60.0  # importing torch and the probes
    probe_s: float = 20.0  # default per-probe deadline
    run_as: tuple[int, int] | None = None  # (uid, gid) for the worker; needs root (e.g. Gradescope)
    # A fork server that does not answer a command within this time is treated as broken
    # (stopped, hung or dead): it is replaced, and no student is charged for it.
    forkserver_s: float = 5.0


def apply_limits(limits: Limits, cap: "ProcessGroupCap | None" = None) -> None:
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


def worker_env(pythonpath: str) -> dict[str, str]:
    """The whole environment of a worker: a few variables of ours, nothing else inherited.
    `pythonpath` is the runtime folder (the only project code a worker may import)."""
    keep = ("PATH", "LANG", "LC_ALL", "TORCH_HOME", "XDG_CACHE_HOME", "VIRTUAL_ENV", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        PYTHONPATH=pythonpath,
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        MPLBACKEND="Agg",
    )
    return env

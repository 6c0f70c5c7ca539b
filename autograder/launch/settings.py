"""How a worker process is launched: its rlimits (from `config.Limits`) and its environment, in one place."""

from __future__ import annotations

import os
import resource
import signal
from typing import TYPE_CHECKING

from autograder.config import Limits

if TYPE_CHECKING:
    from autograder.launch.sandbox import ProcessGroupCap


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

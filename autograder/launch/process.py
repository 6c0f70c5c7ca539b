"""The one way the trusted side starts a process of the untrusted side (a worker or a fork
server): `python -m MODULE ARGS` from the runtime copy, inside the jail when there is one, in a
session of its own, with the worker's environment and rlimits (and the pids cgroup when `cap`)."""

from __future__ import annotations

import subprocess
import sys
from typing import IO

from autograder.config import Limits
from autograder.launch import sandbox as sandboxing
from autograder.launch.settings import apply_limits, worker_env


def start_untrusted(module: str, args: list[str], *, jail: sandboxing.Jail | None, limits: Limits,
                    cap: sandboxing.ProcessGroupCap | None, stdout: IO[bytes], pass_fds: tuple[int, ...]) -> subprocess.Popen:
    """`args` are paths as the process sees them (the jail's when there is one)."""
    runtime = sandboxing.runtime_dir()
    prefix, pythonpath = (jail.prefix, jail.pythonpath) if jail is not None else ([], str(runtime))
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", module, *args], pass_fds=pass_fds, stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.STDOUT, cwd=runtime, env=worker_env(pythonpath), start_new_session=True,
        preexec_fn=lambda: apply_limits(limits, cap),
    )

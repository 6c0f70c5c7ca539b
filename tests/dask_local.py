"""A real Dask scheduler and `dask worker` processes on localhost, as an instructor starts them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def dask_cluster(grader: Path, root: Path, workers: tuple[str, ...] = ("w0",)) -> Iterator[str]:
    """`dask scheduler` and one one-thread `dask worker` (with its nanny) per name, running
    `grader`'s package: started in that folder, since `python -m` puts the working folder first on
    the import path, and with it on PYTHONPATH. Yields the scheduler's address; logs in root/dask.log."""
    env = {**os.environ, "PYTHONPATH": str(grader)}
    log = open(root / "dask.log", "wb")
    scheduler_file = root / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(scheduler_file)], cwd=grader, env=env, stdout=log,
                              stderr=subprocess.STDOUT)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in workers:
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--name", name,
                                           "--no-dashboard", "--local-directory", str(root / name)], cwd=grader, env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
        yield address
    finally:
        for proc in procs[::-1]:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()

"""A fresh interpreter per worker (`python -m autograder.runtime`): for the students' self-check,
for `submit`, and for Gradescope, where the worker runs as another user."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from autograder.launch import sandbox as sandboxing
from autograder.launch.base import Channel, Launcher
from autograder.config import Limits
from autograder.launch.process import start_untrusted


def copy_for(submission: Path, folder: Path, owner: tuple[int, int]) -> Path:
    """A copy of the submission owned by the worker's user, in a folder that user can enter."""
    dest = folder / "submission"
    shutil.copytree(submission, dest, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    os.chmod(folder, 0o711)
    for path in (dest, *dest.rglob("*")):
        os.chown(path, *owner, follow_symlinks=False)
    return dest


class DirectLauncher(Launcher):
    def __init__(self, submission: Path, given: Path, limits: Limits, *, sandbox: bool, hide: tuple[Path, ...], scratch: Path) -> None:
        self.limits = limits
        self.submission = submission
        if limits.run_as is not None:  # another user runs the worker: it gets its own copy
            self.submission = copy_for(submission, scratch, limits.run_as)
        self.given = given
        self.jail = sandboxing.jail(self.submission, given, hide) if sandbox else None
        self.sandbox_note = sandboxing.describe(self.jail is not None)
        self.proc: subprocess.Popen | None = None
        self.cap: sandboxing.ProcessGroupCap | None = None

    def start(self, log: Path) -> Channel:
        channel, req_r, resp_w = Channel.open()
        paths = [self.jail.submission, self.jail.given] if self.jail is not None else [str(self.submission), str(self.given)]
        self.cap = sandboxing.ProcessGroupCap.create()
        try:
            with open(log, "ab") as out:
                self.proc = start_untrusted("autograder.runtime", [*paths, str(req_r), str(resp_w)], jail=self.jail, limits=self.limits,
                                            cap=self.cap, stdout=out, pass_fds=(req_r, resp_w))
        finally:
            os.close(req_r)
            os.close(resp_w)
        return channel

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
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
        self.proc = None

    def close(self) -> None:
        self.kill()

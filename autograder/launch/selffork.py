"""Workers forked from the calling process itself: the students' self-check.

`autograder check` already has torch imported (its checks compute expectations with it), so a
worker forked from it costs no second `import torch` (~3 s). There is no sandbox on a student's
own machine and nothing secret in a self-check (public checks only); a crash, an `os._exit` or a
hang of the student's code still costs one check only, as with any worker.
"""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path

from autograder.launch.base import Channel, Launcher
from autograder.launch.sandbox import describe


class SelfForkLauncher(Launcher):
    def __init__(self, submission: Path, given: Path) -> None:
        self.submission = submission
        self.given = given
        self.sandbox_note = describe(False)
        self.child: int | None = None

    def start(self, log: Path) -> Channel:
        import torch

        channel, req_r, resp_w = Channel.open()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        torch.set_num_threads(1)  # before the fork: the child must not inherit a busy OpenMP pool
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                # What it inherited (torch, torchvision, the checks: ~330k objects) outlives it: out of
                # the collector's sight, one full collection no longer walks them all (0.28 s of the
                # 0.5 s a part 2 worker took) nor writes to their headers, copying the shared pages.
                gc.freeze()
                os.close(channel.requests.fileno())
                os.close(channel.responses.fd)
                from autograder.runtime.serve import become_worker

                code = become_worker(self.submission, self.given, req_r, resp_w, log_fd=out, new_session=True)
            finally:
                os._exit(code)
        os.close(out)
        os.close(req_r)
        os.close(resp_w)
        self.child = pid
        return channel

    def running(self) -> bool:
        if self.child is None:
            return False
        try:
            return os.waitpid(self.child, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def kill(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            try:
                os.killpg(child, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass

    def close(self) -> None:
        self.kill()

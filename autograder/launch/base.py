"""The launcher interface: how a Worker gets a process for one submission.

Two implementations: `direct.DirectLauncher` starts a fresh interpreter per worker, and
`forked.ForkServerLauncher` forks one from this grading process's warm fork server. The Worker
above them keeps only deadlines, the crash budget and framing.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from autograder.runtime.wire import FrameReader

if TYPE_CHECKING:
    from autograder.launch.shared import SharedInputs


class MachineryFault(RuntimeError):
    """The grading machinery (fork server, sandbox), not the submission, failed or stopped
    answering. Never recorded as the student's failure: the machinery is replaced and the
    submission graded again (autograder/grading.py)."""


class SpawnRefused(RuntimeError):
    """The machinery is fine but cannot start a worker for this submission now (its own
    processes fill the sandbox's process cap): the submission's doing, charged as a crash."""


@dataclass
class Channel:
    """The two dedicated pipes of one worker: requests out, responses in."""

    requests: BinaryIO
    responses: FrameReader

    @classmethod
    def open(cls) -> tuple["Channel", int, int]:
        """A channel and the worker's ends (request read fd, response write fd), which the
        caller hands to the worker and then closes."""
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        return cls(os.fdopen(req_w, "wb", buffering=0), FrameReader(resp_r)), req_r, resp_w

    def close(self) -> None:
        for close in (self.requests.close, lambda: os.close(self.responses.fd)):
            try:
                close()
            except OSError:
                pass


class Launcher(ABC):
    """Starts, kills and cleans up the worker processes of one submission."""

    sandbox_note: str = ""
    # Where inputs shared by every submission go (launch/shared.py); None: through the pipe.
    shared_inputs: "SharedInputs | None" = None

    @abstractmethod
    def start(self, log: Path) -> Channel:
        """Start a worker whose stdout/stderr go to `log`; MachineryFault if the machinery
        cannot (the worker's own failure to start shows up on the channel instead)."""

    @abstractmethod
    def running(self) -> bool:
        """Whether the last worker started is still running."""

    @abstractmethod
    def kill(self) -> None:
        """Kill the current worker and every process it started."""

    def check(self) -> None:
        """Raise MachineryFault when the machinery behind the workers is broken (called after a
        worker crashed or timed out, before the submission is charged for it)."""

    @abstractmethod
    def close(self) -> None:
        """End of the submission: kill everything it started and remove its files."""

"""One frozen settings object for a grading run, handed from the command line to the launcher."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from autograder.launch.settings import Limits


@dataclass(frozen=True)
class GradingConfig:
    """How every submission of one run is graded.

    sandbox: run workers in bubblewrap when this machine has it (describe() says when not).
    forkserver: fork workers from this process's warm fork server (0.03 s) instead of starting
        a fresh interpreter per submission (~3 s). Not used when `limits.run_as` is set.
    selffork: fork workers from this very process (students' self-check: no sandbox, no second
        torch import). Overrides the two above.
    hide: extra folders masked inside the sandbox (the submissions and the output folder).
    parts: grade only these parts (None: all).
    """

    limits: Limits = Limits()
    sandbox: bool = True
    forkserver: bool = True
    selffork: bool = False
    hide: tuple[Path, ...] = ()
    parts: tuple[str, ...] | None = None

    def with_(self, **changes: object) -> "GradingConfig":
        return replace(self, **changes)


# Students' self-check and `submit`: workers forked from their own process, no sandbox (their
# own machine, public checks only).
SELF_CHECK = GradingConfig(sandbox=False, forkserver=False, selffork=True)

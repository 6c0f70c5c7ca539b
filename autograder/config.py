"""One frozen settings object for a grading run, handed from the command line to the launcher,
and its JSON form (for a grading process under a Dask worker). Imports nothing of the project."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any



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

    @property
    def uses_forkserver(self) -> bool:
        """Workers are forked from this process's fork server (not when another user runs them:
        Gradescope starts a fresh interpreter as that user)."""
        return self.forkserver and not self.selffork and self.limits.run_as is None

    def to_json(self) -> dict[str, Any]:
        return {"limits": asdict(self.limits), "sandbox": self.sandbox, "forkserver": self.forkserver,
                "hide": [str(p) for p in self.hide], "parts": list(self.parts) if self.parts else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GradingConfig":
        limits = Limits(**{k: tuple(v) if isinstance(v, list) else v for k, v in data["limits"].items()})
        return cls(limits=limits, sandbox=data["sandbox"], forkserver=data["forkserver"],
                   hide=tuple(Path(p) for p in data["hide"]), parts=tuple(data["parts"]) if data["parts"] else None)


# Students' self-check and `submit`: workers forked from their own process, no sandbox (their
# own machine, public checks only).
SELF_CHECK = GradingConfig(sandbox=False, forkserver=False, selffork=True)

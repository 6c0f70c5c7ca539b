"""The trusted client of one untrusted worker: deadlines, the crash budget and framing.

Every call has a wall-clock deadline; on expiry the worker's whole process group is killed and
the next call starts a fresh worker, so a hang, a crash or an `os._exit` costs one check, not
the submission. How the process starts is the launcher's business (launch/direct.py,
launch/forked.py). Before a crash or a timeout is charged to the submission, the launcher
checks its own machinery; a MachineryFault is raised instead when that is what failed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from autograder.config import GradingConfig
from autograder.launch.base import Channel, Launcher, MachineryFault, SpawnRefused
from autograder.launch.direct import DirectLauncher
from autograder.launch.forked import ForkServerLauncher
from autograder.launch.selffork import SelfForkLauncher
from autograder.runtime import wire
from autograder.runtime.wire import ProbeResult
from autograder.source import read_source
from autograder.runtime.assignment import GRADED_FILES, PARTS, given_files


def launcher_for(submission: Path, config: GradingConfig, scratch: Path) -> Launcher:
    given = given_files().resolve()
    if config.selffork:
        return SelfForkLauncher(submission, given)
    if config.uses_forkserver:
        return ForkServerLauncher(submission, given, config.limits, sandbox=config.sandbox, hide=config.hide)
    # Another user runs the worker (Gradescope): a fresh interpreter started as that user.
    return DirectLauncher(submission, given, config.limits, sandbox=config.sandbox, hide=config.hide, scratch=scratch)


class Worker:
    """One untrusted worker process per submission, restarted after a kill or crash."""

    CRASH_BUDGET = 2

    def __init__(self, submission: Path, config: GradingConfig = GradingConfig()) -> None:
        self.limits = config.limits
        self.submission = Path(submission).resolve()
        # The graded sources as handed in, read before any of the submission's code runs: the
        # trusted side judges them (checks.expect_own_work), and a worker that may write to its
        # folder (direct launch) cannot rewrite what is judged.
        self.sources = {name: read_source(self.submission / name) for name in GRADED_FILES}
        self._tmp = tempfile.TemporaryDirectory(prefix="cnn_rnn_worker_")
        self.log_path = Path(self._tmp.name) / "output.log"
        try:
            self.launcher = launcher_for(Path(submission).resolve(), config, Path(self._tmp.name))
        except BaseException:
            self._tmp.cleanup()
            raise
        self.sandbox_note = self.launcher.sandbox_note
        self.channel: Channel | None = None
        self.compute_s = 0.0
        self.fault: MachineryFault | None = None
        # Each worker imports a part's module in a step of its own before the part's first
        # probe, so a failure at import is told apart from one in a function. A hang, a crash or
        # an `os._exit` in a function costs the checks that call it, however often it happens;
        # a part whose import hangs once, or kills the worker CRASH_BUDGET times, fails its
        # remaining probes at once (every probe of it would fail the same way).
        self.imported: set[str] = set()  # parts the running worker has imported
        self.import_failures: dict[str, list[ProbeResult]] = {}

    # -- lifecycle -----------------------------------------------------------------------
    def kill(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.imported.clear()
        self.launcher.kill()

    def close(self) -> None:
        try:
            if self.fault is None:
                self.kill()
                self.launcher.close()
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output_tail(self, limit: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _failed(self, status: str, kind: str, message: str, started: float, output: str = "") -> ProbeResult:
        """The worker crashed or timed out: kill it, and make sure it was the worker's doing."""
        self.kill()
        self.launcher.check()
        return ProbeResult(status, error={"type": kind, "message": message}, output=output, seconds=time.monotonic() - started)

    def _start(self, started: float) -> ProbeResult | None:
        self.kill()
        try:
            self.channel = self.launcher.start(self.log_path)
        except SpawnRefused as exc:
            self.launcher.check()  # the machinery itself must still answer
            return ProbeResult("crash", error={"type": "WorkerError", "message": f"无法启动新的 worker（{exc}）：进程数达到上限，是否创建了过多进程？"},
                               seconds=time.monotonic() - started)
        try:
            meta, _ = self.channel.responses.read(time.monotonic() + self.limits.startup_s)
        except TimeoutError:
            return self._failed("timeout", "Timeout", "worker startup timed out", started)
        except (EOFError, wire.WireError, ValueError) as exc:
            return self._failed("crash", "WorkerCrash", f"worker died on start ({exc})", started, self.output_tail())
        if meta.get("ready"):
            return None
        return self._failed("crash", "WorkerError", "worker did not start", started)

    def checkpoint(self) -> None:
        """MachineryFault unless the machinery behind the workers still answers. The suite runner
        calls it after the last check of each part, so a submission that stopped or killed the
        fork server is caught on the part it was running (once per part, not after every probe:
        each ping wakes the fork server, ~0.2 ms, ~90 times per submission)."""
        if self.fault is not None:
            raise self.fault
        try:
            self.launcher.check()
        except MachineryFault as fault:
            self.fault = fault
            raise

    # -- calls ---------------------------------------------------------------------------
    def call(
        self,
        probe: str,
        args: dict[str, Any] | None = None,
        tensors: dict[str, torch.Tensor] | None = None,
        *,
        shared: dict[str, torch.Tensor] | None = None,
        seed: int = 0,
        timeout: float | None = None,
    ) -> ProbeResult:
        """Run `probe` on (`args`, `tensors` + `shared`). `shared`: inputs that are the same for
        every submission (reference weights): a sandboxed worker maps them from a file written
        once per grading process (launch/shared.py); otherwise they travel with `tensors`."""
        if self.fault is not None:  # the machinery is gone: the rest of this run is void
            raise self.fault
        started = time.monotonic()
        failures = self.import_failures.get(probe.split(".", 1)[0], [])
        if failures and (failures[-1].status == "timeout" or len(failures) >= self.CRASH_BUDGET):
            last = failures[-1]
            return ProbeResult(last.status, error=dict(last.error), output=last.output)
        try:
            return self._call(probe, args, tensors, shared, seed, timeout, started)
        except MachineryFault as fault:
            self.fault = fault
            raise

    def _request(self, probe, args, tensors, shared, seed) -> bytes:
        meta = {"probe": probe, "args": args or {}, "seed": seed}
        tensors = dict(tensors or {})
        if shared:
            if set(shared) & set(tensors):
                raise ValueError(f"{probe}: names both shared and per-call: {sorted(set(shared) & set(tensors))}")
            if self.launcher.shared_inputs is not None:
                meta["shared"] = self.launcher.shared_inputs.publish(shared)
            else:
                tensors.update(shared)
        return wire.encode(meta, tensors)

    def _call(self, probe, args, tensors, shared, seed, timeout, started) -> ProbeResult:
        if self.channel is None or not self.launcher.running():
            failed = self._start(started)
            if failed is not None:
                return failed
        part = probe.split(".", 1)[0]
        raised_at_import = False
        if part not in self.imported and probe != f"{part}.import":
            imported = self._import(part, started)
            if imported is not None:
                return imported
            raised_at_import = part not in self.imported  # the module raised: the probe meets it again
        result = self._exchange(self._request(probe, args, tensors, shared, seed), timeout or self.limits.probe_s, started)
        if raised_at_import and result.status == "error":
            result.error["at"] = "import"  # data for checks.require_ok: an import error, not the function's
        return result

    def _import(self, part: str, started: float) -> ProbeResult | None:
        """Import `part`'s module in the running worker; a failure to report instead of the
        probe's answer, or None. An exception at import is left to the probe itself, which
        meets it again and reports it as usual."""
        # The import's own deadline is the start-up one, not a probe's: importing is not the
        # student's function, and a loaded machine must not turn a slow import into a hang.
        result = self._exchange(self._request(f"{part}.import", None, None, None, 0), self.limits.startup_s, started)
        if result.ok:
            self.imported.add(part)
            return None
        if result.status == "error":
            return None
        if result.status == "timeout":
            module = PARTS.get(part, part)
            result.error["message"] = f"导入 {module}.py 超过 {self.limits.startup_s:.0f} s：模块顶层的代码没有结束，这一部分的检查都无法运行"
        self.import_failures.setdefault(part, []).append(result)
        return result

    def _exchange(self, request: bytes, limit: float, started: float) -> ProbeResult:
        """Send one request to the running worker and read its answer within `limit` seconds."""
        try:
            self.channel.requests.write(request)
            meta, out = self.channel.responses.read(time.monotonic() + limit)
        except TimeoutError:
            return self._failed("timeout", "Timeout", f"{limit:.0f} s", started, self.output_tail())
        except (EOFError, OSError, wire.WireError, ValueError) as exc:
            return self._failed("crash", "WorkerCrash", f"worker process ended or sent garbage ({type(exc).__name__}: {exc})",
                                started, self.output_tail())
        elapsed = time.monotonic() - started
        if meta.get("ok") is True and isinstance(meta.get("result"), dict):
            reported = meta.get("elapsed")
            if isinstance(reported, float) and 0 <= reported <= elapsed:
                self.compute_s += reported  # self-reported by untrusted code: benchmarks only
            return ProbeResult("ok", result=meta["result"], tensors=out, seconds=elapsed)
        error = meta.get("error") if isinstance(meta.get("error"), dict) else {}
        error = {k: str(error.get(k, "")) for k in ("type", "message", "where")}
        if meta.get("grader") is True:  # the worker could not read the grader's shared inputs
            raise MachineryFault(f"worker could not load the shared inputs: {error['type']}: {error['message']}")
        return ProbeResult("error", error=error, output=self.output_tail(), seconds=elapsed)

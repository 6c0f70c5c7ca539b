"""The hidden checks called in this very process: no sandbox, no fork, no pipe, no worker.

Two baselines of benchmarks/grading_speed.py run the checks this way:

* the **floor**: `python benchmarks/inprocess.py --serve` is one warm process that grades
  submission after submission (one folder per line on stdin, one JSON line per result on
  stdout). It is the fastest any grader can be with these checks: nothing isolates a
  submission from the grader or from the next submission;
* the **fair nbgrader baseline**: the test cells of its notebooks build an `InProcessWorker` on
  the notebook's own folder and call the same `@check` functions in the kernel, one cell per check.

`InProcessWorker` has the `call` and `sources` a check uses (launch/worker.py's Worker): the probe
runs as a plain function call on the tensors the check built, and its answer is normalised the
way the wire would normalise it (JSON types, plain detached tensors), so a check cannot tell the
difference, and the scores are the same as ours (grading_speed.py verifies that per submission).

With a `Timer`, the time inside the probes is split into the submission's own calls (every
function and method defined in the submission's files, wrapped at import: nested calls count
once) and the grader's scaffolding inside the worker (the rest of the probe: building models,
loading weights, preparing inputs, converting the answers). Trusted-side time (computing and
comparing expectations) is what is left of the submission's wall time.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.runtime.assignment import ASSIGNMENT, GRADED_FILES, PARTS, given_files, install_package  # noqa: E402


@dataclass
class Timer:
    """Where one submission's probe time went. `own_s`: inside the submission's own functions and
    its modules' import; `probe_s`: inside every probe call (successful or not); `ok_probe_s`:
    inside the successful ones only, which is what a worker reports as `compute_seconds`."""

    own_s: float = 0.0
    import_s: float = 0.0
    probe_s: float = 0.0
    ok_probe_s: float = 0.0
    calls: int = 0  # calls of the submission's functions seen by the wrappers
    _depth: int = 0
    _entered: float = 0.0
    wrapped: set[int] = field(default_factory=set)

    def enter(self) -> None:
        if self._depth == 0:
            self._entered = time.perf_counter()
        self._depth += 1
        self.calls += 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.own_s += time.perf_counter() - self._entered

    # -- wrapping the submission's code -------------------------------------------------
    def _wrap_function(self, fn: Any) -> Any:
        timer = self
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                timer.enter()
                try:
                    it = fn(*args, **kwargs)
                finally:
                    timer.leave()
                while True:
                    timer.enter()
                    try:
                        value = next(it)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        timer.leave()
                    yield value

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            timer.enter()
            try:
                return fn(*args, **kwargs)
            finally:
                timer.leave()

        return wrapper

    def _wrap_member(self, value: Any, mine: Any) -> Any:
        if isinstance(value, staticmethod) and mine(value.__func__):
            return staticmethod(self._wrap_function(value.__func__))
        if isinstance(value, classmethod) and mine(value.__func__):
            return classmethod(self._wrap_function(value.__func__))
        if isinstance(value, property) and value.fget is not None and mine(value.fget):
            return property(self._wrap_function(value.fget), value.fset, value.fdel, value.__doc__)
        if inspect.isfunction(value) and mine(value):
            return self._wrap_function(value)
        return value

    def wrap_modules(self, submission: Path) -> None:
        """Wrap every function and method defined in the submission's imported modules (once per
        module object: a fresh import is wrapped again)."""
        root = str(submission)

        def mine(fn: Any) -> bool:
            code = getattr(fn, "__code__", None)
            return code is not None and code.co_filename.startswith(root)

        for name, module in list(sys.modules.items()):
            if not name.startswith(ASSIGNMENT + ".") or id(module) in self.wrapped:
                continue
            if not str(getattr(module, "__file__", "") or "").startswith(root):
                continue
            self.wrapped.add(id(module))
            for attr, value in list(vars(module).items()):
                if inspect.isclass(value) and getattr(value, "__module__", None) == module.__name__:
                    for key, member in list(vars(value).items()):
                        wrapped = self._wrap_member(member, mine)
                        if wrapped is not member:
                            setattr(value, key, wrapped)
                elif inspect.isfunction(value) and mine(value):
                    setattr(module, attr, self._wrap_function(value))


def wrapper_cost_s(calls: int = 200_000) -> float:
    """Seconds one wrapped call costs over a plain one on this machine (to bound what the
    instrumentation adds to the floor's time)."""
    timer = Timer()

    def plain() -> None:
        return None

    wrapped = timer._wrap_function(plain)
    start = time.perf_counter()
    for _ in range(calls):
        plain()
    bare = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        wrapped()
    return max(0.0, (time.perf_counter() - start - bare) / calls)


def reset(seed: int) -> None:
    """The worker's reset before every probe (runtime/serve.py's reset_state). Its
    `torch.use_deterministic_algorithms(False)` is a no-op while they are off, but its first call
    imports torch._dynamo (seconds) where torchvision has not already done so: a kernel or a
    process grading one part would pay that for nothing, so the no-op is skipped."""
    import torch

    from autograder.runtime.serve import reset_state

    if "torch._dynamo" in sys.modules or torch.are_deterministic_algorithms_enabled() or torch.is_deterministic_algorithms_warn_only_enabled():
        reset_state(seed)
        return
    real = torch.use_deterministic_algorithms
    torch.use_deterministic_algorithms = lambda *args, **kwargs: None
    try:
        reset_state(seed)
    finally:
        torch.use_deterministic_algorithms = real


def forget_submission() -> None:
    """Drop the previous submission's modules, so the next import reads the next submission."""
    for name in list(sys.modules):
        if name == ASSIGNMENT or name.startswith(ASSIGNMENT + "."):
            del sys.modules[name]


class InProcessWorker:
    """The checks' `worker`, with the probes run as plain calls in this process."""

    def __init__(self, submission: Path, timer: Timer | None = None) -> None:
        from autograder.runtime.probes import Context, load_all
        from autograder.source import read_source

        self.submission = Path(submission).resolve()
        self.sources = {name: read_source(self.submission / name) for name in GRADED_FILES}
        forget_submission()
        install_package(self.submission, given_files().resolve())
        self.registry = load_all()
        self.ctx = Context()
        self.timer = timer
        self.imported: set[str] = set()
        self.compute_s = 0.0

    def call(self, probe: str, args: dict | None = None, tensors: dict | None = None, *, shared: dict | None = None,
             seed: int = 0, timeout: float | None = None):
        """As Worker.call, without deadlines (nothing here could enforce one)."""
        part = probe.split(".", 1)[0]
        raised_at_import = False
        if part not in self.imported and probe != f"{part}.import":
            imported = self._run(f"{part}.import", {}, {}, 0)
            if imported.ok:
                self.imported.add(part)
            raised_at_import = part not in self.imported
        result = self._run(probe, args or {}, {**(shared or {}), **(tensors or {})}, seed)
        if raised_at_import and result.status == "error":
            result.error["at"] = "import"
        return result

    def _run(self, name: str, args: dict, tensors: dict, seed: int):
        from autograder.runtime import wire
        from autograder.runtime.serve import describe
        from autograder.runtime.wire import ProbeResult

        reset(seed)
        started = time.perf_counter()
        ok = False
        try:
            try:
                fn = self.registry[name]
            except KeyError:
                return ProbeResult("error", error={"type": "UnknownProbe", "message": f"unknown probe {name!r}", "where": ""})
            meta, out = fn(self.ctx, args, tensors)
            # What a check reads back after the wire: JSON types, plain detached tensors.
            meta = wire._restore_floats(json.loads(json.dumps(wire._json_safe(meta), ensure_ascii=False)))
            out = {k: wire.plain_tensor(v) for k, v in (out or {}).items()}
            ok = True
            return ProbeResult("ok", result=meta, tensors=out, seconds=time.perf_counter() - started)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from the submission too
            return ProbeResult("error", error=describe(exc, self.submission), seconds=time.perf_counter() - started)
        finally:
            elapsed = time.perf_counter() - started
            if ok:
                self.compute_s += elapsed
            if self.timer is not None:
                self.timer.probe_s += elapsed
                if ok:
                    self.timer.ok_probe_s += elapsed
                if name.endswith(".import"):
                    self.timer.import_s += elapsed
                self.timer.wrap_modules(self.submission)


def grade_here(folder: Path, parts: tuple[str, ...] | None = None, timer: Timer | None = None) -> dict[str, Any]:
    """Every hidden check for `parts` against `folder` in this process; check name -> passed."""
    from autograder.catalog import check_functions
    from autograder.checks import GraderInputError, outcome_of

    worker = InProcessWorker(folder, timer)
    passed: dict[str, bool] = {}
    total = 0.0
    cwd = os.getcwd()
    os.chdir(worker.submission)  # a worker's working folder is its submission
    try:
        for fn in check_functions("hidden", parts):
            meta = fn.__check__
            try:
                fn(worker)
                error = None
            except GraderInputError:
                raise
            except Exception as exc:
                error = exc
            result = outcome_of(meta, error)
            passed[meta.name] = result.status == "passed"
            total += result.score
    finally:
        os.chdir(cwd)
        forget_submission()
    return {"passed": passed, "total": round(total, 4), "compute_s": worker.compute_s}


def serve(parts: tuple[str, ...] | None) -> int:
    """The floor's warm process: one submission folder per line in, one JSON line per result out.
    The submission's own output goes to stderr's log, never into the answers."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    import torch  # noqa: F401  (imported before the first submission, as any warm grader would)

    from autograder.catalog import check_functions
    from autograder.runtime.probes import load_all

    load_all()  # warm as the fork server is before it forks a worker: the probes imported
    check_functions("hidden", parts)  # the suites and their reference modules, once
    answers.write(json.dumps({"ready": True, "wrapper_cost_s": wrapper_cost_s()}) + "\n")
    for line in sys.stdin:
        folder = Path(line.strip())
        if not line.strip():
            continue
        timer = Timer()
        started = time.perf_counter()
        graded = grade_here(folder, parts, timer)
        seconds = time.perf_counter() - started
        answers.write(json.dumps({
            "student": folder.name, **graded, "seconds": seconds, "own_s": timer.own_s, "import_s": timer.import_s,
            "probe_s": timer.probe_s, "ok_probe_s": timer.ok_probe_s, "own_calls": timer.calls,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }) + "\n")
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--parts", nargs="*", choices=list(PARTS), default=None)
    ns = parser.parse_args()
    raise SystemExit(serve(tuple(ns.parts) if ns.parts else None))

"""The worker's serving loop: read probe requests, run them, write plain-data answers."""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from pathlib import Path

from autograder.runtime.assignment import install_package

MAX_MESSAGE = 2000
RUNTIME_ROOT = Path(__file__).resolve().parents[2]  # the folder holding this copy of `autograder`


def seal_imports(root: Path = RUNTIME_ROOT) -> None:
    """The worker's import path is the runtime, the Python installation and (through the
    `cnn_rnn` package) the submission: nothing else. Drops the current folder and any path
    entry other than the runtime's own, and the editable-install finder that would map
    `reference` or the trusted `autograder` back to the repository (unsandboxed mode, where
    the repository is not hidden)."""
    keep = [p for p in sys.path if p and (Path(p).resolve() == root or "site-packages" in p or "dist-packages" in p
                                           or Path(p).resolve().is_relative_to(Path(sys.base_prefix).resolve()))]
    sys.path[:] = [str(root), *[p for p in keep if Path(p).resolve() != root]]
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")
                        and not getattr(f, "__module__", "").startswith("__editable__")]
    sys.path_importer_cache.clear()


def reset_state(seed: int) -> None:
    """Undo global settings an earlier probe (or the student's code) may have changed."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    # CPU only: the generator `torch.manual_seed` seeds first. The rest of `torch.manual_seed`
    # queues seeds for accelerators that no worker initialises, formatting the whole call stack
    # (a stat() per frame) for each: 0.4 ms of a fresh worker, ~90 times per submission.
    torch.default_generator.manual_seed(seed)
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(False)


def safe_str(value: object, limit: int = MAX_MESSAGE) -> str:
    try:
        text = str(value)
    except BaseException:  # a student's __str__ may raise anything
        text = f"<{type(value).__name__} whose str() failed>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException, submission: Path) -> dict:
    """Exception type, message and the innermost line of the student's own code."""
    where = ""
    try:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(str(submission)):
                where = f"{Path(frame.filename).name}:{frame.lineno}: {safe_str(frame.line, 200)}"
                break
    except BaseException:
        pass
    try:
        kind = type(exc).__name__
    except BaseException:
        kind = "Exception"
    return {"type": safe_str(kind, 100), "message": safe_str(exc), "where": where}


def become_worker(submission: Path, fallback: Path, req_fd: int, resp_fd: int, *, log_fd: int | None = None,
                  new_session: bool = False) -> int:
    """The one way a process turns into a worker (a fresh interpreter, a fork of the fork server,
    a fork of the self-check): its own session when asked, its output to the log, the
    submission's folder as working directory, then serve. Returns the exit code."""
    if new_session:
        os.setsid()
    if log_fd is not None:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
    os.chdir(submission)
    return serve(submission, fallback, req_fd, resp_fd)


def serve(submission: Path, fallback: Path, req_fd: int, resp_fd: int) -> int:
    from autograder.runtime import wire
    from autograder.runtime.probes import Context, load_all

    install_package(submission, fallback)
    registry = load_all()
    ctx = Context()
    requests = os.fdopen(req_fd, "rb", buffering=0)
    responses = os.fdopen(resp_fd, "wb", buffering=0)
    responses.write(wire.encode({"ready": True}))
    while True:
        try:
            meta, tensors = wire.read_message(requests)
        except EOFError:
            return 0
        name = meta.get("probe", "")
        if "shared" in meta:
            try:
                tensors = {**wire.load_shared(meta["shared"]), **tensors}
            except BaseException as exc:  # the grader's file, not the student's code: say so
                responses.write(wire.encode({"ok": False, "grader": True, "error": describe(exc, submission)}))
                continue
        try:
            reset_state(int(meta.get("seed", 0)))
            fn = registry[name]
            started = time.perf_counter()
            out_meta, out_tensors = fn(ctx, meta.get("args", {}), tensors)
            elapsed = time.perf_counter() - started  # the student's compute, for benchmarks only
            payload = wire.encode({"ok": True, "result": out_meta, "elapsed": elapsed}, out_tensors)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            if isinstance(exc, KeyError) and name not in registry:
                err = {"type": "UnknownProbe", "message": f"unknown probe {name!r}", "where": ""}
            else:
                err = describe(exc, submission)
            payload = wire.encode({"ok": False, "error": err})
        responses.write(payload)

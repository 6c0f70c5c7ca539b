"""The worker's serving loop: read probe requests, run them, write plain-data answers."""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
import types
from pathlib import Path

MAX_MESSAGE = 2000


def install_package(submission: Path, fallback: Path, name: str = "cnn_rnn") -> None:
    """Make `cnn_rnn.<module>` resolve to the submission first, then to the given files."""
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(submission), str(fallback)]
    pkg.__package__ = name
    sys.modules[name] = pkg


def reset_state(seed: int) -> None:
    """Undo global settings an earlier probe (or the student's code) may have changed."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
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


def serve(submission: Path, fallback: Path, req_fd: int, resp_fd: int) -> int:
    from autograder import wire
    from autograder.probes import Context, load_all

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

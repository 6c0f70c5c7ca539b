"""Inputs that are the same for every submission, handed to sandboxed workers through a file.

A check's reference weights (the state dict of a random-init ResNet-50 is 100 MB) do not depend on
the submission. Instead of serialising them into every worker's pipe, the grading process writes
each such set of tensors once to a safetensors file in a folder that its sandboxes bind
read-only (`wire.SHARED_FOLDER`); a worker maps the file (safetensors mmaps it copy-on-write, so
what a submission writes into those tensors stays in its own pages) and the request names it.

Only inputs go there, never expectations or held-out labels: exactly what the pipe would have
carried. A set is recognised by the identity of its tensors (storage address, layout and
autograd version counter, which in-place changes bump); the cache holds a reference to every
tensor it wrote, so no address can be reused by another tensor while its entry exists.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import save_file

from autograder.runtime import wire

Key = tuple


def _identity(t: torch.Tensor) -> tuple:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype, t._version)


class SharedInputs:
    """A folder of read-only tensor files, one per distinct set of shared inputs (LRU, capped)."""

    MAX_BYTES = 1 << 30

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cnn_rnn_shared_"))
        self.folder.chmod(0o755)  # readable by a worker that runs as another user
        self._entries: OrderedDict[Key, tuple[str, int, list[torch.Tensor]]] = OrderedDict()
        self.bytes = 0
        self.writes = 0

    def publish(self, tensors: dict[str, torch.Tensor]) -> str:
        """The file name (inside `wire.SHARED_FOLDER`) holding `tensors`; written on first use."""
        key = tuple(sorted((name, _identity(t)) for name, t in tensors.items()))
        hit = self._entries.get(key)
        if hit is not None:  # the usual case: every submission after the first
            self._entries.move_to_end(key)
            return hit[0]
        name = f"{os.urandom(8).hex()}.safetensors"
        tmp = self.folder / f".{name}.tmp"
        save_file(wire.unshared({k: wire.plain_tensor(t) for k, t in tensors.items()}), str(tmp))
        tmp.chmod(0o444)
        os.replace(tmp, self.folder / name)
        size = (self.folder / name).stat().st_size
        self._entries[key] = (name, size, list(tensors.values()))
        self.bytes += size
        self.writes += 1
        while self.bytes > self.MAX_BYTES and len(self._entries) > 1:
            _, (old, old_size, _) = self._entries.popitem(last=False)
            (self.folder / old).unlink(missing_ok=True)  # a worker that mapped it keeps its pages
            self.bytes -= old_size
        return name

    def close(self) -> None:
        self._entries.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

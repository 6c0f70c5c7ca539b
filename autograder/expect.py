"""Reference expectations, computed once per assignment version and cached by content hash.

The key of the cache hashes every file whose code runs to compute an expected value (SOURCES:
the reference implementation, the suites, the probe helpers the suites build models with, the
comparison vocabulary, the thread settings, this module, and the given data loaders) and the
torch version, so changing any of them recomputes; grading a submission never does.
tests/test_free_points.py checks that every project module the suites and the reference import
is hashed (or listed there with the reason it computes no expectation). Values are stored as
safetensors (no pickle) and written atomically.

`cached` holds expected values: they never go to a worker. Inputs that are expensive to build
and the same for every submission (features of a pretrained network, a training corpus) go
through `cached_inputs`, the same cache under another name, so that a test can tell them apart.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from autograder import __version__
from autograder.runtime.assignment import ASSIGNMENT, REPO

# Relative to the repository; a folder means every .py file under it.
SOURCES = (
    "reference",
    "autograder/suites",
    "autograder/runtime/probes",  # small_backbone, TinyEncoder, dropout_head... build the models expectations come from
    "autograder/checks.py",
    "autograder/threads.py",  # one_thread: the summation order of an expectation
    "autograder/expect.py",
    f"assignments/{ASSIGNMENT}/data.py",  # the given data loaders (the gallery's images, the corpora)
    f"assignments/{ASSIGNMENT}/gallery.py",
)

Tensors = dict[str, torch.Tensor]
_memory: dict[str, Tensors] = {}


def cache_root() -> Path:
    base = os.environ.get("CNN_RNN_CACHE") or Path.home() / ".cache" / "cnn_rnn_autograder"
    return Path(base)


def hashed_files(repo: Path = REPO) -> list[Path]:
    """Every file the assignment version hashes, in a fixed order."""
    files: list[Path] = []
    for rel in SOURCES:
        path = repo / rel
        if path.is_dir():
            files += sorted(path.rglob("*.py"))
        elif path.is_file():
            files.append(path)
    return files


def version_of(repo: Path = REPO) -> str:
    """Content hash of everything an expectation depends on, for the repository at `repo`."""
    h = hashlib.sha256(f"{__version__}|torch {torch.__version__}".encode())
    for path in hashed_files(repo):
        h.update(path.relative_to(repo).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def assignment_version() -> str:
    """Content hash of everything an expectation depends on (this repository, once per process)."""
    return version_of(REPO)


def _code_digest(fn: Callable) -> str:
    """Hash of the code that computes an expectation, as loaded in this process: a process that
    imported an older suite never writes under the key of a newer one."""
    code = getattr(fn, "__code__", None)
    return hashlib.sha256(marshal.dumps(code)).hexdigest()[:12] if code is not None else "nocode"


def cached(key: str, compute: Callable[[], Tensors]) -> Tensors:
    """Expected values: `compute()` once per assignment version; later calls (any process) read
    it back. They stay on the trusted side: never pass them to `worker.call`."""
    return _cached(key, compute)


def cached_inputs(key: str, compute: Callable[[], Tensors]) -> Tensors:
    """Inputs (the same for every submission, expensive to build) through the same cache: these
    may be sent to a worker."""
    return _cached(key, compute)


def _cached(key: str, compute: Callable[[], Tensors]) -> Tensors:
    version = assignment_version()
    key = f"{key}.{_code_digest(compute)}"
    memo = f"{version}/{key}"
    if memo in _memory:
        return _memory[memo]
    path = cache_root() / "expect" / version / f"{key}.safetensors"
    if path.exists():
        try:
            _memory[memo] = load_file(str(path))
            return _memory[memo]
        except Exception:  # a corrupt cache entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    values = {k: v.detach().cpu().contiguous() for k, v in compute().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file(values, str(tmp))
    os.replace(tmp, path)
    _memory[memo] = values
    return values

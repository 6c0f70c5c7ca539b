"""Atomic file writes: a reader (or a re-run after kill -9) sees the old file or the new one.

Temporary files are named `.tmp-<random>.tmp` next to the target, so a target whose name is close to
the file system's limit (255 bytes) can still be written (callers shorten student ids: discover.file_stem)."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".tmp", dir=path.parent)  # batch.py sweeps ".*.tmp"
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_text_if_changed(path: Path, text: str) -> bool:
    """`write_text` unless `path` already holds exactly `text`; whether it wrote. A re-run that
    changes nothing rewrites nothing: for the 4,000 feedback pages of a class of 2,000 that is a
    read each instead of a create, fsync and rename each (about 6 ms apiece on a virtual disk)."""
    data = text.encode("utf-8")
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True


def save_figure(fig, path: Path, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{secrets.token_hex(8)}{path.suffix}")  # the suffix picks the format
    try:
        fig.savefig(tmp, **savefig_kwargs)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path

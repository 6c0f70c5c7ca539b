"""Builders of messy hand-ins (archives of every kind, from solutions/ and assignments/), shared
by tests/test_messy_inputs.py (unpacking and discovery) and tests/test_messy_class.py (a graded class)."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path

from autograder.runtime.assignment import GRADED_FILES

REPO = Path(__file__).resolve().parents[1]
SOLUTION = {name: (REPO / "solutions" / "cnn_rnn" / name).read_bytes() for name in GRADED_FILES}
STUB = {name: (REPO / "assignments" / "cnn_rnn" / name).read_bytes() for name in GRADED_FILES}
OLD, NEW = (2023, 1, 1, 0, 0, 0), (2024, 6, 1, 12, 0, 0)


def make_zip(path: Path, members: dict[str, bytes], when: dict[str, tuple] | None = None, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(when or {}).get(name, NEW))
            info.compress_type = method
            zf.writestr(info, data)
    return path


def solution_members(prefix: str = "cnn_rnn/", files: dict[str, bytes] = SOLUTION) -> dict[str, bytes]:
    return {prefix + name: data for name, data in files.items()}


def patch_headers(archive: Path, *, flags: int = 0, method: int | None = None) -> None:
    """Set general-purpose flag bits / the compression method of every member, in the local and
    the central headers, as another zip tool would have written them."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        locals_, central = [i.header_offset for i in zf.infolist()], zf.start_dir
    offsets = [(off + 6, off + 8) for off in locals_]
    pos = central
    while data[pos:pos + 4] == b"PK\x01\x02":
        offsets.append((pos + 8, pos + 10))
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + m + k
    for flag_at, method_at in offsets:
        struct.pack_into("<H", data, flag_at, struct.unpack_from("<H", data, flag_at)[0] | flags)
        if method is not None:
            struct.pack_into("<H", data, method_at, method)
    archive.write_bytes(bytes(data))


def make_tar(path: Path, members: dict[str, bytes], links: dict[str, str] = {}, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return path

"""Student ids in file names: one home for the rules (discovery cleans ids with them, and every
writer of per-student files names them with `file_stem`)."""

from __future__ import annotations

import hashlib
import unicodedata

MAX_STEM_BYTES = 100
_UNSAFE = frozenset('/\\:*?"<>|' "`$;&'()[]{}!#%^")  # paths, Windows, shells


def clean_id(raw: str) -> str:
    """A student id safe in file names, CSV and shells; non-ASCII letters are kept."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", raw):
        bad = ch in _UNSAFE or unicodedata.category(ch)[0] in "CZ"  # control, format, separators (spaces)
        if not (bad and out and out[-1] == "_"):
            out.append("_" if bad else ch)
    return "".join(out).strip("._-~") or "unnamed"


def file_stem(student: str) -> str:
    """A file name (without suffix) for a student's outputs: the id itself when it is already
    clean and at most MAX_STEM_BYTES of UTF-8; else a shortened, cleaned id with a sha256 suffix."""
    clean = clean_id(student)
    if clean == student and len(student.encode("utf-8")) <= MAX_STEM_BYTES:
        return student
    head = clean.encode("utf-8")[: MAX_STEM_BYTES - 13].decode("utf-8", "ignore")
    return f"{head}~{hashlib.sha256(student.encode('utf-8')).hexdigest()[:12]}"

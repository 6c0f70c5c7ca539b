"""A submission's .py source, read on the trusted side exactly as Python's import reads it.

Import compiles the file's bytes: a BOM or a PEP 263 coding cookie picks the encoding, and the
tokenizer skips comments without decoding them (an invalid UTF-8 byte in a comment imports fine,
measured on CPython 3.10 to 3.13). `read_source` decodes the same way; `parse_source` parses the
bytes themselves, so the tree is the one the worker's import builds. `deeply` gives the parse and
any walk over the tree the stack a legal but deeply nested expression needs.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import sys
import threading
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_BOM = codecs.BOM_UTF8
_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)  # tokenize.cookie_re, on raw lines
_BLANK = re.compile(r"^[ \t\f]*(?:[#\r\n]|$)", re.ASCII)

# Stacks to try, largest first (reserved, not committed), each with a recursion limit of one per
# 2 KiB. Measured: a Python frame takes about 450 bytes of C stack on 3.10 and none on 3.11+; 3.11
# lets the AST construction go 3 C levels deep per unit of the limit, 75 to 335 bytes each (3.12+
# have a fixed C limit, as their compiler does). 1 GiB: a sum nested 260 000 deep is judged;
# Python imports about 3 000 at its default limit.
_STACKS = (1 << 30, 1 << 28, 1 << 26)
_BYTES_PER_FRAME = 2048
_deep_lock = threading.Lock()


@dataclass(frozen=True)
class SourceText:
    """One file as import reads it. `data` is None when it is missing or unreadable; `text` is None
    when Python cannot import it (`error` says why, in Python's words)."""

    data: bytes | None
    text: str | None  # universal newlines; bytes of a comment that do not decode are U+FFFD
    encoding: str | None
    error: str = ""


def _universal(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _declared_encoding(data: bytes) -> str:
    """The encoding the tokenizer uses, found on raw bytes (detect_encoding needs UTF-8 lines)."""
    bom = data.startswith(_BOM)
    lines = data[3:].splitlines(keepends=True)[:2] if bom else data.splitlines(keepends=True)[:2]
    for i, line in enumerate(lines):
        m = _COOKIE.match(line.decode("latin-1"))
        if m:  # with a BOM, Python accepts no cookie but UTF-8's
            return "utf-8-sig" if bom else codecs.lookup(m.group(1)).name
        if i == 0 and not _BLANK.match(line.decode("latin-1")):
            break
    return "utf-8-sig" if bom else "utf-8"


def read_source(path: Path) -> SourceText:
    """The file at `path`, decoded as import decodes it (tokenize.detect_encoding, then strictly)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return SourceText(None, None, None, f"{type(exc).__name__}: {exc.strerror or exc}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return SourceText(data, _universal(data.decode(encoding)), encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        pass  # stricter than import in one case: undecodable bytes in a comment; Python decides
    try:
        parse_source(data, Path(path).name)
    except SyntaxError as exc:
        return SourceText(data, None, None, f"{type(exc).__name__}: {exc.msg}")
    except Exception:  # noqa: BLE001 - too deep or too big to parse here: decoding is not the question
        pass
    try:
        encoding = _declared_encoding(data)
        return SourceText(data, _universal(data.decode(encoding, errors="replace")), encoding)
    except LookupError as exc:  # cannot happen for a file Python parsed; kept total
        return SourceText(data, None, None, f"LookupError: {exc}")


def deeply(fn: Callable[[], T]) -> T:
    """`fn()` in a thread with a large stack and a recursion limit that stack can hold, so a parse
    or a recursive walk goes as deep as anything Python imports. Re-raises what `fn` raised."""
    out: dict[str, object] = {}

    def target(limit: int) -> None:
        old = sys.getrecursionlimit()
        try:
            sys.setrecursionlimit(max(old, limit))
            out["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out["error"] = exc
        finally:
            sys.setrecursionlimit(old)

    with _deep_lock:  # the recursion limit is the interpreter's: one deep call at a time
        for stack in _STACKS:
            try:
                old_size = threading.stack_size(stack)
            except (ValueError, RuntimeError):
                continue
            try:
                thread = threading.Thread(target=target, args=(stack // _BYTES_PER_FRAME,), name="deep-parse", daemon=True)
                thread.start()
            except RuntimeError:  # the stack could not be reserved: try a smaller one
                continue
            finally:
                threading.stack_size(old_size)
            thread.join()
            break
        else:
            target(sys.getrecursionlimit())  # no thread at all: as deep as this one allows
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["result"]  # type: ignore[return-value]


def parse_source(source: bytes | str, filename: str = "<submission>") -> ast.Module:
    """The tree import builds from `source` (bytes: decoded by Python itself), parsed `deeply`.
    SyntaxError: Python cannot import it either; RecursionError/MemoryError: too deep to judge here."""
    return deeply(lambda: ast.parse(source, filename=filename))

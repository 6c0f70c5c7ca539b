"""Turn one submission (zip, tar, or folder) into a private folder of .py files, and pick the code to grade.

`prepare(source, dest)` is the one entry point of grading: it never lets an exception through but
`SubmissionError`, whose `kind` says what went wrong (KINDS) and whose message says, in Chinese,
what to do about it. What it copes with rather than refuses becomes a note for the student's row.

Safety rules (every format): absolute paths, `..` and drive letters are refused; links, devices,
hidden entries, `__MACOSX` and package caches (`site-packages`, `__pycache__`, ...) are skipped;
only .py files and `partN_answers.ipynb` (converted to .py without running it: autograder.notebook)
are written, at most MAX_FILES of them, MAX_FILE_BYTES each and MAX_TOTAL_BYTES together.
Data, weights or caches never enter the grader. `.7z` and `.rar` are not unpacked.
"""

from __future__ import annotations

import lzma
import os
import stat
import struct
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from autograder.notebook import NotebookError, answers_to_modules, is_answers_notebook
from autograder.runtime.assignment import ASSIGNMENT, GRADED_FILES, code_folders

MAX_FILES = 2000  # kept files (.py and answers notebooks)
MAX_ENTRIES = 100_000  # entries of any kind an archive may list
MAX_TOTAL_BYTES = 50 << 20
MAX_FILE_BYTES = 5 << 20
MAX_ARCHIVE_BYTES = 1 << 30  # the archive file itself, and everything a tar declares
SKIPPED_DIRS = frozenset({"__MACOSX", "__pycache__", "site-packages", "dist-packages", "node_modules"})

KINDS = frozenset({"encrypted", "corrupt", "unsupported_format", "unsafe", "too_large", "no_code", "unreadable"})
# name suffix -> format; `unpack` reads "zip" and "tar", the others are refused with a reason.
SUFFIXES: dict[str, str] = {
    ".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar", ".tar.bz2": "tar", ".tbz2": "tar", ".tbz": "tar",
    ".tar.xz": "tar", ".txz": "tar", ".7z": "7z", ".rar": "rar", ".gz": "gz", ".bz2": "gz", ".xz": "gz", ".zipx": "zipx",
    ".zst": "zst", ".tar.zst": "zst",
}
_MAGIC = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"PK\x07\x08", "zip"), (b"Rar!\x1a\x07", "rar"),
          (b"7z\xbc\xaf\x27\x1c", "7z"), (b"(\xb5/\xfd", "zst"), (b"\x1f\x8b", "tar"), (b"BZh", "tar"), (b"\xfd7zXZ\x00", "tar"))


class SubmissionError(ValueError):
    """The submission cannot be graded as it is; the message goes into the student's row and
    `kind` (one of KINDS) into the data."""

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown SubmissionError kind {kind!r}; kinds: {', '.join(sorted(KINDS))}")
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):  # survives pickling (process pools) with its kind
        return type(self), (str(self), self.kind)


@dataclass(frozen=True)
class Prepared:
    """The folder to grade (under `dest`) and what the student's row should say about the layout."""

    folder: Path
    notes: tuple[str, ...] = ()


def archive_format(name: str) -> str | None:
    """The format a file name claims ("zip", "tar", "7z", "rar", ...), or None for other files."""
    lower = name.lower()
    return next((fmt for suffix, fmt in sorted(SUFFIXES.items(), key=lambda t: -len(t[0])) if lower.endswith(suffix)), None)


def strip_archive_suffix(name: str) -> str:
    """`alice_cnn_rnn.tar.gz` -> `alice_cnn_rnn`."""
    lower = name.lower()
    suffix = max((s for s in SUFFIXES if lower.endswith(s)), key=len, default="")
    return name[: len(name) - len(suffix)]


# --------------------------------------------------------------------------- members of any source


@dataclass(frozen=True)
class _Member:
    name: str  # path inside the submission, as the archive spells it
    type: str  # "file", "dir", "link" or "other"
    size: int
    mtime: float
    open: Callable[[], IO[bytes]]
    encrypted: bool = False


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member's name; without the UTF-8 flag zipfile reads cp437, but Chinese Windows writes GBK."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return info.filename


def _zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (ValueError, OverflowError):
        return 0.0


def _zip_members(zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        kind = "link" if stat.S_ISLNK(mode) else "dir" if info.is_dir() else "file"
        yield _Member(_zip_name(info), kind, info.file_size, _zip_time(info), lambda info=info: zf.open(info), bool(info.flag_bits & 0x1))


def _tar_members(tf: tarfile.TarFile) -> Iterator[_Member]:
    declared = 0
    for info in tf:
        declared += max(info.size, 0)
        if declared > MAX_ARCHIVE_BYTES:
            raise SubmissionError(f"tar 包解开后超过 {MAX_ARCHIVE_BYTES >> 20} MB，拒绝解压：请只打包 .py 文件", "too_large")
        kind = "file" if info.isreg() else "dir" if info.isdir() else "link" if info.issym() or info.islnk() else "other"
        yield _Member(info.name, kind, info.size, float(info.mtime), lambda info=info: tf.extractfile(info))


def _folder_members(src: Path) -> Iterator[_Member]:
    def fail(exc: OSError) -> None:
        raise exc

    for folder, dirs, files in os.walk(src, onerror=fail):
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink():
                yield _Member((here / name).relative_to(src).as_posix() + "/", "link", 0, 0.0, lambda: open(os.devnull, "rb"))
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink() and not _skipped_part(d))
        for name in sorted(files):
            path = here / name
            st = path.lstat()
            kind = "link" if stat.S_ISLNK(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
            yield _Member(path.relative_to(src).as_posix(), kind, st.st_size, st.st_mtime, lambda path=path: open(path, "rb"))


# --------------------------------------------------------------------------- writing what is kept


def is_code(name: str) -> bool:
    """Code a submission is made of: .py files, and answers notebooks (turned into .py by autograder.notebook)."""
    return name.endswith(".py") or is_answers_notebook(name)


def _skipped_part(part: str) -> bool:
    return part.startswith(".") or part in SKIPPED_DIRS


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path; None for what is never code (hidden, `__MACOSX`, caches)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"压缩包里有不安全的路径 {name!r}（绝对路径或 ..），拒绝解压", "unsafe")
    if not path.parts or any(_skipped_part(part) for part in path.parts):
        return None
    return path


def _write(members: Iterable[_Member], dest: Path) -> list[str]:
    """Write the kept members under `dest` (keeping their modification times); return notes."""
    notes: list[str] = []
    entries = kept = total = 0
    seen: set[PurePosixPath] = set()
    for m in members:
        entries += 1
        if entries > MAX_ENTRIES:
            raise SubmissionError(f"压缩包里的条目太多（> {MAX_ENTRIES}），拒绝解压：请只打包 .py 文件", "too_large")
        path = _safe_member(m.name)
        if path is None or m.type == "dir" or not (is_code(path.name) or m.name.endswith("/")):  # "x/": a link to a folder
            continue
        if m.type == "link":
            notes.append(f"跳过了符号链接 (symlink) {path}：请提交文件本身，不要提交链接")
            continue
        if m.type != "file":
            notes.append(f"跳过了 {path}：它不是普通文件")
            continue
        if m.size > MAX_FILE_BYTES:
            notes.append(f"跳过了 {path}：文件太大（{m.size} 字节 > {MAX_FILE_BYTES >> 20} MB）")
            continue
        kept, total = kept + 1, total + m.size
        if kept > MAX_FILES:
            raise SubmissionError(f"压缩包里文件太多（.py 文件超过 {MAX_FILES} 个），拒绝解压：请只打包作业文件", "too_large")
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"解压后 .py 文件总大小超过 {MAX_TOTAL_BYTES >> 20} MB，拒绝解压", "too_large")
        if m.encrypted:
            raise SubmissionError("加密的 zip：请重新打包，不要设置密码", "encrypted")
        target = dest.joinpath(*path.parts)
        if path in seen or target.exists():  # the same name twice (or twice up to case, on a case-insensitive disk)
            raise SubmissionError(f"压缩包里有重名文件 {m.name!r}，无法确定评哪一个：请重新打包", "corrupt")
        seen.add(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with m.open() as src:
            data = src.read(m.size + 1)  # at most the declared size + 1: a lying header cannot inflate past it
        if len(data) > m.size:
            raise SubmissionError(f"{m.name} 的实际大小与声明不符（压缩包损坏或被改动过）", "corrupt")
        target.write_bytes(data)
        mtime = min(max(m.mtime, 0.0), 4e9)  # an archive may claim any time; the disk takes 1970..2096
        os.utime(target, (mtime, mtime))
    return notes


def _format(source: Path) -> str:
    with open(source, "rb") as f:
        head = f.read(512)
    if not head:
        raise SubmissionError(f"{source.name} 是空文件（0 字节）：上传可能没有完成，请重新提交", "corrupt")
    if source.stat().st_size > MAX_ARCHIVE_BYTES:
        raise SubmissionError(f"{source.name} 太大（超过 {MAX_ARCHIVE_BYTES >> 20} MB）：请只打包 .py 文件", "too_large")
    by_magic = next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)
    if head[257:262] == b"ustar":
        by_magic = "tar"
    by_name = archive_format(source.name)
    return by_magic or (by_name if by_name in ("zip", "tar") else "zip" if zipfile.is_zipfile(source) else by_name or "unknown")


def extract(source: Path, dest: Path) -> list[str]:
    """Write the kept files of a zip, a tar or a folder under `dest`; return notes for the student's row."""
    with _reasons(source):
        if source.is_dir():
            return _write(_folder_members(source), dest)
        fmt = _format(source)
        if fmt == "zip":
            with zipfile.ZipFile(source) as zf:
                return _write(_zip_members(zf), dest)
        if fmt == "tar":
            with tarfile.open(source, "r:*") as tf:
                return _write(_tar_members(tf), dest)
        shown = {"7z": "7z", "rar": "RAR", "gz": "单独压缩的 .gz/.bz2/.xz", "zipx": "zipx", "zst": "zstd"}.get(fmt, "这种")
        raise SubmissionError(f"不支持{shown}格式的提交（{source.name}）：请打包成 .zip 后重新提交（例如用 `autograder submit 学号`）",
                              "unsupported_format")


unpack_zip = copy_folder = extract  # the names grade/cluster.py imports


@contextmanager
def _reasons(source: Path) -> Iterator[None]:
    """Any exception while reading a submission becomes a SubmissionError with a reason."""
    name = source.name
    try:
        yield
    except SubmissionError:
        raise
    except NotebookError as exc:
        raise SubmissionError(str(exc), "unreadable") from exc
    except NotImplementedError as exc:  # zipfile: compression method 9 (Deflate64), 14 (LZMA variants) ...
        raise SubmissionError(f"{name} 使用了不支持的压缩方法（{exc}，例如 Windows 的 Deflate64）：请用普通的 zip（Deflate）重新打包",
                              "unsupported_format") from exc
    except RuntimeError as exc:
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise SubmissionError("加密的 zip：请重新打包，不要设置密码", "encrypted") from exc
        raise SubmissionError(f"无法读取提交 {name}（{type(exc).__name__}: {exc}）", "unreadable") from exc
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, lzma.LZMAError, struct.error) as exc:
        raise SubmissionError(f"无法打开压缩包 {name}：文件已损坏、不完整或不是 zip（{type(exc).__name__}: {exc}），请重新打包上传", "corrupt") from exc
    except OSError as exc:
        if exc.errno is None:  # raised by a decompressor (gzip, bz2) on bad data, not by the disk
            raise SubmissionError(f"无法打开压缩包 {name}：文件已损坏或不完整（{exc}），请重新打包上传", "corrupt") from exc
        raise SubmissionError(f"无法读取提交 {name}: {exc}", "unreadable") from exc
    except Exception as exc:  # noqa: BLE001 - whatever else a hostile file triggers is this submission's problem
        raise SubmissionError(f"无法读取提交 {name}（{type(exc).__name__}: {exc}）", "unreadable") from exc


# --------------------------------------------------------------------------- layout


def _shown(folder: Path, dest: Path) -> str:
    rel = folder.relative_to(dest).as_posix()
    return "提交的根目录" if rel == "." else f"{rel}/"


def _fix_case(dest: Path) -> list[str]:
    """Rename `Part1_ResNet.py` to `part1_resnet.py` (one per folder: the exact name, else the newest)."""
    wanted = {name.casefold(): name for name in GRADED_FILES}
    notes = []
    by_target: dict[Path, list[Path]] = {}
    for path in sorted(dest.rglob("*.py")):
        name = wanted.get(path.name.casefold())
        if name is not None:
            by_target.setdefault(path.with_name(name), []).append(path)
    for target, paths in sorted(by_target.items()):
        odd = [p for p in paths if p != target]
        if not odd:
            continue
        chosen = target if target in paths else max(odd, key=lambda p: (p.stat().st_mtime, p.name))
        ignored = ", ".join(p.name for p in odd if p != chosen)
        if chosen != target:
            chosen.rename(target)
            notes.append(f"文件名大小写不对：{chosen.relative_to(dest).as_posix()} 按 {target.name} 评分（文件名应全部小写）")
        if ignored:
            notes.append(f"{_shown(target.parent, dest)} 里有大小写不同的同名文件 {ignored}：评分只用 {target.name}")
    return notes


def unpack(source: Path, dest: Path) -> list[str]:
    """Fill the empty folder `dest` with the submission's .py files (names fixed, notebooks
    converted); return notes. Raises only SubmissionError."""
    dest.mkdir(parents=True, exist_ok=True)
    notes = extract(source, dest)
    with _reasons(source):
        notes += _fix_case(dest)
        answers_to_modules(dest)  # partN_answers.ipynb -> partN_*.py, read as JSON, never run
    return notes


def _no_code(dest: Path, notes: list[str]) -> SubmissionError:
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.py"))
    seen = f"提交里只有这些 .py 文件：{', '.join(found[:8])}{' …' if len(found) > 8 else ''}" if found else "提交里没有任何 .py 文件"
    return SubmissionError("；".join([f"没有找到任何 part*_*.py 作业文件（{', '.join(GRADED_FILES)}）；{seen}。应提交 {ASSIGNMENT}/ 下的作业文件", *notes]),
                           "no_code")


def _layout_notes(dest: Path, folders: list[Path]) -> list[str]:
    """Which folder is graded when several hold graded files, and what is wrong with its files."""
    folder, notes = folders[0], []
    count = {f: sum((f / name).is_file() for name in GRADED_FILES) for f in folders}
    if len(folders) > 1:
        tie = count[folders[1]] == count[folder]
        ignored = "、".join(f"{_shown(f, dest)}（{count[f]} 个）" for f in folders[1:])
        why = "作业文件一样多，取修改时间较新的" if tie else "取作业文件最多的"
        notes.append(f"提交里有多个文件夹含作业文件：评分的是 {_shown(folder, dest)}（{count[folder]} 个，{why}），忽略了 {ignored}")
    for name in GRADED_FILES:
        path = folder / name
        if not path.is_file():
            near = sorted(p.relative_to(dest).as_posix() for p in dest.rglob(f"{name.split('_')[0]}*") if p != path and p.is_file())
            also = f"；名字相近但没有评分的文件：{', '.join(near[:3])}" if near else ""
            notes.append(f"缺少 {name}：这一部分按未实现评分（应放在 {_shown(folder, dest)} 里，和其他作业文件放在一起{also}）")
        elif path.stat().st_size == 0:
            notes.append(f"{name} 是空文件（0 字节）：这一部分按未实现评分")
    return notes


def prepare(source: Path, dest: Path) -> Prepared:
    """Unpack `source` (zip, tar or folder) into the empty folder `dest` and pick the folder to grade.

    Raises only SubmissionError (kind "no_code" when no graded file is found)."""
    source, dest = Path(source), Path(dest)
    notes = unpack(source, dest)
    with _reasons(source):
        folders = code_folders(dest)
        if not folders:
            raise _no_code(dest, notes)
        return Prepared(folders[0], tuple(notes + _layout_notes(dest, folders)))

"""Copy one submission (zip or folder) into a private work folder, refusing what is unsafe.

Refused: absolute paths and `..` in member names, symlinks, more than MAX_FILES members, more
than MAX_TOTAL_BYTES uncompressed, and corrupt archives. Only .py files (and `partN_answers.ipynb`,
converted to .py without running it: see autograder.notebook) are kept: graded code is all a
submission needs, and data, weights or caches never enter the grader.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from autograder.notebook import NotebookError, answers_to_modules, is_answers_notebook

MAX_FILES = 2000
MAX_TOTAL_BYTES = 50 << 20
MAX_FILE_BYTES = 5 << 20


class SubmissionError(ValueError):
    """The submission cannot be graded as it is; the message goes into the student's row."""


def _kept(name: str) -> bool:
    """Graded code: .py files, and answers notebooks (turned into .py by autograder.notebook)."""
    return name.endswith(".py") or is_answers_notebook(name)


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"压缩包里有不安全的路径 {name!r}（绝对路径或 ..），拒绝解压")
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return None
    return path


def unpack_zip(archive: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"无法打开压缩包 {archive.name}: {exc}（文件损坏或不是 zip）") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise SubmissionError(f"压缩包里文件太多（{len(infos)} > {MAX_FILES}）")
        total = 0
        seen: set[str] = set()
        for info in infos:
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SubmissionError(f"压缩包里有符号链接 {info.filename!r}，拒绝解压")
            path = _safe_member(info.filename)
            if path is None or not _kept(path.name):
                continue
            if info.file_size > MAX_FILE_BYTES:
                raise SubmissionError(f"{info.filename} 太大（{info.file_size} 字节 > {MAX_FILE_BYTES}）")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise SubmissionError(f"解压后总大小超过 {MAX_TOTAL_BYTES >> 20} MB，拒绝解压")
            key = str(path).lower()
            if key in seen:
                raise SubmissionError(f"压缩包里有重名文件 {info.filename!r}")
            seen.add(key)
            target = dest.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    # Read at most the declared size + 1: a lying header cannot inflate past it.
                    data = src.read(info.file_size + 1)
                    if len(data) > info.file_size:
                        raise SubmissionError(f"{info.filename} 的实际大小与声明不符")
                    out.write(data)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise SubmissionError(f"压缩包损坏，无法读取 {info.filename}: {exc}") from exc


def copy_folder(src: Path, dest: Path) -> None:
    count = total = 0
    for path in sorted(p for p in src.rglob("*") if _kept(p.name) and p.is_file()):
        rel = path.relative_to(src)
        if path.is_symlink() or any(p.startswith(".") for p in rel.parts):
            continue
        size = path.stat().st_size
        count, total = count + 1, total + size
        if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES or count > MAX_FILES:
            raise SubmissionError(f"提交的 .py 文件过大或过多（{rel}）")
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / rel)


def unpack(source: Path, dest: Path) -> None:
    """Fill the empty folder `dest` with the submission's .py files."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if source.is_dir():
            copy_folder(source, dest)
        else:
            unpack_zip(source, dest)
        answers_to_modules(dest)  # partN_answers.ipynb -> partN_*.py, read as JSON, never run
    except SubmissionError:
        raise
    except OSError as exc:  # unreadable file, a directory where a file should be, disk errors
        raise SubmissionError(f"无法读取提交 {source.name}: {exc}") from exc
    except NotebookError as exc:
        raise SubmissionError(str(exc)) from exc

"""`autograder submit`: pack the student's files into `<student-id>_cnn_rnn.zip` with a manifest."""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import __version__
from autograder.runtime.assignment import ASSIGNMENT
from autograder.runtime.assignment import GRADED_FILES
from autograder.config import SELF_CHECK
from autograder.config import Limits
from autograder.launch.worker import Worker

MAX_FILE_BYTES = 1 << 20
_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class SubmitError(ValueError):
    """Why the zip was not written (the message is for the student)."""


@dataclass
class Submitted:
    path: Path
    manifest: dict


def check_imports(folder: Path) -> list[str]:
    """Import each file in a separate worker; return one message per file that fails."""
    problems = []
    with Worker(folder, SELF_CHECK.with_(limits=Limits(probe_s=60))) as worker:
        for name in GRADED_FILES:
            part = name.split("_", 1)[0]
            r = worker.call(f"{part}.import", timeout=60)
            if not r.ok:
                err = r.error
                problems.append(f"{name} 无法导入: {err.get('type', '')}: {err.get('message', '')} {err.get('where', '')}".strip())
    return problems


def validate_id(student_id: str) -> None:
    if not _ID.match(student_id):
        raise SubmitError(f"学号 {student_id!r} 不合法：只能包含字母、数字和 _ . @ -，长度 1-64")


def build(student_id: str, folder: Path, out_dir: Path, self_check: str = "", verify_imports: bool = True) -> Submitted:
    validate_id(student_id)
    folder = Path(folder)
    missing = [f for f in GRADED_FILES if not (folder / f).is_file()]
    if missing:
        raise SubmitError(f"{folder} 里缺少文件: {', '.join(missing)}")
    for name in GRADED_FILES:
        size = (folder / name).stat().st_size
        if size > MAX_FILE_BYTES:
            raise SubmitError(f"{name} 太大（{size} 字节 > {MAX_FILE_BYTES}）：不要把数据或权重写进代码文件")
    if verify_imports:
        problems = check_imports(folder)
        if problems:
            raise SubmitError("有文件无法导入，已拒绝打包:\n  " + "\n  ".join(problems))
    manifest = {
        "student": student_id,
        "assignment": ASSIGNMENT,
        "package_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in GRADED_FILES},
        "self_check": self_check,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{student_id}_{ASSIGNMENT}.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in GRADED_FILES:  # only the graded files: never data, weights or caches
            zf.write(folder / name, f"{ASSIGNMENT}/{name}")
        zf.writestr(f"{ASSIGNMENT}/manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    tmp.replace(target)
    return Submitted(target, manifest)

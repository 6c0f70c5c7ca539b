"""Build the Gradescope autograder zip: setup.sh and run_autograder at the root, plus the grader.

Contents: the `autograder` package (hidden suites included; not the demo, which needs the
solutions), the trusted `reference/`, the given files and stubs of `assignments/cnn_rnn` (the
files a submission falls back to), and `pyproject.toml`/`README.md` for `pip install -e`. No
solutions, tests or examples. Entries carry a fixed timestamp, so the same tree gives the same zip.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from autograder.atomic import write_bytes
from autograder.release.stubs import REPO

HERE = Path(__file__).resolve().parent
SCRIPTS = ("setup.sh", "run_autograder")
INCLUDE = ("autograder", "reference", "assignments/__init__.py", "assignments/cnn_rnn", "pyproject.toml", "README.md")
SKIP_DIRS = {"__pycache__", "autograder/demo"}
EPOCH = (1980, 1, 1, 0, 0, 0)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = (0o100000 | mode) << 16  # regular file with permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _files(rel: str) -> list[Path]:
    path = REPO / rel
    if path.is_file():
        return [path]
    out = []
    for p in sorted(path.rglob("*")):
        r = p.relative_to(REPO).as_posix()
        if p.is_file() and not p.name.endswith(".pyc") and not any(r == d or r.startswith(d + "/") or f"/{d}/" in f"/{r}" for d in SKIP_DIRS):
            out.append(p)
    return out


def build_zip(out: Path) -> Path:
    """Write the autograder zip to `out` (atomically) and return its path."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in SCRIPTS:
            zf.writestr(_entry(name, 0o755), (HERE / name).read_bytes())
        for rel in INCLUDE:
            for path in _files(rel):
                zf.writestr(_entry(path.relative_to(REPO).as_posix(), 0o644), path.read_bytes())
    out = Path(out)
    write_bytes(out, buf.getvalue())
    return out

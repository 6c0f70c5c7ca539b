"""Shipped results of the demo's one long computation: the part 4 CLM pretraining (`clm_transfer.py`).

A fresh clone's first `make demo` would spend most of its time pretraining the large character LM
and sweeping its learning curves. The repository ships that result instead, in
`autograder/demo/shipped/clm_transfer-<setting>/`:

- `figures.json`: every figure the computation returns (the same file the demo cache holds);
- `lm.safetensors`: the pretrained LM's weights (the demo computes retrieval figures from them);
- `provenance.json`: the content key, the command that produced the result, torch's version, the
  machine and the sha256 of both files.

The content key is the demo cache's (`clm_transfer._cache_key`: that file, `sentence_probe.py`, the
solution's part 3/4 code, the data and torch's version). The demo reads a shipped result only when
its key is the checkout's and its files are intact; otherwise it says why and recomputes.
`autograder demo --full` (`make demo FULL=1`) recomputes regardless.

    python -m autograder.demo.clm_transfer --settings large --ship   # recompute and (re)write the shipped result
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from pathlib import Path

import torch

from autograder.atomic import write_text

SHIPPED = Path(__file__).resolve().parent / "shipped"
FILES = ("figures.json", "lm.safetensors")

# `autograder demo --full`: recompute, reading neither the demo cache nor the shipped result.
RECOMPUTE = False


def folder(setting: str, root: Path | None = None) -> Path:
    return (root or SHIPPED) / f"clm_transfer-{setting}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lookup(setting: str, key: str, root: Path | None = None) -> tuple[Path | None, str]:
    """(the shipped folder, its description) when a result for `key` is shipped and intact, else
    (None, why not). `key` is the demo cache's folder name, `clm_transfer-<setting>-<hash>`."""
    where = folder(setting, root)
    try:
        prov = json.loads((where / "provenance.json").read_text())
    except FileNotFoundError:
        return None, f"no shipped result for the {setting} setting ({where} has no provenance.json)"
    except (OSError, ValueError) as exc:
        return None, f"the shipped result's provenance.json is unreadable ({exc})"
    if prov.get("key") != key:
        why = f"the shipped result's key {prov.get('key')} is not this checkout's {key}"
        if prov.get("torch") != torch.__version__:
            why += f" (it was made with torch {prov.get('torch')}, this is torch {torch.__version__})"
        else:
            why += " (the code or the data it depends on changed since it was made)"
        return None, why
    for name in FILES:
        path = where / name
        if not path.is_file() or _sha256(path) != prov.get("sha256", {}).get(name):
            return None, f"the shipped {name} is missing or does not match its sha256 in provenance.json"
    return where, (f"read from the shipped result {describe(where)} (key {key}, torch {prov.get('torch')}, "
                   f"made by `{prov.get('command')}` on {prov.get('created', '?')})")


def describe(where: Path) -> str:
    try:
        return where.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(where)


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} cores, load average {_load()}"


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def ship(setting: str, key: str, source: Path, command: str, root: Path | None = None) -> Path:
    """Copy a freshly computed result (`source`: a demo cache folder) to the shipped folder, with
    its provenance."""
    where = folder(setting, root)
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(source / name, where / name)
    figures = json.loads((where / "figures.json").read_text())
    prov = {
        "key": key,
        "command": command,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": _machine(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "pretrain_seconds": figures.get("pretrain_seconds"),
        "curves_seconds": figures.get("curves_seconds"),
        "sha256": {name: _sha256(where / name) for name in FILES},
    }
    write_text(where / "provenance.json", json.dumps(prov, indent=1) + "\n")
    for path in where.iterdir():
        path.chmod(0o644)  # write_text's temporary file is private
    return where

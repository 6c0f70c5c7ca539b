"""The shipped part 4 CLM result (autograder/demo/shipped/): read only when its content key is this
checkout's and its files are intact, recomputed otherwise; nothing here trains a model."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    """autograder/demo/<name>.py without importing the package `autograder.demo`, whose __init__
    installs the solutions as `cnn_rnn` in this process."""
    spec = importlib.util.spec_from_file_location(f"_demo_{name}", REPO / "autograder" / "demo" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _load("shipped_result")
progress_mod = _load("progress")
SHIPPED = sorted(p.name.removeprefix("clm_transfer-") for p in S.SHIPPED.glob("clm_transfer-*"))


def _fake(tmp_path: Path, key: str = "clm_transfer-large-0123456789abcdef") -> tuple[Path, Path]:
    src = tmp_path / "cache" / key
    src.mkdir(parents=True)
    (src / "figures.json").write_text(json.dumps({"cache_key": key, "curves": {}}))
    (src / "lm.safetensors").write_bytes(b"weights")
    root = tmp_path / "shipped"
    S.ship("large", key, src, "python -m autograder.demo.clm_transfer --settings large --ship", root=root)
    return root, src


def test_lookup_reads_a_matching_intact_result_only(tmp_path):
    key = "clm_transfer-large-0123456789abcdef"
    root, _ = _fake(tmp_path, key)
    prov = json.loads((root / "clm_transfer-large" / "provenance.json").read_text())
    assert prov["key"] == key and prov["torch"] == torch.__version__ and prov["command"].startswith("python -m autograder.demo.clm_transfer")
    assert set(prov["sha256"]) == {"figures.json", "lm.safetensors"}

    where, why = S.lookup("large", key, root=root)
    assert where == root / "clm_transfer-large" and why.startswith("read from the shipped result") and key in why

    where, why = S.lookup("large", "clm_transfer-large-fedcba9876543210", root=root)
    assert where is None and key in why and "clm_transfer-large-fedcba9876543210" in why and "changed" in why

    where, why = S.lookup("small", "clm_transfer-small-0123456789abcdef", root=root)
    assert where is None and "no shipped result" in why

    (root / "clm_transfer-large" / "lm.safetensors").write_bytes(b"weightz")
    where, why = S.lookup("large", key, root=root)
    assert where is None and "sha256" in why


def test_lookup_names_a_torch_version_mismatch(tmp_path):
    root, _ = _fake(tmp_path)
    path = root / "clm_transfer-large" / "provenance.json"
    prov = json.loads(path.read_text())
    path.write_text(json.dumps({**prov, "key": "clm_transfer-large-ffffffffffffffff", "torch": "0.0.1"}))
    where, why = S.lookup("large", "clm_transfer-large-0123456789abcdef", root=root)
    assert where is None and "torch 0.0.1" in why and torch.__version__ in why


def test_progress_writes_whole_lines_when_not_a_terminal():
    import io

    t = [0.0]
    out = io.StringIO()
    with progress_mod.LineProgress(100, "CLM pretraining (large)", "batch", out, interval=5.0, clock=lambda: t[0]) as bar:
        for _ in range(100):
            t[0] += 0.3
            bar.update()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("CLM pretraining (large): 0/100 batch") and lines[-1].startswith("CLM pretraining (large): 100/100 batch (100%)")
    assert 6 <= len(lines) <= 9  # one every 5 s of 30 s, plus the first and the last
    assert isinstance(progress_mod.progress(3, "x", file=io.StringIO()), progress_mod.LineProgress)


# A subprocess: the demo installs the solutions as the package `cnn_rnn`, which must not leak into
# the test process (other tests import the stubs or a submission under that name).
_SCRIPT = r"""
import json, sys
from pathlib import Path
import torch
from safetensors.torch import load_file
from autograder.demo import clm_transfer as C, shipped_result as S

out = {}
key_of, pretrain = C._cache_key, C.pretrain
for name in sys.argv[1:]:
    C._cache_key, C.pretrain = key_of, pretrain
    cfg = C.SETTINGS[name]
    key = f"clm_transfer-{name}-{C._cache_key(cfg)}"
    prov = json.loads((S.folder(name) / "provenance.json").read_text())
    row = {"key": key, "shipped_key": prov["key"], "shipped_torch": prov["torch"], "torch": torch.__version__}
    if key == prov["key"]:
        figures, lm, _ = C.run_setting(cfg)  # the demo cache is empty: must read the shipped result
        shipped = json.loads((S.folder(name) / "figures.json").read_text())
        weights = load_file(str(S.folder(name) / "lm.safetensors"))
        row["source"] = figures.pop("source")
        row["same_figures"] = figures == shipped
        row["same_weights"] = all(torch.equal(v, weights[k]) for k, v in lm.state_dict().items())
        # Another key (code, data or torch changed): the demo says why and recomputes.
        C._cache_key = lambda cfg: "0" * 16
        def refuse(*args, **kwargs):
            raise RuntimeError("pretraining started")
        C.pretrain = refuse
        try:
            C.run_setting(cfg)
        except RuntimeError as exc:
            row["mismatch"] = str(exc)
    out[name] = row
print("RESULT " + json.dumps(out))
"""


@pytest.mark.skipif(not SHIPPED, reason="no shipped result in autograder/demo/shipped/")
def test_shipped_result_is_this_checkouts_and_is_read_not_recomputed(tmp_path):
    env = {**os.environ, "CNN_RNN_CACHE": str(tmp_path / "empty-cache")}  # no demo cache: a fresh clone
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, *SHIPPED], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    for name, row in result.items():
        if row["shipped_torch"] != row["torch"]:
            pytest.skip(f"the shipped {name} result was made with torch {row['shipped_torch']}, this is torch {row['torch']}: "
                        "the demo recomputes it (make demo prints why)")
        assert row["key"] == row["shipped_key"], (
            f"the shipped {name} CLM result is stale: its key {row['shipped_key']} is not this checkout's {row['key']} (clm_transfer.py, "
            f"sentence_probe.py, solutions/cnn_rnn/part3_lstm.py or part4_clm.py changed). Re-ship it: "
            f".venv/bin/python -m autograder.demo.clm_transfer --settings {' '.join(SHIPPED)} --ship (README: make demo)")
        assert row["source"].startswith("read from the shipped result"), row["source"]
        assert row["same_figures"] and row["same_weights"]
        assert row["mismatch"] == "pretraining started"
        assert f"{name} LM and learning curves: recomputing, because the shipped result's key {row['shipped_key']}" in proc.stdout

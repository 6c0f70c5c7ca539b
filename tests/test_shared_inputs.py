"""Inputs shared by every submission (launch/shared.py): written once, recognised by identity,
mapped read-only by sandboxed workers, and out of reach of a submission that tries to change them."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from autograder.config import GradingConfig
from autograder.grading import grade_folder
from autograder.launch import forked
from autograder.launch.sandbox import bwrap_path
from autograder.config import Limits
from autograder.launch.shared import SharedInputs
from autograder.runtime import wire

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "cnn_rnn"


@pytest.fixture
def inputs():
    shared = SharedInputs()
    yield shared
    shared.close()


def test_a_set_is_written_once_and_read_back_exactly(inputs):
    model = torch.nn.Linear(4, 3)
    state = {f"state.{k}": v for k, v in model.state_dict().items()}
    name = inputs.publish(state)
    assert wire.SHARED_NAME.fullmatch(name)
    # state_dict() makes new tensor objects each call: the same storage is the same set.
    assert inputs.publish({f"state.{k}": v for k, v in model.state_dict().items()}) == name
    assert inputs.writes == 1
    back = wire.load_shared(name, folder=str(inputs.folder))
    assert back.keys() == state.keys() and all(torch.equal(back[k], v) for k, v in state.items())
    assert (inputs.folder / name).stat().st_mode & 0o222 == 0  # read-only file


def test_an_in_place_change_or_other_names_make_a_new_file(inputs):
    model = torch.nn.Linear(4, 3)
    first = inputs.publish(dict(model.state_dict()))
    with torch.no_grad():
        model.weight.add_(1.0)  # bumps the version counter: the old file no longer holds these values
    second = inputs.publish(dict(model.state_dict()))
    assert second != first
    assert torch.equal(wire.load_shared(second, folder=str(inputs.folder))["weight"], model.weight.detach())
    assert inputs.publish({"other." + k: v for k, v in model.state_dict().items()}) not in (first, second)
    assert inputs.writes == 3


def test_the_cache_is_capped_and_keeps_the_newest(inputs, monkeypatch):
    monkeypatch.setattr(SharedInputs, "MAX_BYTES", 3000)
    names = [inputs.publish({"x": torch.full((256,), float(i))}) for i in range(5)]  # ~1.1 kB per file
    left = {p.name for p in inputs.folder.iterdir()}
    assert names[-1] in left and names[0] not in left and inputs.bytes <= 3000


def test_a_mapped_tensor_written_by_the_worker_leaves_the_file_alone(inputs):
    name = inputs.publish({"x": torch.zeros(1000)})
    mapped = wire.load_shared(name, folder=str(inputs.folder))["x"]
    mapped.add_(5.0)  # copy-on-write pages of this process only
    assert float(load_file(str(inputs.folder / name))["x"].abs().sum()) == 0.0


def test_a_name_that_is_not_a_shared_file_is_refused():
    for bad in ("../../etc/passwd", "x.safetensors", 7, None):
        with pytest.raises(wire.WireError):
            wire.load_shared(bad)


# The part 4 pretraining check sends its training data and initial weights as shared inputs.
TAMPER = '''
import gc as _gc
import os as _os

import torch as _torch

_FOLDER = "/tmp/cnn_rnn_shared"
for _name in (_os.listdir(_FOLDER) if _os.path.isdir(_FOLDER) else []):
    _path = _os.path.join(_FOLDER, _name)
    for _attempt in (lambda: open(_path, "r+b").write(b"x" * 64), lambda: _os.chmod(_path, 0o666),
                     lambda: _os.unlink(_path), lambda: _os.rename(_path, _path + ".x"),
                     lambda: open(_os.path.join(_FOLDER, "0000000000000000.safetensors"), "wb").write(b"junk")):
        try:
            _attempt()
        except OSError:
            pass

_original_batch = make_clm_batch


def make_clm_batch(ids):  # every tensor this process can reach, shared inputs included, changed in place
    for _obj in _gc.get_objects():
        if isinstance(_obj, _torch.Tensor) and _obj.dtype == _torch.int64 and _obj.numel() > 1000:
            try:
                _obj.fill_(0)
            except RuntimeError:
                pass
    return _original_batch(ids)
'''


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.skipif(bwrap_path() is None, reason="shared inputs are used by sandboxed workers only")
def test_a_submission_cannot_change_the_inputs_of_the_next(tmp_path):
    config = GradingConfig(limits=Limits(probe_s=20.0), parts=("part4",))
    solution = shutil.copytree(SOLUTION, tmp_path / "solution", ignore=shutil.ignore_patterns("__pycache__"))
    attack = shutil.copytree(SOLUTION, tmp_path / "attack", ignore=shutil.ignore_patterns("__pycache__"))
    with open(attack / "part4_clm.py", "a", encoding="utf-8") as f:
        f.write(TAMPER)
    forked.discard()  # a fresh fork server (and shared-inputs folder) for this test
    try:
        before = grade_folder("before", solution, config)
        shared = forked._current.inputs
        assert shared is not None and shared.writes >= 1, "the part 4 checks no longer send shared inputs"
        files = _digests(shared.folder)
        attacked = grade_folder("attack", attack, config)
        after = grade_folder("after", solution, config)
        assert _digests(shared.folder) == files
    finally:
        forked.discard()
    assert before.total == before.max_total > 0
    # The attack reached the mapped inputs in its own process (its own pretraining ran on zeros) ...
    assert {c.check: c.score for c in attacked.checks}["part4.pretraining"] == 0
    # ... and nothing of it reached the next submission.
    assert [(c.check, c.score, c.message) for c in after.checks] == [(c.check, c.score, c.message) for c in before.checks]

"""The worker's answers are plain data: JSON + safetensors, never pickle."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch

from autograder.runtime import wire


def test_round_trip_plain_data():
    meta = {"a": 1, "b": [1.5, "x"], "nan": float("nan")}
    data = wire.encode(meta, {"t": torch.arange(6.0).reshape(2, 3)})
    back, tensors = wire.decode(data)
    assert back["a"] == 1 and back["b"] == [1.5, "x"] and math.isnan(back["nan"])
    assert torch.equal(tensors["t"], torch.arange(6.0).reshape(2, 3))


def test_tensor_subclass_arrives_as_plain_tensor():
    class Liar(torch.Tensor):
        def __eq__(self, other):  # noqa: D105 - the cheat under test
            return True

    t = torch.ones(3).as_subclass(Liar)
    _, tensors = wire.decode(wire.encode({}, {"t": t}))
    assert type(tensors["t"]) is torch.Tensor


def test_non_plain_objects_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode({"x": object()})


@pytest.mark.parametrize("payload", [pickle.dumps({"x": 1}), b"", wire.MAGIC + b"\xff" * 8])
def test_garbage_frames_are_rejected(payload):
    with pytest.raises((wire.WireError, EOFError)):
        wire.read_message(io.BytesIO(payload))


def test_torch_save_payload_is_not_loaded():
    buf = io.BytesIO()
    torch.save({"out": torch.ones(2)}, buf)
    with pytest.raises((wire.WireError, EOFError)):
        wire.read_message(io.BytesIO(buf.getvalue()))

"""The worker's answers are plain data: JSON + raw tensor bytes under a checked table, never pickle."""

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


def test_every_dtype_and_shape_round_trips():
    tensors = {f"t_{name}": (torch.arange(12) % 3).to(dtype).reshape(3, 4) for name, dtype in wire.DTYPES.items()}
    tensors |= {"scalar": torch.tensor(2.5), "empty": torch.zeros(0, 5), "view": torch.arange(10.0)[2:8:2]}
    _, back = wire.decode(wire.encode({}, tensors))
    assert list(back) == list(tensors)
    for name, t in tensors.items():
        assert back[name].dtype == t.dtype and back[name].shape == t.shape and torch.equal(back[name], t), name
    back["scalar"].add_(1)  # no tensor shares bytes with another
    assert back["view"].tolist() == [2.0, 4.0, 6.0]


def _frame(table, data: bytes) -> bytes:
    import json
    import struct

    head = json.dumps(table).encode()
    blob = struct.pack("<Q", len(head)) + head + data
    body = b"{}"
    return wire.MAGIC + struct.pack("<Q", len(body)) + body + struct.pack("<Q", len(blob)) + blob


@pytest.mark.parametrize("table", [
    [["a", "float32", [32], 0, 128], ["b", "float32", [2], 64, 8]],  # overlapping tensors
    [["a", "float32", [2], 4, 8]],  # not aligned
    [["a", "float32", [64], 0, 256]],  # runs past the frame
    [["a", "float32", [4], 0, 12]],  # bytes do not hold the shape
    [["a", "object", [1], 0, 8]],  # a dtype that cannot travel
    [["a", "float32", [-4], 0, 16]],  # negative size
    [["a", "float32", [4.0], 0, 16]],  # not an integer
    [["a", "float32", [4], 0, 16], ["a", "float32", [4], 0, 16]],  # one name twice
    {"a": 1},  # not a list
    [["a", "float32", [1 << 40, 1 << 40], 0, 16]],  # an absurd shape
    [["a", "float32", [1] * 65 + [4], 0, 16]],  # more dimensions than torch has
])
def test_hostile_tensor_tables_are_rejected(table):
    with pytest.raises(wire.WireError):
        wire.decode(_frame(table, bytes(128)))


def test_an_oversized_tensor_table_is_refused_before_parsing():
    import struct

    blob = struct.pack("<Q", wire.MAX_JSON_BYTES + 1) + b"[" * (wire.MAX_JSON_BYTES + 1)
    with pytest.raises(wire.WireError, match="too large"):
        wire.decode_tensors(blob)

"""The message format between the trusted grader and an untrusted worker: plain data only.

A message is a JSON object plus named tensors. On the wire:

    b"CNNRNN2\\n" | u64 json_len | json utf-8 | u64 blob_len | blob
    blob = u64 table_len | table (JSON: [[name, dtype, shape, offset, nbytes], ...]) | raw bytes

The tensors travel as their raw little-endian bytes, each at a 64-byte aligned offset, described
by a JSON table: loading either part cannot execute code (unlike pickle or `torch.load`), so
whatever a submission manages to write into the pipe, the grader only ever gets back dicts,
lists, strings, numbers and dense CPU tensors of a known dtype. (safetensors holds the same
guarantee and still stores the inputs shared through files: launch/shared.py; as the per-message
format its Python-side conversion cost ~70 us per tensor, ~0.07 s per submission.)
"""

from __future__ import annotations

import io
import json
import math
import re
import os
import select
import struct
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import torch
from safetensors.torch import load_file as st_load_file

MAGIC = b"CNNRNN2\n"
# A request may also name a file of tensors in this read-only folder of the sandbox (inputs that
# are the same for every submission, written once per grading process: launch/shared.py).
SHARED_FOLDER = "/tmp/cnn_rnn_shared"
SHARED_NAME = re.compile(r"[0-9a-f]{16}\.safetensors")
MAX_JSON_BYTES = 4 << 20
MAX_TENSOR_BYTES = 512 << 20
MAX_TENSORS = 100_000
MAX_DIMS = 64  # torch's own limit; more would raise inside torch instead of here
ALIGN = 64
# The dtypes a message may carry, by their names on the wire (those safetensors allows).
DTYPES = {name: getattr(torch, name) for name in ("float64", "float32", "float16", "bfloat16", "int64", "int32",
                                                  "int16", "int8", "uint8", "bool")}

Meta = dict[str, Any]
Tensors = dict[str, torch.Tensor]


class WireError(RuntimeError):
    """A frame that is not a well-formed message (truncated, oversized, wrong types)."""


def _json_safe(value: Any) -> Any:
    """Reject anything JSON would silently coerce, and non-finite floats (JSON has none)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    raise WireError(f"not plain data: {type(value).__name__}")


def _restore_floats(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__float__"} and value["__float__"] in ("nan", "inf", "-inf"):
            return float(value["__float__"])
        return {k: _restore_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_floats(v) for v in value]
    return value


def plain_tensor(t: torch.Tensor) -> torch.Tensor:
    """A dense, contiguous, CPU, plain `torch.Tensor` (drops subclasses and autograd); no copy
    when the tensor already is one."""
    if not isinstance(t, torch.Tensor):
        raise WireError(f"expected a tensor, got {type(t).__name__}")
    t = t.detach()
    if type(t) is not torch.Tensor:
        t = t.as_subclass(torch.Tensor)
    if t.is_sparse or t.layout != torch.strided:
        t = t.to_dense()
    return t.to("cpu").contiguous()


def unshared(plain: Tensors) -> Tensors:
    """safetensors stores each tensor's own bytes: a tensor that shares or only partly covers its
    storage (a view, tied weights) is copied; the others (most of a state_dict) are not."""
    seen: set[int] = set()
    out = {}
    for name, t in plain.items():
        storage = t.untyped_storage()
        if storage.data_ptr() in seen or storage.nbytes() != t.numel() * t.element_size() or t.storage_offset():
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def _raw_bytes(t: torch.Tensor) -> bytes:
    """The bytes of a plain (contiguous, CPU) tensor, in memory order."""
    if t.numel() == 0:
        return b""
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def encode_tensors(tensors: Tensors) -> bytes:
    """The blob of a message: the table of the tensors, then their bytes."""
    table, chunks, offset = [], [], 0
    for name, value in tensors.items():
        t = plain_tensor(value)
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise WireError(f"tensor {name!r}: dtype {dtype} cannot travel")
        data = _raw_bytes(t)
        pad = -offset % ALIGN
        chunks += [b"\0" * pad, data]
        offset += pad
        table.append([str(name), dtype, list(t.shape), offset, len(data)])
        offset += len(data)
    head = json.dumps(table).encode("utf-8")
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def decode_tensors(blob: bytes) -> Tensors:
    """The tensors of a blob, validated entry by entry (names, dtypes, shapes, bounds, alignment,
    no overlap): views of one private copy of the frame's bytes. WireError for anything else."""
    if len(blob) < 8:
        raise WireError("tensor part too short")
    (n_table,) = struct.unpack("<Q", blob[:8])
    if n_table > len(blob) - 8 or n_table > MAX_JSON_BYTES:
        raise WireError(f"tensor table too large or past the frame ({n_table} bytes)")
    try:
        table = json.loads(blob[8 : 8 + n_table].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"tensor table is not JSON ({exc})") from None
    if not isinstance(table, list) or len(table) > MAX_TENSORS:
        raise WireError("tensor table is not a list of entries")
    data = bytearray(memoryview(blob)[8 + n_table :])  # writable, and no longer the frame's
    out: Tensors = {}
    spans = []
    for entry in table:
        if not (isinstance(entry, list) and len(entry) == 5):
            raise WireError("bad tensor entry")
        name, dtype, shape, offset, nbytes = entry
        if not isinstance(name, str) or name in out or dtype not in DTYPES or not isinstance(shape, list) or len(shape) > MAX_DIMS:
            raise WireError(f"bad tensor entry {str(name)[:80]!r}")
        if not all(type(d) is int and d >= 0 for d in shape) or not all(type(v) is int and v >= 0 for v in (offset, nbytes)):
            raise WireError(f"tensor {name[:80]!r}: bad shape or bounds")
        kind = DTYPES[dtype]
        if math.prod(shape) * kind.itemsize != nbytes or offset + nbytes > len(data) or offset % ALIGN:
            raise WireError(f"tensor {name[:80]!r}: {nbytes} bytes at {offset} do not hold {dtype}{shape} inside the frame")
        spans.append((offset, nbytes))
        out[name] = (torch.frombuffer(data, dtype=kind, count=nbytes // kind.itemsize, offset=offset).reshape(shape) if nbytes
                     else torch.empty(shape, dtype=kind))
    spans.sort()
    if any(a_off + a_len > b_off for (a_off, a_len), (b_off, b_len) in zip(spans, spans[1:]) if a_len and b_len):
        raise WireError("tensors overlap")  # one tensor written through another
    return out


def encode(meta: Meta, tensors: Tensors | None = None) -> bytes:
    body = json.dumps(_json_safe(meta), ensure_ascii=False).encode("utf-8")
    blob = encode_tensors(tensors) if tensors else b""
    return MAGIC + struct.pack("<Q", len(body)) + body + struct.pack("<Q", len(blob)) + blob


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed mid-message")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _json_size(head: bytes) -> int:
    """Length of the JSON part, from the first len(MAGIC) + 8 bytes of a frame."""
    if head[: len(MAGIC)] != MAGIC:
        raise WireError("bad frame header")
    (n_json,) = struct.unpack("<Q", head[len(MAGIC) :])
    if n_json > MAX_JSON_BYTES:
        raise WireError(f"JSON part too large ({n_json} bytes)")
    return n_json


def _blob_size(raw: bytes) -> int:
    (n_blob,) = struct.unpack("<Q", raw)
    if n_blob > MAX_TENSOR_BYTES:
        raise WireError(f"tensor part too large ({n_blob} bytes)")
    return n_blob


def _parse(body: bytes, blob: bytes) -> tuple[Meta, Tensors]:
    meta = json.loads(body.decode("utf-8"))
    if not isinstance(meta, dict):
        raise WireError("JSON part is not an object")
    tensors = decode_tensors(blob) if blob else {}
    return _restore_floats(meta), tensors


def read_message(stream: BinaryIO) -> tuple[Meta, Tensors]:
    n_json = _json_size(_read_exact(stream, len(MAGIC) + 8))
    body = _read_exact(stream, n_json)
    n_blob = _blob_size(_read_exact(stream, 8))
    return _parse(body, _read_exact(stream, n_blob))


class FrameReader:
    """Reads whole messages from a pipe before a deadline (the trusted side's reader: a worker
    that hangs or dribbles bytes cannot hold it past the deadline). TimeoutError / EOFError."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()

    def _take(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self.fd, max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("stream closed mid-message")
            self.buf += chunk
        out, self.buf = bytes(self.buf[:n]), self.buf[n:]
        return out

    def read(self, deadline: float) -> tuple[Meta, Tensors]:
        n_json = _json_size(self._take(len(MAGIC) + 8, deadline))
        body = self._take(n_json, deadline)
        n_blob = _blob_size(self._take(8, deadline))
        return _parse(body, self._take(n_blob, deadline))


def load_shared(name: object, folder: str = SHARED_FOLDER) -> Tensors:
    """The tensors of a shared-inputs file, memory-mapped copy-on-write (no copy is made until
    someone writes to them, and no write reaches the file)."""
    if not isinstance(name, str) or not SHARED_NAME.fullmatch(name):
        raise WireError(f"bad shared-inputs name {name!r}")
    return st_load_file(os.path.join(folder, name))


def decode(data: bytes) -> tuple[Meta, Tensors]:
    return read_message(io.BytesIO(data))


@dataclass
class ProbeResult:
    """What came back from one probe call, as the trusted side holds it (launch/worker.py builds it from
    a response; the checks read it); `status` is ok / error / timeout / crash."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    error: dict[str, str] = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

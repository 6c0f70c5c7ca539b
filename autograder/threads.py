"""One intra-op torch thread for a block of code.

The worker computes with one thread (see worker/serve.py); expectations computed the same way
are bit-identical for identical ops. It is also much faster on small, busy machines, where
OpenMP spin-waiting made 2 threads 3-5x slower than 1 (measured in the part-2 demo: 138 s vs 39 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)

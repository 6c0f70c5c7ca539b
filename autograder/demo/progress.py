"""Progress of the demo's long computations, readable in a terminal and in a log.

On a terminal: a tqdm bar (redrawn in place with ``\\r``). Anywhere else (``make demo > log``, CI):
whole lines, one every `interval` seconds and one at the end, so a log never holds a line of
kilobytes of carriage returns:

    CLM pretraining (large): 412/2136 batch (19%), 1m05s elapsed, ETA 4m32s
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class LineProgress:
    """tqdm's `update` / `close` / context-manager subset, writing whole lines."""

    def __init__(self, total: int, desc: str, unit: str, file: TextIO, interval: float = 5.0,
                 clock=time.monotonic) -> None:
        self.total, self.desc, self.unit, self.file, self.interval, self.clock = total, desc, unit, file, interval, clock
        self.n = self.written = 0
        self.started = self.last = clock()
        self.closed = False

    def line(self) -> str:
        elapsed = self.clock() - self.started
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        eta = f", ETA {_clock(elapsed * (self.total - self.n) / self.n)}" if 0 < self.n < self.total else ""
        return f"{self.desc}: {self.n}/{self.total} {self.unit}{pct}, {_clock(elapsed)} elapsed{eta}"

    def _write(self) -> None:
        print(self.line(), file=self.file, flush=True)
        self.last, self.written = self.clock(), self.n

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.clock() - self.last >= self.interval:
            self._write()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.written != self.n:  # the last line shows where it stopped, once
                self._write()

    def __enter__(self) -> LineProgress:
        self._write()  # 0/total: says what is starting and its size
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(total: int, desc: str, unit: str = "it", *, file: TextIO | None = None, interval: float = 5.0):
    """A progress bar for `total` steps: tqdm on a terminal, whole lines every `interval` s otherwise."""
    file = file if file is not None else sys.stderr
    isatty = getattr(file, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=file, mininterval=2.0)
    return LineProgress(total, desc, unit, file, interval)

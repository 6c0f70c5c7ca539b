"""A warm grading process under a Dask worker: `python -m autograder.grade.grading_process`.

Each Dask worker thread owns one of these (see autograder/grade/cluster.py). It is the same
trusted grading process the local pool runs (`grade_hand_in` in its main thread), started once:
it imports the grader, starts its fork server and sandbox before the first submission, and
then grades submissions one at a time for as long as the Dask worker lives. A submission arrives
unpacked (the coordinator's `unpack_once`): the files of the folder to grade, written back here
once and graded by the same `grade_hand_in` as a local run.

It is a plain subprocess rather than a multiprocessing child because a Dask worker started by
a nanny is a daemonic process, which multiprocessing forbids to have children.

Protocol (both sides trusted, same machine): one JSON line of settings on stdin, then one JSON
line per hand-in (its files base64-encoded) on stdin, answered by one JSON line (the
student's `StudentResult.to_dict()`) on a private copy of stdout; the grader's own prints
go to stderr.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from autograder.runtime.assignment import REPO  # imports nothing else: a Dask worker stays free of torch

if TYPE_CHECKING:
    from autograder.config import GradingConfig



@dataclass(frozen=True)
class Payload:
    """One unpacked hand-in as bytes: the files of the folder to grade by relative path, each with
    its modification time, and the notes its row carries (discovery's, then the unpacking's)."""

    student: str
    name: str  # the graded folder's name
    files: tuple[tuple[str, bytes, float], ...]
    notes: tuple[str, ...] = ()  # how discovery found the student id
    layout_notes: tuple[str, ...] = ()  # what unpacking did (Prepared.notes)

    def to_json(self) -> str:
        files = [[rel, base64.b64encode(data).decode("ascii"), mtime] for rel, data, mtime in self.files]
        return json.dumps({"student": self.student, "name": self.name, "files": files, "notes": list(self.notes),
                           "layout_notes": list(self.layout_notes)})

    @classmethod
    def from_json(cls, line: str) -> "Payload":
        data = json.loads(line)
        files = tuple((rel, base64.b64decode(b64), float(mtime)) for rel, b64, mtime in data["files"])
        return cls(data["student"], data["name"], files, tuple(data.get("notes", ())), tuple(data.get("layout_notes", ())))


class GradingProcessDied(RuntimeError):
    """The grading process exited (killed, out of memory, or a grader crash): a grader fault."""


class GradingProcess:
    """Client of one grading process; not thread-safe (one task at a time uses it)."""

    def __init__(self, config: "GradingConfig") -> None:
        env = dict(os.environ)
        # The grading process runs the same copy of the package as this Dask worker.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.grade.grading_process", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, encoding="utf-8",
        )
        self._send(json.dumps(config.to_json()))  # read after the warm-up starts; the pipe buffers it

    def _send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise GradingProcessDied(f"grading process gone ({exc})") from exc

    def grade(self, payload: Payload) -> dict:
        self._send(payload.to_json())
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise GradingProcessDied(f"grading process exited with code {code}")
        return json.loads(line)

    def close(self) -> None:
        try:  # end of input: the process ends itself, and its clean-up runs (fork server, /tmp)
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def materialize(payload: Payload, root: Path) -> Path:
    """Write the graded folder back as root/<name>, times included."""
    if payload.name in ("", ".", "..") or Path(payload.name).name != payload.name:
        raise ValueError(f"unsafe folder name in payload: {payload.name!r}")
    path = root / payload.name
    path.mkdir(parents=True)
    for rel, data, mtime in payload.files:
        target = path.joinpath(*rel.split("/"))
        if path not in target.resolve().parents:  # packed by the coordinator from checked names
            raise ValueError(f"unsafe path in payload: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (mtime, mtime))
    return path


def _exit_with_parent(parent: int) -> None:
    """Exit soon after the Dask worker dies (kill -9 included) instead of grading on as an orphan;
    a thread, because PR_SET_PDEATHSIG follows the thread that started us, not the process."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _warm(config: "GradingConfig") -> None:
    """Start the fork server (and its sandbox) now, with the settings every submission uses."""
    from autograder.launch import forked
    from autograder.launch.base import MachineryFault
    from autograder.runtime.assignment import given_files

    if not config.uses_forkserver:
        return
    try:
        forked.shared(config.limits, given_files().resolve(), sandbox=config.sandbox, hide=config.hide)
    except (MachineryFault, OSError) as exc:  # the first submission meets it again and reports a grader fault
        print(f"grading process: fork server did not start: {exc}", file=sys.stderr)


def serve(source: IO[str], sink: IO[str]) -> int:
    from autograder.grade.submission import HandIn, grade_hand_in
    from autograder.grade.unpack import Prepared

    settings = json.loads(source.readline() or "null")
    if settings is None:
        return 0
    from autograder.config import GradingConfig

    config = GradingConfig.from_json(settings)
    _warm(config)
    for line in source:
        payload = Payload.from_json(line)
        with tempfile.TemporaryDirectory(prefix="cnn_rnn_payload_") as tmp:
            prepared = Prepared(materialize(payload, Path(tmp)), payload.layout_notes)
            result = grade_hand_in(HandIn(payload.student, "", prepared, notes=payload.notes), config)
        sink.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        sink.flush()
    return 0


def main(argv: list[str]) -> int:
    _exit_with_parent(int(argv[0]))
    sink = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever the grader prints cannot corrupt the answers
    return serve(sys.stdin, sink)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

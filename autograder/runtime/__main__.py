"""Worker entry point: `python -m autograder.runtime SUBMISSION_DIR FALLBACK_DIR REQ_FD RESP_FD`.

Reads request messages from REQ_FD, runs the named probe against the submission, and writes
one response per request to RESP_FD. Its own stdout/stderr belong to the student's code; the
protocol never travels there, so a print cannot fake a result.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.runtime.serve import become_worker, seal_imports


def main(argv: list[str]) -> int:
    seal_imports()
    submission, fallback, req_fd, resp_fd = Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    # Started in the runtime folder (so that nothing in the submission can stand in for the
    # runtime's own modules at start-up); the student's code runs in its own folder.
    return become_worker(submission.resolve(), fallback.resolve(), req_fd, resp_fd)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

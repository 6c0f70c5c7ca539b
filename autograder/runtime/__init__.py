"""The untrusted side, in one folder: what runs next to student code.

`assignment` (the parts and their files), `wire` (the message format), `serve` and `__main__`
(a worker: import one submission, answer probe requests), `forkserver` (forks a warm worker per
submission) and `probes/` (the public programs a worker runs). Nothing here imports anything
from the project outside this folder (tests/test_layout.py enforces it): the sandbox gets a copy
of exactly this folder, and the student bundle ships it whole.
"""

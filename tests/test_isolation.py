"""Nothing one submission does may reach another (issue: integrity across the class).

1. In one sandboxed batch graded with `-j 1` (one grading process, one fork server), every
   attack in tests/isolation/ (signals to the parent on import and inside a graded function,
   kill(-1), ptrace, /proc/<ppid>/mem, planted modules, a full /tmp, a sleeping daemon, a fork
   bomb) is
   followed by two correct submissions. Each must score full marks with feedback byte-identical
   to a solo run, and each attack may cost at most its part's probe timeouts plus 30 s.
2. The fork server is stopped, then killed, from outside in the middle of a batch: every student
   gets the grade of a quiet run (no zero from the fault).
3. Unsandboxed (where signals do reach the fork server), a submission that stops its fork server
   is detected, retried once on a fresh one, then charged on its own part with a message that
   says so; the submission after it is unaffected.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.grade.batch import grade_all
from autograder.grading import CHARGED, grade_folder
from autograder.launch.sandbox import SANDBOXED, bwrap_path
from autograder.config import Limits

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SOLUTION = REPO / "solutions" / "cnn_rnn"
PART = ("part3",)
LIMITS = Limits(probe_s=8.0)
ATTACKS = sorted(p.stem for p in (HERE / "isolation").glob("*.py"))

pytestmark = pytest.mark.slow

if bwrap_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("bubblewrap is required in CI (see .ci/run) but is not usable here")
    # The attacks on the parent are only safe inside the sandbox (kill(-1) among them).
    pytest.skip("bubblewrap not available: isolation between submissions cannot be tested here", allow_module_level=True)


def _solution(dest: Path, attack: str | None = None) -> Path:
    shutil.copytree(SOLUTION, dest, ignore=shutil.ignore_patterns("__pycache__"))
    if attack is not None:
        with open(dest / "part3_lstm.py", "a", encoding="utf-8") as f:
            f.write((HERE / "isolation" / f"{attack}.py").read_text(encoding="utf-8"))
    return dest


def _view(result) -> list[tuple]:
    return [(c.check, c.score, c.status, c.message) for c in result.checks]


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    folder = _solution(tmp_path_factory.mktemp("solo") / "solution")
    result = grade_folder("solo", folder, GradingConfig(limits=LIMITS, parts=PART))
    assert result.total == result.max_total > 0, _view(result)
    return result


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    subs = tmp_path_factory.mktemp("isolation") / "submissions"
    for i, attack in enumerate(ATTACKS):  # names sort as: attack, its two controls, next attack
        _solution(subs / f"{i:02d}_0_{attack}", attack)
        _solution(subs / f"{i:02d}_1_control")
        _solution(subs / f"{i:02d}_2_control")
    results = grade_all(subs, subs.parent / "out", jobs=1, limits=LIMITS, quiet=True, parts=PART)
    return {r.student: r for r in results}


def test_every_attack_was_graded(attacked):
    assert len(attacked) == 3 * len(ATTACKS) and len(ATTACKS) >= 13


@pytest.mark.parametrize("i_attack", list(enumerate(ATTACKS)), ids=ATTACKS)
def test_submissions_after_an_attack_score_as_alone(attacked, solo, i_attack):
    i, attack = i_attack
    for control in (f"{i:02d}_1_control", f"{i:02d}_2_control"):
        r = attacked[control]
        assert r.sandbox == SANDBOXED
        assert _view(r) == _view(solo), f"after {attack}: {[(c.check, c.status, c.message[:200]) for c in r.checks if c.score < c.max_score]}"


@pytest.mark.parametrize("i_attack", list(enumerate(ATTACKS)), ids=ATTACKS)
def test_an_attack_costs_at_most_its_own_timeouts(attacked, solo, i_attack):
    i, attack = i_attack
    r = attacked[f"{i:02d}_0_{attack}"]
    budget = solo.seconds * 2 + LIMITS.probe_s * len(r.checks) + 30
    assert r.seconds <= budget, f"{attack} took {r.seconds:.0f} s (budget {budget:.0f} s)"


def _descends_from_us(pid: int) -> bool:
    me = os.getpid()
    while pid > 1:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        if pid == me:
            return True
    return False


def _forkserver_pids() -> list[int]:
    """Host pids of this test's fork server processes (not their bwrap parents)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"autograder.runtime.forkserver" in argv and not argv[0].endswith(b"bwrap") and _descends_from_us(int(proc.name)):
                found.append(int(proc.name))
    return found


def test_fork_server_stopped_and_killed_from_outside(tmp_path, solo):
    """Quiet run vs a run whose fork server is stopped once and killed once mid-batch."""
    from autograder.examples import build_examples

    names = ["solution", "stubs", "p3_tokenizer_no_lowercase", "p3_gate_order_f_i_swapped"]
    subs = build_examples(tmp_path / "examples", names)
    quiet = {r.student: _view(r) for r in grade_all(subs, tmp_path / "quiet", jobs=1, limits=LIMITS, quiet=True, parts=PART)}
    assert len(quiet) == 4
    done = tmp_path / "noisy" / "results"
    events: list[str] = []

    def disturb() -> None:
        for sig, after in ((signal.SIGSTOP, 1), (signal.SIGKILL, 3)):
            while len(list(done.glob("*.json"))) < after:
                time.sleep(0.05)
            deadline = time.monotonic() + 60
            while not (pids := _forkserver_pids()) and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in pids:
                os.kill(pid, sig)
            events.append(f"{sig.name} {pids}")

    thread = threading.Thread(target=disturb, daemon=True)
    thread.start()
    noisy = {r.student: _view(r) for r in grade_all(subs, tmp_path / "noisy", jobs=1, limits=LIMITS, quiet=True, parts=PART)}
    thread.join(timeout=120)
    assert len(events) == 2, events
    assert noisy == quiet


def test_unsandboxed_stop_of_the_fork_server_is_charged_only_to_its_author(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_RNN_NO_SANDBOX", "1")  # read by the (spawned) grading process
    subs = tmp_path / "submissions"
    _solution(subs / "a_attack", "sigstop_parent_in_function")
    _solution(subs / "b_control")
    started = time.monotonic()
    results = {r.student: r for r in grade_all(subs, tmp_path / "out", jobs=1, limits=LIMITS, quiet=True, parts=PART)}
    attack, control = results["a_attack"], results["b_control"]
    charged = [c for c in attack.checks if c.message == CHARGED]
    assert charged and all(c.score == 0 for c in charged), _view(attack)
    assert control.total == control.max_total, _view(control)
    assert "NOT SANDBOXED" in control.sandbox
    assert time.monotonic() - started < 180


# Every place a worker might reach: /tmp and /dev/shm down to 3 levels, the home folder, and every
# mount point of its sandbox (the masks of the repository, the home folder, the submissions).
_PLACES = '''
import os as _os

_MARK = "cnn_rnn_planted_marker"


def _places():
    found = {"/tmp", "/dev/shm", "/root", _os.path.expanduser("~")}
    with open("/proc/self/mountinfo") as f:
        found |= {line.split()[4] for line in f}
    for top in ("/tmp", "/dev/shm"):
        for root, dirs, _ in _os.walk(top):
            if root.count("/") <= 4:
                found.add(root)
    return sorted(p for p in found if not p.startswith(("/proc", "/sys", "/dev/pts")))
'''
_PLANT = _PLACES + '''
for _place in _places():
    try:
        with open(_os.path.join(_place, _MARK), "w") as _f:
            _f.write("answers of the first submission")
        _os.makedirs(_os.path.join(_place, _MARK + "_dir", "deeper"), exist_ok=True)
        _os.chmod(_os.path.join(_place, _MARK + "_dir"), 0)
    except OSError:
        pass
'''
_READ = _PLACES + '''
_found = [p for p in _places() if _os.path.exists(_os.path.join(p, _MARK)) or _os.path.exists(_os.path.join(p, _MARK + "_dir"))]
if _found:
    raise RuntimeError(f"left by the previous submission: {_found}")
'''


def test_a_worker_leaves_nothing_for_the_next_and_its_fork_server_stays(tmp_path):
    """The masks (repository, home, the submissions folder) are read-only, and what a worker
    writes elsewhere (/tmp, /dev/shm, the folder under /tmp that holds a mask) is removed
    without replacing the fork server: a file cannot carry answers to the next submission."""
    from autograder.launch import forked

    subs = tmp_path / "subs"
    plant, read = _solution(subs / "plant"), _solution(subs / "read")
    for folder, code in ((plant, _PLANT), (read, _READ)):
        with open(folder / "part3_lstm.py", "a", encoding="utf-8") as f:
            f.write(code)
    config = GradingConfig(limits=LIMITS, parts=PART, hide=(subs,))  # a mask inside /tmp, as in a batch
    forked.discard()
    try:
        planted = grade_folder("plant", plant, config)
        server = forked._current
        reader = grade_folder("read", read, config)
        assert forked._current is server, "the clean-up after a submission failed and the fork server was replaced"
    finally:
        forked.discard()
    assert planted.total == planted.max_total > 0, _view(planted)
    assert reader.total == reader.max_total, _view(reader)

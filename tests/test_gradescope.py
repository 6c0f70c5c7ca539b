"""The Gradescope autograder zip, its real `run_autograder` on a simulated /autograder tree, and
results.json checked against Gradescope's documented format (tests/gradescope_results.schema.json).

Part 1 only (CNN_RNN_PARTS=part1). Student code runs as `nobody`, as setup.sh's `student` would.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.gradescope.build import build_zip
from autograder.gradescope.results import gradescope_results
from autograder.release.stubs import SOLUTIONS
from autograder.results import CheckResult, StudentResult

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text(encoding="utf-8"))
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="running student code as another user needs root (as on Gradescope)")


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(pwd.getpwnam("nobody").pw_gid)
    os.setuid(pwd.getpwnam("nobody").pw_uid)


UNTESTED = ("untested: the worker runs as an unprivileged user, cannot signal or trace the grader, and cannot read "
            "the hidden suites (tests/test_gradescope.py)")


def _runs_as_nobody(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import torch, safetensors"], preexec_fn=_as_nobody, capture_output=True,
                              timeout=300).returncode == 0
    except OSError:  # the interpreter itself is out of that user's reach
        return False


def _readable_by_nobody(path: Path) -> bool:
    return subprocess.run(["test", "-r", str(path), "-a", "-x", str(path)], preexec_fn=_as_nobody).returncode == 0


@pytest.fixture(scope="module")
def python_for_student():
    """An interpreter the unprivileged user can execute, with this environment's packages.

    On Gradescope that is /autograder/venv (from the system Python). Here the venv's Python may
    live under /root (mode 700), and so may the whole clone (a newcomer's home folder): then a
    venv of the system Python of the same version is made outside /tmp (the sandbox hides /tmp)
    and given this environment's packages, hard-linked into a folder that user can read when
    they are out of its reach (no copy of the data, no change to the home folder's mode). The
    environment is checked before use; where none can be made, the tests say what went untested.
    """
    if _runs_as_nobody(sys.executable):
        yield sys.executable
        return
    base = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/usr/local/bin")
    if base is None:
        pytest.skip(f"no interpreter the unprivileged user can run; {UNTESTED}")
    venv = Path(tempfile.mkdtemp(prefix="cnn_rnn_gs_venv_", dir="/var/tmp"))
    try:
        subprocess.run([base, "-m", "venv", "--without-pip", "--clear", str(venv)], check=True)
        site = next(venv.glob("lib/python*/site-packages"))
        here = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "torch").is_dir())
        if not _readable_by_nobody(here):
            linked = venv / "linked-site-packages"
            done = subprocess.run(["cp", "-al", str(here), str(linked)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"the virtual environment is not readable by nobody and cannot be hard-linked to where it is "
                            f"({done.stderr.strip()[:200]}); {UNTESTED}")
            here = linked
        (site / "cnn_rnn_env.pth").write_text(f"import site; site.addsitedir({str(here)!r})\n")
        os.chmod(venv, 0o755)
        python = str(venv / "bin" / "python")
        if not _runs_as_nobody(python):
            pytest.skip(f"the virtual environment is not readable by nobody (import torch failed as nobody); {UNTESTED}")
        yield python
    finally:
        shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return build_zip(tmp_path_factory.mktemp("zip") / "autograder.zip")


def make_root() -> Path:
    # Not pytest's tmp_path: its parent is mode 700, and the student's user must reach the tree.
    root = Path(tempfile.mkdtemp(prefix="cnn_rnn_gs_root_"))
    os.chmod(root, 0o755)
    return root


def lay_out(zip_path: Path, submission: dict[str, str | bytes], root: Path | None = None) -> Path:
    """/autograder as Gradescope lays it out: the autograder zip in source/, the hand-in in submission/."""
    root = root or make_root()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for script in ("run_autograder", "setup.sh"):
        os.chmod(root / "source" / script, 0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, data in submission.items():
        path = root / "submission" / name
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data, encoding="utf-8")
    return root


def run_script(root: Path, python: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GRADESCOPE_ROOT": str(root), "CNN_RNN_PYTHON": python, "CNN_RNN_PARTS": "part1", **env}
    return subprocess.run([str(root / "run_autograder")], env=full_env, capture_output=True, text=True, timeout=300)


def run_autograder(zip_path: Path, submission: dict[str, str | bytes], python: str, root: Path | None = None,
                   **env: str) -> tuple[dict, str, Path]:
    """Lay out /autograder as Gradescope does and run the real run_autograder script."""
    root = lay_out(zip_path, submission, root)
    done = run_script(root, python, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, SCHEMA)
    return results, done.stdout, root


def test_zip_layout(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in infos, "Gradescope needs both scripts at the zip root"
        assert (infos[script].external_attr >> 16) & 0o111, f"{script} is executable"
    names = set(infos)
    assert {"autograder/suites/hidden/test_part1.py", "reference/resnet.py", "assignments/cnn_rnn/data.py",
            "autograder/gradescope/run.py", "pyproject.toml", "README.md"} <= names
    assert not any(n.startswith(("solutions/", "tests/", "examples/", "autograder/demo/")) or "__pycache__" in n for n in names)
    assert build_zip(tmp_path / "again.zip").read_bytes() == autograder_zip.read_bytes(), "the same tree gives the same zip"


def test_results_mapping_follows_the_schema():
    checks = [
        CheckResult("part1.a", "part1", 2.0, 2.0, "passed", "", title="A"),
        CheckResult("part1.b", "part1", 0.0, 3.0, "timeout", "超时", title="B"),
    ]
    public = [CheckResult("part1.p", "part1", 1.0, 1.0, "error", "坏了", visibility="public", title="P")]
    data = gradescope_results(StudentResult("s", checks), public, 3.2)
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 2.0 and data["stdout_visibility"] == "hidden"
    assert [(t["status"], t["visibility"], t["max_score"]) for t in data["tests"]] == [
        ("passed", "after_published", 2.0), ("failed", "after_published", 3.0), ("failed", "visible", 0.0)]
    with pytest.raises(jsonschema.ValidationError):  # the schema is not vacuous
        jsonschema.validate({**data, "tests": [{**data["tests"][0], "status": "error"}]}, SCHEMA)


@needs_root
def test_full_solution_scores_full_marks(autograder_zip, python_for_student):
    from autograder.catalog import checks_of

    part1_max = sum(m.points for m in checks_of("hidden") if m.group == "part1")
    results, stdout, root = run_autograder(
        autograder_zip, {"part1_resnet.py": (SOLUTIONS / "part1_resnet.py").read_text(encoding="utf-8")},
        python_for_student, CNN_RNN_RUN_AS="nobody")
    try:
        assert f"grader: {root / 'source' / 'autograder'}" in stdout, "the zip's own grader ran"
        assert "student code runs as uid 65534" in stdout
        assert results["score"] == part1_max > 0
        hidden = [t for t in results["tests"] if t["visibility"] == "after_published"]
        public = [t for t in results["tests"] if t["visibility"] == "visible"]
        assert sum(t["max_score"] for t in hidden) == part1_max and all(t["status"] == "passed" for t in hidden)
        assert public and all(t["status"] == "passed" and t["max_score"] == 0 for t in public)
        assert results["stdout_visibility"] == "hidden"
        assert oct((root / "source" / "autograder" / "suites" / "hidden").stat().st_mode & 0o777) == "0o700"
    finally:
        shutil.rmtree(root, ignore_errors=True)


SPY = """import os
def _spy():
    try:
        open({hidden!r}).read()
        readable = "yes"
    except OSError as exc:
        readable = "no:" + type(exc).__name__
    return f"SPY uid={{os.getuid()}} hidden_readable={{readable}}"
raise RuntimeError(_spy())
"""


@needs_root
def test_student_code_runs_unprivileged_and_cannot_read_hidden_tests(autograder_zip, python_for_student):
    """Without bubblewrap only the uid keeps the hidden suite secret: the spy reports both."""
    root = make_root()
    spy = SPY.format(hidden=str(root / "source" / "autograder" / "suites" / "hidden" / "test_part1.py"))
    results, _, _ = run_autograder(autograder_zip, {"part1_resnet.py": spy}, python_for_student, root=root,
                                   CNN_RNN_RUN_AS="nobody", CNN_RNN_NO_SANDBOX="1")
    try:
        messages = "\n".join(t["output"] for t in results["tests"])
        assert "SPY uid=65534 " in messages, messages[:500]
        assert "hidden_readable=no:PermissionError" in messages
        assert "NOT SANDBOXED" in results["extra_data"]["sandbox"] and results["score"] == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


@needs_root
def test_corrupt_upload_still_gets_results(autograder_zip, python_for_student):
    results, _, root = run_autograder(autograder_zip, {"s1_cnn_rnn.zip": b"PK\x03\x04 not really"}, python_for_student,
                                      CNN_RNN_RUN_AS="nobody")
    shutil.rmtree(root, ignore_errors=True)
    assert results["score"] == 0 and "无法打开压缩包" in results["output"]
    assert all(t["status"] == "failed" and t["visibility"] == "after_published" for t in results["tests"])


PARENT_ATTACKS = """

import ctypes as _ctypes
import os as _os
import signal as _signal

for _attack in (
    lambda: _os.kill(_os.getppid(), _signal.SIGSTOP),
    lambda: _os.kill(_os.getppid(), _signal.SIGKILL),
    lambda: _ctypes.CDLL(None, use_errno=True).ptrace(16, _os.getppid(), 0, 0),  # PTRACE_ATTACH
    lambda: open(f"/proc/{_os.getppid()}/mem", "r+b"),
):
    try:
        _attack()
    except OSError:
        pass
"""


@needs_root
@pytest.mark.parametrize("sandbox", ["bubblewrap", "uid only"])
def test_student_code_cannot_stop_kill_or_trace_the_grader(autograder_zip, python_for_student, sandbox):
    """The worker's parent is the root-owned grader: signals, ptrace and /proc/<ppid>/mem from the
    `student` uid all fail, so the grader finishes and the (otherwise correct) code scores full."""
    from autograder.catalog import checks_of

    part1_max = sum(m.points for m in checks_of("hidden") if m.group == "part1")
    code = (SOLUTIONS / "part1_resnet.py").read_text(encoding="utf-8") + PARENT_ATTACKS
    env = {"CNN_RNN_RUN_AS": "nobody", **({"CNN_RNN_NO_SANDBOX": "1"} if sandbox == "uid only" else {})}
    results, stdout, root = run_autograder(autograder_zip, {"part1_resnet.py": code}, python_for_student, **env)
    shutil.rmtree(root, ignore_errors=True)
    assert results["score"] == part1_max > 0, stdout[-2000:]


def test_a_grader_error_is_no_score(autograder_zip, python_for_student):
    """A broken hidden suite (the grader's fault): run_autograder exits non-zero and writes no
    results.json, so Gradescope shows that the autograder failed instead of a 0."""
    root = lay_out(autograder_zip, {"part1_resnet.py": (SOLUTIONS / "part1_resnet.py").read_text(encoding="utf-8")})
    try:
        suite = root / "source" / "autograder" / "suites" / "hidden" / "test_part1.py"
        suite.write_text(suite.read_text(encoding="utf-8") + '\nraise RuntimeError("a broken suite")\n', encoding="utf-8")
        done = run_script(root, python_for_student, CNN_RNN_RUN_AS="nobody")
        assert done.returncode != 0
        assert not (root / "results" / "results.json").exists()
        assert "grader error" in done.stderr and "a broken suite" in done.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)

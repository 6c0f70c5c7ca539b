"""The stubs are generated from the solutions, and the student bundle holds nothing secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.release import stubs
from autograder.release.bundle import build_bundle

REPO = Path(__file__).resolve().parents[1]
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def test_assignments_match_release_output():
    assert stubs.drift() == [], "run `python -m autograder release-stubs` and commit assignments/"


def test_marker_errors_are_reported():
    with pytest.raises(stubs.MarkerError, match="without"):
        stubs.strip_solutions("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(stubs.MarkerError, match="without"):
        stubs.strip_solutions("def f():\n    return 1\n    ### END SOLUTION\n")


def test_stub_keeps_hints_and_names_the_function():
    src = "class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        # HINT: 用 torch.topk\n        return 1\n        ### END SOLUTION\n"
    out = stubs.strip_solutions(src)
    assert "# 提示: 用 torch.topk" in out
    assert 'raise NotImplementedError("A.f 尚未实现 (not implemented)")' in out
    assert "return 1" not in out


def _normalized(text: str) -> str:
    return "\n".join(ln.strip() for ln in text.splitlines() if ln.strip())


def _solution_snippets() -> list[str]:
    """Every pair of consecutive lines of every solution region. A single generic line
    (`return out`, `counts: dict[str, int] = {}`) also occurs in honest code; two consecutive
    answer lines in a shipped file are a leak."""
    given = _normalized("\n".join(p.read_text(encoding="utf-8") for p in (REPO / "assignments" / "cnn_rnn").glob("*.py")))
    snippets = []
    for path in (REPO / "solutions" / "cnn_rnn").glob("*.py"):
        for region in SOLUTION_REGION.findall(path.read_text(encoding="utf-8")):
            lines = [ln for ln in _normalized(region).splitlines() if not ln.startswith("# HINT")]
            snippets += ["\n".join(pair) for pair in zip(lines, lines[1:]) if len("".join(pair)) >= 30]
    # Pairs the given code itself contains (a training loop's zero_grad/backward) are no leak.
    return [s for s in snippets if s not in given]


def test_bundle_contains_no_secrets(tmp_path: Path):
    bundle = build_bundle(tmp_path / "bundle")
    files = [p for p in bundle.rglob("*") if p.is_file()]
    rel = [str(p.relative_to(bundle)) for p in files]
    assert "cnn_rnn/part1_resnet.py" in rel and "autograder/cli.py" in rel
    assert not any(r.startswith("reference") for r in rel), "reference implementation shipped"
    assert not any("suites/hidden" in r for r in rel), "hidden suite shipped"
    assert not any(r.endswith((".safetensors", ".pt", ".pth", ".npz")) for r in rel), "cached expectations or weights shipped"
    text = _normalized("\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files))
    assert "### BEGIN SOLUTION" not in text
    assert "from reference" not in text and "import reference" not in text
    leaked = [s for s in _solution_snippets() if s in text]
    assert leaked == [], f"solution lines found in the bundle: {leaked[:5]}"


def test_bundle_refuses_non_empty_folder(tmp_path: Path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_bundle(tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_bundle_runs_on_its_own(tmp_path: Path):
    """The student commands work from the bundle alone, not from this repository's install."""
    import subprocess
    import sys

    bundle = build_bundle(tmp_path / "bundle")
    isolate = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
        f"sys.path.insert(0, {str(bundle)!r}); import autograder; assert autograder.__file__.startswith({str(bundle)!r}); "
        "from autograder.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    verbs = subprocess.run([sys.executable, "-c", isolate, "--help"], cwd=bundle, capture_output=True, text=True)
    assert verbs.returncode == 0, verbs.stderr
    assert "check" in verbs.stdout and "submit" in verbs.stdout
    assert all(v not in verbs.stdout for v in ("grade ", "release", "gradescope", "nbgrader"))
    run = subprocess.run([sys.executable, "-c", isolate, "check", "part3"], cwd=bundle, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(bundle)})
    assert run.returncode == 1, run.stderr[-2000:]
    assert "尚未实现" in run.stdout and "隐藏测试" in run.stdout


def test_bundle_commands_ignore_an_installed_instructor_package(tmp_path: Path):
    """A student who also has this repository installed in editable mode (the same environment)
    still gets the bundle's own verbs, and `check` runs."""
    import subprocess
    import sys

    bundle = build_bundle(tmp_path / "bundle")
    verbs = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=bundle, capture_output=True, text=True)
    assert verbs.returncode == 0, verbs.stderr[-2000:]
    assert "check" in verbs.stdout and "grade " not in verbs.stdout
    run = subprocess.run([sys.executable, "-m", "autograder", "check", "part3"], cwd=bundle, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 1 and "尚未实现" in run.stdout, run.stderr[-2000:]

"""No points for doing nothing, no answer sent to the worker, no stale expectation.

* The do-nothing family of the audit (autograder/audit/trivial.py): the stubs with one graded
  function given a trivial body. A fixed set of such bodies, the ones that used to earn points
  among them, is graded here and must earn 0 points (`autograder audit --family do-nothing` grades
  the whole family: docs/AUDIT.md).
* No tensor that a check sends to a worker equals an expected value of that check.
* The expectation cache's key hashes every file whose code computes an expectation: editing a
  probe helper recomputes.
"""

from __future__ import annotations

import ast
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from autograder.audit.regions import all_regions
from autograder.audit.report import write_report
from autograder.audit.run import DO_NOTHING, do_nothing_mutants, run_audit
from autograder.audit.trivial import BODIES, INIT_BODIES
from autograder.release.stubs import ASSIGNMENTS
from autograder.runtime.assignment import REPO

# (graded function, do-nothing body). The first eight earned a point each before issue 21 (its
# table); the others earned points when the family was first run (a "zeros of the answer" that
# passes a property check, a copy that is left alone) or are the obvious lazy answer of their
# function. Every body of every function is graded by `autograder audit --family do-nothing`.
FAST_SET = (
    ("projection_shortcut", "return-none"),
    ("receptive_field", "return-one"),
    ("truncate_backbone", "return-deepcopy"),
    ("extract_features", "return-zeros-1"),
    ("stamp_watermark", "return-first-arg"),
    ("clm_loss", "return-sum-times-zero"),
    ("cosine_topk", "zeros-of-answer"),  # all-zero scores and indices of the right shape: descending and errors
    ("receptive_field", "zeros-of-answer"),
    ("extract_features", "zeros-of-answer"),
    ("stamp_watermark", "return-clone"),
    ("stamp_watermark", "zeros-of-answer"),
    ("unfreeze", "zeros-of-answer"),
    ("make_head", "zeros-of-answer"),
    ("freeze", "return-first-arg"),
)


@pytest.fixture(scope="module")
def family():
    return do_nothing_mutants()


def test_the_family_gives_every_graded_function_trivial_bodies(family):
    found = family
    by_function = defaultdict(set)
    for m, _ in found:
        by_function[(m.part, m.function)].add(m.kind.split(":", 1)[1])
    regions = all_regions()
    assert set(by_function) == {(r.part, r.function) for r in regions}
    issue = {"return-none", "return-first-arg", "return-deepcopy", "return-clone", "return-zeros-like-arg",
             "zeros-of-answer", "return-one", "return-sum-times-zero", "return-empty-list"}  # issue 21's list
    for (part, function), kinds in by_function.items():
        expected = {n for n, _ in INIT_BODIES} if function.endswith("__init__") else {n for n, _ in BODIES}
        assert kinds == expected, (function, expected - kinds)
        if not function.endswith("__init__"):
            assert issue <= kinds
    assert {(f, k) for f, k in FAST_SET} <= {(m.function, m.kind.split(":", 1)[1]) for m, _ in found}


def test_a_do_nothing_mutant_is_the_stubs_with_one_function_changed(family):
    stubs = {}
    regions = all_regions()
    for m, region in family:
        stub = stubs.setdefault(m.file, (ASSIGNMENTS / m.file).read_text(encoding="utf-8"))
        # Every other graded function of the file still raises NotImplementedError.
        others = [r.function for r in regions if r.file == m.file and r.function != m.function]
        for name in others:
            assert f'raise NotImplementedError("{name} 尚未实现' in m.source, (m.id, name)
        assert f'raise NotImplementedError("{m.function} 尚未实现' not in m.source
        assert m.source != stub


def test_trivial_bodies_earn_no_points(tmp_path):
    """The fixed set, graded with the real batch grader in one batch over the parts concerned, the
    untouched stubs as the control that must score 0: every point earned would be a free point.
    (The solution's full marks, the other control of `autograder audit`, is
    tests/test_examples.py::test_solution_scores_100: grading it again here would double the time.)"""
    result = run_audit(tmp_path, families=(DO_NOTHING,), functions=tuple(sorted({f for f, _ in FAST_SET})),
                       do_nothing_pairs=FAST_SET, jobs=2, quiet=True, one_batch=True, solution_control=False)
    summary = write_report(tmp_path, result)
    dn = summary["do_nothing"]
    assert dn["mutants"] == len(FAST_SET)
    assert dn["free_points"] == 0, f"checks that give points to code that does nothing: {dn['checks']}"
    assert "free points: 0" in (tmp_path / "audit.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- expected values stay here


# (check, sent tensor, expected value) that are equal by design, each with its reason.
EXPECTED_EQUALS_INPUT = {
    # which = [False, False, False]: nothing is stamped, the expected output is the input itself
    # (the check's other case, which stamps, is what a function returning its input fails).
    ("part2.watermark_selected_images", "part2.stamp_watermark:images.1", "part2.watermark.selected.20261.1[out]"),
}


def test_no_tensor_sent_to_a_worker_equals_an_expected_value_of_its_check(monkeypatch):
    """Every hidden check, run on the solution with a worker that records what it is sent and a
    `cached` that records what it returns (expected values; `cached_inputs` are inputs): no sent
    tensor equals one of those expected values."""
    from autograder.catalog import check_functions
    from autograder.config import GradingConfig
    from autograder.expect import cached as real_cached
    from autograder.launch.worker import Worker

    expected: list[tuple[str, torch.Tensor]] = []
    sent: list[tuple[str, torch.Tensor]] = []

    def recording_cached(key, compute):
        values = real_cached(key, compute)
        expected.extend((f"{key}[{k}]", v) for k, v in values.items())
        return values

    class RecordingWorker:
        def __init__(self, worker):
            self._worker = worker

        def __getattr__(self, name):
            return getattr(self._worker, name)

        def call(self, probe, args=None, tensors=None, *, shared=None, **kw):
            for source in (tensors or {}, shared or {}):
                sent.extend((f"{probe}:{k}", v) for k, v in source.items())
            return self._worker.call(probe, args, tensors, shared=shared, **kw)

    checks = check_functions("hidden")
    for fn in checks:
        if "cached" in fn.__globals__:
            monkeypatch.setitem(fn.__globals__, "cached", recording_cached)
    leaks, failed = [], []
    with Worker(REPO / "solutions" / "cnn_rnn", GradingConfig()) as worker:
        recorder = RecordingWorker(worker)
        for fn in checks:
            expected.clear()
            sent.clear()
            try:
                fn(recorder)
            except Exception as exc:  # the solution passes every check: anything else is a finding
                failed.append((fn.__check__.name, f"{type(exc).__name__}: {str(exc)[:200]}"))
            for what, t in sent:
                for name, e in expected:
                    if t.shape == e.shape and t.dtype == e.dtype and torch.equal(t, e):
                        leaks.append((fn.__check__.name, what, name))
    assert not failed
    leaks = [leak for leak in leaks if leak not in EXPECTED_EQUALS_INPUT]
    assert not leaks, f"expected values sent to the worker: {leaks}"


# --------------------------------------------------------------------------- the cache key


def _copy_hashed(dest: Path) -> None:
    from autograder.expect import hashed_files

    for path in hashed_files(REPO):
        target = dest / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def test_editing_a_probe_helper_recomputes_the_expectation(tmp_path, monkeypatch):
    import autograder.expect as expect

    repo = tmp_path / "repo"
    _copy_hashed(repo)
    assert expect.version_of(repo) == expect.version_of(REPO)
    monkeypatch.setenv("CNN_RNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(expect, "assignment_version", lambda: expect.version_of(repo))
    calls = []

    def compute():
        calls.append(1)
        return {"out": torch.ones(2)}

    expect.cached("test.helper", compute)
    expect._memory.clear()
    expect.cached("test.helper", compute)
    assert len(calls) == 1  # read back from the cache

    # A probe helper the suites build models with (part 2's small_backbone), edited.
    helper = repo / "autograder" / "runtime" / "probes" / "part2.py"
    helper.write_text(helper.read_text(encoding="utf-8").replace("nn.Conv2d(3, 8, 3", "nn.Conv2d(3, 8, 5"), encoding="utf-8")
    before = expect.version_of(REPO)
    assert expect.version_of(repo) != before
    expect.cached("test.helper", compute)
    assert len(calls) == 2  # a new version: recomputed, never the old value


@pytest.mark.parametrize("rel", ["autograder/checks.py", "autograder/runtime/probes/part5.py", "reference/retrieval.py",
                                 "autograder/suites/inputs.py", "autograder/threads.py", "assignments/cnn_rnn/data.py"])
def test_each_source_of_an_expectation_is_in_the_key(tmp_path, rel):
    from autograder.expect import version_of

    repo = tmp_path / "repo"
    _copy_hashed(repo)
    before = version_of(repo)
    path = repo / rel
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert version_of(repo) != before


# Project modules the suites or the reference import that compute no expected value.
NOT_HASHED = {
    "autograder.delegation": "declarations for expect_own_work, decided from the submission's source",
    "autograder.runtime.wire": "ProbeResult, a type the checks read results from",
    "autograder.runtime.assignment": "given_files(): a path; the given files it names are hashed",
}


def _project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return {n for n in names if n.split(".")[0] in ("autograder", "reference")}


def test_every_project_module_the_suites_import_is_hashed():
    from autograder.expect import hashed_files

    hashed = {p.relative_to(REPO).as_posix() for p in hashed_files(REPO)}
    sources = [*(REPO / "autograder" / "suites").rglob("*.py"), *(REPO / "reference").rglob("*.py"),
               *(REPO / "autograder" / "runtime" / "probes").rglob("*.py")]
    unhashed = set()
    for path in sources:
        for module in _project_imports(path):
            rel = module.replace(".", "/")
            if f"{rel}.py" not in hashed and f"{rel}/__init__.py" not in hashed and module not in NOT_HASHED:
                unhashed.add((path.relative_to(REPO).as_posix(), module))
    assert not unhashed, f"modules that may compute expectations but are not in expect.SOURCES: {sorted(unhashed)}"

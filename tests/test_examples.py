"""Every realistic wrong submission loses exactly the points of the checks aimed at its bug;
the solution scores 100, the stubs 0 with "not implemented" feedback on every check, and the
correct variants written differently from the solution (examples/correct_variants/) 100: the
false-failure guard, bundled into few submissions so that it costs one more grading."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from autograder.catalog import checks_of

from autograder.examples import VARIANTS, build_examples, mutants, variant_bundles
from autograder.grade.batch import grade_all
from autograder.runtime.assignment import part_of

MUTANTS = {m.name: m for m in mutants()}
BUNDLES = variant_bundles()


def _by_part() -> dict[str, list[str]]:
    parts: dict[str, list[str]] = defaultdict(list)
    for m in MUTANTS.values():
        parts[part_of(m.file)].append(m.name)
    return parts


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution, the stubs and the bundles of correct variants on every part; each wrong
    submission on its own part only (it differs from the solution in that part's file alone, and
    every check a wrong example lists belongs to that part: test_listed_checks_belong_to_the_part)."""
    root = tmp_path_factory.mktemp("examples")
    full = build_examples(root / "full", ["solution", "stubs"], variants=True)
    results = {r.student: r for r in grade_all(full, root / "out-full", quiet=True)}
    for part, names in sorted(_by_part().items()):
        subs = build_examples(root / part, names)
        results.update({r.student: r for r in grade_all(subs, root / f"out-{part}", quiet=True, parts=(part,))})
    return results


def test_listed_checks_belong_to_the_part():
    assert {name: m.fails for name, m in MUTANTS.items() if any(f.split(".")[0] != part_of(m.file) for f in m.fails)} == {}


def test_hidden_suite_totals_100():
    metas = checks_of("hidden")
    assert sum(m.points for m in metas) == 100
    assert len({m.name for m in metas}) == len(metas)
    assert all(m.title and m.points > 0 for m in metas)


def test_at_least_15_realistic_wrong_submissions():
    assert len(MUTANTS) >= 15


def test_solution_scores_100(graded):
    r = graded["solution"]
    assert r.total == 100, [(c.check, c.status, c.message) for c in r.checks if c.status != "passed"]


def test_stubs_score_0_with_not_implemented_feedback(graded):
    r = graded["stubs"]
    assert r.total == 0
    assert all("尚未实现" in c.message for c in r.checks), [(c.check, c.message) for c in r.checks if "尚未实现" not in c.message]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_wrong_submission_fails_exactly_its_checks(graded, name):
    r = graded[name]
    failed = sorted(c.check for c in r.checks if c.status != "passed")
    assert failed == sorted(MUTANTS[name].fails), {c.check: c.message for c in r.checks if c.status != "passed"}
    assert r.total == r.max_total - sum(c.max_score for c in r.checks if c.check in MUTANTS[name].fails)


def test_at_least_12_correct_variants_over_all_five_parts():
    variants = mutants(VARIANTS)
    assert len(variants) >= 12
    assert set(Counter(v.file.split("_", 1)[0] for v in variants)) == {f"part{i}" for i in range(1, 6)}
    assert all(not v.fails for v in variants)


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_correct_variants_score_100(graded, bundle):
    r = graded[bundle]
    lost = {c.check: c.message[:300] for c in r.checks if c.status != "passed"}
    assert r.total == 100, (f"correct variants {[v.name for v in BUNDLES[bundle]]} lose points", lost)


@pytest.mark.parametrize("name, call", [("delegates_lstm_cell", "torch.lstm_cell"),
                                        ("delegates_basic_block", "torchvision.models.resnet.BasicBlock.forward")])
def test_delegation_feedback_names_the_call_and_the_line(graded, name, call):
    messages = [c.message for c in graded[name].checks if c.status != "passed"]
    assert messages and all(call in m and re.search(r"第 \d+ 行", m) for m in messages), messages


def test_same_results_whatever_the_number_of_workers(graded, tmp_path):
    """The solution, the stubs and the correct-variant bundles were graded above by 2 processes,
    each with a warm fork server and suites loaded once; a serial run (one process, `-j 1`) gives
    the same rows, score and message, check by check, on every part."""
    subs = build_examples(tmp_path / "subs", ["solution", "stubs"], variants=True)
    serial = {r.student: r for r in grade_all(subs, tmp_path / "out", jobs=1, quiet=True)}
    assert sorted(serial) == sorted(["solution", "stubs", *BUNDLES])
    for name in serial:
        assert [c.to_dict() for c in serial[name].checks] == [c.to_dict() for c in graded[name].checks], name

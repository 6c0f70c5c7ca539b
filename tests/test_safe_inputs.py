"""Inputs near a decision boundary are chosen on the trusted side (autograder/suites/inputs.py).

Every boundary-sensitive hidden check takes the first candidate of a fixed list whose margin is
safe under the running torch, with the reference, at expectation time. Here: every such check is
registered; a candidate forced unsafe is skipped (the next one is taken, the solution still earns
the check); and a check with no safe candidate is a grader fault (SuiteError: nothing recorded,
no student's 0), never an `error` charged to the submission.
"""

from __future__ import annotations

import pytest
import torch

import autograder.expect as expect
import autograder.suites.inputs as inputs
from autograder.catalog import check_functions
from autograder.checks import GraderInputError
from autograder.config import GradingConfig
from autograder.runtime.assignment import REPO

# The hidden checks whose expected value sits near a decision boundary (a sampled token, an argmax,
# a top-k cut or order, a grader-side contrast), each with its margin test (docs/REPRODUCIBILITY.md).
BOUNDARY_CHECKS = {
    "part4.generate_greedy": "argmax gap between the top two logits >= 1e-3 at every step",
    "part4.generate_temperature": "relative gap between the two best p / q of torch.multinomial's draw >= 1e-3 at every step; "
                                  "a decoder that forgets (h, c) draws another token, clearly",
    "part4.word_order_invariance": "the reference h_T moves by > 1e-3 under the permutation",
    "part5.cosine_topk_values": "k-th and (k+1)-th reference cosines > 10 * SCORE_ATOL apart",
    "part5.cosine_topk_scale_invariance": "k-th and (k+1)-th reference cosines > 10 * SCORE_ATOL apart",
    "part5.cosine_topk_chunking": "k-th and (k+1)-th reference cosines > 10 * SCORE_ATOL apart",
    "part5.cosine_topk_large_gallery": "k-th and (k+1)-th reference cosines > 10 * SCORE_ATOL apart",
    "part5.search": "every two neighbours of the top k + 1 > 10 * SCORE_ATOL apart (names are compared in order)",
}
SOLUTION = REPO / "solutions" / "cnn_rnn"


@pytest.fixture(scope="module")
def hidden():
    """The hidden checks by name (importing the suites registers their candidates)."""
    return {fn.__check__.name: fn for fn in check_functions("hidden")}


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """Expectations computed anew (an empty cache), and no candidate forced unsafe afterwards."""
    monkeypatch.setenv("CNN_RNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(expect, "_memory", {})
    yield
    inputs.FORCED_UNSAFE.clear()


def test_every_boundary_sensitive_check_chooses_its_inputs(hidden):
    assert set(inputs.SAFE_INPUTS) == set(BOUNDARY_CHECKS)
    assert set(BOUNDARY_CHECKS) <= set(hidden)
    for name, spec in inputs.SAFE_INPUTS.items():
        assert len(spec.candidates) >= 4 and len(set(map(repr, spec.candidates))) == len(spec.candidates), name


@pytest.mark.parametrize("name", sorted(BOUNDARY_CHECKS))
def test_an_unsafe_candidate_is_skipped_and_none_safe_is_a_grader_error(name, hidden, fresh_cache):
    spec = inputs.SAFE_INPUTS[name]
    first = spec.compute()
    index = int(first["choice"][0])
    inputs.FORCED_UNSAFE.add((name, index))
    second = spec.compute()
    assert int(second["choice"][0]) > index  # the unsafe one is skipped, the next safe one taken
    assert spec.chosen(second)[0] != spec.chosen(first)[0]
    inputs.FORCED_UNSAFE.update((name, i) for i in range(len(spec.candidates)))
    with pytest.raises(GraderInputError, match="no candidate is safe"):
        spec.compute()


def test_the_solution_earns_a_check_whose_chosen_candidate_is_unsafe(hidden, fresh_cache):
    """The sampling seeds this torch would choose forced unsafe: the check draws with later seeds,
    and the solution (any correct generate) still passes it."""
    from autograder.launch.worker import Worker
    from autograder.checks import outcome_of

    name = "part4.generate_temperature"
    natural = int(inputs.SAFE_INPUTS[name].compute()["choice"][0])
    inputs.FORCED_UNSAFE.add((name, natural))
    fn = hidden[name]
    with Worker(SOLUTION, GradingConfig()) as worker:
        try:
            fn(worker)
            error = None
        except Exception as exc:  # noqa: BLE001 - what the check concluded
            error = exc
    result = outcome_of(fn.__check__, error)
    assert result.status == "passed", result.message
    values = expect.cached(f"part4.sampled.{hidden[name].__globals__['SEED']}", inputs.SAFE_INPUTS[name].compute)
    assert int(values["choice"][0]) > natural


def test_no_safe_input_is_a_grader_fault_not_a_students_zero(hidden, fresh_cache, monkeypatch):
    """Every candidate unsafe: grading the solution records nothing (SuiteError, kind "suite";
    the batch's `grader_fault` outcome), instead of an `error` worth 0 on that check."""
    import autograder.grading as grading
    from autograder.grade.submission import grade_submission

    name = "part4.generate_temperature"
    spec = inputs.SAFE_INPUTS[name]
    inputs.FORCED_UNSAFE.update((name, i) for i in range(len(spec.candidates)))
    monkeypatch.setattr(grading, "check_functions", lambda suite, parts=None: [hidden[name]])
    config = GradingConfig(parts=("part4",))
    with pytest.raises(grading.SuiteError) as raised:
        grading.grade_folder("s1", SOLUTION, config)
    assert raised.value.kind == "suite" and name in str(raised.value)
    result = grade_submission(SOLUTION, "s1", config)
    assert result.outcome == "grader_fault" and result.checks == [] and "no candidate is safe" in result.problem


def test_the_sampling_margin_replays_torchs_draw():
    """The margin of a draw is measured on the very q ~ Exp(1) torch.multinomial used: the replay
    gives the drawn token (else the margin falls back to perturbing the probabilities)."""
    from autograder.suites.hidden import test_part4 as suite

    probs = torch.softmax(torch.randn(30, generator=torch.Generator().manual_seed(1)), dim=-1)
    gen = torch.Generator().manual_seed(5)
    for _ in range(20):
        state = gen.get_state()
        drawn = int(torch.multinomial(probs, 1, generator=gen))
        assert suite._draw_margin(probs, state, drawn) > 0

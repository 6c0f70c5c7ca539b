"""What the trusted side does with odd answers: NaN, wrong dtype, broadcasting shapes, a wrong
device, raised exceptions. The feedback says what was expected and what came back.

Failures are data too: each carries a kind (autograder.results.KINDS) and the hint given for that
kind only, so that a class graded for real (swapped LSTM gates, a changed signature, a missing
module) shows three causes in its class report, none of them the float64 check's dtype hint.
"""

from __future__ import annotations

import re
import shutil

import pytest
import torch

from autograder.checks import (
    CheckFailed,
    CheckMeta,
    ProbeFailed,
    expect_close,
    expect_true,
    require_ok,
)
from autograder.checks import outcome_of
from autograder.runtime.wire import ProbeResult
from autograder.results import KINDS, CheckResult

EXPECTED = torch.arange(6, dtype=torch.float32).reshape(2, 3)


def test_exact_match_passes():
    expect_close(EXPECTED.clone(), EXPECTED, "x")


@pytest.mark.parametrize(
    ("actual", "message"),
    [
        (torch.full((2, 3), float("nan")), "NaN/Inf"),
        (EXPECTED.double(), "dtype 应为 torch.float32，得到 torch.float64"),
        (EXPECTED[:1], "形状 (shape) 应为 [2, 3]，得到 [1, 3]"),  # would broadcast in a naive comparison
        (EXPECTED.T.contiguous(), "形状 (shape) 应为 [2, 3]，得到 [3, 2]"),
    ],
)
def test_odd_answers_fail_with_a_message(actual, message):
    with pytest.raises(CheckFailed, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        expect_close(actual, EXPECTED, "x")


def test_value_error_names_the_worst_element():
    actual = EXPECTED.clone()
    actual[1, 2] = 100.0
    with pytest.raises(CheckFailed) as info:
        expect_close(actual, EXPECTED, "out", hint="检查 ReLU 的位置")
    text = str(info.value)
    assert "(1, 2)" in text and "期望 5" in text and "得到 100" in text and "提示: 检查 ReLU 的位置" in text


def test_probe_failures_become_statuses():
    with pytest.raises(ProbeFailed) as info:
        require_ok(ProbeResult("timeout", error={"type": "Timeout", "message": "5 s"}))
    assert info.value.status == "timeout"
    with pytest.raises(ProbeFailed, match="尚未实现"):
        require_ok(ProbeResult("error", error={"type": "NotImplementedError", "message": "f 尚未实现 (not implemented)", "where": "p.py:3: raise"}))
    with pytest.raises(ProbeFailed, match="RuntimeError: Expected all tensors to be on the same device"):
        require_ok(ProbeResult("error", error={"type": "RuntimeError", "message": "Expected all tensors to be on the same device", "where": ""}))


def test_a_crashing_check_earns_nothing():
    meta = CheckMeta("part1.x", 2.0, "part1", "t", "", "hidden")
    result = outcome_of(meta, KeyError("missing"))
    assert result.status == "error" and result.score == 0 and result.message == "无法检查你的结果（KeyError: 'missing'）"


def test_inplace_autograd_error_gets_a_hint():
    err = {"type": "RuntimeError", "message": "one of the variables needed for gradient computation has been modified by an inplace operation", "where": ""}
    with pytest.raises(ProbeFailed, match="ReLU 在相加之后"):
        require_ok(ProbeResult("error", error=err))


HINT = "检查 dtype"
META = CheckMeta("part3.x", 1.0, "part3", "t", "", "hidden")


def _raised(result: ProbeResult, hint="") -> ProbeFailed:
    with pytest.raises(ProbeFailed) as info:
        require_ok(result, hint)
    return info.value


def test_a_probe_hint_explains_only_an_exception_of_the_function():
    crash = ProbeResult("crash", error={"type": "WorkerDied", "message": "signal 9"}, output="Killed")
    timeout = ProbeResult("timeout", error={"type": "Timeout", "message": "5 s"})
    stub = ProbeResult("error", error={"type": "NotImplementedError", "message": "f 尚未实现 (not implemented)", "where": "p.py:3: raise"})
    missing = ProbeResult("error", error={"type": "ModuleNotFoundError", "message": "No module named 'cnn_rnn.part3_lstm'", "where": "", "at": "import"})
    at_import = ProbeResult("error", error={"type": "SyntaxError", "message": "invalid syntax (part3_lstm.py, line 7)", "where": "", "at": "import"})
    raised = ProbeResult("error", error={"type": "RuntimeError", "message": "expected m1 and m2 to have the same dtype", "where": "p.py:9: h @ w"})
    kinds = {name: _raised(r, HINT) for name, r in
             {"crash": crash, "timeout": timeout, "not_implemented": stub, "missing_file": missing, "import_error": at_import, "exception": raised}.items()}
    for kind, exc in kinds.items():
        assert exc.kind == kind
        assert (HINT in str(exc)) == (kind == "exception") and exc.hint == (HINT if kind == "exception" else "")
    assert "RuntimeError" in str(kinds["exception"]) and "SyntaxError" in str(kinds["import_error"])  # the type stays in the message
    assert kinds["timeout"].status == "timeout" and kinds["crash"].status == "error"


def test_a_comparison_hint_per_kind():
    hints = {"wrong_dtype": HINT, "wrong_value": "检查门控公式"}
    with pytest.raises(CheckFailed) as info:
        expect_close(EXPECTED.double(), EXPECTED, "x", hint=hints)
    assert (info.value.kind, info.value.hint) == ("wrong_dtype", HINT)
    wrong = EXPECTED.clone()
    wrong[0, 0] = 9.0
    with pytest.raises(CheckFailed) as info:
        expect_close(wrong, EXPECTED, "x", hint=hints)
    assert (info.value.kind, info.value.hint) == ("wrong_value", "检查门控公式") and HINT not in str(info.value)
    with pytest.raises(CheckFailed) as info:
        expect_close(EXPECTED[:1], EXPECTED, "x", hint=hints)  # no hint for a wrong shape here
    assert (info.value.kind, info.value.hint) == ("wrong_shape", "") and "提示" not in str(info.value)
    with pytest.raises(CheckFailed) as info:
        expect_close(torch.full((2, 3), float("nan")), EXPECTED, "x", hint="一个提示")  # a plain hint: every kind
    assert (info.value.kind, info.value.hint) == ("nan", "一个提示")
    with pytest.raises(CheckFailed) as info:
        expect_true(False, "改了输入", "先 clone", kind="modified_input")
    assert (info.value.kind, info.value.hint) == ("modified_input", "先 clone")


def test_results_carry_the_kind_and_hint():
    with pytest.raises(CheckFailed) as info:
        expect_close(EXPECTED.double(), EXPECTED, "x", hint=HINT)
    failed = outcome_of(META, info.value)
    assert (failed.status, failed.kind, failed.hint) == ("failed", "wrong_dtype", HINT) and failed.message.endswith(f"提示: {HINT}")
    timeout = outcome_of(META, _raised(ProbeResult("timeout", error={"type": "Timeout", "message": "5 s"}), HINT))
    assert (timeout.status, timeout.kind, timeout.hint) == ("timeout", "timeout", "")
    assert outcome_of(META, KeyError("k")).kind == "grader_error" and outcome_of(META, None).kind == ""
    again = CheckResult.from_dict(failed.to_dict())
    assert again == failed
    old = {k: v for k, v in failed.to_dict().items() if k not in ("kind", "hint")}  # stored before kinds existed
    assert (CheckResult.from_dict(old).kind, CheckResult.from_dict(old).hint) == ("", "")
    with pytest.raises(ValueError, match="unknown failure kind"):
        CheckResult("part3.x", "part3", 0.0, 1.0, "failed", "m", kind="wrong")
    assert len(set(KINDS)) == len(KINDS)


# --------------------------------------------------------------------------- a class graded for real

DTYPE_HINT = "不要用 torch.zeros(B, H)（默认 float32）"  # part3.lstm_cell_float64_sequence's hint for a dtype clash


@pytest.fixture(scope="module")
def three_mistakes(tmp_path_factory):
    """Part 3 graded for a class: swapped gates (gus), build_vocab without max_size (sig), no
    part3_lstm.py (mis), and a float32 zero state (zed), whose dtype hint is the control."""
    from autograder.cli import main
    from autograder.examples import build_examples

    root = tmp_path_factory.mktemp("three")
    built = build_examples(root / "built", ["solution", "p3_gate_order_f_i_swapped", "p3_zero_state_float32"])
    subs = root / "subs"
    shutil.copytree(built / "p3_gate_order_f_i_swapped", subs / "gus")
    shutil.copytree(built / "p3_zero_state_float32", subs / "zed")
    shutil.copytree(built / "solution", subs / "sig")
    source = (subs / "sig" / "part3_lstm.py").read_text(encoding="utf-8")
    signature = "min_freq: int = 1, max_size: int | None = None) -> Vocab:"
    assert signature in source
    (subs / "sig" / "part3_lstm.py").write_text(source.replace(signature, "min_freq: int = 1) -> Vocab:"), encoding="utf-8")
    shutil.copytree(built / "solution", subs / "mis")
    (subs / "mis" / "part3_lstm.py").unlink()
    out = root / "out"
    assert main(["grade", str(subs), "--out", str(out), "--part", "part3", "-j", "2", "-q"]) == 0
    return out


def _causes(page: str) -> list[tuple[str, str, set[str]]]:
    """(kind, text, students linked) of every cause in class_report.html."""
    found = []
    for m in re.finditer(r"<div class='cause' data-kind='([a-z_]*)'>(.*?)</div>", page, re.S):
        found.append((m.group(1), m.group(2), set(re.findall(r"href='feedback/([^']+)\.html'", m.group(2)))))
    return found


@pytest.mark.slow
def test_three_mistakes_are_three_causes_without_the_dtype_hint(three_mistakes):
    page = (three_mistakes / "class_report.html").read_text(encoding="utf-8")
    causes = _causes(page)
    kinds = {student: {kind for kind, _, who in causes if student in who} for student in ("gus", "sig", "mis", "zed")}
    assert kinds["gus"] == {"wrong_value"}  # the four LSTMCell checks
    assert kinds["sig"] == {"exception"}  # TypeError in both build_vocab checks
    assert kinds["mis"] in ({"not_implemented"}, {"missing_file"})  # graded as the stub (or as missing): one line for the part
    for _, text, who in causes:
        assert len(who & {"gus", "sig", "mis"}) <= 1, text  # never two of them under one cause
        if who & {"gus", "sig", "mis"}:
            assert DTYPE_HINT not in text
    # The hint is still given where it explains the failure: a float32 state clashing with float64.
    zed = [(kind, text) for kind, text, who in causes if "zed" in who]
    assert [kind for kind, _ in zed] == ["exception"] and DTYPE_HINT in zed[0][1]
    summary = (three_mistakes / "summary.md").read_text(encoding="utf-8")
    assert sum(DTYPE_HINT in line for line in summary.splitlines()) == 1 and "zed" in next(x for x in summary.splitlines() if DTYPE_HINT in x)
    assert "TypeError" in (three_mistakes / "feedback" / "sig.md").read_text(encoding="utf-8")
    gus = (three_mistakes / "feedback" / "gus.md").read_text(encoding="utf-8")
    assert DTYPE_HINT not in gus and "i, f, g, o" in gus

"""`autograder.results` -> Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""

from __future__ import annotations

from autograder.report.feedback import NOTES_HEADING, fix_advice
from autograder.results import CheckResult, StudentResult

# Hidden checks are the grade: students see them once the instructor publishes the grades.
# Public checks are the self-checks they already have: shown at once, worth nothing here.
HIDDEN_VISIBILITY = "after_published"
PUBLIC_VISIBILITY = "visible"


def _test(c: CheckResult, number: str, *, public: bool) -> dict:
    test = {
        "name": f"{'[自查，不计分] ' if public else ''}{c.check}: {c.title}".rstrip(": "),
        "number": number,
        "score": 0.0 if public else float(c.score),
        "max_score": 0.0 if public else float(c.max_score),
        "status": "passed" if c.status == "passed" else "failed",
        "output": c.message or "通过",
        "output_format": "text",
        "tags": [c.group],
        "visibility": PUBLIC_VISIBILITY if public else HIDDEN_VISIBILITY,
        "extra_data": {"check": c.check, "result": c.status},
    }
    return test


def gradescope_results(hidden: StudentResult, public: list[CheckResult] | None = None, seconds: float = 0.0, note: str = "") -> dict:
    """The results.json object for one submission. Its output text, which the student sees at once,
    says what the grader did with the hand-in (`notes`) and, when it could not be graded, why and what to fix."""
    lines = []
    if not hidden.graded:
        lines += [f"提交无法评分: {hidden.problem}", f"怎么改: {fix_advice(hidden)}", "修改后请重新提交。", ""]
    lines.append(f"隐藏测试 (hidden tests) 共 {len(hidden.checks)} 项，成绩公布 (published) 后可见每一项的结果。")
    if hidden.problem and hidden.graded:
        lines.append(f"提交有问题: {hidden.problem}")
    if hidden.notes:
        lines += [f"{NOTES_HEADING}（评分程序对你的提交做了这些处理）:", *(f"- {n}" for n in hidden.notes)]
    if public:
        n_ok = sum(c.status == "passed" for c in public)
        lines.append(f"公开检查 (public checks) 通过 {n_ok}/{len(public)}（不计分，只帮助你自查）。")
    if note:
        lines.append(note)
    tests = [_test(c, f"1.{i}", public=False) for i, c in enumerate(hidden.checks, 1)]
    tests += [_test(c, f"2.{i}", public=True) for i, c in enumerate(public or [], 1)]
    return {
        "score": float(hidden.total),
        "execution_time": round(seconds, 1),
        "output": "\n".join(lines),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"max_total": hidden.max_total, "sandbox": hidden.sandbox, "outcome": hidden.outcome, "problem": hidden.problem,
                       "problem_kind": hidden.problem_kind, "notes": list(hidden.notes)},
    }

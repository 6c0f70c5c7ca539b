"""Vocabulary of the suites: the `@check` decorator and comparisons that explain themselves.

A check is an ordinary pytest test function. It asks the worker to run a probe, validates what
came back (types, shapes, dtypes) and compares it with the reference's expectation, computed on
this, the trusted, side. Every failure raises `CheckFailed` (or `ProbeFailed`) with feedback in
the course's language: what was expected, what came back, and a hint at the likely bug.

What went wrong is also data: each failure carries a `kind` (autograder.results.KINDS: wrong_dtype,
exception, not_implemented...) and the `hint` it was given, decided here, where the failure is
raised. A hint is given for the kinds it explains only: `require_ok`'s hint explains an exception
raised by the function (never a timeout, a crash, a missing file or an error at import), and a
comparison's hint may be one text or one per kind ({"wrong_dtype": ..., "wrong_value": ...}).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from autograder.results import CheckResult
from autograder.runtime.wire import ProbeResult

if TYPE_CHECKING:  # the student bundle ships checks.py without the delegation declarations' module
    from autograder.delegation import Delegation

F = TypeVar("F", bound=Callable[..., Any])
Hint = str | Mapping[str, str]  # one hint for every kind a helper raises, or one per kind


@dataclass(frozen=True)
class CheckMeta:
    name: str
    points: float
    group: str
    title: str
    hint: str
    visibility: str


def check(name: str, points: float, title: str, hint: str = "", visibility: str = "hidden") -> Callable[[F], F]:
    """Mark a test function as a graded check worth `points`; the group is the name's prefix."""

    def mark(fn: F) -> F:
        fn.__check__ = CheckMeta(name, float(points), name.split(".", 1)[0], title, hint, visibility)  # type: ignore[attr-defined]
        return fn

    return mark


def _with_hint(message: str, hint: str) -> str:
    return f"{message}\n提示: {hint}" if hint else message


def _hint(hint: Hint, kind: str) -> str:
    """The hint for a failure of `kind`: a plain hint explains every kind it is given for."""
    return hint.get(kind, "") if isinstance(hint, Mapping) else hint


class CheckFailed(AssertionError):
    """The submission's answer is wrong; str() is the student's feedback (the hint at its end).
    `kind`: what is wrong (autograder.results.KINDS), `hint`: the likely bug, or ""."""

    def __init__(self, message: str, kind: str = "wrong_value", hint: str = "") -> None:
        super().__init__(_with_hint(message, hint))
        self.kind, self.hint = kind, hint


class ProbeFailed(Exception):
    """The submission raised, crashed or hung while the probe ran (`kind`: exception, timeout,
    crash, not_implemented, missing_file, import_error...), or could not be judged."""

    def __init__(self, message: str, status: str, kind: str = "exception", hint: str = "") -> None:
        super().__init__(_with_hint(message, hint))
        self.status = status  # error / timeout
        self.kind, self.hint = kind, hint


class GraderInputError(Exception):
    """The grader's own input cannot be made safe: every candidate in the check's fixed list sits
    too close to a decision boundary (a sampling draw, an argmax, a top-k cut) under the running
    torch. A grader fault, never a student's 0: grading.run_suite turns it into a SuiteError, so
    nothing is recorded and a re-run (after the suite is fixed) grades the submission."""


def require_ok(result: ProbeResult, hint: Hint = "") -> ProbeResult:
    """Turn a failed probe into feedback: not implemented, a missing file, an error at import, an
    exception, a crash or a timeout. `hint` explains an exception the function raised (kind
    "exception") and is given for nothing else."""
    if result.ok:
        return result
    err = result.error
    where = f"（位置 {err['where']}）" if err.get("where") else ""
    if result.status == "timeout":
        raise ProbeFailed(f"超时: 代码在限定时间内没有结束（{err.get('message', '')}），是否有死循环？", "timeout", "timeout")
    if result.status == "crash":
        tail = result.output.strip().splitlines()[-3:]
        out = ("\n输出末尾: " + " | ".join(tail)) if tail else ""
        raise ProbeFailed(f"运行你的代码的进程异常退出（{err.get('message', '')}）。是否调用了 sys.exit / os._exit 或占用了过多内存？{out}",
                          "error", "crash")
    kind, msg = err.get("type", ""), err.get("message", "")
    if kind == "NotImplementedError":
        place = err.get("where", "").split(": ", 1)[0]
        text = msg if "尚未实现" in msg else f"尚未实现 (not implemented): {msg or '(NotImplementedError)'}"
        raise ProbeFailed(f"{text}（{place}）" if place else text, "error", "not_implemented")
    if kind == "ModuleNotFoundError" and "cnn_rnn." in msg:
        raise ProbeFailed(f"找不到你的文件: {msg}（提交里缺少这个 .py 文件？）", "error", "missing_file")
    if err.get("at") == "import":  # the part's module itself failed to import (launch.worker marks it)
        raise ProbeFailed(f"导入你的文件时出错，这一部分的检查都无法运行: {kind}: {msg}{where}", "error", "import_error")
    explains = _hint(hint, "exception")
    if not explains and "modified by an inplace operation" in msg:
        # Autograd's own words do not say which line of a residual block is at fault.
        explains = ("反向传播需要的张量被原地操作 (in-place) 改写了：例如先对 out 做 nn.ReLU(inplace=True) 再 out += identity，"
                    "或对输入 x 原地修改。检查 ReLU 与相加的顺序（ReLU 在相加之后），必要时改用非原地写法。")
    raise ProbeFailed(f"你的代码抛出了异常 {kind}: {msg}{where}", "error", "exception", explains)


def _fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def validate(t: torch.Tensor, what: str, *, finite: bool = True, allow_empty: bool = False, hint: Hint = "") -> torch.Tensor:
    """The one place every tensor a check reads is screened: no NaN/Inf (unless `finite=False`)
    and not empty (unless `allow_empty`). Shapes and dtypes are compared by `expect_shape`,
    `expect_dtype`, `expect_close` and `expect_indices` against what the check expects."""
    if t.numel() == 0 and not allow_empty:
        raise CheckFailed(f"{what}: 结果是空的（形状 {_fmt_shape(t.shape)}，没有任何元素）", "empty", _hint(hint, "empty"))
    if finite and (t.is_floating_point() or t.is_complex()):
        bad = int((~torch.isfinite(t.detach())).sum())
        if bad:
            raise CheckFailed(f"{what}: 结果里有 {bad} 个 NaN/Inf", "nan", _hint(hint, "nan"))
    return t


def tensor(result: ProbeResult, key: str, what: str, *, finite: bool = True, allow_empty: bool = False) -> torch.Tensor:
    """The tensor `key` of a probe result, validated (see `validate`), or feedback saying it is missing."""
    t = result.tensors.get(key)
    if not isinstance(t, torch.Tensor):
        raise CheckFailed(f"{what}: 没有得到张量（probe 结果缺少 {key!r}，或返回的不是 torch.Tensor）", "wrong_type")
    return validate(t, what, finite=finite, allow_empty=allow_empty)


def _nonfinite(v: Any) -> bool:
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return any(_nonfinite(x) for x in v)
    if isinstance(v, dict):
        return any(_nonfinite(x) for x in v.values())
    return False


def value(result: ProbeResult, key: str, what: str, kind: type | tuple[type, ...] = (int, float), *, allow_empty: bool = False) -> Any:
    """The plain value `key` of a probe result: of type `kind`, no NaN/Inf anywhere in it, and
    (for a list or dict) not empty unless `allow_empty`."""
    v = result.result.get(key)
    if isinstance(v, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise CheckFailed(f"{what}: 期望 {kind}，得到 bool", "wrong_type")
    if not isinstance(v, kind):
        raise CheckFailed(f"{what}: 期望返回 {getattr(kind, '__name__', kind)}，得到 {type(v).__name__}", "wrong_type")
    if _nonfinite(v):
        raise CheckFailed(f"{what}: 结果里有 NaN/Inf", "nan")
    if isinstance(v, (list, dict)) and not v and not allow_empty:
        raise CheckFailed(f"{what}: 结果是空的", "empty")
    return v


def expect_indices(idx: torch.Tensor, shape: Sequence[int], n: int, what: str, hint: Hint = "", distinct: bool = True) -> None:
    """Indices into a collection of `n` items: int64, the expected shape, in [0, n), and (with
    `distinct`) no index twice in a row."""
    expect_shape(idx, shape, what, hint)
    expect_dtype(idx, torch.int64, what, "下标应为 int64（torch.long），torch.topk / argmax 返回的 indices 就是。")
    rows = torch.atleast_2d(idx)
    if not bool(((rows >= 0) & (rows < n)).all()):
        raise CheckFailed(f"{what}: 下标超出范围 [0, {n})，得到最小 {int(rows.min())}、最大 {int(rows.max())}", "wrong_value",
                          _hint(hint, "wrong_value"))
    if distinct:
        for row, r in enumerate(rows.tolist()):
            if len(set(r)) != len(r):
                raise CheckFailed(f"{what}: 第 {row} 行里同一个下标出现了不止一次: {r}", "wrong_value", _hint(hint, "wrong_value"))


def expect_shape(actual: torch.Tensor, shape: Sequence[int], what: str, hint: Hint = "") -> None:
    if tuple(actual.shape) != tuple(shape):
        raise CheckFailed(f"{what}: 形状 (shape) 应为 {_fmt_shape(shape)}，得到 {_fmt_shape(actual.shape)}", "wrong_shape",
                          _hint(hint, "wrong_shape"))


def expect_dtype(actual: torch.Tensor, dtype: torch.dtype, what: str, hint: Hint = "") -> None:
    if actual.dtype != dtype:
        raise CheckFailed(f"{what}: dtype 应为 {dtype}，得到 {actual.dtype}", "wrong_dtype", _hint(hint, "wrong_dtype"))


def expect_close(
    actual: torch.Tensor,
    expected: torch.Tensor,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: Hint = "",
    check_dtype: bool = True,
    kind: str = "wrong_value",
) -> None:
    """Shape, dtype, finiteness and values; the message says where the largest error is. `kind`:
    what wrong values mean here (wrong_value; modified_input when `actual` is what the submission
    left of an input it should not have changed)."""
    expect_shape(actual, expected.shape, what, hint)
    if check_dtype:
        expect_dtype(actual, expected.dtype, what, hint)
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    if a.numel() == 0:
        return
    if not torch.isfinite(a).all() and torch.isfinite(e).all():
        bad = int((~torch.isfinite(a)).sum())
        raise CheckFailed(f"{what}: 结果里有 {bad} 个 NaN/Inf", "nan", _hint(hint, "nan"))
    diff = (a - e).abs()
    tol = atol + rtol * e.abs()
    if bool((diff <= tol).all()):
        return
    flat = int(torch.argmax(diff - tol))
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape)) if a.dim() else ()
    rel = float(diff.flatten()[flat] / e.abs().flatten()[flat].clamp_min(1e-12))
    n_bad = int((diff > tol).sum())
    raise CheckFailed(
        f"{what}: 数值不对。{n_bad}/{a.numel()} 个元素超出容差 (atol={atol:g}, rtol={rtol:g})；"
        f"最大误差位于索引 {index}: 期望 {float(e.flatten()[flat]):.6g}，得到 {float(a.flatten()[flat]):.6g}"
        f"（绝对误差 {float(diff.flatten()[flat]):.3g}，相对误差 {rel:.3g}）",
        kind,
        _hint(hint, kind),
    )


def expect_equal(actual: Any, expected: Any, what: str, hint: Hint = "", kind: str = "wrong_value") -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: 期望 {expected!r}，得到 {actual!r}", kind, _hint(hint, kind))


def expect_true(condition: bool, message: str, hint: Hint = "", kind: str = "wrong_value") -> None:
    """`message` when not `condition`; `kind` says what a False means (wrong_value unless told)."""
    if not condition:
        raise CheckFailed(message, kind, _hint(hint, kind))


def expect_at_least(actual: float, threshold: float, what: str, hint: Hint = "") -> None:
    if not actual >= threshold:
        raise CheckFailed(f"{what}: {actual:.4f}，低于阈值 {threshold:.4f}", "wrong_value", _hint(hint, "wrong_value"))


def expect_at_most(actual: float, threshold: float, what: str, hint: Hint = "") -> None:
    if not actual <= threshold:
        raise CheckFailed(f"{what}: {actual:.4f}，高于阈值 {threshold:.4f}", "wrong_value", _hint(hint, "wrong_value"))


def expect_state_shapes(actual: Any, expected: dict[str, Sequence[int]], what: str, hint: Hint = "") -> None:
    """Same state_dict keys with the same shapes; the message names missing, extra and misshapen keys."""
    if not isinstance(actual, dict):
        raise CheckFailed(f"{what}: 没有得到 state_dict 的键与形状", "wrong_type", _hint(hint, "wrong_type"))
    got = {str(k): [int(s) for s in v] if isinstance(v, list) else v for k, v in actual.items()}
    want = {k: [int(s) for s in v] for k, v in expected.items()}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    misshapen = [k for k in sorted(set(want) & set(got)) if got[k] != want[k]]
    if not (missing or extra or misshapen):
        return

    def first(keys: list[str]) -> str:
        return ", ".join(keys[:5]) + (f" …（共 {len(keys)} 个）" if len(keys) > 5 else "")

    parts = []
    if missing:
        parts.append(f"缺少的键: {first(missing)}")
    if extra:
        parts.append(f"多出的键: {first(extra)}")
    if misshapen:
        k = misshapen[0]
        parts.append(f"形状不同的键 {len(misshapen)} 个，例如 {k}: 期望 {_fmt_shape(want[k])}，得到 {got[k]}")
    raise CheckFailed(f"{what}: state_dict 与 torchvision 不一致。" + "；".join(parts), "wrong_shape", _hint(hint, "wrong_shape"))


def expect_own_work(worker: Any, declared: "Delegation") -> None:
    """Fail when the submission hands the exercise's work to a declared library call. Decided
    here, from the submission's source (its bytes parsed as import parses them, never run). A file
    Python imports but that cannot be analysed here is an error of this check, never a pass."""
    from autograder.delegation import Unjudgeable, find_uses

    source = worker.sources.get(declared.file)
    if source is None:
        return  # a missing or unreadable file fails the probes themselves, with their own feedback
    try:
        uses = find_uses(source, declared.names)
    except Unjudgeable as exc:
        raise ProbeFailed(f"无法分析 {declared.file} 的源代码（{exc}），{declared.exercise} 是否自己实现无法确认："
                          "请联系助教。", "error", "grader_error") from None
    if uses:
        u = uses[0]
        where = f"（{u.where} 里）" if u.where else ""
        more = f"（另有 {len(uses) - 1} 处）" if len(uses) > 1 else ""
        raise CheckFailed(
            f"{declared.exercise} 要求自己实现，但 {declared.file} 第 {u.line} 行{where}用了库里现成的 {u.call}: {u.code}{more}",
            "own_work", declared.note or f"这个练习要你自己写出 {declared.exercise} 的计算，不能交给 {u.call}。")


def outcome_of(meta: CheckMeta, exc: BaseException | None) -> CheckResult:
    """The result of a check that raised `exc` (None: it returned), with the failure's kind and
    hint as the check decided them (CheckFailed / ProbeFailed)."""

    def result(status: str, message: str, kind: str = "", hint: str = "") -> CheckResult:
        score = meta.points if status == "passed" else 0.0
        return CheckResult(meta.name, meta.group, score, meta.points, status, message, meta.visibility, meta.title, kind, hint)

    if exc is None:
        return result("passed", "")
    if isinstance(exc, CheckFailed):
        return result("failed", str(exc), exc.kind, exc.hint)
    if isinstance(exc, ProbeFailed):
        return result(exc.status, str(exc), exc.kind, exc.hint)
    # The trusted check itself raised on what came back (odd types, odd values): the answer
    # cannot be graded, so it earns nothing, and the message says what the grader saw.
    return result("error", f"无法检查你的结果（{type(exc).__name__}: {exc}）", "grader_error")

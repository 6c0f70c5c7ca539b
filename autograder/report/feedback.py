"""Per-student feedback in Markdown and HTML (the same content, two renderings).

Both open with the total and a subtotal per part, then what the grader did with the hand-in
(`StudentResult.notes`: folder picked, file renamed or skipped...) and, for a submission that could
not be graded, why and what to fix (`fix_advice`) instead of a table of zeros. Then the failed
checks, part by part (an error that fails a whole part, such as a missing file or an import error,
is shown once for the part), and last the passed checks, folded."""

from __future__ import annotations

import html
import re

from autograder.report.table import MARK
from autograder.results import KINDS, CheckResult, StudentResult

STATUS_ZH = {"passed": "通过", "failed": "未通过", "error": "出错", "timeout": "超时"}
# What went wrong, in the student's words (CheckResult.kind); "" (older results): the status says it.
KIND_ZH = {
    "not_implemented": "尚未实现", "missing_file": "缺少文件", "import_error": "导入出错", "exception": "抛出异常",
    "timeout": "超时", "crash": "进程异常退出", "wrong_type": "返回类型不对", "empty": "结果为空", "nan": "含 NaN/Inf",
    "wrong_shape": "形状不对", "wrong_dtype": "dtype 不对", "wrong_value": "数值不对", "modified_input": "修改了输入",
    "own_work": "没有自己实现", "charged": "破坏了评分进程", "ungradable": "提交无法评分", "grader_error": "评分程序无法检查",
}
assert set(KIND_ZH) == set(KINDS), "every failure kind needs its words in the feedback"
FAILED_HEADING = "需要修改的地方"
PASSED_HEADING = "已通过的检查"
PARTS_HEADING = "各部分得分"
NOTES_HEADING = "评分说明"  # what the grader did with the hand-in
UNGRADABLE_HEADING = "提交无法评分：请修改后重新提交"
SUBMIT_HOWTO = "最稳妥的做法：在作业目录运行 `autograder submit 你的学号`，上传它生成的 zip（它会先检查文件是否齐全、能否导入）。"
# What to do, per SubmissionError kind (autograder.grade.unpack.KINDS); the reason itself is in `problem`.
ADVICE = {
    "encrypted": "重新打包，不要给压缩包设置密码。",
    "corrupt": "压缩包已损坏或不完整：重新打包后上传，上传后可以下载一次确认能正常解压。",
    "unsupported_format": "请用 .zip 格式打包（不要用 .rar、.7z 等格式）。",
    "unsafe": "只打包作业文件夹里的 .py 文件；压缩包里不能有绝对路径或 `..`。",
    "too_large": "只提交作业的 .py 文件，不要打包数据、模型权重、虚拟环境或缓存。",
    "no_code": "确认压缩包里有 part1_resnet.py … part5_retrieval.py 这些作业文件，文件名不要修改。",
    "unreadable": "检查文件能否正常打开（权限、文件名），然后重新打包上传。",
}


def fix_advice(r: StudentResult) -> str:
    """What the student should do about a submission that could not be graded (Chinese)."""
    return "".join(filter(None, [ADVICE.get(r.problem_kind, "请按上面的原因修改后重新提交。"), SUBMIT_HOWTO]))


def _html_text(text: str) -> str:
    """Escaped text with Markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _total_line(r: StudentResult) -> str:
    return f"总分: {r.total:g} / {r.max_total:g}" if r.graded else "总分: 无（提交无法评分，评分程序没有运行你的代码）"


def _what(c: CheckResult) -> str:
    """"未通过 · 数值不对": the status, and the kind when it says more."""
    kind = KIND_ZH.get(c.kind, "")
    status = STATUS_ZH.get(c.status, c.status)
    return f"{status} · {kind}" if kind and kind != status else status


def parts_of(r: StudentResult) -> dict[str, list[CheckResult]]:
    """The checks by part, in suite order."""
    parts: dict[str, list[CheckResult]] = {}
    for c in r.checks:
        parts.setdefault(c.group, []).append(c)
    return parts


def part_rows(r: StudentResult) -> list[tuple[str, float, float, int, int]]:
    """(part, score, max, checks passed, checks) per part."""
    return [(g, round(sum(c.score for c in cs), 4), round(sum(c.max_score for c in cs), 4), sum(c.status == "passed" for c in cs), len(cs))
            for g, cs in parts_of(r).items()]


def whole_part_error(checks: list[CheckResult]) -> CheckResult | None:
    """The one failure shared by every check of a part (same kind and message: a missing file, an
    import error, a part charged), shown once for the part; None when the part failed otherwise."""
    first = checks[0] if checks else None
    if first is None or len(checks) < 2 or any(c.status == "passed" or (c.kind, c.message) != (first.kind, first.message) for c in checks):
        return None
    return first


def provenance_line(r: StudentResult) -> str:
    """Where the grade was computed (StudentResult.provenance), for the feedback's footer; "" for
    results stored before provenance was recorded."""
    p = r.provenance
    if not p:
        return ""
    return (f"评分程序 {p.get('grader', '?')} · 作业版本 {p.get('assignment') or r.version or '?'} · Python {p.get('python', '?')} · "
            f"torch {p.get('torch', '?')} · torchvision {p.get('torchvision', '?')} · 评分进程 {p.get('threads', '?')} 线程"
            f"（你的代码 {p.get('worker_threads', 1)} 线程）· 设备 {p.get('device', '?')}")


def markdown(r: StudentResult) -> str:
    out = [f"# 作业反馈: {r.student}", "", f"**{_total_line(r)}**", ""]
    if r.graded and r.checks:
        out += [f"| {PARTS_HEADING} | 得分 | 通过的检查 |", "|---|---|---|"]
        out += [f"| {g} | {s:g} / {m:g} | {p} / {n} |" for g, s, m, p, n in part_rows(r)] + [""]
    if not r.graded:
        out += [f"## {UNGRADABLE_HEADING}", "", f"原因: {r.problem}", "", f"怎么改: {fix_advice(r)}", "",
                "这次提交没有成绩；老师会看到这份提交需要处理。修改后请重新提交。", ""]
    if r.notes:
        out += [f"## {NOTES_HEADING}", "", "评分程序对你的提交做了这些处理，请确认评的是你想提交的文件：", ""]
        out += [f"- {n}" for n in r.notes] + [""]
    if r.late_note:
        out += [f"> 迟交扣分: {r.late_note}；扣分前 {r.raw_total:g} 分", ""]
    if r.problem and r.graded:
        out += [f"> 提交有问题: {r.problem}", ""]
    if r.sandbox:
        out += [f"_评分环境: {r.sandbox}_", ""]
    if provenance_line(r):
        out += [f"_{provenance_line(r)}_", ""]
    if not r.graded:
        return "\n".join(out) + "\n"
    failing = {g: cs for g, cs in parts_of(r).items() if any(c.status != "passed" for c in cs)}
    if failing:
        out += [f"## {FAILED_HEADING}", ""]
    for group, cs in failing.items():
        score, top = sum(c.score for c in cs), sum(c.max_score for c in cs)
        out += [f"### {group}（{score:g} / {top:g}）", ""]
        shared = whole_part_error(cs)
        if shared is not None:
            names = "、".join(f"`{c.check}`" for c in cs)
            out += [f"这一部分的 {len(cs)} 项检查（{names}）都因同一个问题没有通过（{_what(shared)}）：", "", "```text", shared.message, "```", ""]
            continue
        todo = [c for c in cs if c.status != "passed" and c.kind == "not_implemented"]  # one line each
        if todo:
            out += [f"- {MARK.get(c.status)} `{c.check}`（{_what(c)}，0/{c.max_score:g}）: {c.message}" for c in todo] + [""]
        for c in cs:
            if c.status != "passed" and c.kind != "not_implemented":
                out += [f"#### {MARK.get(c.status)} `{c.check}`（{_what(c)}，0/{c.max_score:g}）", "", c.title, "", "```text", c.message, "```", ""]
    passed = [c for c in r.checks if c.status == "passed"]
    if passed:
        out += [f"## {PASSED_HEADING}（{len(passed)} 项）", "", "| | 检查 (check) | 得分 | 内容 |", "|---|---|---|---|"]
        out += [f"| {MARK.get(c.status)} | `{c.check}` | {c.score:g}/{c.max_score:g} | {c.title} |" for c in passed]
    return "\n".join(out).rstrip("\n") + "\n"


def _checks_html(r: StudentResult) -> str:
    """The failed checks by part (a part that failed on one shared error: that error once), then
    the passed checks folded in a <details>."""
    out = []
    failing = {g: cs for g, cs in parts_of(r).items() if any(c.status != "passed" for c in cs)}
    if failing:
        out.append(f"<h2>{FAILED_HEADING}</h2>")
    for group, cs in failing.items():
        score, top = sum(c.score for c in cs), sum(c.max_score for c in cs)
        inner = []
        shared = whole_part_error(cs)
        if shared is not None:
            names = "、".join(f"<code>{html.escape(c.check)}</code>" for c in cs)
            inner.append(f"<p class='whole-part'>这一部分的 {len(cs)} 项检查（{names}）都因同一个问题没有通过（{html.escape(_what(shared))}）：</p>"
                         f"<pre>{html.escape(shared.message)}</pre>")
        else:
            for c in cs:
                if c.status == "passed":
                    continue
                head = (f"<span class='mark'>{MARK.get(c.status)}</span> <code>{html.escape(c.check)}</code> "
                        f"<span class='what'>（{html.escape(_what(c))}，0/{c.max_score:g}）</span>")
                if c.kind == "not_implemented":
                    inner.append(f"<div class='check {c.status}'>{head} {html.escape(c.message)}</div>")
                else:
                    inner.append(f"<div class='check {c.status}'>{head}<br><small>{html.escape(c.title)}</small>"
                                 f"<pre>{html.escape(c.message)}</pre></div>")
        out.append(f"<section class='part' id='part-{html.escape(group, quote=True)}'><h3>{html.escape(group)}（{score:g} / {top:g}）</h3>"
                   f"{''.join(inner)}</section>")
    passed = [c for c in r.checks if c.status == "passed"]
    if passed:
        rows = "".join(f"<tr class='passed'><td>{MARK.get(c.status)}</td><td><code>{html.escape(c.check)}</code></td>"
                       f"<td class='num'>{c.score:g}/{c.max_score:g}</td><td>{html.escape(c.title)}</td></tr>" for c in passed)
        out.append(f"<details id='passed'><summary>{PASSED_HEADING}（{len(passed)} 项）</summary><table>{rows}</table></details>")
    return "\n".join(out)


def html_page(r: StudentResult) -> str:
    top = ""
    if not r.graded:
        top += (f"<section class='ungradable'><h2>{UNGRADABLE_HEADING}</h2><p><strong>原因:</strong> {html.escape(r.problem)}</p>"
                f"<p><strong>怎么改:</strong> {_html_text(fix_advice(r))}</p>"
                "<p>这次提交没有成绩；老师会看到这份提交需要处理。修改后请重新提交。</p></section>")
    if r.notes:
        top += (f"<section class='notes'><h2>{NOTES_HEADING}</h2><p>评分程序对你的提交做了这些处理，请确认评的是你想提交的文件：</p>"
                "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes) + "</ul></section>")
    if r.late_note:
        top += f"<p class='late'>迟交扣分: {html.escape(r.late_note)}；扣分前 {r.raw_total:g} 分</p>"
    if r.problem and r.graded:
        top += f"<p class='problem'>提交有问题: {html.escape(r.problem)}</p>"
    body = _checks_html(r) if r.graded else ""
    parts = ""
    if r.graded and r.checks:
        parts = (f"<table id='parts'><tr><th>{PARTS_HEADING}</th><th>得分</th><th>通过的检查</th></tr>"
                 + "".join(f"<tr class='{'full' if s >= m else 'zero' if s <= 0 else 'some'}'><td>{html.escape(g)}</td>"
                           f"<td class='num'>{s:g} / {m:g}</td><td class='num'>{p} / {n}</td></tr>" for g, s, m, p, n in part_rows(r))
                 + "</table>")
    title = f"{r.total:g}/{r.max_total:g}" if r.graded else "无法评分"
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(r.student)}: {title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}} td,th{{padding:.3em .6em;vertical-align:top;text-align:left}}
table{{border-collapse:collapse}} #parts{{margin-bottom:1em}} #parts td,#parts th{{border-bottom:1px solid #ddd}} #parts th{{background:#f2f2f2}} .num{{text-align:right}}
#parts tr.full td:nth-child(2){{background:#e3f2dc}} #parts tr.some td:nth-child(2){{background:#fdf1dc}} #parts tr.zero td:nth-child(2){{background:#f8dcdc}}
tr.passed td:first-child{{color:green}} .mark{{color:#b00;font-weight:bold}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5em;margin:.3em 0 .8em}} .problem,.late{{color:#b00}}
section.part{{border-left:4px solid #e0a030;padding:.1em 1em;margin:1em 0}} .check{{margin:.8em 0}} .what{{color:#555}}
section.ungradable{{border-left:4px solid #b00;padding:.2em 1em;background:#fff4f4}} section.ungradable h2{{color:#b00}}
section.notes{{border-left:4px solid #4477aa;padding:.2em 1em;background:#f4f8ff}} details summary{{cursor:pointer;font-weight:bold;margin:1em 0 .5em}}</style></head>
<body><h1>作业反馈: {html.escape(r.student)}</h1><p id='total'><strong>{html.escape(_total_line(r))}</strong></p>{parts}{top}
{body}{f"<footer class='what'>{html.escape(provenance_line(r))}</footer>" if r.provenance else ""}</body></html>
"""

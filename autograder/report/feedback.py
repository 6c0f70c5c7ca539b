"""Per-student feedback in Markdown and HTML (the same content, two renderings).

Both open with the total, then what the grader did with the hand-in (`StudentResult.notes`: folder
picked, file renamed or skipped...) and, for a submission that could not be graded, why and what to
fix (`fix_advice`) instead of a table of zeros."""

from __future__ import annotations

import html
import re

from autograder.report.table import MARK
from autograder.results import StudentResult

STATUS_ZH = {"passed": "通过", "failed": "未通过", "error": "出错", "timeout": "超时"}
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


def markdown(r: StudentResult) -> str:
    out = [f"# 作业反馈: {r.student}", "", f"**{_total_line(r)}**", ""]
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
    if not r.graded:
        return "\n".join(out) + "\n"
    out += ["| | 检查 (check) | 得分 | 内容 |", "|---|---|---|---|"]
    out += [f"| {MARK.get(c.status)} | `{c.check}` | {c.score:g}/{c.max_score:g} | {c.title} |" for c in r.checks]
    failed = [c for c in r.checks if c.status != "passed"]
    if failed:
        out += ["", "## 需要修改的地方", ""]
        for c in failed:
            out += [f"### `{c.check}`（{STATUS_ZH[c.status]}，0/{c.max_score:g}）", "", "```text", c.message, "```", ""]
    return "\n".join(out) + "\n"


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
    rows = "\n".join(
        f"<tr class='{c.status}'><td>{MARK.get(c.status)}</td><td><code>{html.escape(c.check)}</code></td>"
        f"<td>{c.score:g}/{c.max_score:g}</td><td>{html.escape(c.title)}"
        + (f"<pre>{html.escape(c.message)}</pre>" if c.message else "")
        + "</td></tr>"
        for c in r.checks
    )
    table = f"<table>{rows}</table>" if r.graded else ""
    title = f"{r.total:g}/{r.max_total:g}" if r.graded else "无法评分"
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(r.student)}: {title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td{{padding:.3em .6em;vertical-align:top}}
tr.passed td:first-child{{color:green}} tr.failed td:first-child,tr.error td:first-child,tr.timeout td:first-child{{color:#b00}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5em}} .problem,.late{{color:#b00}}
section.ungradable{{border-left:4px solid #b00;padding:.2em 1em;background:#fff4f4}} section.ungradable h2{{color:#b00}}
section.notes{{border-left:4px solid #4477aa;padding:.2em 1em;background:#f4f8ff}}</style></head>
<body><h1>作业反馈: {html.escape(r.student)}</h1><p><strong>{html.escape(_total_line(r))}</strong></p>{top}
{table}</body></html>
"""

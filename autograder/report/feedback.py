"""Per-student feedback in Markdown and HTML (the same content, two renderings)."""

from __future__ import annotations

import html

from autograder.report.table import MARK
from autograder.results import StudentResult

STATUS_ZH = {"passed": "通过", "failed": "未通过", "error": "出错", "timeout": "超时"}


def markdown(r: StudentResult) -> str:
    out = [f"# 作业反馈: {r.student}", "", f"**总分: {r.total:g} / {r.max_total:g}**", ""]
    if r.late_note:
        out += [f"> 迟交扣分: {r.late_note}；扣分前 {r.raw_total:g} 分", ""]
    if r.problem:
        out += [f"> 提交有问题: {r.problem}", ""]
    if r.sandbox:
        out += [f"_评分环境: {r.sandbox}_", ""]
    out += ["| | 检查 (check) | 得分 | 内容 |", "|---|---|---|---|"]
    out += [f"| {MARK.get(c.status)} | `{c.check}` | {c.score:g}/{c.max_score:g} | {c.title} |" for c in r.checks]
    failed = [c for c in r.checks if c.status != "passed"]
    if failed:
        out += ["", "## 需要修改的地方", ""]
        for c in failed:
            out += [f"### `{c.check}`（{STATUS_ZH[c.status]}，0/{c.max_score:g}）", "", "```text", c.message, "```", ""]
    return "\n".join(out) + "\n"


def html_page(r: StudentResult) -> str:
    rows = "\n".join(
        f"<tr class='{c.status}'><td>{MARK.get(c.status)}</td><td><code>{html.escape(c.check)}</code></td>"
        f"<td>{c.score:g}/{c.max_score:g}</td><td>{html.escape(c.title)}"
        + (f"<pre>{html.escape(c.message)}</pre>" if c.message else "")
        + "</td></tr>"
        for c in r.checks
    )
    problem = f"<p class='problem'>提交有问题: {html.escape(r.problem)}</p>" if r.problem else ""
    if r.late_note:
        problem += f"<p class='late'>迟交扣分: {html.escape(r.late_note)}；扣分前 {r.raw_total:g} 分</p>"
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(r.student)}: {r.total:g}/{r.max_total:g}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td{{padding:.3em .6em;vertical-align:top}}
tr.passed td:first-child{{color:green}} tr.failed td:first-child,tr.error td:first-child,tr.timeout td:first-child{{color:#b00}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5em}} .problem,.late{{color:#b00}}</style></head>
<body><h1>作业反馈: {html.escape(r.student)}</h1><p><strong>总分: {r.total:g} / {r.max_total:g}</strong></p>{problem}
<table>{rows}</table></body></html>
"""

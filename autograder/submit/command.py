"""CLI wiring of `autograder submit`.

Before anything slow, it reads the graded files (check/precheck.py): imports the grader cannot
satisfy, functions whose parameters differ from the template, and graded functions that still
raise NotImplementedError. If it finds any, it lists them and asks "仍然打包提交吗？[y/N]":

* `--yes`: no question, the zip is built (the list is still printed);
* answered anything but y / yes / 是: nothing is written, exit status 1;
* stdin is not a terminal (a script, a notebook cell, CI) and no `--yes`: it cannot ask, so it
  refuses with a message that names `--yes`, writes nothing, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.check import find_code, run_check
from autograder.check.precheck import precheck
from autograder.submit import SubmitError, build, validate_id

DECLINED = 1
CANNOT_ASK = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="pack your files into <student-id>_cnn_rnn.zip")
    p.add_argument("student_id", help="your student id (学号)")
    p.add_argument("--dir", type=Path, default=None, help="folder with your part*_*.py files (default: ./cnn_rnn)")
    p.add_argument("--out", type=Path, default=Path.cwd(), help="where to write the zip (default: here)")
    p.add_argument("--skip-check", action="store_true", help="do not run the public self-check first")
    p.add_argument("-y", "--yes", action="store_true",
                   help="不询问：即使还有未实现的函数、评分环境没有的包或与模板不同的参数，也直接打包（非交互环境必须加它才能打包这样的提交）")
    p.set_defaults(func=run)


def confirm(student_id: str, yes: bool) -> int | None:
    """None to go on packing, else the exit status."""
    if yes:
        print("（已加 --yes：不再询问，继续打包。）")
        return None
    if not sys.stdin or not sys.stdin.isatty():
        print("autograder submit: 上面的问题需要你确认后才能打包，但现在不是交互式终端 (stdin is not a TTY)，无法询问，"
              f"没有生成 zip。确认仍要这样提交，请在同一条命令后面加上 --yes（例如 autograder submit {student_id} --yes）。", file=sys.stderr)
        return CANNOT_ASK
    try:
        answer = input("仍然打包提交吗？[y/N] ").strip().lower()
    except EOFError:
        answer = ""
    if answer in ("y", "yes", "是"):
        return None
    print("已取消，没有生成 zip。改好后再运行 autograder submit。")
    return DECLINED


def run(args: argparse.Namespace) -> int:
    try:
        validate_id(args.student_id)
        folder = find_code(args.dir)
        found = precheck(folder)
        if found.any():
            print(found.text() + "\n")
            status = confirm(args.student_id, args.yes)
            if status is not None:
                return status
        summary = "" if args.skip_check else run_check(None, folder).summary()
        result = build(args.student_id, folder, args.out, summary)
    except (FileNotFoundError, SubmitError) as exc:
        print(f"autograder submit: {exc}", file=sys.stderr)
        return 2
    print(f"已生成 {result.path}" + (f"（{summary}）" if summary else ""))
    print("请把这个 zip 文件上传到课程平台。")
    return 0

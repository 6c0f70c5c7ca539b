"""CLI wiring of `autograder submit`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.check import find_code, run_check
from autograder.submit import SubmitError, build


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="pack your files into <student-id>_cnn_rnn.zip")
    p.add_argument("student_id", help="your student id (学号)")
    p.add_argument("--dir", type=Path, default=None, help="folder with your part*_*.py files (default: ./cnn_rnn)")
    p.add_argument("--out", type=Path, default=Path.cwd(), help="where to write the zip (default: here)")
    p.add_argument("--skip-check", action="store_true", help="do not run the public self-check first")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        folder = find_code(args.dir)
        summary = "" if args.skip_check else run_check(None, folder).summary()
        result = build(args.student_id, folder, args.out, summary)
    except (FileNotFoundError, SubmitError) as exc:
        print(f"autograder submit: {exc}", file=sys.stderr)
        return 2
    print(f"已生成 {result.path}" + (f"（{summary}）" if summary else ""))
    print("请把这个 zip 文件上传到课程平台。")
    return 0

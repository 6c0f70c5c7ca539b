"""Which of the project's modules one submission passes through, from the CLI to grades.csv.

    python benchmarks/route_modules.py [--tree DIR] [--part part3]

Grades one copy of the solution with `autograder grade ... -j 1` run from `--tree` (a checkout;
default this one; `git worktree add /tmp/old COMMIT` gives an older one) under a profile hook
installed by a generated sitecustomize.py in every trusted process (the command and its grading
process). A module counts when one of its functions is called (module bodies, i.e. imports
alone, do not). The sandboxed worker's modules (runtime/forkserver.py, serve.py, the probes) are
not seen: the sandbox starts them with a clean environment. Prints the count and the modules.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOOK = '''
import atexit, os, sys, threading
_ROOT, _OUT, _seen = os.environ["ROUTE_ROOT"], os.environ["ROUTE_OUT"], set()
def _prof(frame, event, arg):
    code = frame.f_code
    if event == "call" and code.co_name != "<module>" and code.co_filename.startswith(_ROOT):
        _seen.add(code.co_filename[len(_ROOT) + 1:])
def _dump():
    with open(os.path.join(_OUT, f"{os.getpid()}.txt"), "w") as fh:
        fh.write("\\n".join(sorted(_seen)) + "\\n")
sys.setprofile(_prof); threading.setprofile(_prof); atexit.register(_dump)
'''


def route(tree: Path, part: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="route_") as tmp:
        tmp = Path(tmp)
        (tmp / "hook").mkdir()
        (tmp / "hook" / "sitecustomize.py").write_text(HOOK)
        (tmp / "seen").mkdir()
        shutil.copytree(REPO / "solutions" / "cnn_rnn", tmp / "class" / "s1", ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "ROUTE_ROOT": str(tree), "ROUTE_OUT": str(tmp / "seen"),
               "PYTHONPATH": os.pathsep.join((str(tmp / "hook"), str(tree)))}
        subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp / "class"), "--out", str(tmp / "out"), "-q",
                        "--part", part, "-j", "1"], cwd=tree, env=env, check=True, capture_output=True)
        seen = {line for f in (tmp / "seen").iterdir() for line in f.read_text().splitlines() if line}
    return sorted(m for m in seen if m.startswith(("autograder/", "reference/")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO)
    parser.add_argument("--part", default="part3")
    args = parser.parse_args()
    modules = route(args.tree.resolve(), args.part)
    print(f"{len(modules)} modules with a function called (tree {args.tree}, --part {args.part}):")
    for m in modules:
        print(f"  {m}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

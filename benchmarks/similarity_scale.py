"""`autograder similarity` on a synthetic class of N submissions: time and peak memory, indexed
(the default) and all-pairs (copydetect's CopyDetector, where it finishes in reasonable time).

    python benchmarks/similarity_scale.py --n 42 200 1000 2000 --all-pairs-max 200

The class is written from the solutions: each student answers every solution region with the
solution's code, sometimes with one of the correct variants (`examples/correct_variants`) or a wrong
example (`examples/wrong_submissions`) applied, leaves a part as the stub now and then, and writes
in their own style: locals renamed, a statement added or a result kept in a variable on some lines,
comments added, definitions reordered. Identifiers and comments are invisible to copydetect (it
filters them out), so what makes two students differ are the added and changed statements. A few
planted copies (another student's hand-in with identifiers renamed, definitions reordered, comments
and a line or two added) must come out among the top pairs.

Each measurement runs the `autograder similarity` command in a fresh process, through its own
module (`autograder.similarity.command`): `python -m autograder` builds its parser by importing
every command's module, which imports torch (about 5 s and 650 MB more, the same for any N). Peak
memory is the largest resident set of the command and of its worker processes (`ru_maxrss`), and
the sum of their proportional sets (PSS: shared pages counted once) sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import keyword
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.examples import CATALOG, VARIANTS, mutants  # noqa: E402
from autograder.runtime.assignment import GRADED_FILES  # noqa: E402

SOLUTIONS = REPO / "solutions" / "cnn_rnn"
STUBS = REPO / "assignments" / "cnn_rnn"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
WORDS = ["tmp", "res", "val", "out", "buf", "acc", "cur", "item", "data", "part", "blk", "step", "cnt", "aux", "mine"]
MESSAGES = ["check", "debug", "shape ok", "here", "TODO", "value", "检查", "调试", "ok"]


def _depth(line: str) -> int:
    code = re.sub(r"(\"[^\"]*\"|'[^']*')", "", line.split("#", 1)[0])
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


_KEYWORDS = set(keyword.kwlist) | set(keyword.softkwlist)
_ATOM = re.compile(r"(?<=[ (\[,+\-*/])(?<![=!<>]=)[a-z_]\w*\b(?![(\w.=\[]| =)")


def _edits(line: str, rng: random.Random, known: list[str]) -> list[list[str]]:
    """The ways one line can be written differently (each a replacement list of lines)."""
    body = line.strip()
    ind = line[: len(line) - len(line.lstrip())]
    u, v, n = rng.choice(known), f"{rng.choice(WORDS)}{rng.randint(0, 9)}", rng.randint(0, 64)
    ways = []
    if body.startswith("return ") and "#" not in body:  # keep the result in a variable
        ways.append([f"{ind}{v} = {body[7:]}", f"{ind}return {v}"])
    if re.match(r"[a-z_]\w* = ", body) and "#" not in body:  # parentheses
        name, expr = body.split(" = ", 1)
        ways.append([f"{ind}{name} = ({expr})"])
    if not body.endswith(":") and not body.startswith(("return", "raise", "continue", "break", "yield")):  # one more statement
        extra = rng.choice([f"{v} = {n}", f"assert {u} is not None, \"{rng.choice(MESSAGES)}\"", f"print(\"{rng.choice(MESSAGES)}\", {n})",
                            f"{v} = {u}", f"{v} = [{n}, {rng.randint(0, 9)}]", f"_ = type({u}).__name__"])
        ways.append([line, f"{ind}{extra}"])
    if not body.startswith(("else", "elif", "except", "finally", "case")) and rng.random() < 0.3:  # a check first
        ways.append([f"{ind}if {u} is None:", f"{ind}    raise ValueError(\"{rng.choice(MESSAGES)} {n}\")", line])
    if re.search(r"\w\(\w+=[^=]", body) and "#" not in body:  # a keyword argument passed by position
        ways.append([re.sub(r"\b(\w+)=(?!=)", "", line, count=1)])
    if re.search(r"(?<![\w.])\d+(\.\d+)?\b", body):  # another constant
        ways.append([re.sub(r"(?<![\w.])\d+(\.\d+)?\b", str(rng.randint(0, 9)), line, count=1)])
    if m := re.search(r"\b([a-z_]\w*)\.(sum|mean|max|min|norm|flatten|unsqueeze|squeeze|float|long|exp|log|softmax)\(", body):
        ways.append([line.replace(m.group(0), f"torch.{m.group(2)}({m.group(1)}, ", 1).replace(", )", ")")])  # function, not method
    return ways


def _restyle(lines: list[str], rng: random.Random, rate: float) -> list[str]:
    """One student's style on the lines of a solution region: each line outside brackets is, with
    probability `rate`, written another way (`_edits`); comments come on top. It still parses."""
    out: list[str] = []
    depth = 0
    known = [m.group(1) for ln in lines if (m := re.match(r"\s*([a-z_]\w*)\s*=[^=]", ln))] or ["x"]
    for line in lines:
        body = line.strip()
        free = depth == 0 and _depth(line) == 0 and body and not body.startswith(("#", "@", ")", "]", "}", "from ", "import "))
        depth += _depth(line)
        if free and rng.random() < rate and (ways := _edits(line, rng, known)):
            out += rng.choice(ways)
        else:
            out.append(line)
        if free and "#" not in out[-1] and "lambda" not in out[-1] and not re.search(r"[\"']", out[-1]):  # the student's own bracketing
            out[-1] = _ATOM.sub(lambda m: f"({m.group(0)})" if m.group(0) not in _KEYWORDS and rng.random() < rate / 2 else m.group(0), out[-1])
        if free and rng.random() < 0.1:
            out[-1] += f"  # {rng.choice(MESSAGES)}"
    return out


def _rename(text: str, stub: str, rng: random.Random, share: float = 0.6) -> str:
    """Rename some of the locals the answers assign, never a name the stub has (invisible to copydetect)."""
    names = set(re.findall(r"^\s+([a-z_]\w*) = ", text, re.M)) - set(re.findall(r"\w+", stub))
    for name in sorted(names):
        if rng.random() < share:
            text = re.sub(rf"(?<![\w.]){re.escape(name)}\b(?!=)", f"{name}_{rng.choice(WORDS)}", text)
    return text


def _reorder(text: str, rng: random.Random) -> str:
    """Top-level definitions in another order (the module's header stays first)."""
    lines = text.splitlines(keepends=True)
    cuts = [i for i, ln in enumerate(lines) if ln.startswith(("def ", "class ")) and (i == 0 or not lines[i - 1].startswith("@"))]
    if len(cuts) < 3:
        return text
    blocks = [lines[a:b] for a, b in zip(cuts, [*cuts[1:], len(lines)])]
    rng.shuffle(blocks)
    return "".join(lines[: cuts[0]] + [ln for b in blocks for ln in b])


def _answer(name: str, rng: random.Random, pool: dict, rate: float) -> str:
    """One student's file: the solution, maybe with a variant or a wrong example, in their style."""
    text = (SOLUTIONS / name).read_text(encoding="utf-8")
    for kind, chance in (("variants", 0.35), ("wrong", 0.25)):
        if pool[kind].get(name) and rng.random() < chance:
            for old, new in rng.choice(pool[kind][name]).edits:
                if text.count(old) == 1:
                    text = text.replace(old, new)
    out, region = [], None
    for line in text.splitlines():
        if line.strip() == BEGIN:
            region = []
        elif line.strip() == END and region is not None:
            style = min(1.0, rng.uniform(0.5, 1.5) * rate)  # how much of this function is the student's own
            out += _restyle([ln for ln in region if not ln.strip().startswith("# HINT")], rng, style)
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    text = "\n".join(out) + "\n"
    text = _rename(text, (STUBS / name).read_text(encoding="utf-8"), rng, 0.5)
    return _reorder(text, rng) if rng.random() < 0.15 else text


def _copy(texts: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A planted copy: every name renamed that can be, definitions reordered, comments and a line added."""
    out = {}
    for name, text in texts.items():
        text = _rename(text, (STUBS / name).read_text(encoding="utf-8"), rng, 1.0)
        text = _reorder(text, rng)
        lines = text.splitlines()
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            if lines[i].strip() and _depth(lines[i]) == 0 and not lines[i].rstrip().endswith((",", "(", "[", "{", "\\")):
                lines.insert(i, lines[i][: len(lines[i]) - len(lines[i].lstrip())] + f"# {rng.choice(MESSAGES)} (my own idea)")
        out[name] = "\n".join(lines) + "\n"
    return out


def write_class(root: Path, n: int, seed: int = 0, rate: float = 1.0, copies: int | None = None) -> list[tuple[str, str]]:
    """N submissions under `root` (folders `<id>/cnn_rnn/`, one in seven a zip); returns the planted
    (source, copy) pairs, as (student_a, student_b) in the report's order."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    pool = {"variants": {}, "wrong": {}}
    for kind, folder in (("variants", VARIANTS), ("wrong", CATALOG)):
        for m in mutants(folder):
            pool[kind].setdefault(m.file, []).append(m)
    copies = max(3, n // 100) if copies is None else copies
    ids = [f"s{i:05d}" for i in range(n)]
    copiers = set(rng.sample(ids, min(copies, n // 2)))
    originals = [s for s in ids if s not in copiers]
    texts: dict[str, dict[str, str]] = {}
    planted = []
    for student in originals:
        texts[student] = {name: (STUBS / name).read_text(encoding="utf-8") if rng.random() < 0.04 else _answer(name, rng, pool, rate)
                          for name in GRADED_FILES}
    for student in sorted(copiers):
        source = rng.choice(originals)
        texts[student] = _copy(texts[source], rng)
        planted.append(tuple(sorted((source, student))))
    for student, files in texts.items():
        if rng.random() < 1 / 7:
            with zipfile.ZipFile(root / f"{student}_cnn_rnn.zip", "w", zipfile.ZIP_DEFLATED) as zf:
                for name, text in files.items():
                    zf.writestr(f"cnn_rnn/{name}", text)
        else:
            (root / student / "cnn_rnn").mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (root / student / "cnn_rnn" / name).write_text(text, encoding="utf-8")
    return sorted(planted)


def _tree_pss(pid: int) -> int:
    """kB of PSS of a process and its descendants (0 for those gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for t in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (t / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


_WRAP = ("import json, resource, subprocess, sys, time\nt = time.perf_counter()\nrc = subprocess.run(sys.argv[1:]).returncode\n"
         "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
         "print('MEASURE', json.dumps([rc, time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss]))")


def measure(cmd: list[str], timeout: float) -> dict:
    """Run `cmd` under a fresh wrapper process, so that its rusage covers this command and its
    workers only: wall and CPU seconds, peak RSS of the largest process, peak PSS of the whole
    tree (sampled every 0.2 s)."""
    proc = subprocess.Popen([sys.executable, "-c", _WRAP, *cmd], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_pss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"timed_out": True}
    sampler.join()
    rc, wall, cpu, maxrss = json.loads(output.rsplit("MEASURE ", 1)[1])
    if rc:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{output[-3000:]}")
    steps = re.search(r"similarity steps: (.*)", output)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(maxrss / 1024), "peak_pss_mb": round(peak[0] / 1024),
            "steps": steps.group(1) if steps else None}


COMMAND = ("import argparse, sys\nfrom autograder.similarity import command\nparser = argparse.ArgumentParser()\n"
           "command.add_parser(parser.add_subparsers())\nargs = parser.parse_args(sys.argv[1:])\nraise SystemExit(args.func(args))")


def _listed(out: Path) -> dict[tuple[str, str], float]:
    with (out / "pairs.csv").open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {(r["student_a"], r["student_b"]): float(r["similarity"]) for r in rows if r["file"] == "(overall)"}


def run(n: int, all_pairs: bool, jobs: int | None, threshold: float, timeout: float, keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sim_scale_") as tmp:
        base = keep or Path(tmp)
        subs = base / f"class{n}"
        t = time.perf_counter()
        planted = write_class(subs, n)
        row: dict = {"n": n, "pairs": n * (n - 1) // 2, "generate_s": round(time.perf_counter() - t, 1), "planted": len(planted)}
        for method in ("index", "all-pairs") if all_pairs else ("index",):
            out = base / f"out{n}-{method}"
            cmd = [sys.executable, "-c", COMMAND, "similarity", str(subs), "--out", str(out), "--threshold", str(threshold),
                   "--method", method] + (["-j", str(jobs)] if jobs else [])
            m = measure(cmd, timeout)
            if m.get("timed_out"):
                row[method] = m
                continue
            summary = (out / "summary.md").read_text(encoding="utf-8")
            listed = _listed(out)
            ranked = sorted(listed, key=lambda p: -listed[p])
            top = set(ranked[: 2 * len(planted)])
            row[method] = m | {
                "line": next(ln for ln in summary.splitlines() if "pairs of students" in ln),
                "listed": len(listed),
                "above_threshold": sum(s >= threshold for s in listed.values()),
                "planted_in_top": sum(p in top for p in planted),
                "planted_min_score": min((listed.get(p, 0.0) for p in planted), default=None),
                "pairs_csv_kb": round((out / "pairs.csv").stat().st_size / 1024),
                "html_kb": round((out / "similarity.html").stat().st_size / 1024),
            }
            row[method + "_pairs"] = {f"{a}|{b}": s for (a, b), s in listed.items() if s >= threshold}
        if all_pairs and "listed" in row.get("all-pairs", {}):
            row["same_pairs_above_threshold"] = row["index_pairs"] == row["all-pairs_pairs"]
        row.pop("index_pairs", None)
        row.pop("all-pairs_pairs", None)
        return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[42, 200, 1000, 2000])
    ap.add_argument("--all-pairs-max", type=int, default=200, help="run the all-pairs method too up to this N")
    ap.add_argument("-j", "--jobs", type=int, default=None)
    ap.add_argument("--threshold", type=float, default=0.6)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run before giving up on it")
    ap.add_argument("--keep", type=Path, default=None, help="write the classes and outputs here (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    rows = []
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}, {os.cpu_count()} cores", flush=True)
    for n in args.n:
        row = run(n, n <= args.all_pairs_max, args.jobs, args.threshold, args.timeout, args.keep)
        with open("/proc/loadavg") as f:
            row["load_after"] = f.read().split()[:3]
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

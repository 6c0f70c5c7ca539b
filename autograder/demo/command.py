"""`autograder demo --out DIR`: every part's solution end to end on the bundled real data, then
a grading run over the example submissions."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from autograder.atomic import write_text
from autograder.runtime.assignment import PARTS



def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run every part's solution on real data and grade the example submissions")
    p.add_argument("--out", type=Path, default=Path("demo-out"))
    p.add_argument("--parts", nargs="*", choices=PARTS, default=list(PARTS))
    p.add_argument("--skip-grading", action="store_true")
    p.add_argument("--full", action="store_true",
                   help="recompute the part 4 CLM pretraining and learning curves instead of reading the demo cache or the "
                        "shipped result (20 to 50 min on 2 cores; make demo FULL=1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    from autograder.demo import shipped_result

    shipped_result.RECOMPUTE = args.full
    figures: dict[str, dict] = {}
    failed = []
    for part in args.parts:
        started = time.monotonic()
        print(f"== {part} ==", flush=True)
        try:
            module = importlib.import_module(f"autograder.demo.{part}")
            figures[part] = module.run(out / part)
            # A part may publish figures that span parts (e.g. "word_order") as top-level keys.
            figures.update(figures[part].pop("figures", {}))
        except Exception as exc:  # one part's failure is reported, the others still run
            failed.append(part)
            figures[part] = {"error": f"{type(exc).__name__}: {exc}"}
        figures[part]["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(figures[part], ensure_ascii=False, indent=1), flush=True)
    write_text(out / "figures.json", json.dumps(figures, ensure_ascii=False, indent=1))
    if not args.skip_grading:
        from autograder.catalog import groups
        from autograder.examples import build_examples, mutants
        from autograder.grade.batch import grade_all
        from autograder.report.table import gradebook_table
        from autograder.report.write import write_outputs

        # A sample of the example class: the solution, the stubs and the first wrong submission of
        # each part, all parts graded (the whole class is graded by tests/test_examples.py).
        first: dict[str, str] = {}
        for m in mutants():
            first.setdefault(m.file, m.name)
        subs = build_examples(out / "example-submissions", ["solution", "stubs", *first.values()])
        results = grade_all(subs, out / "grading", force=True)
        write_outputs(out / "grading", results)
        print("\n== gradebook of a sample of the example submissions ==")
        print(gradebook_table(results, groups()))
    print(f"\ndemo outputs in {out}/")
    if failed:
        print(f"demo parts that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0

"""End to end: grade a small class on part 5 with a late policy, a Canvas roster and exports, run
the similarity report on it, and open the class report and a feedback page in headless chromium.

Class: ana (solution, on time), ben (a disguised copy of ana, zip whose manifest claims it is on
time; 26 h late), cai (own answer, 2 h 10 min late), dan (two submissions: the stubs, then his own
answer), eve and fay (only l2_normalize, both forgetting the eps). About 60 s on 2 idle cores.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile

import pytest

from autograder.catalog import checks_of
from autograder.cli import main
from tests.browser import chromium, open_page
from tests.classroom import DAN, CAI, STUB, answered, class_files, write_class
from tests.test_late_lms import CANVAS_EXPORT

pytestmark = pytest.mark.slow
DEADLINE = "2026-11-20T23:59:00+08:00"
TIMES = """submission,submitted_at,student
ana,2026-11-20T21:00:00+08:00,ana
ben,2026-11-22T01:59:00+08:00,ben
cai,2026-11-21T02:09:00+08:00,cai
dan_1,2026-11-19T10:00:00+08:00,dan
dan_2,2026-11-20T23:50:00+08:00,dan
eve,2026-11-20T12:00:00+08:00,eve
fay,2026-11-20T23:59:00+08:00,fay
"""
NAN_HINT = "全零行的长度是 0"  # the hint of part5.l2_normalize_zero_rows
PART5_CHECKS = sum(m.group == "part5" for m in checks_of("hidden"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    files = class_files()
    subs = write_class(root / "subs", {
        "ana": files["ana"], "cai": answered(CAI), "dan_1": STUB, "dan_2": answered(DAN),
        "eve": answered({"l2_normalize": "return x / x.norm(dim=dim, keepdim=True)"}),
        "fay": answered({"l2_normalize": "return x * torch.rsqrt((x ** 2).sum(dim=dim, keepdim=True))"}),
    })
    with zipfile.ZipFile(subs / "ben_cnn_rnn.zip", "w") as zf:  # the student's own times: never trusted
        zf.writestr(zipfile.ZipInfo("cnn_rnn/part5_retrieval.py", date_time=(2026, 11, 20, 9, 0, 0)), files["ben"])
        zf.writestr("cnn_rnn/manifest.json", json.dumps({"student": "ben", "created_utc": "2026-11-20T01:00:00Z"}))
    (root / "times.csv").write_text(TIMES)
    (root / "roster.csv").write_text(CANVAS_EXPORT
                                     + '"Chen, Cai",1103,2026003,cai,AI-101 Section 2,,,,,,,\n'
                                     + '"Sun, Dan",1104,2026004,dan,AI-101 Section 2,,,,,,,\n'
                                     + '"Gu, Gus",1107,2026007,gus,AI-101 Section 2,,,,,,,\n', encoding="utf-8")
    out = root / "out"
    assert main(["similarity", str(subs), "--out", str(out)]) == 0  # before grading: its section must survive
    code = main(["grade", str(subs), "--out", str(out), "--part", "part5", "-j", "2", "-q",
                 "--deadline", DEADLINE, "--late-penalty", "10%/day grace=15m cap=50%", "--submission-times", str(root / "times.csv"),
                 "--roster", str(root / "roster.csv"), "--canvas-csv", str(out / "canvas.csv"),
                 "--canvas-assignment", "Module 6 CNN RNN (4412)", "--moodle-csv", str(out / "moodle.csv")])
    assert code == 0
    grades = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    return out, grades


def test_penalties_and_newest_submission(graded):
    out, grades = graded
    assert sorted(grades) == ["ana", "ben", "cai", "dan", "eve", "fay"]
    full = 15.0
    assert float(grades["ana"]["part5"]) == full and float(grades["ana"]["total"]) == full
    assert float(grades["ben"]["part5"]) == full and float(grades["ben"]["late_penalty"]) == 0.2 * full  # 26 h: 2 days
    assert float(grades["cai"]["late_penalty"]) == 0.1 * full and float(grades["cai"]["total"]) == 0.9 * full
    assert float(grades["dan"]["total"]) == full  # the newer of his two submissions, on time
    assert float(grades["fay"]["late_penalty"]) == 0  # at the deadline exactly
    ben = json.loads((out / "results" / "ben.json").read_text(encoding="utf-8"))
    assert ben["raw_total"] == full  # the stored result is the grade; the penalty is applied on output
    feedback = (out / "feedback" / "ben.md").read_text(encoding="utf-8")
    assert "迟交扣分" in feedback and "2 天" in feedback and f"**总分: {0.8 * full:g} / {full:g}**" in feedback
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Late submissions" in summary and "| ben |" in summary


def test_exports_follow_the_roster_and_report_who_is_missing(graded):
    out, grades = graded
    rows = list(csv.reader((out / "canvas.csv").open(encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Module 6 CNN RNN (4412)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "15"
    body = {r[3]: r for r in rows[2:]}
    assert body["ben"] == ["Wang, Ben", "1102", "2026002", "ben", "AI-101 Section 1", "12"]
    assert body["fay"] == ["fay", "", "", "fay", "", grades["fay"]["total"]]  # not on the roster: kept
    moodle = list(csv.reader((out / "moodle.csv").open(encoding="utf-8")))
    assert moodle[0] == ["identifier", "grade"] and {r[0]: r[1] for r in moodle[1:]} == {s: g["total"] for s, g in grades.items()}
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "Not on the roster" in summary and "fay" in summary.split("Not on the roster")[1].splitlines()[0]
    assert "Gu, Gus" in summary


def test_similarity_top_pair_and_class_wrong_answers(graded):
    out, _ = graded
    with (out / "pairs.csv").open(encoding="utf-8") as f:  # its first line is a `#` comment stating the floor
        top = next(csv.DictReader(line for line in f if not line.startswith("#")))
    assert (top["student_a"], top["student_b"], top["file"]) == ("ana", "ben", "(overall)") and float(top["similarity"]) >= 0.85
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.index("## What the class got wrong") < summary.index("## Code similarity")  # kept by the regrade
    row = next(line for line in summary.splitlines() if NAN_HINT in line)
    assert row.endswith("| 2 |")  # eve and fay, one cause


@pytest.fixture(scope="module")
def browser():
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")


VISIBLE = """(() => {
  const shown = (el) => { if (!el) return false; const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
                          return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const svg = document.querySelector('#histogram');
  return {histogram: shown(svg), bars: svg ? [...svg.querySelectorAll('rect')].filter(r => r.getBBox().height > 0).length : 0,
          tables: [...document.querySelectorAll('table')].map(t => shown(t) ? t.rows.length : 0),
          rows: Object.fromEntries([...document.querySelectorAll('table[id]')].map(t => [t.id, shown(t) ? t.rows.length : 0])),
          causes: [...document.querySelectorAll('.cause')].map(d => ({kind: d.dataset.kind, text: d.innerText,
                   who: [...d.querySelectorAll('a')].map(a => a.getAttribute('href'))})),
          text: document.body.innerText};
})()"""


def test_class_report_in_chromium(graded, browser, tmp_path):
    out, grades = graded
    report = open_page(out / "class_report.html", VISIBLE)
    assert report.errors == []
    assert report.value["histogram"] and report.value["bars"] >= 3  # 0-ish, 15 * 0.9 and full marks at least
    rows = report.value["rows"]
    assert rows["parts"] == 2 and rows["students"] == 7 and rows["late"] == 3  # header rows included
    assert rows["heatmap"] == 1 + 1 + PART5_CHECKS  # students' names, the part, one row per check
    assert 2 <= rows["checks"] < 1 + PART5_CHECKS  # only the checks someone failed
    nan = [c for c in report.value["causes"] if NAN_HINT in c["text"]]
    assert len(nan) == 1 and nan[0]["kind"] == "nan" and sorted(nan[0]["who"]) == ["feedback/eve.html", "feedback/fay.html"]
    assert "×2" in nan[0]["text"]
    assert report.screenshot[:8] == b"\x89PNG\r\n\x1a\n" and len(report.screenshot) > 20_000
    (tmp_path / "class_report.png").write_bytes(report.screenshot)


def test_feedback_page_in_chromium(graded, browser):
    out, _ = graded
    page = open_page(out / "feedback" / "ben.html", VISIBLE)
    assert page.errors == []
    assert page.value["rows"]["parts"] == 2  # the subtotal of part 5, first
    assert "迟交扣分" in page.value["text"] and "总分: 12 / 15" in page.value["text"]
    assert f"已通过的检查（{PART5_CHECKS} 项）" in page.value["text"]  # every part 5 check passed, folded
    similarity = open_page(out / "similarity.html", VISIBLE)
    assert similarity.errors == [] and "ana ↔ ben" in similarity.value["text"]

"""The gradebook an instructor uploads, from results built by hand (no grading: a few seconds).

A class of three graded students and one whose hand-in could not be graded: the ungradable one has
a status and a reason in grades.csv, is left out of every class statistic, gets an empty cell in the
Canvas and Moodle files, is listed in summary.md and class_report.html, and its feedback says what
to fix. Notes on what the grader did with a hand-in reach the student's feedback and Gradescope.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

from autograder.gradescope.results import gradescope_results
from autograder.report import class_html, classwide, feedback, files, lms, summary, table
from autograder.report.write import write_outputs
from autograder.results import CheckResult, StudentResult

CORRUPT = "无法打开压缩包 dan_cnn_rnn.zip：文件已损坏、不完整或不是 zip（BadZipFile: File is not a zip file），请重新打包上传"
PICKED = "压缩包里有两个作业文件夹：评分用的是 cnn_rnn/，忽略了 old/cnn_rnn/"
RENAMED = "文件名大小写不对：cnn_rnn/Part5_Retrieval.py 按 part5_retrieval.py 评分（文件名应全部小写）"


def _checks(a: float, b: float, message: str = "") -> list[CheckResult]:
    return [CheckResult("part5.l2", "part5", a, 5.0, "passed" if a == 5.0 else "failed", "" if a == 5.0 else message or "数值不对", title="L2"),
            CheckResult("part5.topk", "part5", b, 10.0, "passed" if b == 10.0 else "failed", "" if b == 10.0 else message or "数值不对", title="Top-K")]


def _class() -> list[StudentResult]:
    return [
        StudentResult("ana", _checks(5.0, 10.0)),
        StudentResult("ben", _checks(5.0, 0.0), notes=[PICKED, RENAMED]),
        StudentResult("cai", _checks(0.0, 10.0)),
        StudentResult("dan", _checks(0.0, 0.0, CORRUPT), problem=CORRUPT, outcome="ungradable", problem_kind="corrupt"),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, list[StudentResult]]:
    out = tmp_path_factory.mktemp("out")
    results = _class()
    write_outputs(out, results)
    return out, results


def test_grades_csv_has_status_and_problem(written):
    out, _ = written
    reader = csv.DictReader((out / "grades.csv").open(encoding="utf-8"))
    rows = {r["student"]: r for r in reader}
    assert reader.fieldnames[0] == "student" and reader.fieldnames[-3:] == ["total", "status", "problem"]  # added after the old columns
    assert rows["ana"]["total"] == "15" and rows["ana"]["status"] == "graded" and rows["ana"]["problem"] == ""
    assert rows["cai"]["part5"] == "10" and rows["cai"]["status"] == "graded"
    dan = rows["dan"]
    assert dan["status"] == "ungradable" and dan["problem"] == CORRUPT
    assert dan["total"] == "" and dan["part5"] == "" and all(dan[g] == "" for g in reader.fieldnames[1:-3])  # not a zero
    # the instructor who wants a zero asks for it
    zero = {r["student"]: r for r in csv.DictReader(io.StringIO(files.grades_csv(_class(), ["part5"], ungradable_as_zero=True)))}
    assert zero["dan"]["total"] == "0" and zero["dan"]["status"] == "ungradable"


def test_results_jsonl_carries_the_outcome(written):
    out, _ = written
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(x["student"], x["outcome"]) for x in lines} == {("ana", "graded"), ("ben", "graded"), ("cai", "graded"), ("dan", "ungradable")}


def test_class_statistics_leave_the_ungradable_out():
    results = _class()
    t = classwide.totals(results)
    assert (t.n, t.mean, t.low, t.high, t.ungradable) == (3, 10.0, 5.0, 15.0, 1)  # (15 + 5 + 10) / 3, not / 4
    assert "1 could not be graded" in t.describe()
    assert classwide.part_means(results) == [("part5", 10.0, 15.0)]
    top, counts = classwide.histogram(results)
    assert top == 15.0 and sum(counts) == 3 and counts[0] == 0  # dan's 0 is not a bar
    stats = {s.check: s for s in classwide.check_stats(results)}
    assert (stats["part5.l2"].n, stats["part5.l2"].passed, stats["part5.l2"].rate) == (3, 2, pytest.approx(2 / 3))
    assert all("dan" not in c.students and CORRUPT not in c.example for s in stats.values() for c in s.causes)


def test_one_histogram_binning(written, monkeypatch):
    """histogram.png draws classwide.histogram's bins, the same as the SVG of class_report.html."""
    import matplotlib.axes

    drawn = {}
    real_bar = matplotlib.axes.Axes.bar

    def bar(self, x, height, *args, **kwargs):
        drawn["x"], drawn["height"] = list(x), list(height)
        return real_bar(self, x, height, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "bar", bar)
    out, results = written
    summary.histogram_png(results, out / "h.png")
    top, counts = classwide.histogram(results)
    assert drawn["height"] == counts and len(drawn["x"]) == classwide.BINS and drawn["x"][-1] < top
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_lists_the_ungradable_and_excludes_them(written):
    out, _ = written
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "3 students, mean 10.0" in text and "1 could not be graded" in text
    section = text.split(summary.UNGRADABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    assert "| dan |" in section and "无法打开压缩包" in section and "corrupt" in section and "empty" in section
    assert "| `part5.l2` | 67% | 3 |" in text  # 2 of the 3 graded students
    notes = text.split("## Notes on hand-ins", 1)[1]
    assert "ben" in notes and "old/cnn_rnn" in notes


def test_class_report_lists_the_ungradable(written):
    out, _ = written
    page = (out / "class_report.html").read_text(encoding="utf-8")
    assert "3 students, mean 10.0" in page
    section = page.split("id='ungradable-section'", 1)[1].split("</section>", 1)[0]
    assert "Submissions that could not be graded (1)" in section
    assert "<a href='feedback/dan.html'>dan</a>" in section and "无法打开压缩包" in section
    assert page.index("ungradable-section") < page.index("id='histogram'")  # before the statistics, where it is seen
    assert "<a href='feedback/ben.html'>ben</a>" in page.split("id='notes'", 1)[1]
    assert "id='ungradable'" not in class_html.html_report(_class()[:3])  # nothing to list: no section


def test_canvas_and_moodle_leave_the_cell_empty(tmp_path, capsys):
    results = _class()
    rows = list(csv.reader(io.StringIO(lms.canvas_csv(results, "Module 6"))))
    assert rows[1][-1] == "15"  # points possible
    assert {r[3]: r[5] for r in rows[2:]} == {"ana": "15", "ben": "5", "cai": "10", "dan": ""}
    moodle = list(csv.reader(io.StringIO(lms.moodle_csv(results))))
    assert dict(moodle[1:]) == {"ana": "15", "ben": "5", "cai": "10", "dan": ""}
    section = lms.write_exports(results, None, tmp_path / "c.csv", tmp_path / "m.csv", "Module 6")
    assert "Grade left empty" in section[0] and "dan" in section[0]
    assert "dan" in capsys.readouterr().err
    assert list(csv.reader(open(tmp_path / "c.csv", encoding="utf-8")))[-1][-1] == ""
    zero = lms.write_exports(results, None, tmp_path / "c.csv", tmp_path / "m.csv", "Module 6", ungradable_as_zero=True)
    assert "Exported as 0" in zero[0]
    assert list(csv.reader(open(tmp_path / "m.csv", encoding="utf-8")))[-1] == ["dan", "0"]
    assert lms.write_exports(results[:3], None, tmp_path / "c.csv", None, "Module 6") == []  # nothing to say


def test_feedback_shows_notes_and_what_to_fix(written):
    out, _ = written
    ben = (out / "feedback" / "ben.md").read_text(encoding="utf-8")
    assert f"## {feedback.NOTES_HEADING}" in ben and f"- {PICKED}" in ben and f"- {RENAMED}" in ben
    assert ben.index(feedback.NOTES_HEADING) < ben.index("| | 检查 (check)")  # seen before the checks
    ben_html = (out / "feedback" / "ben.html").read_text(encoding="utf-8")
    assert "class='notes'" in ben_html and "old/cnn_rnn/" in ben_html and "Part5_Retrieval.py" in ben_html
    dan = (out / "feedback" / "dan.md").read_text(encoding="utf-8")
    assert dan.startswith("# 作业反馈: dan") and "总分: 0" not in dan and "提交无法评分" in dan
    assert CORRUPT in dan and feedback.ADVICE["corrupt"] in dan and "autograder submit" in dan
    assert "| | 检查 (check)" not in dan  # no table of zeros
    dan_html = (out / "feedback" / "dan.html").read_text(encoding="utf-8")
    assert "class='ungradable'" in dan_html and "重新打包" in dan_html and "<table>" not in dan_html
    ana = (out / "feedback" / "ana.md").read_text(encoding="utf-8")
    assert "**总分: 15 / 15**" in ana and feedback.NOTES_HEADING not in ana


def test_every_submission_error_kind_has_advice():
    from autograder.grade.unpack import KINDS

    assert set(feedback.ADVICE) == set(KINDS)


def test_console_table_and_warnings():
    results = _class()
    text = table.gradebook_table(results, ["part5"])
    dan = next(line for line in text.splitlines() if line.startswith("dan"))
    assert "NOT GRADED" in dan and " 0 " not in dan
    assert summary.ungradable_warnings(results) == [f"dan: could not be graded (corrupt): {CORRUPT}"]


def test_gradescope_output_shows_notes_and_the_fix():
    results = {r.student: r for r in _class()}
    ben = gradescope_results(results["ben"])
    assert PICKED in ben["output"] and RENAMED in ben["output"] and ben["extra_data"]["notes"] == [PICKED, RENAMED]
    dan = gradescope_results(results["dan"])
    schema = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text(encoding="utf-8"))
    for data in (ben, dan):
        jsonschema.validate(data, schema)
    assert dan["output"].startswith(f"提交无法评分: {CORRUPT}") and feedback.ADVICE["corrupt"] in dan["output"]
    assert dan["extra_data"]["outcome"] == "ungradable" and dan["extra_data"]["problem_kind"] == "corrupt"


def test_nbgrader_gradebook_gives_no_score_to_the_ungradable(tmp_path, monkeypatch):
    pytest.importorskip("nbgrader")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs its `alembic`
    from nbgrader.api import Gradebook

    from autograder.nbgrader.gradebook import NOTEBOOK, course_settings, write_gradebook

    results = _class()
    course = write_gradebook(tmp_path, "cnn_rnn", results)
    with Gradebook(course.db_url, course.course_id) as gb:
        ana = gb.find_grade("part5.l2", NOTEBOOK, "cnn_rnn", "ana")
        assert ana.auto_score == 5.0 and not ana.needs_manual_grade
        for check in ("part5.l2", "part5.topk"):
            dan = gb.find_grade(check, NOTEBOOK, "cnn_rnn", "dan")
            assert dan.auto_score is None and dan.needs_manual_grade  # waits for the instructor in formgrader
        assert gb.find_submission("cnn_rnn", "dan").needs_manual_grade
    assert course_settings(tmp_path).db_url == course.db_url


# --------------------------------------------------------------------------- reports for people

H1 = "先 text.lower()"
LONG = "张三" * 40  # its files get a shortened, hashed name (ids.file_stem)
IMPORT_ERROR = "导入你的文件时出错，这一部分的检查都无法运行: SyntaxError: invalid syntax (part3_lstm.py, line 7)"


def _c(check: str, status: str = "passed", kind: str = "", hint: str = "", message: str = "") -> CheckResult:
    failed = status != "passed"
    text = (message or f"{check}: {kind}") + (f"\n提示: {hint}" if hint else "") if failed else ""
    return CheckResult(check, check.split(".")[0], 0.0 if failed else 1.0, 1.0, status, text, title=f"title of {check}",
                       kind=kind if failed else "", hint=hint)


def _people() -> list[StudentResult]:
    ok = {name: _c(name) for name in ("part3.a", "part3.b", "part3.c", "part4.d")}
    def mine(**changed: CheckResult) -> list[CheckResult]:
        return [changed.get(name.split(".")[1], c) for name, c in ok.items()]
    imp = _c("part3.a", "error", "import_error", message=IMPORT_ERROR)
    return [
        StudentResult("ann", mine()),
        StudentResult("bob", mine(a=_c("part3.a", "failed", "wrong_value", H1))),
        StudentResult("cyd", mine(a=_c("part3.a", "failed", "wrong_value", H1), b=_c("part3.b", "error", "exception", message="TypeError: x"),
                                  d=_c("part4.d", "error", "not_implemented"))),
        StudentResult("dee", mine(a=imp, b=_c("part3.b", "error", "import_error", message=IMPORT_ERROR),
                                  c=_c("part3.c", "error", "import_error", message=IMPORT_ERROR), d=_c("part4.d", "error", "not_implemented"))),
        StudentResult(LONG, mine(a=_c("part3.a", "failed", "wrong_value", "另一个提示"))),
        StudentResult("eve", [_c(n, "error", "ungradable", message=CORRUPT) for n in ok], problem=CORRUPT, outcome="ungradable", problem_kind="corrupt"),
    ]


def test_causes_are_grouped_by_kind_and_hint_and_name_their_students():
    stats = {s.check: s for s in classwide.check_stats(_people())}
    a = stats["part3.a"]
    assert [(c.kind, c.hint, c.students) for c in a.causes] == [
        ("wrong_value", H1, ("bob", "cyd")), ("import_error", "", ("dee",)), ("wrong_value", "另一个提示", (LONG,))]
    assert a.causes[0].label == "wrong values" and a.failed == 4 and a.n == 5  # eve is not graded: not counted
    # Most students failed first; what fails a whole part is folded, so part3.c and part4.d have no row.
    assert [s.check for s in classwide.by_failures(list(stats.values()))] == ["part3.a", "part3.b"]
    assert [(f.group, f.kind, f.checks, f.students) for f in classwide.folded(list(stats.values()))] == [
        ("part3", "import_error", 3, (("dee", 3),)), ("part4", "not_implemented", 1, (("cyd", 1), ("dee", 1)))]


def test_class_report_for_people(tmp_path):
    from autograder.ids import file_stem

    results = _people()
    page = class_html.html_report(results)
    checks = page.split("id='checks'", 1)[1].split("</table>", 1)[0]
    assert checks.index("part3.a") < checks.index("part3.b") and "<code>part3.c</code>" not in checks
    assert "<a href='feedback/bob.html'>bob</a> <a href='feedback/cyd.html'>cyd</a>" in checks  # one cause, its students
    assert f"href='feedback/{file_stem(LONG)}.html'" in checks and file_stem(LONG) != LONG
    assert checks.count("class='folded'") == 2 and "dee (3/3)" in checks and H1 in checks
    students = page.split("id='students'", 1)[1].split("</table>", 1)[0]
    assert students.count("<tr>") == 7 and "class='status-ungradable'>ungradable<" in students and "class='status-graded'>graded<" in students
    heat = page.split("id='heatmap'", 1)[1].split("</table>", 1)[0]
    assert heat.count("<td class='c ") == 5 * 4 and "eve" not in heat  # graded students × checks
    assert heat.count("h-pass") == 20 - 9 and "title='dee · part3.a: module fails to import'" in heat
    banded = class_html.heatmap_html(results, limit=4, bands=2)  # above the limit: bands of students ranked by total
    assert "5 graded students, more than the 4 drawn one column each" in banded and banded.count("<th class='band'") == 2
    assert banded.count("<td class='c b'") == 4 * 2 and "eve" not in banded
    # dee (0) and cyd (1), then bob, LONG (3) and ann (4): each cell counts its band's outcomes by colour
    assert "title='part3.a, totals 0–1: 1 wrong answer (value, shape, dtype, type, NaN, input changed); 1 file missing or fails to import'" in banded
    assert "title='part3.a, totals 3–4: 1 passed; 2 wrong answer" in banded and "#4dac26 0.0% 33.3%,#f1a340 33.3% 100.0%" in banded
    assert "<table id='heatmap'>" in class_html.heatmap_html(results, limit=5)
    text = summary.markdown(results)
    assert f"| wrong values | {H1} | bob, cyd | 2 |" in text and "| part3 (whole part) | | module fails to import | | dee (3/3) | 1 |" in text


def test_feedback_opens_with_subtotals_and_shows_a_part_wide_error_once():
    dee = next(r for r in _people() if r.student == "dee")
    md = feedback.markdown(dee)
    assert md.index("总分: 0 / 4") < md.index("| part3 | 0 / 3 | 0 / 3 |") < md.index("| part4 | 0 / 1 | 0 / 1 |") < md.index(feedback.FAILED_HEADING)
    assert md.count(IMPORT_ERROR) == 1 and "这一部分的 3 项检查" in md and "导入出错" in md
    page = feedback.html_page(dee)
    assert page.count(IMPORT_ERROR) == 1 and "<table id='parts'>" in page
    bob = next(r for r in _people() if r.student == "bob")
    md = feedback.markdown(bob)
    assert md.index(feedback.FAILED_HEADING) < md.index("`part3.a`") < md.index(feedback.PASSED_HEADING) < md.index("`part3.b`")
    assert "数值不对" in md and f"提示: {H1}" in md
    page = feedback.html_page(bob)
    passed = page.split("<details id='passed'>", 1)[1].split("</details>", 1)[0]  # folded
    assert "已通过的检查（3 项）" in passed and "part3.b" in passed and "part3.a" not in passed
    assert page.index("class='part'") < page.index("<details id='passed'>")


def test_results_stored_before_failure_kinds_still_report():
    old = []
    for r in _people():
        data = r.to_dict()
        for c in data["checks"]:
            del c["kind"], c["hint"]
        old.append(StudentResult.from_dict(data))
    assert all(c.kind == "" for r in old for c in r.checks)
    page = class_html.html_report(old)
    assert "failed (no kind recorded" in page and "<a href='feedback/bob.html'>bob</a>" in page
    assert "总分" in feedback.markdown(old[1])


def test_progress_writes_lines_into_a_log_and_redraws_a_terminal(monkeypatch):
    from autograder.grade import batch

    clock = iter([0.0, 1.0, 2.0, 7.0, 8.0, 9.0])
    monkeypatch.setattr(batch.time, "monotonic", lambda: next(clock))
    log = io.StringIO()
    progress = batch.Progress(5, log, every=5.0)
    for i in range(5):
        progress.step(f"s{i}: 1/1")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 3  # the first, one 5 s later, the last
    assert lines[0].startswith("graded 1/5") and lines[1].startswith("graded 3/5") and lines[2].startswith("graded 5/5")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter([0.0, 1.0, 2.0])
    tty = Terminal()
    progress = batch.Progress(2, tty)
    progress.step("a")
    progress.step("b")
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("\n")


def test_every_failure_kind_has_words():
    from autograder.results import KINDS

    assert set(classwide.KIND_TEXT) == {*KINDS, ""} and set(feedback.KIND_ZH) == set(KINDS)
    assert set(class_html.FAMILY) | {"wrong_type", "empty", "nan", "wrong_shape", "wrong_dtype", "wrong_value", "modified_input"} == {*KINDS, ""}

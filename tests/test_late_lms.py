"""Late policy, trusted submission times and LMS export files (no grading: about 2 s)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from dateutil.tz import gettz
from nbgrader.exchange.abc.exchange import Exchange

from autograder.grade import late
from autograder.grade.discover import discover
from autograder.report import lms
from autograder.results import CheckResult, StudentResult

DEADLINE = "2026-11-20T23:59:00+08:00"

# Canvas's gradebook export as it downloads (Grades -> Export): names "Last, First", an indented
# "Points Possible" row, Canvas's own test student, read-only score columns after the assignments.
CANVAS_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Module 5 Quiz (4411),Current Points,Final Points,"
    "Current Score,Unposted Current Score,Final Score,Unposted Final Score\n"
) + """    Points Possible,,,,,10.00,(read only),(read only),(read only),(read only),(read only),(read only)
"Li, Ana",1101,2026001,ana,AI-101 Section 1,9.00,9.00,9.00,90.00,90.00,90.00,90.00
"Wang, Ben",1102,2026002,ben,AI-101 Section 1,7.00,7.00,7.00,70.00,70.00,70.00,70.00
"Zhao, Eve",1105,2026005,eve,AI-101 Section 2,,0.00,0.00,,,0.00,0.00
"Student, Test",1199,,c8a1f0e2,AI-101 Section 1,,0.00,0.00,,,0.00,0.00
"""


def _result(student: str, score: float, max_score: float = 15.0) -> StudentResult:
    return StudentResult(student, [CheckResult("part5.x", "part5", score, max_score, "passed" if score == max_score else "failed", "")])


def test_penalty_per_day_per_hour_grace_and_cap():
    policy = late.parse_policy(DEADLINE, "10%/day grace=15m cap=25%")
    d = policy.deadline
    assert policy.penalty(d, 15) == (0.0, "")
    assert policy.penalty(d + timedelta(minutes=15), 15)[0] == 0.0  # within grace
    points, note = policy.penalty(d + timedelta(minutes=16), 15)  # a started day counts
    assert points == 1.5 and "晚于截止时间 16 分钟" in note and "扣 10%，即 1.5 分" in note
    assert policy.penalty(d + timedelta(days=1, seconds=1), 15)[0] == 3.0
    assert policy.penalty(d + timedelta(days=9), 15)[0] == 3.75  # capped at 25%
    hourly = late.parse_policy(DEADLINE, "2%/hour")
    assert hourly.penalty(d + timedelta(hours=2, minutes=1), 100)[0] == 6.0
    for bad in ("10/day", "10%/week", "10%/day cap=x", "10%/day oops=1"):
        with pytest.raises(ValueError):
            late.parse_policy(DEADLINE, bad)
    with pytest.raises(ValueError, match="timezone"):
        late.parse_policy("2026-11-20T23:59:00", "10%/day")


def test_nbgrader_timestamp_is_read_and_zip_or_manifest_times_never_are(tmp_path):
    # timestamp.txt exactly as nbgrader's exchange writes it (its default format and timezone)
    fmt, tz = Exchange.timestamp_format.default_value, Exchange.timezone.default_value
    written = datetime(2026, 11, 21, 1, 30, 5, 123456, tzinfo=gettz(tz)).strftime(fmt)
    assert written == "2026-11-21 01:30:05.123456 UTC"
    folder = tmp_path / "course" / "submitted" / "ana" / "cnn_rnn"
    folder.mkdir(parents=True)
    (folder / "part5_retrieval.py").write_text("x = 1\n")
    (folder / "timestamp.txt").write_text(written)
    times = late.stamps(tmp_path / "course")
    assert times["ana"].when == datetime(2026, 11, 21, 1, 30, 5, 123456, tzinfo=timezone.utc) and times["ana"].source == "nbgrader"
    # a zip with a manifest time, a timestamp.txt and old file times inside: no trusted time
    with zipfile.ZipFile(tmp_path / "course" / "submitted" / "bob.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo("cnn_rnn/part5_retrieval.py", date_time=(2020, 1, 1, 0, 0, 0)), "x = 1\n")
        zf.writestr("cnn_rnn/manifest.json", json.dumps({"created_utc": "2020-01-01T00:00:00Z"}))
        zf.writestr("cnn_rnn/timestamp.txt", "2020-01-01 00:00:00.000000 UTC")
    assert "bob" not in late.stamps(tmp_path / "course")


def test_gradescope_metadata_several_submissions_newest_or_best(tmp_path):
    def submission(name: str, created: str, user: dict) -> None:
        (tmp_path / "subs" / name).mkdir(parents=True)
        (tmp_path / "subs" / name / "part5_retrieval.py").write_text("x = 1\n")
        meta = {"id": 123456, "created_at": created, "submission_method": "upload", "users": [user],
                "assignment": {"due_date": "2026-11-20T23:59:00.000000+08:00", "title": "Module 6", "total_points": "100.0"},
                "previous_submissions": []}
        (tmp_path / "subs" / name / "submission_metadata.json").write_text(json.dumps(meta))

    ana = {"email": "ana@example.edu", "id": 1234, "name": "Ana Li", "sid": "ana"}
    submission("submission_1", "2026-11-20T22:00:00.000000+08:00", ana)
    submission("submission_2", "2026-11-21T09:00:00.000000+08:00", ana)
    submission("submission_3", "2026-11-20T10:00:00.000000+08:00", {"email": "cai@example.edu", "id": 1236, "name": "Cai"})
    times = late.stamps(tmp_path / "subs")
    assert {k: (v.student, v.source) for k, v in times.items()} == {
        "submission_1": ("ana", "gradescope"), "submission_2": ("ana", "gradescope"), "submission_3": ("cai@example.edu", "gradescope")}
    newest = late.newest_only(discover(tmp_path / "subs"), times)
    assert sorted(s.student for s in newest) == ["submission_2", "submission_3"]
    policy = late.parse_policy(DEADLINE, "50%/day")
    graded = [_result("submission_1", 10), _result("submission_2", 15), _result("submission_3", 12)]
    best = {r.student: r for r in late.settle(graded, times, policy, "best")}
    assert best["ana"].raw_total == 10 and best["ana"].total == 10  # on time 10 beats 15 - 7.5 late
    latest = {r.student: r for r in late.settle(graded, times, policy, "newest")}
    assert latest["ana"].raw_total == 15 and latest["ana"].late_penalty == 7.5 and latest["ana"].total == 7.5
    assert "晚于截止时间" in latest["ana"].late_note and latest["cai@example.edu"].late_penalty == 0


def test_instructor_csv_wins_and_must_name_real_submissions(tmp_path):
    (tmp_path / "subs" / "ana").mkdir(parents=True)
    (tmp_path / "subs" / "ana" / "part5_retrieval.py").write_text("x = 1\n")
    (tmp_path / "t.csv").write_text("submission,submitted_at\nana,2026-11-21T00:30:00+08:00\n")
    assert late.stamps(tmp_path / "subs", times_csv=tmp_path / "t.csv")["ana"].source == "csv"
    (tmp_path / "t.csv").write_text("submission,submitted_at\nghost,2026-11-21T00:30:00+08:00\n")
    with pytest.raises(ValueError, match="ghost"):
        late.stamps(tmp_path / "subs", times_csv=tmp_path / "t.csv")


def test_canvas_export_with_a_canvas_roster(tmp_path):
    (tmp_path / "roster.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    roster = lms.read_roster(tmp_path / "roster.csv")
    results = [_result("ana", 15), _result("ben", 12), _result("dan", 7.5)]
    rows = list(csv.reader(io.StringIO(lms.canvas_csv(results, "Module 6 CNN RNN (4412)", roster))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Module 6 CNN RNN (4412)"]
    assert rows[0][:5] == next(csv.reader(io.StringIO(CANVAS_EXPORT)))[:5]  # Canvas's own identity columns
    assert rows[1] == ["    Points Possible", "", "", "", "", "15"]
    assert rows[2] == ["Li, Ana", "1101", "2026001", "ana", "AI-101 Section 1", "15"]
    assert rows[3] == ["Wang, Ben", "1102", "2026002", "ben", "AI-101 Section 1", "12"]
    assert rows[4] == ["dan", "", "", "dan", "", "7.5"]  # not on the roster: kept and reported
    missing, absent = lms.unmatched(results, roster)
    assert missing == ["dan"] and [p.name for p in absent] == ["Zhao, Eve"]  # the test student is no one
    section = lms.write_exports(results, roster, tmp_path / "c.csv", tmp_path / "m.csv", "Module 6")
    assert "dan" in section[0] and "Zhao, Eve" in section[0] and (tmp_path / "c.csv").is_file()
    # Eve handed in a corrupt zip: she is on the roster with an empty cell, not a 0, and not "without a submission"
    eve = StudentResult("eve", [CheckResult("part5.x", "part5", 0.0, 15.0, "error", "坏了")], problem="压缩包已损坏", outcome="ungradable", problem_kind="corrupt")
    rows = list(csv.reader(io.StringIO(lms.canvas_csv([*results, eve], "Module 6 CNN RNN (4412)", roster))))
    assert rows[-1] == ["Zhao, Eve", "1105", "2026005", "eve", "AI-101 Section 2", ""]
    assert lms.unmatched([*results, eve], roster)[1] == []
    section = lms.write_exports([*results, eve], roster, None, None, "Module 6")
    assert "Grade left empty" in section[0] and "eve" in section[0].split("Grade left empty", 1)[1].splitlines()[0]


def test_moodle_export_and_a_plain_roster(tmp_path):
    (tmp_path / "roster.csv").write_text("student,name,email,section\nana,Ana Li,ana@example.edu,1\nben,Ben Wang,ben@example.edu,1\n")
    roster = lms.read_roster(tmp_path / "roster.csv")
    both = [_result("ana", 15), _result("ben", 12)]
    assert lms.moodle_csv(both, roster) == "email,grade\nana@example.edu,15\nben@example.edu,12\n"
    # one student without an e-mail: the whole column switches to the grader's ids
    assert lms.moodle_csv([*both, _result("dan", 3)], roster) == "identifier,grade\nana,15\nben,12\ndan,3\n"
    (tmp_path / "bad.csv").write_text("name,email\nx,y\n")
    with pytest.raises(ValueError, match="student"):
        lms.read_roster(tmp_path / "bad.csv")

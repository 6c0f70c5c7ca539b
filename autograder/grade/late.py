"""Late policy: trusted submission times, the penalty, and which submission counts.

Submission times come only from sources the student cannot write after the fact:

- nbgrader: `submitted/<student>/<assignment>/timestamp.txt` (written by nbgrader's exchange,
  parsed with nbgrader's own `parse_utc`);
- Gradescope: `submission_metadata.json` at the top of a submission *folder* (`created_at`; the
  student is `users[0].sid`, else the e-mail), as Gradescope puts it in the autograder container;
- an instructor CSV (`--submission-times`): columns `submission`, `submitted_at` (ISO 8601 with a
  zone) and optionally `student` (default: the submission's id).

Never from the student's manifest, nor from file times inside a zip: both are the student's to set.
The CSV wins over the other two. A student may have several submissions (CSV `student` column, or
several Gradescope folders with the same sid): the newest counts, or with `keep="best"` the one
with the highest total after its penalty.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.runtime.assignment import ASSIGNMENT
from autograder.grade.discover import Submission, discover
from autograder.results import StudentResult

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|hour|hours|d|day|days)\s*$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*/\s*(day|hour)\s*$")
_UNIT = {"m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}


@dataclass(frozen=True)
class Stamp:
    """When a submission was made and whose it is, with where that was read."""

    submission: str  # the id discover() gives the zip/folder
    student: str
    when: datetime  # timezone-aware
    source: str  # nbgrader / gradescope / csv


@dataclass(frozen=True)
class LatePolicy:
    """`percent` of the maximum points per started `unit` (day or hour) after the deadline.

    A submission at most `grace` late is on time; later ones are counted from the deadline itself.
    The penalty never exceeds `cap` percent (100 by default) and the total never goes below 0."""

    deadline: datetime
    percent: float
    unit: str  # "day" or "hour"
    grace: timedelta = timedelta(0)
    cap: float = 100.0

    def penalty(self, when: datetime, max_total: float) -> tuple[float, str]:
        """(points off, note for the student) for a submission made at `when`."""
        late = when - self.deadline
        if late <= self.grace:
            return 0.0, ""
        seconds = 86400 if self.unit == "day" else 3600
        units = math.ceil(late.total_seconds() / seconds)
        percent = min(self.cap, self.percent * units)
        points = round(max_total * percent / 100, 4)
        unit_zh = "天" if self.unit == "day" else "小时"
        cap = f"，上限 {self.cap:g}%" if percent == self.cap and self.cap < 100 else ""
        note = (f"晚于截止时间 {_human(late)}（截止 {self.deadline.isoformat()}，提交 {when.isoformat()}），"
                f"按每{unit_zh} {self.percent:g}% 计 {units} {unit_zh}{cap}：扣 {percent:g}%，即 {points:g} 分")
        return points, note


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    return " ".join(x for x in (f"{d} 天" if d else "", f"{h} 小时" if h else "", f"{m} 分钟" if m or not (d or h) else "") if x)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; it must name its zone (a deadline without one is ambiguous)."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-20T23:59:00+08:00)") from exc
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone; add one, e.g. +08:00 or Z")
    return when


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 15m, 2h, 1d)")
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])


def parse_policy(deadline: str, penalty: str) -> LatePolicy:
    """`penalty` is `P%/day` or `P%/hour`, optionally followed by `grace=DURATION` and `cap=C%`
    (separated by spaces or commas), e.g. `10%/day grace=15m cap=50%`."""
    rate, *options = [x for x in re.split(r"[\s,]+", penalty.strip()) if x]
    m = _RATE.match(rate)
    if not m:
        raise ValueError(f"--late-penalty: expected P%/day or P%/hour, got {rate!r}")
    grace, cap = timedelta(0), 100.0
    for option in options:
        key, _, val = option.partition("=")
        if key == "grace":
            grace = parse_duration(val)
        elif key == "cap" and re.fullmatch(r"\d+(\.\d+)?%", val):
            cap = float(val[:-1])
        else:
            raise ValueError(f"--late-penalty: unknown option {option!r} (grace=15m, cap=50%)")
    return LatePolicy(parse_time(deadline), float(m.group(1)), m.group(2), grace, cap)


# --------------------------------------------------------------------------- trusted times


def _nbgrader_time(sub: Submission) -> datetime | None:
    path = sub.path / "timestamp.txt"
    if sub.is_zip or sub.path.parent.parent.name != "submitted" or not path.is_file():
        return None
    from nbgrader.utils import parse_utc  # nbgrader's own reading of its own file

    when = parse_utc(path.read_text(encoding="utf-8").strip())
    return when.replace(tzinfo=timezone.utc)  # nbgrader's convention: a naive time is UTC


def _gradescope(sub: Submission) -> tuple[datetime, str] | None:
    path = sub.path / "submission_metadata.json"
    if sub.is_zip or not path.is_file():
        return None
    meta = json.loads(path.read_text(encoding="utf-8"))
    users = meta.get("users") or [{}]
    who = str(users[0].get("sid") or users[0].get("email") or sub.student)
    return parse_time(meta["created_at"]), who


def read_times_csv(path: Path) -> dict[str, tuple[datetime, str]]:
    """submission id -> (time, student) from the instructor's CSV."""
    out: dict[str, tuple[datetime, str]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"submission", "submitted_at"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need submission, submitted_at[, student])")
        for row in reader:
            sub = row["submission"].strip()
            out[sub] = (parse_time(row["submitted_at"]), (row.get("student") or "").strip() or sub)
    return out


def stamps(submissions: Path | list[Submission], assignment: str = ASSIGNMENT, times_csv: Path | None = None) -> dict[str, Stamp]:
    """Trusted time of every submission that has one, keyed by submission id (`submissions`: the
    folder, or what discovery already found in it)."""
    subs = submissions if isinstance(submissions, list) else discover(submissions, assignment)
    table = read_times_csv(times_csv) if times_csv else {}
    out: dict[str, Stamp] = {}
    for sub in subs:
        if sub.student in table:
            when, who = table[sub.student]
            out[sub.student] = Stamp(sub.student, who, when, "csv")
        elif (gs := _gradescope(sub)) is not None:
            out[sub.student] = Stamp(sub.student, gs[1], gs[0], "gradescope")
        elif (nb := _nbgrader_time(sub)) is not None:
            out[sub.student] = Stamp(sub.student, sub.student, nb, "nbgrader")
    unknown = sorted(set(table) - {s.student for s in subs})
    if unknown:
        raise ValueError(f"{times_csv}: no submission named {', '.join(unknown)}")
    return out


# --------------------------------------------------------------------------- which submission counts


def owner(sub_id: str, times: dict[str, Stamp]) -> str:
    return times[sub_id].student if sub_id in times else sub_id


def newest_only(subs: list[Submission], times: dict[str, Stamp]) -> list[Submission]:
    """One submission per student: the newest. A student with several submissions needs a
    trusted time on each of them."""
    by_student: dict[str, list[Submission]] = {}
    for s in subs:
        by_student.setdefault(owner(s.student, times), []).append(s)
    chosen = []
    for student, mine in by_student.items():
        if len(mine) > 1 and any(s.student not in times for s in mine):
            raise ValueError(f"student {student!r} has {len(mine)} submissions but not all have a trusted time: "
                             + ", ".join(s.student for s in mine))
        chosen.append(max(mine, key=lambda s: times[s.student].when) if len(mine) > 1 else mine[0])
    return chosen


def settle(results: list[StudentResult], times: dict[str, Stamp], policy: LatePolicy | None, keep: str = "newest") -> list[StudentResult]:
    """Relabel each graded submission with its student, apply the penalty, keep one per student."""
    never = datetime.min.replace(tzinfo=timezone.utc)
    by_student: dict[str, list[tuple[datetime, StudentResult]]] = {}
    for r in results:
        stamp = times.get(r.student)
        points, note = (0.0, "")
        if policy is not None and stamp is not None and not r.problem:
            points, note = policy.penalty(stamp.when, r.max_total)
        settled = replace(r, student=owner(r.student, times), submitted_at=stamp.when.isoformat() if stamp else "",
                          late_penalty=min(points, r.raw_total), late_note=note)
        by_student.setdefault(settled.student, []).append((stamp.when if stamp else never, settled))
    if keep == "best":  # the highest total after penalty; on a tie the newer one
        chosen = [max(mine, key=lambda t: (t[1].total, t[0]))[1] for mine in by_student.values()]
    else:
        chosen = [max(mine, key=lambda t: t[0])[1] for mine in by_student.values()]
    return sorted(chosen, key=lambda r: r.student)

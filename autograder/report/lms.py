"""Grade files for an LMS: Canvas's gradebook import CSV and a Moodle grade import CSV.

Roster (`--roster FILE`), either of:

- a Canvas gradebook export, as downloaded (Grades → Export): columns `Student`, `ID`,
  `SIS User ID`, `SIS Login ID`, `Section`, ...; its `Points Possible` row and Canvas's
  `Student, Test` are skipped. A grader id matches `SIS Login ID`, then `SIS User ID`, then `ID`.
- a plain CSV with a `student` column (the grader's id: folder/zip name, nbgrader or Gradescope
  id) and optionally `name`, `canvas_id`, `sis_user_id`, `sis_login_id`, `section`, `email`.

A graded student missing from the roster is kept (Canvas: identified by SIS Login ID = the
grader's id; Moodle: the grader's id) and reported; so are roster students with no submission.

A submission that could not be graded is not a 0: its grade cell is left empty (no grade is
imported for it) and `write_exports` lists it, unless the instructor asks for 0
(`ungradable_as_zero`).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.report.classwide import ungradable
from autograder.report.files import csv_text, score_cell
from autograder.results import StudentResult

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"  # Canvas writes it indented; its importer recognises it
CANVAS_TEST_STUDENT = "Student, Test"


@dataclass(frozen=True)
class Person:
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""


@dataclass
class Roster:
    people: dict[str, Person]  # every key a grader id may be matched on -> person
    listed: list[Person]

    def find(self, student: str) -> Person | None:
        return self.people.get(student) or self.people.get(student.lower())


def read_roster(path: Path) -> Roster:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        canvas = set(CANVAS_COLUMNS) <= fields
        if not canvas and "student" not in fields:
            raise ValueError(f"{path}: a roster needs a 'student' column, or Canvas's columns {', '.join(CANVAS_COLUMNS)}")
        people: dict[str, Person] = {}
        listed: list[Person] = []
        for row in reader:
            row = {k: (v or "").strip() for k, v in row.items() if k}
            if canvas:
                if row["Student"] in ("Points Possible", CANVAS_TEST_STUDENT) or not (row["ID"] or row["SIS Login ID"]):
                    continue
                p = Person(row["Student"], row["ID"], row["SIS User ID"], row["SIS Login ID"], row["Section"], row.get("Email", ""))
                keys = [p.canvas_id, p.sis_user_id, p.sis_login_id]  # later keys win: login id first
            else:
                p = Person(row.get("name", ""), row.get("canvas_id", ""), row.get("sis_user_id", ""), row.get("sis_login_id", ""),
                           row.get("section", ""), row.get("email", ""))
                keys = [row["student"]]
            listed.append(p)
            for key in filter(None, keys):
                people[key] = people[key.lower()] = p
    return Roster(people, listed)


def unmatched(results: list[StudentResult], roster: Roster | None) -> tuple[list[str], list[Person]]:
    """(graded students not on the roster, roster people without a graded submission)."""
    if roster is None:
        return [], []
    found = {r.student: roster.find(r.student) for r in results}
    matched = {id(p) for p in found.values() if p is not None}
    return sorted(s for s, p in found.items() if p is None), [p for p in roster.listed if id(p) not in matched]


def canvas_csv(results: list[StudentResult], assignment: str, roster: Roster | None = None, ungradable_as_zero: bool = False) -> str:
    """Canvas's gradebook import layout: the identity columns, one assignment column
    (`Name (assignment id)` updates that assignment; a new name creates one), Points Possible first.
    An ungradable submission's cell is empty."""
    rows: list[list[object]] = [[*CANVAS_COLUMNS, assignment]]
    points = max((r.max_total for r in results), default=0.0)
    rows.append([POINTS_POSSIBLE, "", "", "", "", f"{points:g}"])
    for r in sorted(results, key=lambda r: r.student):
        p = roster.find(r.student) if roster else None
        grade = score_cell(r, r.total, ungradable_as_zero)
        if p is None:
            rows.append([r.student, "", "", r.student, "", grade])
        else:
            rows.append([p.name or r.student, p.canvas_id, p.sis_user_id, p.sis_login_id, p.section, grade])
    return csv_text(rows)


def moodle_csv(results: list[StudentResult], roster: Roster | None = None, ungradable_as_zero: bool = False) -> str:
    """Moodle's grade import from CSV: one identifier column and the grade. The identifier is the
    e-mail when the roster has one for every graded student (map it to "Email address"), else the
    grader's id for all of them (map it to "Username" or "ID number"): one column, one kind.
    An ungradable submission's grade is empty."""
    people = [roster.find(r.student) if roster else None for r in results]
    by_email = bool(people) and all(p is not None and p.email for p in people)
    rows: list[list[object]] = [["email" if by_email else "identifier", "grade"]]
    for r, p in sorted(zip(results, people), key=lambda t: t[0].student):
        rows.append([p.email if by_email else r.student, score_cell(r, r.total, ungradable_as_zero)])
    return csv_text(rows)


def ungradable_line(results: list[StudentResult], ungradable_as_zero: bool = False) -> str:
    """What the LMS files did with the submissions that could not be graded (English), or ""."""
    names = ", ".join(r.student for r in ungradable(results))
    if not names:
        return ""
    if ungradable_as_zero:
        return f"Exported as 0 (--ungradable-as-zero) although they could not be graded: {names}"
    return f"Grade left empty, could not be graded (see summary.md; grade by hand or regrade a resubmission): {names}"


def write_exports(results: list[StudentResult], roster: Roster | None, canvas: Path | None, moodle: Path | None,
                  assignment: str, ungradable_as_zero: bool = False) -> list[str]:
    """Write the requested files; print, and return as a summary.md section, what needs the
    instructor's attention: ungradable submissions (empty cells) and a roster that differs from the class."""
    from autograder.atomic import write_text

    if canvas:
        write_text(canvas, canvas_csv(results, assignment, roster, ungradable_as_zero))
    if moodle:
        write_text(moodle, moodle_csv(results, roster, ungradable_as_zero))
    missing, absent = unmatched(results, roster)
    lines = [line for line in [ungradable_line(results, ungradable_as_zero)] if line]
    if missing:
        lines.append(f"Not on the roster (exported under their grader id, check them): {', '.join(missing)}")
    if absent:
        lines.append(f"On the roster without a graded submission (not in the export): {', '.join(p.name or p.sis_login_id for p in absent)}")
    for line in lines:
        print(f"LMS export: {line}", file=sys.stderr)
    return ["## LMS export\n\n" + "\n".join(f"- {x}" for x in lines) + "\n"] if lines else []

"""Write hidden-suite results into an nbgrader course's real gradebook, through nbgrader's API.

Each hidden check becomes an autograded grade cell (max score = its points) of one notebook,
`hidden_tests`, in the assignment; each graded student gets a submission whose grades carry the
check scores as `auto_score`. `nbgrader export` and formgrader's gradebook views then show them.
The companion notebooks' own test cells are worth 0 points (see autograder/release/notebooks.py);
when nbgrader has not run them, they are recorded as 0 so no submission waits for manual grading.

A submission that could not be graded gets no score: its hidden-check grades are left empty and
marked `needs_manual_grade`, so formgrader lists it as waiting for the instructor. (nbgrader itself
counts an empty grade as 0 in `nbgrader export`; the grade is not written as one.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.results import StudentResult

NOTEBOOK = "hidden_tests"


@dataclass(frozen=True)
class Course:
    root: Path
    db_url: str
    course_id: str


def course_settings(course_dir: Path) -> Course:
    """Database URL and course id as nbgrader computes them from the course's nbgrader_config.py."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    if not course_dir.is_dir():
        raise FileNotFoundError(f"nbgrader course directory not found: {course_dir}")
    config = Config()
    if (course_dir / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    root = Path(config.CourseDirectory.root) if "root" in config.CourseDirectory else course_dir
    root = root if root.is_absolute() else (course_dir / root).resolve()
    config.CourseDirectory.root = str(root)
    coursedir = CourseDirectory(config=config)
    return Course(root, coursedir.db_url, coursedir.course_id)


def _timestamp(course: Course, assignment: str, student: str) -> str | None:
    """The collection time nbgrader's `collect` wrote next to the submission, if any."""
    path = course.root / "submitted" / student / assignment / "timestamp.txt"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _ensure_grade_rows(gb, submission, notebook) -> None:
    """Submissions created before the hidden_tests notebook (or before a new check) lack its
    rows; nbgrader creates them only when a submission is first added."""
    from nbgrader.api import Grade, SubmittedNotebook

    snb = next((n for n in submission.notebooks if n.notebook_id == notebook.id), None)
    if snb is None:
        snb = SubmittedNotebook(notebook=notebook, assignment=submission)
        gb.db.add(snb)
    have = {g.cell_id for g in snb.grades}
    for cell in notebook.grade_cells:
        if cell.id not in have:
            gb.db.add(Grade(cell_id=cell.id, notebook=snb))
    gb.db.commit()


def write_gradebook(course_dir: Path, assignment: str, results: list[StudentResult]) -> Course:
    """Record every student's hidden-check scores in the course's gradebook.db (none for an
    ungradable submission: its grades wait for manual grading)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = course_settings(course_dir)
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_assignment(assignment)
        try:
            gb.find_notebook(NOTEBOOK, assignment)
        except MissingEntry:
            gb.add_notebook(NOTEBOOK, assignment)
        cells: dict[str, float] = {}
        for r in results:
            for c in r.checks:
                cells.setdefault(c.check, c.max_score)
        for name, max_score in cells.items():
            gb.update_or_create_grade_cell(name, NOTEBOOK, assignment, max_score=max_score, cell_type="code")
        notebook = gb.find_notebook(NOTEBOOK, assignment)
        for r in results:
            gb.update_or_create_student(r.student)
            stamp = _timestamp(course, assignment, r.student)
            submission = gb.update_or_create_submission(assignment, r.student, **({"timestamp": stamp} if stamp else {}))
            _ensure_grade_rows(gb, submission, notebook)
            for c in r.checks:
                grade = gb.find_grade(c.check, NOTEBOOK, assignment, r.student)
                grade.auto_score = float(c.score) if r.graded else None  # ungradable: no score, waits for the instructor
                grade.needs_manual_grade = not r.graded
            for snb in submission.notebooks:
                for grade in snb.grades:
                    if grade.auto_score is None and grade.manual_score is None and grade.max_score == 0:
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = False
            gb.db.commit()
    return course


def gradebook_scores(course_dir: Path, assignment: str) -> dict[str, float]:
    """Student id -> total score of `assignment`, read back through nbgrader's API."""
    from nbgrader.api import Gradebook

    course = course_settings(course_dir)
    with Gradebook(course.db_url, course.course_id) as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(assignment).submissions}


def db_path(course: Course) -> Path | None:
    prefix = "sqlite:///"
    return Path(course.db_url[len(prefix):]) if course.db_url.startswith(prefix) else None


__all__ = ["NOTEBOOK", "Course", "course_settings", "write_gradebook", "gradebook_scores", "db_path"]

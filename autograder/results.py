"""The one results model every output is rendered from (table, CSV, JSONL, Markdown/HTML
feedback, Gradescope results.json, nbgrader gradebook)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout")
# What became of one submission (StudentResult.outcome):
#   graded: its checks ran (a part charged for bringing the machinery down twice is graded too);
#   ungradable: the hand-in itself cannot be graded (corrupt or encrypted archive, no code...):
#       a row with 0 and the reason (`problem`, `problem_kind`), which is not a grade and is
#       kept out of the class statistics and the LMS exports;
#   grader_fault: the grading machinery failed: never recorded, a re-run retries it.
OUTCOMES = ("graded", "ungradable", "grader_fault")
# Why a check did not pass (CheckResult.kind), decided where the failure is raised
# (autograder.checks); the reports look these up, they never read the feedback's text:
KINDS = (
    "not_implemented",  # the function still raises NotImplementedError
    "missing_file",  # the part's .py file is not in the hand-in
    "import_error",  # the part's module raises while it is imported (SyntaxError, ImportError...)
    "exception",  # the function raised (the message names the exception's type)
    "timeout",  # it did not finish in time
    "crash",  # the process running it died (os._exit, out of memory...)
    "wrong_type",  # not the kind of value asked for (no tensor, a list for a dict...)
    "empty",  # an empty result
    "nan",  # NaN/Inf in the result
    "wrong_shape",
    "wrong_dtype",
    "wrong_value",  # the right kind of value, but the wrong one
    "modified_input",  # changed what it was given (in place)
    "own_work",  # handed the exercise's work to a library call
    "charged",  # brought the grading machinery down twice: the part is charged
    "ungradable",  # the hand-in could not be graded at all (StudentResult.problem says why)
    "grader_error",  # the grader could not check the answer (nothing the student can fix alone)
)


@dataclass(frozen=True)
class CheckResult:
    """One graded check of one submission."""

    check: str  # e.g. "part1.basic_block_skip"
    group: str  # e.g. "part1"; one CSV column per group
    score: float
    max_score: float
    status: str  # passed / failed / error / timeout
    message: str  # feedback in the course's language; empty when passed
    visibility: str = "hidden"  # hidden (graded) or public (self-check)
    title: str = ""  # one-line description of what the check verifies
    kind: str = ""  # why it did not pass (one of KINDS); "" when passed, and in results stored before kinds
    hint: str = ""  # the check's hint for that kind (Chinese; also at the end of `message`), or ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"unknown failure kind {self.kind!r}")
        if not 0 <= self.score <= self.max_score:
            raise ValueError(f"score {self.score} outside [0, {self.max_score}]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckResult":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class StudentResult:
    """All checks of one submission, plus problems with the submission as a whole."""

    student: str
    checks: list[CheckResult] = field(default_factory=list)
    problem: str = ""  # e.g. a corrupt zip; its checks are then all 0
    sandbox: str = ""  # how the worker was isolated (see autograder.sandbox)
    seconds: float = 0.0
    compute_seconds: float = 0.0  # time spent inside probes (student code), for benchmarks
    submitted_at: str = ""  # ISO time from a trusted source (autograder.grade.late), or ""
    late_penalty: float = 0.0  # points taken off the checks' sum by the late policy
    late_note: str = ""  # the penalty explained to the student (Chinese), or ""
    outcome: str = "graded"  # one of OUTCOMES
    problem_kind: str = ""  # why ungradable or faulty, as data (SubmissionError.kind, "machinery_down", ...)
    notes: list[str] = field(default_factory=list)  # what the grader did with the hand-in (Chinese): folder picked, files renamed...
    source_sha256: str = ""  # the hand-in as graded (zip bytes or folder files): a resubmission is regraded
    version: str = ""  # expect.assignment_version() it was graded with: a changed suite is regraded
    # Where the grade was computed (grading.provenance): grader and assignment versions, Python,
    # torch and torchvision versions, thread counts, device; {} in results stored before it.
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @property
    def graded(self) -> bool:
        """Whether the total is a grade (ungradable hand-ins and grader faults are not)."""
        return self.outcome == "graded"

    @property
    def raw_total(self) -> float:
        """The checks' sum before any late penalty."""
        return round(sum(c.score for c in self.checks), 4)

    @property
    def total(self) -> float:
        return round(max(0.0, self.raw_total - self.late_penalty), 4)

    @property
    def max_total(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)

    def group_scores(self) -> dict[str, float]:
        groups: dict[str, float] = {}
        for c in self.checks:
            groups[c.group] = round(groups.get(c.group, 0.0) + c.score, 4)
        return groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "outcome": self.outcome,
            "problem": self.problem,
            "problem_kind": self.problem_kind,
            "notes": list(self.notes),
            "source_sha256": self.source_sha256,
            "version": self.version,
            "provenance": dict(self.provenance),
            "sandbox": self.sandbox,
            "seconds": round(self.seconds, 3),
            "compute_seconds": round(self.compute_seconds, 3),
            "submitted_at": self.submitted_at,
            "late_penalty": self.late_penalty,
            "late_note": self.late_note,
            "raw_total": self.raw_total,
            "total": self.total,
            "max_total": self.max_total,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StudentResult":
        return cls(
            student=data["student"],
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            problem=data.get("problem", ""),
            sandbox=data.get("sandbox", ""),
            seconds=float(data.get("seconds", 0.0)),
            compute_seconds=float(data.get("compute_seconds", 0.0)),
            submitted_at=data.get("submitted_at", ""),
            late_penalty=float(data.get("late_penalty", 0.0)),
            late_note=data.get("late_note", ""),
            # Results written before outcomes existed: a problem meant an ungradable hand-in.
            outcome=data.get("outcome") or ("ungradable" if data.get("problem") else "graded"),
            problem_kind=data.get("problem_kind", ""),
            notes=list(data.get("notes", [])),
            source_sha256=data.get("source_sha256", ""),
            version=data.get("version", ""),
            provenance=dict(data.get("provenance") or {}),
        )

"""Pairwise code similarity per graded file and overall, with copydetect's fingerprints.

Each submission is unpacked exactly as for grading (`autograder.grade.unpack.prepare`), so answers
notebooks are compared on the module built from their solution cells, never executed. The stubs
and given files (`assignments/cnn_rnn/`) are boilerplate: their fingerprints are removed from every
submission before comparing, so a class that handed in the stubs shares nothing.

Earlier cohorts and published solutions (`--archive DIR`) are copydetect *reference* files: the
current class is copydetect's test set and reference set at once, the archives are reference
files only, and copydetect compares test files with reference files, so every current
submission meets every other one and every archived one, and two archived hand-ins never meet.

Two methods give the same pairs at or above a floor, with the same scores:
- "index" (the default): candidate pairs from an inverted index of the fingerprints, and a full
  comparison of those only, in worker processes (`index.py` states the bound). A class of 2,000
  is minutes, not hours.
- "all-pairs": copydetect's `CopyDetector` on every pair, the reference the index is tested
  against (`tests/test_similarity.py`); its matrices grow as the square of the files.
"""

from __future__ import annotations

import io
import tempfile
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, CopyDetector

from autograder.grade.discover import Submission, discover_report
from autograder.ids import clean_id
from autograder.grade.unpack import SubmissionError, is_code
from autograder.runtime.assignment import ASSIGNMENT, GRADED_FILES, given_files
from autograder.similarity import fingerprint, index

DEFAULT_BOILERPLATE = given_files()  # the stubs and given files as released
# copydetect's defaults: k-grams of 25 filtered characters, and every k-gram kept (window 1).
# Winnowing with a larger window would pick fingerprints by the minimum of Python's hash(),
# which is salted per process: the scores would change from run to run.
NOISE_T = 25
GUARANTEE_T = 25  # window = GUARANTEE_T - NOISE_T + 1
OVERALL = "(overall)"
ARCHIVE_PREFIX = "archive:"  # student ids never hold ":" (discover.clean_id), so the prefix is unambiguous
METHODS = ("index", "all-pairs")
DETAIL = 20  # pairs (the most similar) whose matched code the comparison keeps for the report


@dataclass(frozen=True)
class FileMatch:
    """Two students' versions of one file; slices are (2, n) start/end arrays into the raw code."""

    file: str
    similarity: float  # mean of the two directions: shared tokens / a's tokens and / b's tokens
    overlap: int  # shared tokens
    tokens_a: int  # tokens of a's file that count (boilerplate removed)
    tokens_b: int
    code_a: str = ""  # kept for the most similar pairs only (`DETAIL`)
    code_b: str = ""
    slices_a: np.ndarray = field(default_factory=lambda: np.array([]))
    slices_b: np.ndarray = field(default_factory=lambda: np.array([]))


@dataclass(frozen=True)
class Pair:
    student_a: str  # always a current student
    student_b: str  # a current student, or an archived hand-in: "archive:<cohort>/<id>"
    files: list[FileMatch]

    @property
    def archived(self) -> bool:
        """Whether b is from an earlier cohort or the published solutions."""
        return self.student_b.startswith(ARCHIVE_PREFIX)

    @property
    def similarity(self) -> float:
        """Over all graded files: shared tokens over counted tokens, averaged over both directions."""
        shared = sum(f.overlap for f in self.files)
        a, b = sum(f.tokens_a for f in self.files), sum(f.tokens_b for f in self.files)
        return 0.0 if not shared else (shared / max(a, 1) + shared / max(b, 1)) / 2


@dataclass(frozen=True)
class Archive:
    """One `--archive DIR`: an earlier cohort's submissions, or one folder of .py files (published solutions)."""

    path: Path
    cohort: str  # the label's first part: the folder's name (for a folder of .py files: its parent's)
    handins: int  # hand-ins found
    compared: int  # of them, with graded files to compare


@dataclass(frozen=True)
class Comparison:
    pairs: list[Pair]  # at or above `floor`, most similar first
    archives: list[Archive] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (student or archive label, SubmissionError kind)
    students: int = 0  # current hand-ins found
    floor: float = 0.0  # pairs below it are not listed
    total: int = 0  # pairs there were: every two current students, every student with every archived hand-in
    total_archived: int = 0  # of them, a student with an archived hand-in
    compared: int = 0  # of them, compared in full; the others were ruled out by the index (below the floor)
    method: str = "all-pairs"
    common: dict[str, int] = field(default_factory=dict)  # graded file -> hashes too common to index
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each step ("index" method)

    @property
    def ruled_out(self) -> int:
        return self.total - self.compared


def boilerplate_hashes(folder: Path) -> np.ndarray:
    """Every k-gram hash of the stubs and given files (window 1: all of them, not a sample)."""
    hashes: list[int] = []
    for path in sorted(Path(folder).glob("*.py")):
        hashes.extend(CodeFingerprint(str(path), NOISE_T, 1).hashes)
    return np.unique(np.array(hashes, dtype=np.int64))


def fingerprints(sub: Submission, boilerplate: np.ndarray) -> dict[str, CodeFingerprint]:
    """The graded files of one submission, fingerprinted; an ungradable submission has none."""
    try:
        texts = fingerprint.sources(sub)
    except SubmissionError:
        return {}
    prints: dict[str, CodeFingerprint] = {}
    for name, text in texts.items():
        try:
            prints[name] = CodeFingerprint(name, NOISE_T, GUARANTEE_T - NOISE_T + 1, boilerplate, fp=io.StringIO(text))
        except ValueError:
            continue  # not text: nothing to compare
    return prints


def _is_code_folder(folder: Path) -> bool:
    """A folder of .py files itself (published solutions, one hand-in), not a folder of hand-ins."""
    graded = {name.casefold() for name in GRADED_FILES}
    return any(p.is_file() and (p.name.casefold() in graded or (is_code(p.name) and not p.name.endswith(".py")))
               for p in folder.iterdir())


def archive_handins(folder: Path, assignment: str = ASSIGNMENT) -> tuple[str, list[Submission]]:
    """(cohort, hand-ins) of one `--archive` folder: any layout `autograder grade` accepts, or a
    folder of .py files (the published solutions: one hand-in named after the folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"archive folder not found: {folder}")
    folder = folder.resolve()
    if _is_code_folder(folder):
        return clean_id(folder.parent.name or "archive"), [Submission(clean_id(folder.name or "solution"), folder)]
    return clean_id(folder.name or "archive"), discover_report(folder, assignment).submissions


def _stage(sub: Submission, dest: Path, unreadable: list[tuple[str, str]], label: str) -> list[Path]:
    """Write a hand-in's decoded graded files under `dest` (UTF-8, as copydetect reads them)."""
    try:
        texts = fingerprint.sources(sub)
    except SubmissionError as exc:
        unreadable.append((label, exc.kind))
        return []
    dest.mkdir(parents=True)
    out = []
    for name, text in texts.items():
        (dest / name).write_text(text, encoding="utf-8", errors="replace", newline="")
        out.append(dest / name)
    return out


def _unique(label: str, taken: set[str]) -> str:
    n, out = 2, label
    while out.casefold() in taken:
        out, n = f"{label}~{n}", n + 1
    taken.add(out.casefold())
    return out


def _cohorts(submissions: Path, archives, assignment: str) -> list[tuple[Path, str, list[Submission]]]:
    cohorts: list[tuple[Path, str, list[Submission]]] = []
    seen: set[Path] = set()
    taken: set[str] = set()
    for folder in archives:
        if Path(folder).resolve() == Path(submissions).resolve():
            raise ValueError(f"--archive {folder} is the submissions folder itself: every student would match their own hand-in")
        if Path(folder).resolve() in seen:
            continue  # the same folder named twice
        cohort, handins = archive_handins(folder, assignment)
        seen.add(Path(folder).resolve())
        cohorts.append((Path(folder), _unique(cohort, taken), handins))
    return cohorts


def compare(submissions: Path, boilerplate: Path = DEFAULT_BOILERPLATE, assignment: str = ASSIGNMENT,
            archives: list[Path] | tuple[Path, ...] = (), *, floor: float = 0.0, method: str = "index",
            jobs: int | None = None, detail: int = DETAIL) -> Comparison:
    """Every pair of current students, and every current student with every archived hand-in, at
    or above `floor` (0: all of them). `jobs`: worker processes for the "index" method (default:
    the usable cores); `detail`: how many of the most similar pairs keep their code for the report."""
    if method not in METHODS:
        raise ValueError(f"unknown similarity method {method!r}: {', '.join(METHODS)}")
    boilerplate = Path(boilerplate)
    if not boilerplate.is_dir():
        raise FileNotFoundError(f"boilerplate folder not found: {boilerplate}")
    current = discover_report(submissions, assignment).submissions
    cohorts = _cohorts(submissions, archives, assignment)
    if method == "all-pairs":
        return _all_pairs(current, cohorts, boilerplate, floor)
    return _indexed(current, cohorts, boilerplate, floor, index.default_jobs() if jobs is None else jobs, detail)


def _all_pairs(current: list[Submission], cohorts, boilerplate: Path, floor: float) -> Comparison:
    """copydetect's CopyDetector on every pair."""
    detector = CopyDetector(noise_t=NOISE_T, guarantee_t=GUARANTEE_T, same_name_only=True, ignore_leaf=True,
                            extensions=["py"], autoopen=False, silent=True)
    for path in sorted(boilerplate.glob("*.py")):
        detector.add_file(str(path), "boilerplate")
    owner: dict[str, tuple[str, str]] = {}  # staged path -> (student or archive label, graded file)
    unreadable: list[tuple[str, str]] = []
    summaries: list[Archive] = []
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sim_") as tmp:
        for i, sub in enumerate(current):
            for path in _stage(sub, Path(tmp) / "current" / str(i), unreadable, sub.student):
                detector.add_file(str(path), "testref")  # compared with everyone
                owner[str(path)] = (sub.student, path.name)
        n = 0
        for folder, cohort, handins in cohorts:
            compared = 0
            for sub in handins:
                label = f"{ARCHIVE_PREFIX}{cohort}/{sub.student}"
                staged = _stage(sub, Path(tmp) / "archive" / str(n), unreadable, label)
                n += 1
                compared += bool(staged)
                for path in staged:
                    detector.add_file(str(path), "ref")  # compared with the current class only
                    owner[str(path)] = (label, path.name)
            summaries.append(Archive(folder, cohort, len(handins), compared))
        if detector.test_files:
            detector.run()
        matches = _file_matches(detector, owner)

    unread = {label for label, _ in unreadable}
    students = sorted(s.student for s in current if s.student not in unread)
    others = sorted({label for label, _ in owner.values() if label.startswith(ARCHIVE_PREFIX)})
    pairs = [Pair(a, b, _in_order(matches.get((a, b), {}))) for a, b in combinations(students, 2)]
    pairs += [Pair(a, b, _in_order(matches.get((a, b), {}))) for a in students for b in others]
    total, archived = len(pairs), len(students) * len(others)
    pairs = [p for p in pairs if p.similarity >= floor]
    pairs.sort(key=_rank)
    return Comparison(pairs, summaries, unreadable, len(current), floor, total, archived, total, "all-pairs")


def _rank(p: Pair):
    return (-p.similarity, p.archived, p.student_a, p.student_b)


def _indexed(current: list[Submission], cohorts, boilerplate: Path, floor: float, jobs: int, detail: int) -> Comparison:
    """The same pairs at or above `floor` as `_all_pairs`, comparing in full only those the index
    cannot rule out (`index.py`)."""
    tasks = [(sub.student, sub) for sub in current]
    for _, cohort, handins in cohorts:
        tasks += [(f"{ARCHIVE_PREFIX}{cohort}/{sub.student}", sub) for sub in handins]
    bp = boilerplate_hashes(boilerplate)
    given = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(boilerplate.glob("*.py"))]
    window = GUARANTEE_T - NOISE_T + 1
    clock = [time.perf_counter()]
    seconds: dict[str, float] = {}

    def lap(step: str) -> None:
        clock.append(time.perf_counter())
        seconds[step] = round(clock[-1] - clock[-2], 3)

    handins = index.read_all(tasks, bp, given, NOISE_T, window, jobs)
    lap("fingerprints")
    unreadable = [(h.label, h.error) for h in handins if h.error]
    summaries, n = [], len(current)
    for folder, cohort, subs in cohorts:
        part = handins[n:n + len(subs)]
        summaries.append(Archive(folder, cohort, len(subs), sum(1 for h in part if h.texts)))
        n += len(subs)

    found = index.scan(handins, len(current), floor, NOISE_T, jobs)
    pairs = [pair for i, j, files in found.pairs if (pair := _pair(handins[i], handins[j], files)).similarity >= floor]
    pairs.sort(key=_rank)
    lap("index and comparisons")
    if detail:
        pairs[:detail] = _with_code(pairs[:detail], {h.label: h.sub for h in handins}, bp, window, jobs)
    lap("code of the top pairs")
    return Comparison(pairs, summaries, unreadable, len(current), floor, found.total, found.total_archived,
                      found.compared, "index", found.common, seconds)


def _file_match(name: str, first_is_a: bool, overlap: int, sim_first: float, sim_second: float,
                tok_first: int, tok_second: int, **code) -> FileMatch:
    """One file of a pair as `_file_matches` records it: the overlap on the side copydetect met
    first, nothing shared when one side has no tokens of its own."""
    tokens_a, tokens_b = (tok_first, tok_second) if first_is_a else (tok_second, tok_first)
    if not tokens_a or not tokens_b:
        overlap, sim_first, sim_second = 0, 0.0, 0.0
    return FileMatch(name, float(np.clip((sim_first + sim_second) / 2, 0, 1)), overlap, tokens_a, tokens_b, **code)


def _pair(first: index.Handin, second: index.Handin, files) -> Pair:
    a, b = first.label, second.label
    first_is_a = second.label.startswith(ARCHIVE_PREFIX) or a < b
    if not first_is_a:
        a, b = b, a
    return Pair(a, b, [_file_match(name, first_is_a, ov, s1, s2, first.files[name].tokens, second.files[name].tokens)
                       for name, ov, s1, s2 in files])


def _with_code(pairs: list[Pair], subs: dict[str, Submission], bp: np.ndarray, window: int, jobs: int) -> list[Pair]:
    """The most similar pairs again with copydetect's `compare_files` on full fingerprints: the
    matched code and where it is, for the report (the scores come out the same)."""
    labels = sorted({label for p in pairs if p.similarity > 0 for label in (p.student_a, p.student_b)})
    prints = dict(zip(labels, index.full_prints([subs[label] for label in labels], bp, NOISE_T, window, jobs)))
    out = []
    for p in pairs:
        if p.similarity <= 0:
            out.append(p)
            continue
        found = index.detail(prints[p.student_a], prints[p.student_b])
        files = []
        for f in p.files:
            if f.file not in found:
                files.append(f)
                continue
            fa, fb, _, _, (slices_a, slices_b) = found[f.file]
            files.append(FileMatch(f.file, f.similarity, f.overlap, f.tokens_a, f.tokens_b, fa.raw_code, fb.raw_code,
                                   np.asarray(slices_a), np.asarray(slices_b)))
        out.append(Pair(p.student_a, p.student_b, files))
    return out


def _in_order(files: dict[str, FileMatch]) -> list[FileMatch]:
    return [files[name] for name in GRADED_FILES if name in files]


def _file_matches(detector: CopyDetector, owner: dict[str, tuple[str, str]]) -> dict[tuple[str, str], dict[str, FileMatch]]:
    """(current student, other side) -> graded file -> match, from copydetect's test x reference matrices."""
    out: dict[tuple[str, str], dict[str, FileMatch]] = {}
    for i, test_f in enumerate(detector.test_files):
        for j, ref_f in enumerate(detector.ref_files):
            if detector.token_overlap_matrix.size == 0 or detector.token_overlap_matrix[i, j] < 0:
                continue  # not compared: itself, another file name, or not read
            (a, name), (b, _) = owner[test_f], owner[ref_f]
            if not b.startswith(ARCHIVE_PREFIX) and b < a:
                continue  # the same pair of current students, the other way round
            sim_a, sim_b = detector.similarity_matrix[i, j]
            overlap = int(detector.token_overlap_matrix[i, j])
            fa, fb = detector.file_data[test_f], detector.file_data[ref_f]
            if (test_f, ref_f) in detector.slice_matrix:
                slices_a, slices_b = detector.slice_matrix[(test_f, ref_f)]
            elif (ref_f, test_f) in detector.slice_matrix:
                slices_b, slices_a = detector.slice_matrix[(ref_f, test_f)]
            else:
                slices_a = slices_b = np.array([])
            tokens_a, tokens_b = int(fa.token_coverage), int(fb.token_coverage)
            if not tokens_a or not tokens_b:  # only boilerplate on one side: nothing of its own to share
                overlap, sim_a, sim_b = 0, 0.0, 0.0
            out.setdefault((a, b), {})[name] = FileMatch(
                name, float(np.clip((sim_a + sim_b) / 2, 0, 1)), overlap, tokens_a, tokens_b,
                fa.raw_code, fb.raw_code, np.asarray(slices_a), np.asarray(slices_b))
    return out


def compare_class(submissions: Path, boilerplate: Path = DEFAULT_BOILERPLATE, assignment: str = ASSIGNMENT,
                  archives: list[Path] | tuple[Path, ...] = (), **options) -> list[Pair]:
    """Every pair of students (and every student with every archived hand-in), most similar first
    (`floor=` for only those at or above it; `method=`, `jobs=` as for `compare`)."""
    return compare(submissions, boilerplate, assignment, archives, **options).pairs


def rows(pairs: list[Pair]) -> list[tuple[str, str, float, str]]:
    """(student_a, student_b, similarity, file) for every pair overall and per file, descending."""
    out = [(p.student_a, p.student_b, p.similarity, OVERALL) for p in pairs]
    out += [(p.student_a, p.student_b, f.similarity, f.file) for p in pairs for f in p.files]
    return sorted(out, key=lambda r: (-r[2], r[3] != OVERALL, r[0], r[1], r[3]))

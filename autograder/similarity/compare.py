"""Pairwise code similarity per graded file and overall, with copydetect's fingerprints.

Each submission is unpacked exactly as for grading (`autograder.grade.unpack`), so answers
notebooks are compared on the module built from their solution cells, never executed. The stubs
and given files (`assignments/cnn_rnn/`) are boilerplate: their fingerprints are removed from every
submission before comparing, so a class that handed in the stubs shares nothing.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files

from autograder.grade.discover import Submission, discover
from autograder.grade.unpack import SubmissionError, unpack
from autograder.runtime.assignment import ASSIGNMENT, GRADED_FILES, code_folder, given_files
from autograder.source import read_source

DEFAULT_BOILERPLATE = given_files()  # the stubs and given files as released
# copydetect's defaults: k-grams of 25 filtered characters, and every k-gram kept (window 1).
# Winnowing with a larger window would pick fingerprints by the minimum of Python's hash(),
# which is salted per process: the scores would change from run to run.
NOISE_T = 25
GUARANTEE_T = 25  # window = GUARANTEE_T - NOISE_T + 1
OVERALL = "(overall)"


@dataclass(frozen=True)
class FileMatch:
    """Two students' versions of one file; slices are (2, n) start/end arrays into the raw code."""

    file: str
    similarity: float  # mean of the two directions: shared tokens / a's tokens and / b's tokens
    overlap: int  # shared tokens
    tokens_a: int  # tokens of a's file that count (boilerplate removed)
    tokens_b: int
    code_a: str
    code_b: str
    slices_a: np.ndarray
    slices_b: np.ndarray


@dataclass(frozen=True)
class Pair:
    student_a: str
    student_b: str
    files: list[FileMatch]

    @property
    def similarity(self) -> float:
        """Over all graded files: shared tokens over counted tokens, averaged over both directions."""
        shared = sum(f.overlap for f in self.files)
        a, b = sum(f.tokens_a for f in self.files), sum(f.tokens_b for f in self.files)
        return 0.0 if not shared else (shared / max(a, 1) + shared / max(b, 1)) / 2


def boilerplate_hashes(folder: Path) -> np.ndarray:
    """Every k-gram hash of the stubs and given files (window 1: all of them, not a sample)."""
    hashes: list[int] = []
    for path in sorted(Path(folder).glob("*.py")):
        hashes.extend(CodeFingerprint(str(path), NOISE_T, 1).hashes)
    return np.unique(np.array(hashes, dtype=np.int64))


def fingerprints(sub: Submission, boilerplate: np.ndarray) -> dict[str, CodeFingerprint]:
    """The graded files of one submission, fingerprinted; an ungradable submission has none."""
    prints: dict[str, CodeFingerprint] = {}
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sim_") as tmp:
        try:
            unpack(sub.path, Path(tmp) / "code")
        except SubmissionError:
            return prints
        folder = code_folder(Path(tmp) / "code")
        if folder is None:
            return prints
        for name in GRADED_FILES:
            path = folder / name
            if path.is_file():
                # Decoded as import decodes it (BOM, coding cookie, stray bytes in comments).
                text = read_source(path).text
                if text is None:
                    continue  # Python cannot read it either: nothing to compare
                try:
                    prints[name] = CodeFingerprint(str(path), NOISE_T, GUARANTEE_T - NOISE_T + 1, boilerplate,
                                                   fp=io.StringIO(text))
                except ValueError:
                    continue  # not text: nothing to compare
    return prints


def _match(name: str, a: CodeFingerprint, b: CodeFingerprint) -> FileMatch:
    overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a, b)
    tokens_a, tokens_b = int(a.token_coverage), int(b.token_coverage)
    if not tokens_a or not tokens_b:  # only boilerplate on one side: nothing of its own to share
        overlap, sim_a, sim_b = 0, 0.0, 0.0
    return FileMatch(name, float(np.clip((sim_a + sim_b) / 2, 0, 1)), int(overlap), tokens_a, tokens_b,
                     a.raw_code, b.raw_code, np.asarray(slices_a), np.asarray(slices_b))


def compare_class(submissions: Path, boilerplate: Path = DEFAULT_BOILERPLATE, assignment: str = ASSIGNMENT) -> list[Pair]:
    """Every pair of students, most similar first."""
    bp = boilerplate_hashes(boilerplate)
    prints = {s.student: fingerprints(s, bp) for s in discover(submissions, assignment)}
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        shared = [f for f in GRADED_FILES if f in prints[a] and f in prints[b]]
        pairs.append(Pair(a, b, [_match(f, prints[a][f], prints[b][f]) for f in shared]))
    return sorted(pairs, key=lambda p: (-p.similarity, p.student_a, p.student_b))


def rows(pairs: list[Pair]) -> list[tuple[str, str, float, str]]:
    """(student_a, student_b, similarity, file) for every pair overall and per file, descending."""
    out = [(p.student_a, p.student_b, p.similarity, OVERALL) for p in pairs]
    out += [(p.student_a, p.student_b, f.similarity, f.file) for p in pairs for f in p.files]
    return sorted(out, key=lambda r: (-r[2], r[3] != OVERALL, r[0], r[1], r[3]))

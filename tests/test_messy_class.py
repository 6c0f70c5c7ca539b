"""A messy class graded end to end (issue 19): what real students hand in, in one folder.

Every hand-in is built here from solutions/ and assignments/ (part 3 is graded: the cheapest
part, 15 points). Each has its exact expected outcome: the part-3 total, or the kind of reason
it could not be graded. The batch must end with one row per real student in grades.csv (and in
the Canvas file), exit code 1 (documented: some hand-ins could not be graded), and nothing else.
"""

from __future__ import annotations

import csv
import os
import struct
import zipfile
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.grade.batch import load_results
from faults import faulty_solution
from messy import SOLUTION, STUB, make_tar, make_zip, patch_headers, solution_members

PART = "part3"
FILE = "part3_lstm.py"
FULL = 15.0
LONG_ID = "学生" + "x" * 236  # about 240 characters: longer than a file name may be

# student id -> the part-3 total, or the kind of problem that makes the hand-in ungradable
EXPECTED: dict[str, float | str] = {
    "folder": FULL, "zip_nested": FULL, "zip_flat": FULL, "zip_backslashes": FULL,
    "backup_folder": FULL, "张三": FULL, "李四": FULL, LONG_ID: FULL, "=cmd": FULL,
    "tar_gz": FULL, "tgz": FULL, "macos_junk": FULL, "capitals": FULL, "bom": FULL, "latin1": FULL,
    "123456": FULL, "dup": FULL, "dup~2": FULL, "code_and_zip": FULL, "stub": 0.0,
    "missing_part3": 0.0, "empty_part3": 0.0, "symlinked_part3": 0.0, "syntax_error": 0.0,
    "imports_missing_package": 0.0, "loop": FULL - 1, "os_exit": FULL - 1, "memory": FULL - 1,
    "signature_dropped": FULL - 4,  # both build_vocab checks call it with max_size
    "encrypted": "encrypted", "bad_deflate": "corrupt", "deflate64": "unsupported_format",
    "truncated": "corrupt", "empty_zip_file": "corrupt", "seven_z": "unsupported_format",
    "rar_renamed": "unsupported_format", "no_code": "no_code", "unsafe_path": "unsafe",
    "only_readme": "no_code", "nested_zip_only": "no_code",
}
NOTED = {  # id -> text its notes must hold (the grader says what it did with the hand-in)
    "backup_folder": "backup", "capitals": "Part3_LSTM.py", "missing_part3": "缺少 part3_lstm.py",
    "empty_part3": "空文件", "symlinked_part3": "part3_lstm.py", "signature_dropped": "max_size",
}


def _build(root: Path) -> Path:
    subs = root / "subs"
    subs.mkdir()
    solution, stub = SOLUTION, STUB
    (subs / "folder").mkdir()
    for name, data in solution.items():
        (subs / "folder" / name).write_bytes(data)
    make_zip(subs / "zip_nested_cnn_rnn.zip", solution_members())
    make_zip(subs / "zip_flat.zip", solution_members(""))
    make_zip(subs / "zip_backslashes.zip", {f"cnn_rnn\\{k}": v for k, v in solution.items()})  # written on Windows
    make_zip(subs / "backup_folder.zip", solution_members("hw/cnn_rnn/") | {f"hw/backup/{FILE}": stub[FILE]})
    for sid in ("张三", "李四", LONG_ID, "=cmd"):
        make_zip(subs / f"{sid}_cnn_rnn.zip", solution_members())
    make_tar(subs / "tar_gz.tar.gz", solution_members("cnn_rnn/"))
    make_tar(subs / "tgz.tgz", solution_members(""))
    make_zip(subs / "macos_junk.zip", solution_members() | {f"__MACOSX/cnn_rnn/._{FILE}": b"\0\x05\x16\x07junk", "cnn_rnn/.DS_Store": b"x"})
    (subs / "__MACOSX").mkdir()  # a whole top-level folder of macOS junk: never a student
    (subs / "__MACOSX" / "._stub.zip").write_bytes(b"junk")
    without_part3 = {k: v for k, v in solution_members().items() if not k.endswith(FILE)}
    make_zip(subs / "capitals.zip", without_part3 | {"cnn_rnn/Part3_LSTM.py": solution[FILE]})
    make_zip(subs / "bom.zip", solution_members() | {f"cnn_rnn/{FILE}": b"\xef\xbb\xbf" + solution[FILE]})
    make_zip(subs / "latin1.zip", solution_members() | {f"cnn_rnn/{FILE}": _latin1(solution[FILE])})
    moodle = subs / "Wang Wu_123456_assignsubmission_file_"
    moodle.mkdir()
    make_zip(moodle / "wangwu_cnn_rnn.zip", solution_members())
    make_zip(subs / "dup.zip", solution_members())
    (subs / "dup").mkdir()  # the same id twice: both graded, one as dup~2
    for name, data in solution.items():
        (subs / "dup" / name).write_bytes(data)
    (subs / "code_and_zip").mkdir()
    for name, data in solution.items():
        (subs / "code_and_zip" / name).write_bytes(data)
    make_zip(subs / "code_and_zip" / "old_cnn_rnn.zip", {f"cnn_rnn/{FILE}": stub[FILE]})
    make_zip(subs / "stub.zip", solution_members(files=stub))
    make_zip(subs / "missing_part3.zip", without_part3)
    make_zip(subs / "empty_part3.zip", solution_members() | {f"cnn_rnn/{FILE}": b""})
    (subs / "symlinked_part3").mkdir()
    for name, data in solution.items():
        if name != FILE:
            (subs / "symlinked_part3" / name).write_bytes(data)
    (root / "elsewhere.py").write_bytes(solution[FILE])
    os.symlink(root / "elsewhere.py", subs / "symlinked_part3" / FILE)
    make_zip(subs / "syntax_error.zip", solution_members() | {f"cnn_rnn/{FILE}": solution[FILE] + b"\ndef broken(:\n"})
    make_zip(subs / "imports_missing_package.zip", solution_members() | {f"cnn_rnn/{FILE}": b"import jieba\n" + solution[FILE]})
    for fault in ("loop", "os_exit", "memory"):
        faulty_solution(subs / fault, fault)
    dropped = solution[FILE].replace(b"min_freq: int = 1, max_size: int | None = None) -> Vocab:", b"min_freq: int = 1) -> Vocab:")
    assert dropped != solution[FILE]
    make_zip(subs / "signature_dropped.zip", solution_members() | {f"cnn_rnn/{FILE}": dropped.replace(b"if max_size", b"if False and max_size")})
    make_zip(subs / "encrypted.zip", solution_members())
    patch_headers(subs / "encrypted.zip", flags=1)
    bad = make_zip(subs / "bad_deflate.zip", {f"cnn_rnn/{FILE}": solution[FILE]})
    with zipfile.ZipFile(bad) as zf:
        info = zf.infolist()[0]
    data = bytearray(bad.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + struct.unpack_from("<H", data, info.header_offset + 28)[0]
    data[start:start + 2] = b"\xff\xff"  # an invalid deflate block
    bad.write_bytes(bytes(data))
    make_zip(subs / "deflate64.zip", solution_members())
    patch_headers(subs / "deflate64.zip", method=9)
    whole = make_zip(subs / "truncated.zip", solution_members()).read_bytes()
    (subs / "truncated.zip").write_bytes(whole[: len(whole) // 2])
    (subs / "empty_zip_file.zip").write_bytes(b"")
    (subs / "seven_z.7z").write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 64)
    (subs / "rar_renamed.zip").write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\0" * 64)
    make_zip(subs / "no_code.zip", {"hw/main.py": b"print(1)\n", "hw/report.pdf": b"%PDF"})
    make_zip(subs / "unsafe_path.zip", solution_members() | {"../evil.py": b"x = 1\n"})
    make_zip(subs / "only_readme.zip", {"README.txt": b"I could not finish"})
    inner = make_zip(root / "inner.zip", solution_members())
    make_zip(subs / "nested_zip_only.zip", {"cnn_rnn_final.zip": inner.read_bytes()})
    (subs / "notes.txt").write_text("not a submission")
    return subs


def _latin1(utf8: bytes) -> bytes:
    """The solution with a latin-1 cookie and a latin-1 comment. Its Chinese text cannot be
    latin-1, so every non-ASCII character is written as an escape (docstrings and messages only)."""
    text = utf8.decode("utf-8")
    body = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in text)
    return b"# -*- coding: latin-1 -*-\n# auteur: Ren\xe9\n" + body.encode("latin-1")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    subs = _build(root)
    out = root / "out"
    code = main(["grade", str(subs), "--out", str(out), "-q", "--part", PART, "-j", "2", "--probe-timeout", "5",
                 "--canvas-csv", str(out / "canvas.csv")])
    return code, out, {r.student: r for r in load_results(out)}


def test_the_batch_ends_with_the_documented_code(graded):
    code, _, _ = graded
    assert code == 1  # outputs written; some hand-ins could not be graded


def test_one_row_per_real_student(graded):
    _, out, results = graded
    assert sorted(results) == sorted(EXPECTED)
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert sorted(r["student"].lstrip("'") for r in rows) == sorted(EXPECTED)
    canvas = (out / "canvas.csv").read_text(encoding="utf-8")
    assert "__MACOSX" not in canvas and "notes" not in canvas


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_hand_in_gets_its_exact_grade_or_reason(graded, student):
    _, _, results = graded
    r, expected = results[student], EXPECTED[student]
    if isinstance(expected, str):
        assert (r.outcome, r.problem_kind) == ("ungradable", expected), r.problem
        assert r.problem and all(c.score == 0 for c in r.checks)
    else:
        assert r.outcome == "graded", r.problem
        assert r.total == expected, [(c.check, c.status, c.message[:80]) for c in r.checks if c.status != "passed"]
    if student in NOTED:
        assert any(NOTED[student] in note for note in r.notes), r.notes


def test_formulas_are_neutralised_in_every_csv(graded):
    _, out, _ = graded
    for name in ("grades.csv", "canvas.csv"):
        cells = [c for row in csv.reader((out / name).open(encoding="utf-8")) for c in row]
        assert "'=cmd" in cells and "=cmd" not in cells, name

"""Messy submissions folders (issue 19): no input stops the batch, and the layout never silently
gives a wrong grade. Every archive and folder is built here from solutions/ and assignments/;
only discover() and prepare() run (no grading worker): fast."""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import subprocess
import time
import unicodedata
import zipfile
from pathlib import Path

import pytest

from autograder.atomic import write_text
from autograder.grade.discover import discover, discover_report
from autograder.ids import MAX_STEM_BYTES, file_stem
from autograder.grade.unpack import KINDS, Prepared, SubmissionError, prepare
from autograder.report.files import csv_text, grades_csv, safe_cell
from autograder.report.lms import canvas_csv, moodle_csv
from autograder.results import CheckResult, StudentResult
from autograder.runtime.assignment import GRADED_FILES

from messy import NEW, OLD, SOLUTION, STUB, make_tar, make_zip, patch_headers, solution_members


def _kind(source: Path, dest: Path) -> str:
    with pytest.raises(SubmissionError) as info:
        prepare(source, dest)
    assert info.value.kind in KINDS and str(info.value)
    return info.value.kind


# --------------------------------------------------------------------------- unpacking: kinds


def test_a_clean_zip_is_prepared_without_notes(tmp_path: Path):
    got = prepare(make_zip(tmp_path / "a.zip", solution_members()), tmp_path / "out")
    assert got == Prepared(tmp_path / "out" / "cnn_rnn", ())
    assert {p.name for p in got.folder.iterdir()} == set(GRADED_FILES)


def test_encrypted_zip(tmp_path: Path):
    archive = make_zip(tmp_path / "a.zip", solution_members())
    patch_headers(archive, flags=0x1)
    with pytest.raises(SubmissionError, match="加密的 zip：请重新打包，不要设置密码") as info:
        prepare(archive, tmp_path / "out")
    assert info.value.kind == "encrypted"


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs the zip command to make a real ZipCrypto archive")
def test_encrypted_zip_made_by_zip_command(tmp_path: Path):
    folder = tmp_path / "src" / "cnn_rnn"
    folder.mkdir(parents=True)
    (folder / "part1_resnet.py").write_bytes(SOLUTION["part1_resnet.py"])
    subprocess.run(["zip", "-q", "-r", "-P", "secret", str(tmp_path / "a.zip"), "cnn_rnn"], cwd=tmp_path / "src", check=True)
    assert _kind(tmp_path / "a.zip", tmp_path / "out") == "encrypted"


def test_invalid_deflate_stream_is_corrupt(tmp_path: Path):
    archive = make_zip(tmp_path / "a.zip", {"cnn_rnn/part1_resnet.py": SOLUTION["part1_resnet.py"]})
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[0]
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + struct.unpack_from("<H", data, info.header_offset + 28)[0]
    data[start:start + 2] = b"\xff\xff"  # BTYPE 11: an invalid deflate block -> zlib.error
    archive.write_bytes(bytes(data))
    assert _kind(archive, tmp_path / "out") == "corrupt"


def test_deflate64_is_an_unsupported_format(tmp_path: Path):
    archive = make_zip(tmp_path / "a.zip", solution_members())
    patch_headers(archive, method=9)  # what Windows Explorer writes for large files
    with pytest.raises(SubmissionError, match="不支持的压缩方法") as info:
        prepare(archive, tmp_path / "out")
    assert info.value.kind == "unsupported_format"


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_zip_is_corrupt(tmp_path: Path, keep: float):
    archive = make_zip(tmp_path / "a.zip", solution_members())
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * keep)])
    assert _kind(archive, tmp_path / "out") == "corrupt"


def test_empty_upload_is_corrupt(tmp_path: Path):
    (tmp_path / "a.zip").write_bytes(b"")
    with pytest.raises(SubmissionError, match="0 字节") as info:
        prepare(tmp_path / "a.zip", tmp_path / "out")
    assert info.value.kind == "corrupt"


@pytest.mark.parametrize(("name", "magic"), [("a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04"), ("a.rar", b"Rar!\x1a\x07\x01\x00"),
                                            ("a.zip", b"Rar!\x1a\x07\x01\x00")])  # a RAR renamed to .zip
def test_7z_and_rar_are_unsupported(tmp_path: Path, name: str, magic: bytes):
    (tmp_path / name).write_bytes(magic + b"\0" * 64)
    with pytest.raises(SubmissionError, match="请打包成 .zip") as info:
        prepare(tmp_path / name, tmp_path / "out")
    assert info.value.kind == "unsupported_format"


def test_any_exception_while_reading_becomes_a_submission_error(tmp_path: Path, monkeypatch):
    archive = make_zip(tmp_path / "a.zip", solution_members())

    def boom(self, n=-1):
        raise ValueError("something no one foresaw")

    monkeypatch.setattr(zipfile.ZipExtFile, "read", boom)
    with pytest.raises(SubmissionError, match="something no one foresaw") as info:
        prepare(archive, tmp_path / "out")
    assert info.value.kind == "unreadable"


def test_submission_error_keeps_its_kind_through_pickle():
    err = pickle.loads(pickle.dumps(SubmissionError("加密的 zip", "encrypted")))
    assert (str(err), err.kind) == ("加密的 zip", "encrypted")
    with pytest.raises(ValueError, match="kind"):
        SubmissionError("x", "spelled-wrong")


def test_no_graded_file_is_no_code_and_says_what_was_found(tmp_path: Path):
    archive = make_zip(tmp_path / "a.zip", {"hw/main.py": b"print(1)\n", "hw/report.pdf": b"%PDF"})
    with pytest.raises(SubmissionError, match="main.py") as info:
        prepare(archive, tmp_path / "out")
    assert info.value.kind == "no_code"


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
def test_tar_archives_are_unpacked(tmp_path: Path, mode: str):
    name = {"w:gz": "a.tgz", "w:bz2": "a.tar.bz2", "w:xz": "a.tar.xz", "w": "a.tar"}[mode]
    got = prepare(make_tar(tmp_path / name, solution_members("./cnn_rnn/") | {"cnn_rnn/data.bin": b"\0" * 100}, mode=mode), tmp_path / "out")
    assert got.folder == tmp_path / "out" / "cnn_rnn" and got.notes == ()
    assert sorted(p.name for p in got.folder.iterdir()) == sorted(GRADED_FILES)


@pytest.mark.parametrize("member", ["../evil.py", "/abs/evil.py", "a/../../evil.py"])
def test_tar_with_unsafe_path_is_refused(tmp_path: Path, member: str):
    assert _kind(make_tar(tmp_path / "a.tar.gz", solution_members() | {member: b"x = 1\n"}), tmp_path / "out") == "unsafe"
    assert not (tmp_path / "evil.py").exists()


def test_tar_links_are_skipped_with_a_note(tmp_path: Path):
    files = solution_members()
    del files["cnn_rnn/part1_resnet.py"]
    got = prepare(make_tar(tmp_path / "a.tar.gz", files, links={"cnn_rnn/part1_resnet.py": "/etc/passwd"}), tmp_path / "out")
    assert not (got.folder / "part1_resnet.py").exists()
    assert any("符号链接" in n and "part1_resnet.py" in n for n in got.notes)
    assert any(n.startswith("缺少 part1_resnet.py") for n in got.notes)


def test_corrupt_tar_is_corrupt(tmp_path: Path):
    archive = make_tar(tmp_path / "a.tar.gz", solution_members())
    archive.write_bytes(archive.read_bytes()[:200])
    assert _kind(archive, tmp_path / "out") == "corrupt"


# --------------------------------------------------------------------------- layout: which folder, which files


def test_the_folder_with_most_graded_files_is_graded_and_the_others_named(tmp_path: Path):
    files = solution_members("hw/cnn_rnn/") | {"hw/backup/part1_resnet.py": STUB["part1_resnet.py"]}
    got = prepare(make_zip(tmp_path / "a.zip", files, {"hw/backup/part1_resnet.py": NEW}), tmp_path / "out")
    assert got.folder == tmp_path / "out" / "hw" / "cnn_rnn"
    (note,) = got.notes
    assert "评分的是 hw/cnn_rnn/" in note and "hw/backup/" in note


def test_a_tie_goes_to_the_newest_folder(tmp_path: Path):
    old = solution_members("final/", STUB)
    new = solution_members("draft/")
    when = {name: OLD for name in old} | {name: NEW for name in new}
    got = prepare(make_zip(tmp_path / "a.zip", old | new, when), tmp_path / "out")
    assert got.folder.name == "draft"
    assert "修改时间较新" in got.notes[0] and "final/" in got.notes[0]
    when = {name: NEW for name in old} | {name: OLD for name in new}
    assert prepare(make_zip(tmp_path / "b.zip", old | new, when), tmp_path / "out2").folder.name == "final"


def test_folder_submission_keeps_modification_times_for_the_tie(tmp_path: Path):
    for folder, age in (("a", 1000), ("b", 10)):
        (tmp_path / "sub" / folder).mkdir(parents=True)
        for name in GRADED_FILES:
            path = tmp_path / "sub" / folder / name
            path.write_bytes(SOLUTION[name])
            os.utime(path, (time.time() - age, time.time() - age))
    assert prepare(tmp_path / "sub", tmp_path / "out").folder == tmp_path / "out" / "b"


def test_case_only_differences_in_file_names_are_accepted(tmp_path: Path):
    files = solution_members()
    files["cnn_rnn/Part1_ResNet.py"] = files.pop("cnn_rnn/part1_resnet.py")
    got = prepare(make_zip(tmp_path / "a.zip", files), tmp_path / "out")
    assert (got.folder / "part1_resnet.py").read_bytes() == SOLUTION["part1_resnet.py"]
    assert not (got.folder / "Part1_ResNet.py").exists()
    assert got.notes == ("文件名大小写不对：cnn_rnn/Part1_ResNet.py 按 part1_resnet.py 评分（文件名应全部小写）",)


def test_missing_and_empty_graded_files_are_named(tmp_path: Path):
    files = solution_members()
    del files["cnn_rnn/part3_lstm.py"]
    files["cnn_rnn/part3_lstm (1).py"] = SOLUTION["part3_lstm.py"]
    files["cnn_rnn/part2_transfer.py"] = b""
    got = prepare(make_zip(tmp_path / "a.zip", files), tmp_path / "out")
    missing = [n for n in got.notes if n.startswith("缺少 part3_lstm.py")]
    assert len(missing) == 1 and "按未实现评分" in missing[0] and "cnn_rnn/" in missing[0] and "part3_lstm (1).py" in missing[0]
    assert "part2_transfer.py 是空文件（0 字节）：这一部分按未实现评分" in got.notes


def test_symlinked_graded_file_in_a_folder_is_skipped_with_a_note(tmp_path: Path):
    sub = tmp_path / "sub" / "cnn_rnn"
    sub.mkdir(parents=True)
    for name in GRADED_FILES[1:]:
        (sub / name).write_bytes(SOLUTION[name])
    (tmp_path / "elsewhere.py").write_bytes(SOLUTION["part1_resnet.py"])
    (sub / "part1_resnet.py").symlink_to(tmp_path / "elsewhere.py")
    got = prepare(tmp_path / "sub", tmp_path / "out")
    assert got.folder == tmp_path / "out" / "cnn_rnn" and not (got.folder / "part1_resnet.py").exists()
    assert any("符号链接" in n and "part1_resnet.py" in n for n in got.notes)


def test_macos_junk_is_never_code(tmp_path: Path):
    files = solution_members() | {"__MACOSX/cnn_rnn/._part1_resnet.py": b"\0\5\26\7junk", "._cnn_rnn": b"junk",
                           "__MACOSX/backup/part1_resnet.py": b"x = 1\n", "cnn_rnn/.ipynb_checkpoints/part1_resnet-checkpoint.py": b""}
    got = prepare(make_zip(tmp_path / "a.zip", files), tmp_path / "out")
    assert got.notes == () and sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.py")) == \
        sorted(solution_members())


def test_gbk_folder_names_from_windows_are_read(tmp_path: Path):
    archive = make_zip(tmp_path / "a.zip", solution_members("abcd/"))
    archive.write_bytes(archive.read_bytes().replace(b"abcd/", "作业".encode("gbk") + b"/"))
    got = prepare(archive, tmp_path / "out")
    assert got.folder == tmp_path / "out" / "作业"


def test_a_virtualenv_inside_the_zip_does_not_count(tmp_path: Path):
    venv = {f"venv/lib/python3.11/site-packages/pkg/m{i}.py": b"x = 1\n" for i in range(3000)}
    got = prepare(make_zip(tmp_path / "a.zip", solution_members() | venv, method=zipfile.ZIP_STORED), tmp_path / "out")
    assert got.folder.name == "cnn_rnn" and not (tmp_path / "out" / "venv").exists()


# --------------------------------------------------------------------------- discovery


def _class_folder(root: Path) -> Path:
    root.mkdir()
    make_zip(root / "张三_cnn_rnn.zip", solution_members())
    make_tar(root / "bob.tar.gz", solution_members())
    (root / "carol.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 32)
    (root / "dave.rar").write_bytes(b"Rar!\x1a\x07\x00" + b"\0" * 32)
    (root / "notes.txt").write_text("not a submission")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._bob.tar.gz").write_bytes(b"junk")
    (root / "._张三_cnn_rnn.zip").write_bytes(b"junk")
    (root / ".DS_Store").write_bytes(b"junk")
    return root


def test_discover_keeps_every_submission_and_reports_the_rest(tmp_path: Path):
    found = discover_report(_class_folder(tmp_path / "subs"))
    assert [(s.student, s.path.name) for s in found.submissions] == [
        ("bob", "bob.tar.gz"), ("carol", "carol.7z"), ("dave", "dave.rar"), ("张三", "张三_cnn_rnn.zip")]
    assert [name for name, _ in found.ignored] == ["notes.txt"]
    kinds = {}
    for sub in found.submissions:
        try:
            prepare(sub.path, tmp_path / "out" / sub.student)
            kinds[sub.student] = "ok"
        except SubmissionError as exc:
            kinds[sub.student] = exc.kind
    assert kinds == {"bob": "ok", "carol": "unsupported_format", "dave": "unsupported_format", "张三": "ok"}


@pytest.mark.parametrize(("names", "expected"), [
    (["a;rm -rf ~.zip", "b`x`$(y).zip", "c\u202egnp.zip", "d\x07e.zip", "-f.zip"], ["a_rm_-rf", "b_x_y", "c_gnp", "d_e", "f"]),
    # NFD (as macOS writes names) and NFC are one id; the NFD name sorts first ("e" < "\u00e9")
    (["\u00e9l\u00e8ve.zip", unicodedata.normalize("NFD", "\u00e9l\u00e8ve") + "_cnn_rnn.zip"], ["\u00e9l\u00e8ve~2", "\u00e9l\u00e8ve"]),
    (["Alice.zip", "alice_cnn_rnn.zip", "alice~2.zip"], ["Alice", "alice~3", "alice~2"]),
])
def test_ids_are_cleaned_and_collisions_made_unique_in_source_order(tmp_path: Path, names: list[str], expected: list[str]):
    for name in names:
        make_zip(tmp_path / name, solution_members())
    found = discover_report(tmp_path)
    assert sorted((s.path.name, s.student) for s in found.submissions) == sorted(zip(names, expected))
    assert len({s.student.casefold() for s in found.submissions}) == len(names)
    clashing = [s for s in found.submissions if "~" in s.student and s.path.name not in ("alice~2.zip",)]
    assert all(s.note for s in clashing) and (bool(clashing) == bool(found.collisions))
    assert discover_report(tmp_path) == found  # deterministic


def test_long_ids_get_short_unique_file_names(tmp_path: Path):
    long_a, long_b = "张" * 60 + "a", "张" * 60 + "b"  # 181 bytes each, the same first 100
    stems = {file_stem(long_a), file_stem(long_b)}
    assert len(stems) == 2 and all(len(s.encode()) <= MAX_STEM_BYTES for s in stems)
    assert file_stem("alice") == "alice" and file_stem("王五") == "王五"
    assert file_stem("../x") != file_stem("__x") and "/" not in file_stem("../x")
    (tmp_path / "subs" / ("张" * 85)).mkdir(parents=True)  # a 255-byte folder name: the longest a disk allows
    (sub,) = discover(tmp_path / "subs")
    with pytest.raises(OSError):
        (tmp_path / f"{sub.student}.json").write_text("{}")  # why callers need file_stem
    write_text(tmp_path / "out" / "results" / f"{file_stem(sub.student)}.json", "{}")
    write_text(tmp_path / "out" / "feedback" / f"{file_stem(sub.student)}.html", "<p>")


def test_atomic_write_works_next_to_the_name_length_limit(tmp_path: Path):
    target = tmp_path / ("张" * 82 + ".json")  # 251 bytes: a temporary name built from it would not fit
    write_text(target, "{}")
    assert target.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_moodle_folders_grade_the_uploaded_zip(tmp_path: Path):
    folder = tmp_path / "Zhang San_123456_assignsubmission_file_"
    folder.mkdir()
    make_zip(folder / "zhangsan_cnn_rnn.zip", solution_members())
    (tmp_path / "Zhang San_123456_assignsubmission_onlinetext_").mkdir()
    (tmp_path / "Zhang San_123456_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hi</p>")
    loose = tmp_path / "Li Si_7890_assignsubmission_file_"
    (loose / "cnn_rnn").mkdir(parents=True)
    (loose / "cnn_rnn" / "part1_resnet.py").write_bytes(SOLUTION["part1_resnet.py"])
    make_zip(tmp_path / "Wang Wu_555_assignsubmission_file_wangwu.zip", solution_members())  # "download in folders" off
    found = discover_report(tmp_path)
    assert [(s.student, s.path.relative_to(tmp_path).as_posix()) for s in found.submissions] == [
        ("7890", "Li Si_7890_assignsubmission_file_"), ("555", "Wang Wu_555_assignsubmission_file_wangwu.zip"),
        ("123456", "Zhang San_123456_assignsubmission_file_/zhangsan_cnn_rnn.zip")]
    assert [name for name, _ in found.ignored] == ["Zhang San_123456_assignsubmission_onlinetext_"]
    assert prepare(found.submissions[2].path, tmp_path / "out").folder.name == "cnn_rnn"


def test_a_folder_holding_several_archives_grades_the_newest_with_a_note(tmp_path: Path):
    (tmp_path / "alice").mkdir()
    old, new = make_zip(tmp_path / "alice" / "v1.zip", solution_members(files=STUB)), make_zip(tmp_path / "alice" / "v2.zip", solution_members())
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (sub,) = discover(tmp_path)
    assert (sub.student, sub.path) == ("alice", new) and "v1.zip" in sub.note and "v2.zip" in sub.note


def test_a_folder_with_code_and_an_archive_grades_the_code_with_a_note(tmp_path: Path):
    (tmp_path / "alice" / "cnn_rnn").mkdir(parents=True)
    (tmp_path / "alice" / "cnn_rnn" / "part1_resnet.py").write_bytes(SOLUTION["part1_resnet.py"])
    make_zip(tmp_path / "alice" / "alice_cnn_rnn.zip", solution_members())
    (sub,) = discover(tmp_path)
    assert sub.path == tmp_path / "alice" and "alice_cnn_rnn.zip" in sub.note


def test_canvas_download_ids_are_canvas_user_ids(tmp_path: Path):
    for name in ("zhangsan_12345_678901_cnn_rnn.zip", "lisi_LATE_23456_789012_cnn_rnn-1.zip", "wangwu_34567_890123_hw.rar"):
        make_zip(tmp_path / name, solution_members())
    (tmp_path / "zhangsan_12345_678901_screenshot.png").write_bytes(b"\x89PNG")
    found = discover_report(tmp_path)
    assert sorted(s.student for s in found.submissions) == ["12345", "23456", "34567"]
    assert found.notes == []


def test_plain_ids_that_only_look_like_canvas_are_left_whole(tmp_path: Path):
    for name in ("stu_2021_12345_cnn_rnn.zip", "alice_cnn_rnn.zip"):
        make_zip(tmp_path / name, solution_members())
    found = discover_report(tmp_path)
    assert sorted(s.student for s in found.submissions) == ["alice", "stu_2021_12345"]
    assert len(found.notes) == 1 and "Canvas" in found.notes[0]


def test_nbgrader_layout_still_found(tmp_path: Path):
    for student in ("s1", "学生2"):
        (tmp_path / "submitted" / student / "cnn_rnn").mkdir(parents=True)
    assert [s.student for s in discover(tmp_path)] == ["s1", "学生2"]


# --------------------------------------------------------------------------- CSV cells


@pytest.mark.parametrize(("cell", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-1.5", "-1.5"), ("-2e-3", "-2e-3"), (-3, "-3"), ("+7", "+7"), ("alice", "alice"), ("张三", "张三"), ("", ""),
])
def test_safe_cell(cell: object, expected: str):
    assert safe_cell(cell) == expected


def test_every_gradebook_csv_neutralises_formulas():
    evil = "=cmd|'/C calc'!A0"
    results = [StudentResult(evil, [CheckResult("part1.x", "part1", 1.0, 2.0, "failed", "")])]
    assert f"'{evil}" in grades_csv(results, ["part1"])
    assert f"'{evil}" in canvas_csv(results, "cnn_rnn")
    assert f"'{evil}" in moodle_csv(results)
    assert csv_text([["-1", "=1"]]) == "-1,'=1\n"


def test_similarity_pairs_csv_neutralises_formulas():
    from autograder.similarity.compare import Pair
    from autograder.similarity.report import pairs_csv

    assert "'@evil" in pairs_csv([Pair("@evil", "bob", [])])

"""Submission discovery and safe unpacking (no grading, no torch worker: fast)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from autograder.grade.discover import code_folder, discover, discover_report, student_id
from autograder.grade.unpack import MAX_FILES, SubmissionError, unpack


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [("alice_cnn_rnn.zip", "alice"), ("bob.zip", "bob"), ("carol", "carol"), ("d e/../f.zip", "f"), ("王五_cnn_rnn.zip", "王五"),
     ("a b<c>.tar.gz", "a_b_c"), ("...", "unnamed")],
)
def test_student_id(name, expected):
    assert student_id(Path(name)) == expected


def test_discover_mixed_layouts(tmp_path: Path):
    (tmp_path / "alice").mkdir()
    _zip(tmp_path / "bob_cnn_rnn.zip", {"cnn_rnn/part1_resnet.py": b"x = 1\n"})
    (tmp_path / "notes.txt").write_text("ignored")
    subs = discover(tmp_path)
    assert [(s.student, s.path.name) for s in subs] == [("alice", "alice"), ("bob", "bob_cnn_rnn.zip")]


def test_discover_nbgrader_layout(tmp_path: Path):
    for student in ("s1", "s2"):
        (tmp_path / "submitted" / student / "cnn_rnn").mkdir(parents=True)
    subs = discover(tmp_path)
    assert [(s.student, s.path.relative_to(tmp_path).as_posix()) for s in subs] == [
        ("s1", "submitted/s1/cnn_rnn"), ("s2", "submitted/s2/cnn_rnn")]


def test_duplicate_student_ids_are_made_unique_and_reported(tmp_path: Path):
    (tmp_path / "alice").mkdir()
    _zip(tmp_path / "alice_cnn_rnn.zip", {"part1_resnet.py": b""})
    found = discover_report(tmp_path)
    assert [(s.student, s.path.name) for s in found.submissions] == [("alice", "alice"), ("alice~2", "alice_cnn_rnn.zip")]
    assert found.collisions == {"alice": [("alice", "alice"), ("alice_cnn_rnn.zip", "alice~2")]}
    assert all("alice~2" in s.note for s in found.submissions)


def test_zip_keeps_only_python_files(tmp_path: Path):
    archive = _zip(tmp_path / "a.zip", {"cnn_rnn/part1_resnet.py": b"A = 1\n", "cnn_rnn/weights.pth": b"\0" * 100,
                                       "__MACOSX/._part1_resnet.py": b"junk", "cnn_rnn/.hidden.py": b""})
    unpack(archive, tmp_path / "out")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == ["cnn_rnn/part1_resnet.py"]
    assert code_folder(tmp_path / "out") == tmp_path / "out" / "cnn_rnn"


@pytest.mark.parametrize("member", ["../evil.py", "/abs/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_path_traversal_is_refused(tmp_path: Path, member: str):
    archive = _zip(tmp_path / "a.zip", {member: b"x = 1\n"})
    with pytest.raises(SubmissionError, match="不安全的路径") as info:
        unpack(archive, tmp_path / "out")
    assert info.value.kind == "unsafe"
    assert not (tmp_path / "evil.py").exists()


def test_symlink_member_is_skipped_with_a_note(tmp_path: Path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("cnn_rnn/part1_resnet.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr("cnn_rnn/part2_transfer.py", "B = 2\n")
    notes = unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "cnn_rnn" / "part1_resnet.py").exists()
    assert any("符号链接" in n and "part1_resnet.py" in n for n in notes)


def test_zip_bomb_by_size_and_count_is_refused(tmp_path: Path):
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(12):
            zf.writestr(f"p{i}.py", b"#" * (5 << 20))  # 60 MB of comments, compresses to ~60 KB
    with pytest.raises(SubmissionError, match="MB") as info:
        unpack(big, tmp_path / "out1")
    assert info.value.kind == "too_large"
    many = _zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(MAX_FILES + 1)})
    with pytest.raises(SubmissionError, match="文件太多") as info:
        unpack(many, tmp_path / "out2")
    assert info.value.kind == "too_large"


def test_corrupt_zip_gets_a_clear_message(tmp_path: Path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SubmissionError, match="损坏") as info:
        unpack(bad, tmp_path / "out")
    assert info.value.kind == "corrupt"


def test_duplicate_and_non_utf8_names(tmp_path: Path):
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("part1_resnet.py", b"a = 1\n")
        with pytest.warns(UserWarning):
            zf.writestr("part1_resnet.py", b"a = 2\n")
    with pytest.raises(SubmissionError, match="重名") as info:
        unpack(archive, tmp_path / "out")
    assert info.value.kind == "corrupt"
    case = _zip(tmp_path / "case.zip", {"part1_resnet.py": b"a = 1\n", "PART1_RESNET.py": b"a = 2\n"})
    notes = unpack(case, tmp_path / "out1")
    assert (tmp_path / "out1" / "part1_resnet.py").read_bytes() == b"a = 1\n"
    assert any("PART1_RESNET.py" in n for n in notes)
    cp437 = tmp_path / "cp437.zip"
    with zipfile.ZipFile(cp437, "w") as zf:
        zf.writestr(zipfile.ZipInfo("caf\u00e9/part1_resnet.py"), b"a = 1\n")
    unpack(cp437, tmp_path / "out2")
    assert code_folder(tmp_path / "out2") is not None

"""copydetect's fingerprints of a Python file, identical to `copydetect.CodeFingerprint`'s, computed
faster for a large class.

copydetect tokenizes every file with pygments (`copydetect.utils.filter_code`): about 0.1 s of CPU
per graded file, 30 minutes for 2,000 students with five files each. Most of every file is the
stub as released and lines that many students write the same way. So the text is cut at the start
of each statement line (found by `ast`: a point where pygments' Python lexer is back in its root
state, outside any string or bracket), each piece is lexed and filtered on its own and cached by
its text, and the pieces are joined. Joined, they give the same filtered code and the same offsets
as `filter_code` on the whole file (`tests/test_similarity.py` checks it on every example file);
a file `ast` cannot parse is filtered whole, by copydetect itself.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

import numpy as np
from copydetect.utils import filter_code, get_document_fingerprints, get_token_coverage
from pygments import lexers, token

from autograder.grade.discover import Submission
from autograder.grade.unpack import prepare
from autograder.runtime.assignment import GRADED_FILES
from autograder.source import read_source

_LEXER = lexers.get_lexer_for_filename("x.py")
_VARIABLE = {token.Name, token.Name.Variable, token.Name.Attribute}
_CACHE: dict[str, tuple[str, np.ndarray, np.ndarray, int]] = {}
_BLOCKS: dict[str, tuple[str, np.ndarray, np.ndarray, int]] = {}
_CACHE_MAX = 200_000  # entries of each cache (a statement or a definition each); cleared when full


def _category(kind) -> str:
    """What `filter_code` does with a token type, in its order of tests: V, F, O (a name replaced by
    one letter), P (preprocessor, hashbang), T (text or comment: dropped), S (a string), "" (kept)."""
    if kind in _VARIABLE:
        return "V"
    if kind in token.Name.Function:
        return "F"
    if kind in token.Name.Class:
        return "O"
    if kind == token.Comment.Preproc or kind == token.Comment.Hashbang:
        return "P"
    if kind in token.Text or kind in token.Comment:
        return "T"
    if kind in token.Literal.String:
        return "S"
    return ""


_CATEGORY: dict = {}


def _filter_piece(piece: str) -> tuple[str, np.ndarray, np.ndarray, int]:
    """`filter_code`'s loop on one piece: (filtered text, offset rows relative to the piece, which
    rows hold a class name's length (not shifted), characters removed)."""
    out: list[str] = []
    n = 0  # len("".join(out))
    offset = 0
    rows: list[tuple[int, int]] = []
    fixed: list[bool] = []
    for _, kind, value in _LEXER.get_tokens_unprocessed(piece):
        what = _CATEGORY.get(kind)
        if what is None:
            what = _CATEGORY[kind] = _category(kind)
        if what == "":
            out.append(value)
            n += len(value)
        elif what == "T":
            rows.append((n - 1, offset))
            fixed.append(False)
            offset += len(value)
        elif what == "S" and (value == "'" or value == '"'):
            out.append('"')
            n += 1
        else:
            out.append(what)
            n += 1
            if what == "O":
                rows.append((n - 1, len(value) - 1))
                fixed.append(True)
            else:
                rows.append((n - 1, offset))
                fixed.append(False)
            offset += len(value) - 1
    return "".join(out), np.array(rows, dtype=np.int64).reshape(-1, 2), np.array(fixed, dtype=bool), offset


def _statements(body: list[ast.stmt]):
    """Every statement, nested ones too (not expressions: cheaper than `ast.walk`)."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for part in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
            yield from _statements(part.body)


def _cut_points(text: str) -> list[int]:
    """Character offsets in `text` where pygments' Python lexer is in its root state with nothing
    carried over: the start of a line where a statement begins (its first character is the
    statement's), not after a backslash continuation, and not below a line of only spaces (the
    lexer's docstring and `match`/`case` rules start with `^\\s*` and would span it)."""
    lines = text.split("\n")
    starts = set()
    for node in _statements(ast.parse(text).body):
        n = node.lineno - 1
        if 0 < n < len(lines) and len(lines[n]) - len(lines[n].lstrip(" \t\x0c")) == node.col_offset:
            starts.add(n)
    at = [0]
    for line in lines:
        at.append(at[-1] + len(line) + 1)
    cuts = []
    for n in sorted(starts):
        prev = n - 1
        if lines[prev].endswith("\\"):
            continue
        while prev >= 0 and not lines[prev]:
            prev -= 1
        if prev >= 0 and lines[prev] and not lines[prev].strip():
            continue
        cuts.append(at[n])
    return cuts


def _join(parts: list[tuple[str, np.ndarray, np.ndarray, int]]) -> tuple[str, np.ndarray, np.ndarray, int]:
    """Filtered pieces in order, as one: rows shifted by the text and offset before them."""
    lens = np.array([len(p[0]) for p in parts], dtype=np.int64)
    offs = np.array([p[3] for p in parts], dtype=np.int64)
    counts = np.array([len(p[1]) for p in parts], dtype=np.int64)
    if not counts.sum():
        return "".join(p[0] for p in parts), np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool), int(offs.sum())
    rows = np.concatenate([p[1] for p in parts])
    fixed = np.concatenate([p[2] for p in parts])
    base_len = np.repeat(np.cumsum(lens) - lens, counts)
    base_off = np.repeat(np.cumsum(offs) - offs, counts)
    rows = rows + np.stack([base_len, np.where(fixed, 0, base_off)], axis=1)
    return "".join(p[0] for p in parts), rows, fixed, int(offs.sum())


def _cached(piece: str) -> tuple[str, np.ndarray, np.ndarray, int]:
    done = _CACHE.get(piece)
    if done is None:
        if len(_CACHE) > _CACHE_MAX:
            _CACHE.clear()
        done = _CACHE[piece] = _filter_piece(piece)
    return done


def _filter_block(block: str) -> tuple[str, np.ndarray, np.ndarray, int]:
    """A text that parses on its own, cut at its statement lines; raises SyntaxError if it does not parse."""
    done = _BLOCKS.get(block)
    if done is None:
        cuts = _cut_points(block)
        done = _join([_cached(block[a:b]) for a, b in zip([0, *cuts], [*cuts, len(block)])])
        if len(_BLOCKS) > _CACHE_MAX:
            _BLOCKS.clear()
        _BLOCKS[block] = done
    return done


_TOP = ("def ", "class ", "async def ", "@")


def _blocks(text: str) -> list[str]:
    """The text cut before each line at column 0 that starts a definition (a likely top-level
    statement). Each block is valid only if it parses on its own: then nothing (a string, a bracket)
    runs from one block into the next, and the whole file's statements are the blocks'."""
    lines = text.split("\n")
    cuts = [0]
    pos = 0
    for n, line in enumerate(lines):
        if n and line.startswith(_TOP):
            prev = n - 1
            while prev >= 0 and not lines[prev]:
                prev -= 1
            if prev >= 0 and not lines[prev].endswith("\\") and lines[prev].strip():
                cuts.append(pos)
        pos += len(line) + 1
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)])]


def filter_python(code: str) -> tuple[str, np.ndarray]:
    """Exactly `copydetect.utils.filter_code(code, "<file>.py")`, block by block and statement by
    statement, with caches."""
    text = _LEXER._preprocess_lexer_input(code)
    try:
        try:
            out, rows, _, _ = _join([_filter_block(block) for block in _blocks(text)])
        except SyntaxError:  # a block that does not parse alone (a "def" line inside a string?): the whole file
            out, rows, _, _ = _filter_block(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return filter_code(code, "x.py")  # not Python that parses: copydetect's own, whole
    return out, np.concatenate([np.zeros((1, 2), dtype=np.int64), rows])


class Fingerprint:
    """What `copydetect.compare_files` reads of a `CodeFingerprint`, with the same values: `hashes`
    (a set), `hash_idx`, `k`, `token_coverage`, `filtered_code` and `offsets`."""

    __slots__ = ("filename", "raw_code", "filtered_code", "offsets", "hashes", "hash_idx", "k", "token_coverage")

    def __init__(self, name: str, code: str, k: int, win_size: int, boilerplate: np.ndarray):
        filtered, offsets = filter_python(code)
        hashes, idx = get_document_fingerprints(filtered, k, win_size, boilerplate)
        self.filename = name
        self.raw_code = code
        self.filtered_code = filtered
        self.offsets = offsets
        self.hashes = hashes
        self.hash_idx = idx
        self.k = k
        self.token_coverage = get_token_coverage(idx, k, len(filtered))


def sources(sub: Submission) -> dict[str, str]:
    """The graded files of one submission, decoded as import decodes them (BOM, coding cookie,
    stray bytes in comments). Raises SubmissionError (with its kind) for a hand-in that cannot be read."""
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_sim_") as tmp:
        folder = prepare(sub.path, Path(tmp) / "code").folder
        for name in GRADED_FILES:
            path = folder / name
            if path.is_file():
                text = read_source(path).text
                if text is not None:  # else Python cannot read it either: nothing to compare
                    texts[name] = text
    return texts

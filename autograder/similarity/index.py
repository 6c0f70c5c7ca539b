"""Similarity for a large class: candidate pairs from an inverted index of copydetect's fingerprints,
and an exact comparison only of the pairs that can reach the floor.

The scores are copydetect's, exactly as `CopyDetector` gives them (`compare.py`, method
"all-pairs"): the same k-gram hashes (`fingerprint.py`), the same overlap and the same token
coverage. What changes is which pairs are compared.

The index. For each graded file, every fingerprint hash maps to the hand-ins that hold it. Stub
and given-code hashes are already gone (copydetect's boilerplate); a hash of one hand-in only is
dropped (nobody shares it). A hash held by at most `COMMON_FRACTION` of the hand-ins is *rare* and
has a posting list. A *common* one (an idiom most of the class writes) is kept out of the posting
lists, so no list is ever walked pair by pair: it gets a bit set over the hand-ins instead, which
is only read for the hand-in at hand (pairs that share only common code can still score high, and
copydetect counts common hashes, so they cannot simply be ignored).

The bound (copydetect's definition). For files a and b of one name, with P the positions of a's
k-grams (k = 25 filtered characters, every k-gram kept, boilerplate removed) whose hash b holds,
copydetect's overlap on a's side is `ov_a = |U_{i in P} [i, i+k)|` (`get_copied_slices`: runs
closer than k merge), at most `tokens_a` (`token_coverage`, its denominator). A file's similarity
is the mean of `ov_a / tokens_a` and `ov_b / tokens_b`; a pair's overall similarity is
`S = (sum_f ov_f) * (1/A + 1/B) / 2`, with ov_f on the side copydetect met first (the earlier
hand-in, or the current one against an archive) and A, B each side's tokens over the files both
have (`Pair.similarity`). Cut a's filtered code into blocks of `BLOCK` characters. A token t is
in ov_a only if some i in P lies in [t-k+1, t], i.e. in t's block or one of the
`ceil((k-1)/BLOCK)` blocks before it. So

    ov_a <= sum over blocks B of (a's own covered tokens in B) * [b holds a hash of a at a position
            in B or in the ceil((k-1)/BLOCK) blocks before B]
    S(a, b) <= (sum_f that bound for file f) * (1/A + 1/B) / 2,

and a pair whose bound is below the floor cannot be listed, so it is not compared. For a,
"b holds a hash at a position in block B" is, for every b at once, the OR of the bit sets (common
hashes) and posting lists (rare ones) of a's positions in B: one pass over a's positions and a
weighted sum over a's blocks per graded file, never a pair-by-pair walk. The bound exceeds ov_a by
less than 2 * BLOCK characters per run of shared k-grams. Every pair it cannot rule out is compared
exactly: ov_a from the same bit sets, position by position (the union of [i, i+k) above), and
for the pairs at or above the floor both sides again with copydetect's `get_copied_slices`
(`overlap`). Each hand-in's row of pairs is one task for the worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

import numpy as np
from copydetect import compare_files
from copydetect.utils import get_copied_slices, hashed_kgrams, winnow

from autograder.grade.discover import Submission
from autograder.grade.unpack import SubmissionError
from autograder.runtime.assignment import GRADED_FILES
from autograder.similarity import fingerprint

COMMON_FRACTION = 0.02  # a hash in more than this share of the hand-ins is common (never indexed)
COMMON_MIN = 4  # ... and in more than this many, so that a small class indexes everything
_EPS = 1e-9  # the bound is compared with the floor with this slack (float rounding)


@dataclass
class FilePrint:
    """One graded file, compactly: its fingerprint positions (in order) and their hashes."""

    positions: np.ndarray  # int32, the k-gram positions kept (boilerplate removed)
    hashes: np.ndarray  # int64, the hash at each position
    unique: np.ndarray  # int64, sorted distinct hashes
    tokens: int  # copydetect's token_coverage
    filtered: int  # length of the filtered code


@dataclass
class Handin:
    label: str
    sub: Submission
    files: dict[str, FilePrint]
    error: str = ""  # SubmissionError kind: could not be read
    texts: int = 0  # graded files found (some may hold nothing copydetect can read)


def normalise(text: str) -> str:
    """The text as copydetect reads a staged file back: UTF-8 written with errors replaced, read
    with universal newlines."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def file_print(name: str, text: str, k: int, window: int, boilerplate: np.ndarray) -> fingerprint.Fingerprint:
    """copydetect's full fingerprint of one file (for the code shown in the report)."""
    return fingerprint.Fingerprint(name, normalise(text), k, window, boilerplate)


def compact_print(text: str, k: int, window: int, boilerplate: np.ndarray) -> FilePrint:
    """The same fingerprint as `file_print`, kept as arrays: `get_document_fingerprints` without its
    dict (the same numpy steps: k-gram hashes, winnowing, boilerplate removal) and
    `get_token_coverage` as the size of the union of [i, i+k)."""
    filtered, _ = fingerprint.filter_python(normalise(text))
    hashes, positions = winnow(hashed_kgrams(filtered, k=k), window_size=window, remove_duplicates=False)
    if len(boilerplate) > 0:
        _, overlap_idx, _ = np.intersect1d(hashes, boilerplate, return_indices=True, assume_unique=True)
        positions = np.delete(positions, overlap_idx)
        hashes = np.delete(hashes, overlap_idx)
    hashes = np.asarray(hashes, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    order = np.argsort(positions, kind="stable")
    hashes, positions = hashes[order], positions[order]
    tokens = int(_coverage(positions, k, len(filtered)).sum()) if len(positions) else 0
    return FilePrint(positions.astype(np.int32), hashes, np.unique(hashes), tokens, len(filtered))


# State the forked workers read (fork: they inherit it, and Python's salted hash() with it, so their
# k-gram hashes are the parent's; a spawned worker would hash differently).
_WORK: dict = {}


def _read(task: tuple[int, str, Submission]) -> tuple[int, dict[str, FilePrint], str, int]:
    i, _, sub = task
    try:
        texts = fingerprint.sources(sub)
    except SubmissionError as exc:
        return i, {}, exc.kind, 0
    out = {}
    for name, text in texts.items():
        try:
            out[name] = compact_print(text, _WORK["k"], _WORK["window"], _WORK["boilerplate"])
        except ValueError:
            continue
    return i, out, "", len(texts)


def _pool(jobs: int):
    return multiprocessing.get_context("fork").Pool(jobs)


def read_all(tasks: list[tuple[str, Submission]], boilerplate: np.ndarray, given: list[str], k: int, window: int,
             jobs: int) -> list[Handin]:
    """Unpack and fingerprint every hand-in, in `jobs` forked processes. `given`: the stubs' texts,
    filtered first so that every worker starts with their pieces cached."""
    _WORK.update(k=k, window=window, boilerplate=boilerplate)
    for text in given:
        fingerprint.filter_python(normalise(text))
    indexed = [(i, label, sub) for i, (label, sub) in enumerate(tasks)]
    results: dict[int, tuple[dict[str, FilePrint], str, int]] = {}
    try:
        if jobs <= 1 or len(tasks) < 8:
            for t in indexed:
                i, *rest = _read(t)
                results[i] = tuple(rest)
        else:
            with _pool(jobs) as pool:
                for i, *rest in pool.imap_unordered(_read, indexed, chunksize=max(1, min(16, len(tasks) // (jobs * 8)))):
                    results[i] = tuple(rest)
    finally:
        _WORK.clear()
    return [Handin(label, sub, *results[i]) for i, (label, sub) in enumerate(tasks)]


def _coverage(positions: np.ndarray, k: int, length: int) -> np.ndarray:
    """0/1 per filtered character: within k after one of `positions`."""
    d = np.bincount(positions, minlength=length + k + 1) - np.bincount(positions + k, minlength=length + k + 1)
    return (np.cumsum(d)[:length] > 0).astype(np.int32)


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The indices start..start+len-1 of every range, concatenated."""
    return np.repeat(starts, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))


class _Postings:
    """The index of one graded file: hash -> hand-ins holding it. A rare hash (held by 2 up to
    `limit` hand-ins) has a posting list. A common one (held by more) is kept out of the posting
    lists; it has a bit set over the hand-ins instead, read only for the hand-in at hand, never
    walked pair by pair. A hash of one hand-in only has neither: nobody shares it."""

    def __init__(self, prints: dict[int, FilePrint], m: int, limit: int):
        ids = np.array(list(prints), dtype=np.int64)
        lens = np.array([len(fp.unique) for fp in prints.values()], dtype=np.int64)
        keys, key, df = np.unique(np.concatenate([fp.unique for fp in prints.values()]), return_inverse=True, return_counts=True)
        ends = np.cumsum(lens)
        self.key = {i: key[e - n:e] for i, e, n in zip(prints, ends, lens)}  # each hand-in's hashes, as keys
        owners = np.repeat(ids, lens)[np.argsort(key, kind="stable")]  # grouped by key
        start = np.cumsum(df) - df
        self.words = (m + 63) // 64
        common, rare = df > limit, (df >= 2) & (df <= limit)
        self.row = np.full(len(keys), -1, dtype=np.int64)  # key -> its bit set (common) or posting list (rare)
        self.row[common] = np.arange(int(common.sum()))
        self.row[rare] = np.arange(int(rare.sum()))
        self.is_common = common
        n = df[rare]
        self.ptr = np.concatenate([[0], np.cumsum(n)])
        self.owners = owners[_ranges(start[rare], n)]
        n = df[common]
        who = owners[_ranges(start[common], n)].astype(np.uint64)
        self.sets = np.zeros((len(n), self.words), dtype=np.uint64)
        np.bitwise_or.at(self.sets, (np.repeat(np.arange(len(n)), n), (who >> np.uint64(6)).astype(np.int64)),
                         np.uint64(1) << (who & np.uint64(63)))
        self.common = int(common.sum())
        self.max_df = int(df[rare].max()) if rare.any() else 0

    def holders(self, i: int, fp: FilePrint) -> tuple[np.ndarray, np.ndarray]:
        """(the positions of hand-in i's file whose hash another hand-in holds, in order; for each,
        the bit set of the hand-ins holding that hash)."""
        key = self.key[i][np.searchsorted(fp.unique, fp.hashes)]
        row = self.row[key]
        keep = row >= 0
        common = self.is_common[key] & keep
        rare = keep & ~common
        at = np.cumsum(keep) - 1
        bits = np.zeros((int(keep.sum()), self.words), dtype=np.uint64)
        if common.any():
            bits[at[common]] = self.sets[row[common]]
        if rare.any():
            r = row[rare]
            n = self.ptr[r + 1] - self.ptr[r]
            who = self.owners[_ranges(self.ptr[r], n)].astype(np.uint64)
            np.bitwise_or.at(bits, (np.repeat(at[rare], n), (who >> np.uint64(6)).astype(np.int64)),
                             np.uint64(1) << (who & np.uint64(63)))
        return fp.positions[keep].astype(np.int64), bits


BLOCK = 4  # characters of filtered code per block of the bound


def _reach(fp: FilePrint, pos: np.ndarray, bits: np.ndarray, k: int, first: int, n: int) -> np.ndarray:
    """For hand-ins first .. first+n-1: at most how many of `fp`'s tokens copydetect can count as
    shared with theirs. A token is counted when the other hand-in holds the hash of a position at
    most k - 1 before it; so per block of `BLOCK` characters, its tokens count when the other holds
    a hash at a position in that block or in the blocks that reach into it."""
    w0 = first >> 6
    nb = -(-fp.filtered // BLOCK)
    hit = np.zeros((nb, bits.shape[1] - w0), dtype=np.uint64)
    if len(pos):
        blk = pos // BLOCK
        starts = np.flatnonzero(np.concatenate([[True], blk[1:] != blk[:-1]]))
        hit[blk[starts]] = np.bitwise_or.reduceat(bits[:, w0:], starts, axis=0)
    reach = hit.copy()
    for d in range(1, -(-(k - 1) // BLOCK) + 1):
        reach[d:] |= hit[:-d]
    tokens = np.add.reduceat(_coverage(fp.positions.astype(np.int64), k, fp.filtered), np.arange(0, fp.filtered, BLOCK))
    rows = np.flatnonzero(tokens)  # blocks with no token of a's own count for nobody
    flags = np.unpackbits(reach[rows].view(np.uint8), axis=1, bitorder="little")
    skip = first - (w0 << 6)
    return tokens[rows].astype(np.float32) @ flags[:, skip:skip + n]


def _exact(pos: np.ndarray, bits: np.ndarray, others: np.ndarray, k: int) -> np.ndarray:
    """copydetect's overlap on this side with each of `others` (hand-in indices): the size of the
    union of [i, i+k) over the positions whose hash the other holds (what `get_copied_slices`
    measures: runs closer than k merge)."""
    if not len(pos) or not len(others):
        return np.zeros(len(others))
    held = ((bits[:, others >> 6] >> (others & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)
    col, row = np.nonzero(held.T)  # by hand-in, then by position
    p = pos[row]
    same = col[1:] == col[:-1]
    inner = np.bincount(col[1:][same], weights=np.minimum(np.diff(p)[same], k), minlength=len(others))
    return inner + k * (np.bincount(col, minlength=len(others)) > 0)


def _scan_one(a: int) -> tuple[int, int, list]:
    """Hand-in a (current) against every later hand-in: (a, pairs compared exactly, [(b, files)] at
    or above the floor, files as (name, overlap on a's side, sim_a, sim_b))."""
    w = _WORK
    m, k, floor, handins = w["m"], w["k"], w["floor"], w["handins"]
    first, n = a + 1, m - a - 1
    eligible = w["eligible"][first:]
    if not w["eligible"][a] or not eligible.any():
        return a, 0, []
    held = {}
    reach = np.zeros(n)
    for name, post in w["postings"].items():
        fp = handins[a].files.get(name)
        if fp is None or not len(fp.positions):
            continue
        held[name] = post.holders(a, fp)
        if floor > 0:
            reach += _reach(fp, *held[name], k, first, n)
    tok_a = w["have"][first:] @ w["tokens"][a]  # A: a's tokens over the files b has too
    tok_b = w["tokens"][first:] @ w["have"][a]
    ta, tb = np.maximum(tok_a, 1), np.maximum(tok_b, 1)
    if floor > 0:
        candidates = np.flatnonzero(eligible & (reach * (1 / ta + 1 / tb) / 2 >= floor - _EPS))
    else:
        candidates = np.flatnonzero(eligible)
    shared = np.zeros(len(candidates))
    for pos, bits in held.values():
        shared += _exact(pos, bits, candidates + first, k)
    sims = (shared / ta[candidates] + shared / tb[candidates]) / 2  # Pair.similarity, in the same float steps
    listed = []
    for c in candidates[sims >= floor]:
        b = handins[first + c]
        files = [(name, *overlap(fp, b.files[name], k)) for name, fp in handins[a].files.items() if name in b.files]
        listed.append((first + c, sorted(files, key=lambda f: GRADED_FILES.index(f[0]))))
    return a, len(candidates), listed


@dataclass
class Scan:
    pairs: list[tuple[int, int, list[tuple[str, int, float, float]]]]  # (first, second, files), at or above the floor
    total: int  # pairs there were (current x current, current x archive)
    total_archived: int  # of them, current x archive
    compared: int  # pairs whose bound reached the floor: overlap computed exactly
    common: dict[str, int]  # graded file -> hashes held by too many hand-ins to index
    max_df: dict[str, int]  # graded file -> the longest posting list


def scan(handins: list[Handin], current: int, floor: float, k: int, jobs: int) -> Scan:
    """Every pair (i < j, i current) at or above `floor`, with the files' overlaps. As in
    copydetect's run, a hand-in that could not be read meets no one, and neither does an archived
    one without graded files."""
    m = len(handins)
    eligible = np.array([not h.error and (i < current or h.texts > 0) for i, h in enumerate(handins)], dtype=bool)
    c = int(eligible[:current].sum())
    total, archived = c * (c - 1) // 2 + c * int(eligible[current:].sum()), c * int(eligible[current:].sum())
    names = [name for name in GRADED_FILES if any(name in h.files for h in handins)]
    have = np.array([[name in h.files for name in names] for h in handins], dtype=np.float64).reshape(m, len(names))
    tokens = np.array([[h.files[name].tokens if name in h.files else 0 for name in names] for h in handins],
                      dtype=np.float64).reshape(m, len(names))
    postings, common, max_df = {}, {}, {}
    for name in names:
        prints = {i: h.files[name] for i, h in enumerate(handins) if name in h.files and len(h.files[name].positions)}
        if prints:
            postings[name] = _Postings(prints, m, max(COMMON_MIN, int(COMMON_FRACTION * len(prints))))
            common[name], max_df[name] = postings[name].common, postings[name].max_df
    _WORK.update(m=m, k=k, floor=floor, handins=handins, eligible=eligible, have=have, tokens=tokens, postings=postings)
    pairs, compared = [], 0
    try:
        todo = [a for a in range(current) if eligible[a]]
        if jobs <= 1 or len(todo) < 16:
            found = map(_scan_one, todo)
            pool = None
        else:
            pool = _pool(jobs)
            found = pool.imap_unordered(_scan_one, todo, chunksize=max(1, min(8, len(todo) // (jobs * 16))))
        for a, n, listed in found:
            compared += n
            pairs += [(a, b, files) for b, files in listed]
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        _WORK.clear()
    return Scan(pairs, total, archived, compared, common, max_df)


def overlap(a: FilePrint, b: FilePrint, k: int) -> tuple[int, float, float]:
    """`copydetect.compare_files(a, b)`'s overlap and similarities, from the compact prints: the
    positions of each side whose hash the other holds, through copydetect's own
    `get_copied_slices` (tests/test_similarity.py checks it against compare_files)."""
    if not len(a.unique) or not len(b.unique):
        return 0, 0.0, 0.0
    ja = np.searchsorted(b.unique, a.hashes)
    ja[ja >= len(b.unique)] = 0
    idx_a = a.positions[b.unique[ja] == a.hashes].astype(np.int64)
    if not len(idx_a):
        return 0, 0.0, 0.0
    jb = np.searchsorted(a.unique, b.hashes)
    jb[jb >= len(a.unique)] = 0
    idx_b = b.positions[a.unique[jb] == b.hashes].astype(np.int64)
    s_a, s_b = get_copied_slices(idx_a, k), get_copied_slices(idx_b, k)
    ov_a, ov_b = np.sum(s_a[1] - s_a[0]), np.sum(s_b[1] - s_b[0])
    sim_a = ov_a / np.float64(a.tokens) if a.filtered > 0 else 0
    sim_b = ov_b / np.float64(b.tokens) if b.filtered > 0 else 0
    return int(ov_a), float(sim_a), float(sim_b)


def _full(task: tuple[int, Submission]) -> tuple[int, dict[str, fingerprint.Fingerprint]]:
    i, sub = task
    try:
        texts = fingerprint.sources(sub)
    except SubmissionError:
        return i, {}
    out = {}
    for name, text in texts.items():
        try:
            out[name] = file_print(name, text, _WORK["k"], _WORK["window"], _WORK["boilerplate"])
        except ValueError:
            continue
    return i, out


def full_prints(subs: list[Submission], boilerplate: np.ndarray, k: int, window: int, jobs: int) -> list[dict[str, fingerprint.Fingerprint]]:
    """copydetect's full fingerprints (code, filtered code, offsets) of a few hand-ins, for the report."""
    _WORK.update(k=k, window=window, boilerplate=boilerplate)
    try:
        if jobs <= 1 or len(subs) < 4:
            found = [_full(t) for t in enumerate(subs)]
        else:
            with _pool(jobs) as pool:
                found = pool.map(_full, list(enumerate(subs)), chunksize=1)
    finally:
        _WORK.clear()
    return [files for _, files in sorted(found, key=lambda t: t[0])]


def detail(prints_a: dict[str, fingerprint.Fingerprint], prints_b: dict[str, fingerprint.Fingerprint]):
    """copydetect's `compare_files` on two hand-ins' full fingerprints, for the report's code:
    name -> (fingerprint a, fingerprint b, overlap on a's side, (sim_a, sim_b), (slices_a, slices_b))."""
    out = {}
    for name in GRADED_FILES:
        if name in prints_a and name in prints_b:
            fa, fb = prints_a[name], prints_b[name]
            ov, sims, slices = compare_files(fa, fb)
            out[name] = (fa, fb, int(ov), sims, slices)
    return out


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


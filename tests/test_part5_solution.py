"""Part 5 (CLIP / image retrieval): the solution against the trusted reference and the student stubs."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

import assignments.cnn_rnn.part5_retrieval as stub
import reference.retrieval as ref
import solutions.cnn_rnn.part5_retrieval as sol
from solutions.cnn_rnn.gallery import load_gallery


def _data(q: int, n: int, d: int, seed: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(q, d, generator=gen, dtype=dtype), torch.randn(n, d, generator=gen, dtype=dtype)


def assert_same_topk(scores, idx, ref_scores, ref_idx, queries, gallery, atol=ref.SCORE_ATOL) -> None:
    """Scores equal as values; indices equal wherever the score is not tied with a neighbour.

    Within a tie any order is right, so there the returned indices must only carry the tied score.
    """
    assert idx.dtype == torch.int64
    assert scores.shape == idx.shape == ref_scores.shape
    torch.testing.assert_close(scores, ref_scores, atol=atol, rtol=0)
    q = F.normalize(torch.atleast_2d(queries).double(), dim=-1)
    g = F.normalize(gallery.double(), dim=-1)
    s2, i2, r2, ri2 = (torch.atleast_2d(t) for t in (scores, idx, ref_scores, ref_idx))
    actual = torch.gather(q @ g.T, 1, i2)  # the true cosine of every returned index
    torch.testing.assert_close(actual, r2.double(), atol=atol, rtol=0)
    for row in range(s2.shape[0]):
        assert len(set(i2[row].tolist())) == i2.shape[1], "an index is returned twice"
        for j in range(s2.shape[1]):
            gap_prev = r2[row, j - 1] - r2[row, j] if j > 0 else float("inf")
            gap_next = r2[row, j] - r2[row, j + 1] if j + 1 < s2.shape[1] else float("inf")
            if min(gap_prev, gap_next) > 10 * atol:
                assert i2[row, j] == ri2[row, j], f"query {row}, rank {j}"


# --------------------------------------------------------------------------- l2_normalize


def test_l2_normalize_matches_functional_normalize_and_keeps_zeros() -> None:
    x, _ = _data(6, 1, 9, seed=0)
    x[2] = 0.0
    y = sol.l2_normalize(x)
    torch.testing.assert_close(y, ref.l2_normalize(x))
    assert not torch.isnan(y).any()
    assert torch.equal(y[2], torch.zeros(9))
    torch.testing.assert_close(y.norm(dim=1)[[0, 1, 3, 4, 5]], torch.ones(5))
    x64 = x.double().reshape(2, 3, 9)
    torch.testing.assert_close(sol.l2_normalize(x64, dim=1), ref.l2_normalize(x64, dim=1))
    assert sol.l2_normalize(x64, dim=1).dtype == torch.float64


def test_l2_normalize_bad_input() -> None:
    with pytest.raises(ValueError, match="浮点"):
        sol.l2_normalize(torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="eps"):
        sol.l2_normalize(torch.ones(3, 4), eps=0.0)


# --------------------------------------------------------------------------- cosine_topk


@pytest.mark.parametrize("q,n,d,k", [(5, 40, 16, 1), (7, 100, 32, 10), (3, 33, 8, 33)])
def test_cosine_topk_matches_reference(q: int, n: int, d: int, k: int) -> None:
    queries, gallery = _data(q, n, d, seed=q + n)
    scores, idx = sol.cosine_topk(queries, gallery, k)
    ref_scores, ref_idx = ref.cosine_topk(queries, gallery, k)
    assert_same_topk(scores, idx, ref_scores, ref_idx, queries, gallery)
    assert scores.shape == (q, k) and scores.dtype == torch.float32
    assert torch.all(scores[:, :-1] >= scores[:, 1:]), "scores must be in descending order"


def test_cosine_topk_ties_and_duplicates() -> None:
    queries, gallery = _data(4, 30, 8, seed=3)
    gallery[10] = gallery[3] * 2.0  # same direction: tied with row 3
    gallery[20] = gallery[3] * 0.5
    queries[0] = gallery[3]  # rows 3, 10, 20 all score 1.0 for query 0
    gallery[25] = 0.0  # a zero row scores 0, never NaN
    for chunk in (65536, 4, 7):
        scores, idx = sol.cosine_topk(queries, gallery, 5, chunk_size=chunk)
        ref_scores, ref_idx = ref.cosine_topk(queries, gallery, 5)
        assert not torch.isnan(scores).any()
        assert_same_topk(scores, idx, ref_scores, ref_idx, queries, gallery)
        assert set(idx[0, :3].tolist()) == {3, 10, 20}


@pytest.mark.parametrize("chunk_size", [1, 7, 13, 64])
def test_chunking_gives_the_same_result(chunk_size: int) -> None:
    queries, gallery = _data(6, 101, 24, seed=11)  # 101 is no multiple of any chunk size above
    whole = sol.cosine_topk(queries, gallery, 9, chunk_size=65536)
    chunked = sol.cosine_topk(queries, gallery, 9, chunk_size=chunk_size)
    assert_same_topk(*chunked, *whole, queries, gallery)
    assert_same_topk(*chunked, *ref.cosine_topk(queries, gallery, 9), queries, gallery)


def test_chunking_with_k_larger_than_a_chunk() -> None:
    queries, gallery = _data(3, 50, 8, seed=12)
    assert_same_topk(*sol.cosine_topk(queries, gallery, 20, chunk_size=6), *ref.cosine_topk(queries, gallery, 20),
                     queries, gallery)


def test_scale_invariance() -> None:
    queries, gallery = _data(8, 200, 32, seed=5)
    gen = torch.Generator().manual_seed(6)
    scaled = gallery * (torch.rand(200, 1, generator=gen) * 100 + 0.01)
    s1, i1 = sol.cosine_topk(queries, gallery, 10)
    s2, i2 = sol.cosine_topk(queries * 3.7, scaled, 10, chunk_size=17)
    assert torch.equal(i1, i2)
    torch.testing.assert_close(s1, s2, atol=1e-5, rtol=0)


def test_one_dimensional_query_returns_k_vectors() -> None:
    queries, gallery = _data(3, 40, 16, seed=7)
    scores, idx = sol.cosine_topk(queries[1], gallery, 6)
    assert scores.shape == (6,) and idx.shape == (6,) and idx.dtype == torch.int64
    batch_scores, batch_idx = sol.cosine_topk(queries, gallery, 6)
    torch.testing.assert_close(scores, batch_scores[1])
    assert torch.equal(idx, batch_idx[1])


def test_dtypes_float64_and_mixed() -> None:
    queries, gallery = _data(4, 30, 8, seed=8, dtype=torch.float64)
    scores, idx = sol.cosine_topk(queries, gallery, 5)
    assert scores.dtype == torch.float64 and idx.dtype == torch.int64
    assert_same_topk(scores, idx, *ref.cosine_topk(queries, gallery, 5), queries, gallery, atol=1e-12)
    scores, idx = sol.cosine_topk(queries.float(), gallery, 5, chunk_size=7)
    assert scores.dtype == torch.float64
    assert_same_topk(scores, idx, *ref.cosine_topk(queries.float(), gallery, 5), queries, gallery)


@pytest.mark.parametrize(
    "queries,gallery,k,chunk,match",
    [
        (torch.ones(2, 4), torch.ones(5, 4), 0, 10, "k"),
        (torch.ones(2, 4), torch.ones(5, 4), 6, 10, "k"),
        (torch.ones(2, 4), torch.ones(5, 4), 2.0, 10, "k"),
        (torch.ones(2, 4), torch.ones(5, 3), 2, 10, "维度"),
        (torch.ones(2, 2, 4), torch.ones(5, 4), 2, 10, "queries"),
        (torch.ones(2, 4), torch.ones(5), 2, 10, "gallery"),
        (torch.ones(2, 4, dtype=torch.int64), torch.ones(5, 4), 2, 10, "浮点"),
        (torch.ones(2, 4), torch.ones(5, 4, dtype=torch.int32), 2, 10, "浮点"),
        ([[1.0, 0.0]], torch.ones(5, 2), 2, 10, "torch.Tensor"),
        (torch.ones(2, 4), torch.ones(5, 4), 2, 0, "chunk_size"),
    ],
)
def test_cosine_topk_errors(queries, gallery, k, chunk, match) -> None:
    with pytest.raises(ValueError, match=match):
        sol.cosine_topk(queries, gallery, k, chunk_size=chunk)


# --------------------------------------------------------------------------- precision@k


def test_precision_at_k_matches_reference() -> None:
    gen = torch.Generator().manual_seed(9)
    retrieved = torch.randint(0, 4, (50, 8), generator=gen)
    wanted = torch.randint(0, 4, (50,), generator=gen)
    for k in (1, 5, 8):
        assert sol.precision_at_k(retrieved, wanted, k) == pytest.approx(ref.precision_at_k(retrieved, wanted, k))
    names = [[f"c{v}" for v in row] for row in retrieved.tolist()]
    q_names = [f"c{v}" for v in wanted.tolist()]
    assert sol.precision_at_k(names, q_names, 5) == pytest.approx(ref.precision_at_k(retrieved, wanted, 5))


def test_precision_at_k_known_values() -> None:
    assert sol.precision_at_k([["a", "a", "b"], ["b", "a", "a"]], ["a", "b"], 2) == pytest.approx(0.75)
    assert sol.precision_at_k([["a", "a", "b"], ["b", "a", "a"]], ["a", "b"], 3) == pytest.approx(0.5)
    assert sol.precision_at_k(torch.tensor([[1, 1], [2, 2]]), torch.tensor([1, 2]), 2) == 1.0
    assert sol.precision_at_k(torch.tensor([[1, 1], [2, 2]]), torch.tensor([3, 3]), 1) == 0.0


def test_precision_at_k_errors() -> None:
    with pytest.raises(ValueError, match="k"):
        sol.precision_at_k([["a"]], ["a"], 0)
    with pytest.raises(ValueError, match="少于"):
        sol.precision_at_k([["a", "b"]], ["a"], 3)
    with pytest.raises(ValueError, match="行"):
        sol.precision_at_k([["a"], ["b"]], ["a"], 1)


def test_leave_one_out_topk_excludes_the_query() -> None:
    _, gallery = _data(1, 60, 16, seed=10)
    idx = sol.leave_one_out_topk(gallery, 5)
    ref_scores, ref_idx = ref.leave_one_out_topk(gallery, 5)
    assert not (idx == torch.arange(60).unsqueeze(1)).any()
    scores = torch.gather(F.normalize(gallery, dim=1) @ F.normalize(gallery, dim=1).T, 1, idx)
    assert_same_topk(scores, idx, ref_scores, ref_idx, gallery, gallery)


# --------------------------------------------------------------------------- the index


def test_index_search_save_load_round_trip(tmp_path) -> None:
    queries, gallery = _data(3, 20, 12, seed=13)
    names = [f"图片-{i}" for i in range(20)]
    index = sol.RetrievalIndex(gallery * 5.0, names)
    assert len(index) == 20
    torch.testing.assert_close(index.embeddings, ref.l2_normalize(gallery))
    hits = index.search(queries, 4)
    ref_scores, ref_idx = ref.cosine_topk(queries, gallery, 4)
    assert [[n for n, _ in row] for row in hits] == [[names[i] for i in row] for row in ref_idx.tolist()]
    for row, ref_row in zip(hits, ref_scores.tolist()):
        assert [s for _, s in row] == pytest.approx(ref_row, abs=1e-5)
        assert all(isinstance(s, float) for _, s in row)
    single = index.search(queries[0], 4)
    assert len(single) == 1 and [n for n, _ in single[0]] == [n for n, _ in hits[0]]
    assert [s for _, s in single[0]] == pytest.approx([s for _, s in hits[0]], abs=1e-6)

    path = index.save(tmp_path / "sub" / "index.safetensors")
    assert set(load_file(str(path))) == {"embeddings"}  # a plain safetensors file, no pickle
    assert json.loads((tmp_path / "sub" / "index.safetensors.json").read_text(encoding="utf-8"))["names"] == names
    loaded = sol.RetrievalIndex.load(path)
    assert loaded.names == names and torch.equal(loaded.embeddings, index.embeddings)
    assert loaded.search(queries, 4) == hits


def test_index_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="names"):
        sol.RetrievalIndex(torch.ones(3, 4), ["a", "b"])
    with pytest.raises(ValueError, match="浮点"):
        sol.RetrievalIndex(torch.ones(3, 4, dtype=torch.int64), ["a", "b", "c"])
    with pytest.raises(FileNotFoundError):
        sol.RetrievalIndex.load(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="k"):
        sol.RetrievalIndex(torch.ones(3, 4), ["a", "b", "c"]).search(torch.ones(1, 4), 4)


# --------------------------------------------------------------------------- encoders on the real gallery


class _TinyEncoder(nn.Module):
    """A real (small) conv encoder with BatchNorm, so that forgetting eval() changes the output."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


@pytest.fixture(scope="module")
def gallery():
    return load_gallery(seed=0)


def test_gallery_is_deterministic_and_labelled(gallery) -> None:
    images, names, labels = gallery
    assert len(images) == len(names) == len(labels) == ref.GALLERY_SIZE
    assert len(set(names)) == len(names)
    counts = {label: labels.count(label) for label in set(labels)}
    assert min(counts.values()) >= ref.PRECISION_K + 1, "every query needs K positives besides itself"
    again, _, _ = load_gallery(seed=0)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(images[:60], again[:60]))


def test_encode_images_batches_and_eval_mode(gallery) -> None:
    images = gallery[0][:20]
    _, preprocess, _ = sol.load_encoder(prefer_clip=False)
    model = _TinyEncoder().train()
    a = sol.encode_images(model, preprocess, images, batch_size=32)
    b = sol.encode_images(model, preprocess, images, batch_size=3)
    assert a.shape == (20, 8) and a.dtype == torch.float32
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(20))
    with torch.no_grad():
        expected = F.normalize(model.eval().encode_image(torch.stack([preprocess(im) for im in images])), dim=1)
    torch.testing.assert_close(a, expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="batch_size"):
        sol.encode_images(model, preprocess, images, batch_size=0)
    with pytest.raises(ValueError, match="encode_image"):
        sol.encode_images(nn.Linear(2, 2), preprocess, images)


@pytest.fixture(scope="module")
def pretrained_embeddings(gallery):
    model, preprocess, name = sol.load_encoder(prefer_clip=False, image_size=ref.GALLERY_IMAGE_SIZE)
    assert "mobilenet_v2" in name
    return model, preprocess, sol.encode_images(model, preprocess, gallery[0])


def test_solution_encoder_matches_reference_features(gallery, pretrained_embeddings) -> None:
    model, preprocess, embeddings = pretrained_embeddings
    from torchvision.models import mobilenet_v2

    classifier = mobilenet_v2()
    classifier.features = model.features  # the same pretrained weights, seen through the reference extractor
    expected = ref.encode_images(ref.mobilenet_v2_embedder(classifier), preprocess, gallery[0][:24])
    torch.testing.assert_close(embeddings[:24], expected, atol=1e-5, rtol=0)


def test_pretrained_precision_at_5_above_threshold(gallery, pretrained_embeddings) -> None:
    _, _, labels = gallery
    embeddings = pretrained_embeddings[2]
    overall, per_label = ref.gallery_precision_at_k(embeddings, labels, ref.PRECISION_K)
    idx = sol.leave_one_out_topk(embeddings, ref.PRECISION_K)
    retrieved = [[labels[j] for j in row] for row in idx.tolist()]
    assert sol.precision_at_k(retrieved, labels, ref.PRECISION_K) == pytest.approx(overall)
    assert overall >= ref.GALLERY_PRETRAINED_MIN_PRECISION_AT_5, per_label
    assert overall == pytest.approx(ref.GALLERY_PRETRAINED_PRECISION_AT_5, abs=0.01)


# --------------------------------------------------------------------------- student stubs


def test_stubs_raise_not_implemented() -> None:
    queries, gallery = _data(2, 10, 4, seed=14)
    calls = [
        lambda: stub.l2_normalize(queries),
        lambda: stub.cosine_topk(queries, gallery, 3),
        lambda: stub.encode_images(_TinyEncoder(), lambda im: torch.zeros(3, 8, 8), [None]),
        lambda: stub.RetrievalIndex.search(object.__new__(stub.RetrievalIndex), queries, 3),
        lambda: stub.precision_at_k([["a"]], ["a"], 1),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()

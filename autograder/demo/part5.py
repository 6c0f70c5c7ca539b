"""Part 5 demo: image-to-image retrieval over the bundled real gallery, with the solution.

    python -m autograder.demo.part5 --out demo-out/part5            # the demo (`run`)
    python -m autograder.demo.part5 --measure --out demo-out/part5  # pretrained vs random table
    python -m autograder.demo.part5 --scale                         # cosine_topk at N = 1e6

`run` uses CLIP when its weights are available and MobileNetV2 (ImageNet) otherwise, embeds the
gallery, saves the index, queries a few images, draws the Top-K grids and reports precision@5.
`measure` produces the figures of docs/measurements/part5.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

from autograder.atomic import write_text
from cnn_rnn import part5_retrieval as P
from cnn_rnn.gallery import load_gallery
from cnn_rnn.weights import DEFAULT_BACKBONE, load_torchvision

K = 5
SEED = 0
DEMO_QUERIES = ("chelsea-view0", "astronaut-view1", "face-", "nonface-", "digit3-")


def gallery_precision(embeddings: torch.Tensor, labels: list[str], k: int = K) -> tuple[float, dict[str, float]]:
    """Leave-one-out precision@k, overall and per label, with the solution's functions."""
    idx = P.leave_one_out_topk(embeddings, k)
    retrieved = [[labels[j] for j in row] for row in idx.tolist()]
    overall = P.precision_at_k(retrieved, labels, k)
    per_label = {}
    for label in sorted(set(labels)):
        rows = [i for i, q in enumerate(labels) if q == label]
        per_label[label] = P.precision_at_k([retrieved[i] for i in rows], [label] * len(rows), k)
    return overall, per_label


def _group(per_label: dict[str, float], labels: list[str]) -> dict[str, float]:
    """Per-label precision averaged over queries of the same family (photo-*, digit-*, face, nonface)."""
    sums: dict[str, list[float]] = {}
    for label in labels:
        family = label.split("-")[0]
        sums.setdefault(family, []).append(per_label[label])
    return {family: round(sum(v) / len(v), 3) for family, v in sums.items()}


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, names, labels = load_gallery(seed=SEED)
    model, preprocess, encoder = P.load_encoder(prefer_clip=True)
    started = time.monotonic()
    embeddings = P.encode_images(model, preprocess, images)
    embed_s = time.monotonic() - started

    index = P.RetrievalIndex(embeddings, names)
    index_path = index.save(out_dir / "gallery_index.safetensors")
    index = P.RetrievalIndex.load(index_path)

    figures = []
    for prefix in DEMO_QUERIES:
        q = next(i for i, n in enumerate(names) if n.startswith(prefix))
        hits = [h for h in index.search(embeddings[q], K + 1)[0] if h[0] != names[q]][:K]
        pos = {n: i for i, n in enumerate(names)}
        path = P.plot_results(
            images[q], [images[pos[n]] for n, _ in hits], [s for _, s in hits],
            out_dir / f"query_{names[q]}.png", titles=[n for n, _ in hits],
        )
        figures.append(path.name)

    overall, per_label = gallery_precision(embeddings, labels)
    result = {
        "encoder": encoder,
        "gallery_images": len(images),
        "labels": len(set(labels)),
        "embedding_dim": int(embeddings.shape[1]),
        "embed_seconds": round(embed_s, 2),
        f"precision_at_{K}": round(overall, 3),
        f"precision_at_{K}_by_family": _group(per_label, labels),
        "index": index_path.name,
        "query_plots": figures,  # (not "figures": that key holds cross-part figures, see demo/command.py)
    }
    write_text(out_dir / "retrieval.json", json.dumps({**result, "per_label": per_label}, ensure_ascii=False, indent=1))
    lines = [f"# Part 5 retrieval ({encoder})", "", f"precision@{K} = {overall:.3f} over {len(images)} queries", "",
             "| label | precision@5 |", "|---|---|"]
    lines += [f"| {label} | {p:.3f} |" for label, p in per_label.items()]
    write_text(out_dir / "retrieval.md", "\n".join(lines) + "\n")
    return result


def measure(out_dir: Path | None = None, image_size: int = 128) -> dict:
    """Pretrained vs randomly initialised MobileNetV2 on the gallery (the table of the docs)."""
    images, _, labels = load_gallery(seed=SEED)
    model, preprocess, _ = P.load_encoder(prefer_clip=False, image_size=image_size)
    torch.manual_seed(SEED)
    random_model = P.TorchvisionEncoder(load_torchvision(DEFAULT_BACKBONE[0], None)).eval()
    table = {}
    for name, encoder in (("pretrained", model), ("random", random_model)):
        started, cpu_started = time.monotonic(), time.process_time()
        embeddings = P.encode_images(encoder, preprocess, images)
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
        overall, per_label = gallery_precision(embeddings, labels)
        table[name] = {"precision_at_5": round(overall, 3), "by_family": _group(per_label, labels),
                       "per_label": {k: round(v, 3) for k, v in per_label.items()},
                       "embed_seconds": round(seconds, 2), "embed_cpu_seconds": round(cpu_seconds, 2)}
    if out_dir is not None:
        write_text(Path(out_dir) / "measure.json", json.dumps(table, ensure_ascii=False, indent=1))
    return table


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def scale(n: int = 1_000_000, d: int = 512, q: int = 100, k: int = 10, chunk_size: int = 65536) -> dict:
    """Time and peak extra resident memory of cosine_topk on a float32 [n, d] gallery (Linux)."""
    gen = torch.Generator().manual_seed(SEED)
    gallery = torch.randn(n, d, generator=gen)
    queries = torch.randn(q, d, generator=gen)
    P.cosine_topk(queries, gallery[:1000], k)  # warm up kernels and allocator outside the measurement
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (peak RSS) to the current RSS
    base = _rss_mib("VmRSS")
    started = time.monotonic()
    scores, indices = P.cosine_topk(queries, gallery, k, chunk_size=chunk_size)
    seconds = time.monotonic() - started
    peak = _rss_mib("VmHWM")
    return {"n": n, "d": d, "q": q, "k": k, "chunk_size": chunk_size, "seconds": round(seconds, 2),
            "gallery_mib": round(gallery.numel() * 4 / 2**20), "peak_extra_mib": round(peak - base),
            "threads": torch.get_num_threads(), "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.demo.part5", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out/part5"))
    parser.add_argument("--measure", action="store_true", help="pretrained vs random MobileNetV2 precision@5")
    parser.add_argument("--scale", action="store_true", help="time and memory of cosine_topk at N = 1e6")
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args(argv)
    if args.scale:
        print(json.dumps(scale(chunk_size=args.chunk_size), indent=1))
    elif args.measure:
        print(json.dumps(measure(args.out), ensure_ascii=False, indent=1))
    else:
        print(json.dumps(run(args.out), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

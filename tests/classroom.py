"""A small class of part 5 submissions for the similarity, late-policy and export tests.

- ana: the solution as written by the instructor;
- ben: a planted copy of ana (identifiers renamed, functions reordered, comments added);
- cai, dan: independent correct answers, written differently;
- stub: the stubs as released (nothing answered).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILE = "part5_retrieval.py"
STUB = (REPO / "assignments" / "cnn_rnn" / FILE).read_text(encoding="utf-8")
SOLUTION = (REPO / "solutions" / "cnn_rnn" / FILE).read_text(encoding="utf-8")
FUNCS = ("l2_normalize", "cosine_topk", "encode_images", "RetrievalIndex.search", "precision_at_k")


def solution_text() -> str:
    """The solution without nbgrader's markers and HINT comments: what a good student hands in."""
    markers = ("### BEGIN SOLUTION", "### END SOLUTION", "# HINT:")
    keep = [ln for ln in SOLUTION.splitlines(keepends=True) if not ln.strip().startswith(markers)]
    return "".join(keep)


def answered(bodies: dict[str, str]) -> str:
    """The stub with each `raise NotImplementedError("<func> 尚未实现 ...")` replaced by a body."""
    text = STUB
    for func, body in bodies.items():
        line = re.search(rf"^( *)raise NotImplementedError\(\"{re.escape(func)} 尚未实现 \(not implemented\)\"\)\n", text, re.M)
        assert line, func
        indent = line.group(1)
        text = text[: line.start()] + "".join(indent + ln + "\n" if ln else "\n" for ln in body.strip("\n").splitlines()) + text[line.end():]
    return text


def planted_copy(source: str) -> str:
    """ana's file disguised: identifiers renamed, precision_at_k moved to the top, comments added."""
    for old, new in [("best_scores", "acc_vals"), ("best_idx", "acc_ids"), ("cand_scores", "merged_v"), ("cand_idx", "merged_i"),
                     ("hits", "per_query"), ("parts", "pieces"), ("norm =", "length ="), ("/ norm", "/ length"), ("keep =", "sel ="),
                     ("keep.", "sel."), ("top =", "blk ="), ("top.", "blk."), ("chunk =", "slab ="), ("(q @ chunk.T) / chunk.", "(q @ slab.T) / slab.")]:
        source = source.replace(old, new)
    loop = "    for start in range(0, n, chunk_size):\n"
    source = source.replace(loop, "    # walk over the gallery block by block (my own idea)\n" + loop)
    source = source.replace("    model.eval()\n", "    model.eval()  # turn off dropout / batchnorm updates\n    # collect every batch here\n")
    start = source.index("def precision_at_k(")
    end = source.index("def leave_one_out_topk(")
    moved, source = source[start:end], source[:start] + source[end:]
    anchor = source.index("def l2_normalize(")
    return source[:anchor] + "# moved up: evaluation first\n" + moved + source[anchor:]


CAI = {
    "l2_normalize": """
length = torch.sqrt((x * x).sum(dim=dim, keepdim=True))
return x / torch.clamp(length, min=eps)
""",
    "cosine_topk": """
qn = queries.to(dtype)
qn = qn / qn.norm(dim=1, keepdim=True).clamp_min(1e-12)
kept_v: list[Tensor] = []
kept_i: list[Tensor] = []
for lo in range(0, n, chunk_size):
    g = gallery[lo : lo + chunk_size].to(dtype)
    g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    s = qn @ g.T
    v, i = torch.topk(s, min(k, s.shape[1]), dim=1)
    all_v = torch.cat(kept_v + [v], 1)
    all_i = torch.cat(kept_i + [i + lo], 1)
    v2, order = torch.topk(all_v, min(k, all_v.shape[1]), dim=1)
    kept_v, kept_i = [v2], [torch.gather(all_i, 1, order)]
scores, indices = kept_v[0], kept_i[0]
""",
    "encode_images": """
model.eval()
feats = []
pos = 0
with torch.no_grad():
    while pos < len(images):
        batch = images[pos : pos + batch_size]
        feats.append(model.encode_image(torch.stack(list(map(preprocess, batch)))).float())
        pos += batch_size
return l2_normalize(torch.cat(feats, dim=0))
""",
    "RetrievalIndex.search": """
q = queries if queries.dim() == 2 else queries[None]
vals, ids = cosine_topk(q, self.embeddings, k)
result = []
for r in range(vals.shape[0]):
    result.append([(self.names[int(j)], float(v)) for v, j in zip(vals[r], ids[r])])
return result
""",
    "precision_at_k": """
total = 0.0
for row, q in zip(retrieved, wanted):
    total += len([x for x in row[:k] if x == q]) / k
return float(total / len(wanted))
""",
}

DAN = {
    "l2_normalize": """
return torch.nn.functional.normalize(x, p=2.0, dim=dim, eps=eps)
""",
    "cosine_topk": """
qh = torch.nn.functional.normalize(queries.to(dtype), dim=1)
sc = torch.full((qh.shape[0], k), float("-inf"), dtype=dtype)
ix = torch.zeros((qh.shape[0], k), dtype=torch.int64)
begin = 0
while begin < n:
    stop = min(n, begin + chunk_size)
    block = torch.nn.functional.normalize(gallery[begin:stop].to(dtype), dim=1)
    both_s = torch.hstack((sc, torch.mm(qh, block.t())))
    both_i = torch.hstack((ix, torch.arange(begin, stop).expand(qh.shape[0], -1)))
    sc, pos = both_s.topk(k, dim=1)
    ix = both_i.gather(1, pos)
    begin = stop
scores, indices = sc, ix
""",
    "encode_images": """
model.eval()
with torch.no_grad():
    groups = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
    embs = [model.encode_image(torch.stack([preprocess(img) for img in grp])).to(torch.float32) for grp in groups]
return torch.nn.functional.normalize(torch.cat(embs), dim=-1)
""",
    "RetrievalIndex.search": """
if queries.ndim == 1:
    queries = queries.reshape(1, -1)
top_s, top_i = cosine_topk(queries, self.embeddings, k)
return [[(self.names[j], s) for s, j in zip(vals.tolist(), ids.tolist())] for vals, ids in zip(top_s, top_i)]
""",
    "precision_at_k": """
counts = [sum(1 for lab in r[:k] if lab == t) for r, t in zip(retrieved, wanted)]
return float(sum(counts)) / (k * len(counts))
""",
}


def class_files() -> dict[str, str]:
    """student -> text of their part5_retrieval.py."""
    ana = solution_text()
    return {"ana": ana, "ben": planted_copy(ana), "cai": answered(CAI), "dan": answered(DAN), "stub": STUB}


def write_class(root: Path, students: dict[str, str] | None = None) -> Path:
    """One folder per student holding cnn_rnn/part5_retrieval.py."""
    for student, text in (students or class_files()).items():
        (root / student / "cnn_rnn").mkdir(parents=True, exist_ok=True)
        (root / student / "cnn_rnn" / FILE).write_text(text, encoding="utf-8")
    return root

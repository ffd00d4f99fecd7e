"""Metrics of the paper and the issue, in plain numpy, each checked against hand-computed cases in tests.

- SER: UA (unweighted accuracy = balanced accuracy = mean per-class recall, the paper's metric), WA (plain
  accuracy), macro and weighted F1, the confusion matrix (JSON + PNG).
- ASR: WER (corpus level: total word edits / total reference words, after lower-casing and dropping
  punctuation).
- SED: descriptor accuracy per attribute (pitch, volume, speed, ...) against reference or measured words.
- Captions: BLEU-4 (corpus level, Papineni et al. 2002, uniform weights, brevity penalty) and ROUGE-L (mean
  sentence-level LCS F-measure with beta = 1.2 as in the coco-caption toolkit that SECap/AlignCap use).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from emoexplain.text import normalize_words  # the one word normaliser (app, pipeline, alignment)


# --- classification ------------------------------------------------------------------------------------
def confusion_matrix(refs, hyps, labels) -> np.ndarray:
    """(n_labels, n_labels) counts; row = reference, column = hypothesis. Unknown hypotheses count nowhere."""
    index = {label: i for i, label in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for r, h in zip(refs, hyps, strict=True):
        if r in index and h in index:  # a hypothesis outside the label set is wrong but has no column
            cm[index[r], index[h]] += 1
    return cm


def classification_metrics(refs, hyps, labels) -> dict:
    """UA, WA, macro-F1, weighted-F1 and per-class recall/precision/F1 over ``labels``."""
    refs, hyps = list(refs), list(hyps)
    labels = list(labels)
    if not refs:
        raise ValueError("no examples to score")
    cm = confusion_matrix(refs, hyps, labels)
    support = np.array([sum(r == label for r in refs) for label in labels])
    predicted = cm.sum(axis=0)
    tp = np.diag(cm)
    recall = np.divide(tp, support, out=np.zeros(len(labels)), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(len(labels)), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(len(labels)), where=denom > 0)
    present = support > 0
    return {
        "ua": float(recall[present].mean()),
        "wa": float(sum(r == h for r, h in zip(refs, hyps)) / len(refs)),
        "macro_f1": float(f1[present].mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "n": len(refs),
        "labels": labels,
        "per_class": {label: {"recall": float(recall[i]), "precision": float(precision[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "confusion": cm.tolist(),
    }


def save_confusion(cm, labels, folder: str | Path, stem: str = "confusion") -> tuple[Path, Path | None]:
    """Write ``<stem>.json`` and, when matplotlib is importable, ``<stem>.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cm = np.asarray(cm)
    json_path = folder / f"{stem}.json"
    json_path.write_text(json.dumps({"labels": list(labels), "rows_are": "reference", "matrix": cm.tolist()},
                                    indent=2))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return json_path, None
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(labels), 1.0 + 0.8 * len(labels)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    top = cm.max() if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    png_path = folder / f"{stem}.png"
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return json_path, png_path


# --- ASR ----------------------------------------------------------------------------------------------
def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance between two token lists (substitutions, insertions, deletions cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(refs, hyps) -> float:
    """Corpus WER: sum of word edit distances / sum of reference lengths."""
    edits = words = 0
    for r, h in zip(refs, hyps, strict=True):
        rw, hw = normalize_words(r), normalize_words(h)
        edits += edit_distance(rw, hw)
        words += len(rw)
    if words == 0:
        raise ValueError("references hold no words")
    return edits / words


# --- descriptors -------------------------------------------------------------------------------------
def descriptor_accuracy(refs: list[dict], hyps: list[dict]) -> dict:
    """Per attribute: fraction of examples whose hypothesis word equals the reference word.

    Only examples whose reference has the attribute count; a missing hypothesis is wrong. Returns
    ``{name: {"accuracy", "n"}}`` plus ``"mean"`` (mean over attributes).
    """
    hits: Counter = Counter()
    totals: Counter = Counter()
    for ref, hyp in zip(refs, hyps, strict=True):
        for name, word in (ref or {}).items():
            if word in (None, ""):
                continue
            totals[name] += 1
            hits[name] += str((hyp or {}).get(name, "")).strip().lower() == str(word).strip().lower()
    out = {name: {"accuracy": hits[name] / totals[name], "n": totals[name]} for name in sorted(totals)}
    if out:
        out["mean"] = float(np.mean([v["accuracy"] for v in out.values()]))
    return out


# --- captions ------------------------------------------------------------------------------------------
def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu(refs, hyps, max_n: int = 4, smooth: bool = False) -> float:
    """Corpus BLEU-``max_n``. ``refs``: one reference string per hypothesis, or a list of references.

    Clipped n-gram precisions pooled over the corpus, geometric mean with uniform weights, brevity penalty
    exp(1 - r/c) when the hypotheses are shorter than the closest reference lengths. ``smooth`` adds one to
    numerator and denominator of n > 1 (Lin and Och 2004) so that short test sets do not give 0.
    """
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        ref_list = [ref] if isinstance(ref, str) else list(ref)
        ref_words = [normalize_words(r) for r in ref_list]
        hyp_words = normalize_words(hyp)
        hyp_len += len(hyp_words)
        ref_len += min((abs(len(r) - len(hyp_words)), len(r)) for r in ref_words)[1]
        for n in range(1, max_n + 1):
            hyp_counts = _ngrams(hyp_words, n)
            max_ref: Counter = Counter()
            for r in ref_words:
                max_ref |= _ngrams(r, n)
            matches[n - 1] += sum(min(c, max_ref[g]) for g, c in hyp_counts.items())
            totals[n - 1] += max(0, len(hyp_words) - n + 1)
    if hyp_len == 0:
        return 0.0
    log_p = 0.0
    for n in range(max_n):
        m, t = matches[n], totals[n]
        if smooth and n > 0:
            m, t = m + 1, t + 1
        if m == 0 or t == 0:
            return 0.0
        log_p += math.log(m / t) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(log_p)


def _lcs(a: list, b: list) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(refs, hyps, beta: float = 1.2) -> float:
    """Mean over sentences of the LCS F-measure (1 + b^2) P R / (R + b^2 P); best over multiple references."""
    scores = []
    for ref, hyp in zip(refs, hyps, strict=True):
        hyp_words = normalize_words(hyp)
        best = 0.0
        for r in ([ref] if isinstance(ref, str) else list(ref)):
            ref_words = normalize_words(r)
            lcs = _lcs(ref_words, hyp_words)
            if lcs == 0:
                continue
            p, rec = lcs / len(hyp_words), lcs / len(ref_words)
            best = max(best, (1 + beta ** 2) * p * rec / (rec + beta ** 2 * p))
        scores.append(best)
    if not scores:
        raise ValueError("no captions to score")
    return float(np.mean(scores))

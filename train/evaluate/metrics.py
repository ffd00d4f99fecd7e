"""Metrics of the paper and the issue; scikit-learn and jiwer compute them, tests check hand-computed cases.

- SER: UA (unweighted accuracy = balanced accuracy = mean recall over the classes present in the references,
  the paper's metric; EmoBox uses sklearn's balanced_accuracy_score too), WA (plain accuracy), macro-F1 over
  the model's label set, weighted F1, per-class scores and the confusion matrix (JSON + PNG).
- ASR: WER (corpus level: total word edits / total reference words, after lower-casing and dropping
  punctuation), via jiwer.
- SED: descriptor accuracy per attribute (pitch, volume, speed, ...) against reference or measured words.
- Captions: the COCO caption metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE) live in captions.py.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from emoexplain.text import normalize_words  # the one word normaliser (app, pipeline, alignment)


# --- classification ------------------------------------------------------------------------------------
def confusion_matrix(refs, hyps, labels) -> np.ndarray:
    """(n_labels, n_labels) counts; row = reference, column = hypothesis. Pairs outside ``labels`` count nowhere."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(list(refs), list(hyps), labels=list(labels))


def classification_metrics(refs, hyps, labels) -> dict:
    """UA, WA, macro-F1, weighted-F1 and per-class recall/precision/F1 over the model's ``labels``.

    Macro-F1 averages over every label of the set that occurs as a reference or as a prediction: a label the
    model predicts but the corpus lacks (a 7-label model on IEMOCAP-4) counts with F1 = 0; a label that is
    neither has F1 = 0/0 and is left out (scikit-learn's ``zero_division=nan``). ``macro_f1_labels`` names them.
    """
    from sklearn import metrics as sk

    refs, hyps, labels = list(refs), list(hyps), list(labels)
    if not refs:
        raise ValueError("no examples to score")
    outside = sorted({r for r in refs if r not in labels})
    if outside:
        raise ValueError(f"references {outside} are not in the label set {labels}")
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": such classes have no recall
        warnings.simplefilter("ignore", UserWarning)
        ua = sk.balanced_accuracy_score(refs, hyps)
    precision, recall, f1, support = sk.precision_recall_fscore_support(refs, hyps, labels=labels,
                                                                        zero_division=0.0)
    seen = [label for label in labels if label in set(refs) | set(hyps)]
    return {
        "ua": float(ua),
        "wa": float(sk.accuracy_score(refs, hyps)),
        "macro_f1": float(sk.f1_score(refs, hyps, labels=labels, average="macro", zero_division=np.nan)),
        "macro_f1_labels": seen,
        "weighted_f1": float(sk.f1_score(refs, hyps, labels=labels, average="weighted", zero_division=0.0)),
        "n": len(refs),
        "labels": labels,
        "per_class": {label: {"recall": float(recall[i]), "precision": float(precision[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "confusion": confusion_matrix(refs, hyps, labels).tolist(),
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


def wer(refs, hyps) -> float:
    """Corpus WER (jiwer): sum of word edits / sum of reference words, after ``normalize_words``."""
    import jiwer

    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    ref_text = [" ".join(normalize_words(r)) for r in refs]
    if not any(ref_text):
        raise ValueError("references hold no words")
    return float(jiwer.wer(ref_text, [" ".join(normalize_words(h)) for h in hyps]))


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

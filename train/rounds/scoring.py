"""Agreement with people before and after a round, on clips the judged model never trained on.

Predictions are label scores (``Explainer.score_labels``, the argmax label), which always run the full eval
path whatever stage training ran last. Agreement = accuracy against the people's label; UA = mean recall over the
classes the people used; the difference after - before comes with McNemar's test on the paired per-clip
correctness and a paired bootstrap 95 % interval (scipy.stats.bootstrap, percentile).
"""

from __future__ import annotations

import numpy as np

from train.data.manifest import load_samples
from train.evaluate.metrics import classification_metrics
from train.evaluate.stats import mcnemar


def predict_labels(explainer, rows: list[dict], *, batch_size: int = 8, max_seconds: float = 15.0) -> list[str]:
    """The model's label for each row (argmax of the label scores, eval stage)."""
    labels, out = list(explainer.labels), []
    for start in range(0, len(rows), batch_size):  # score_labels always runs the full eval path (explainer.py)
        samples = [load_samples(r, max_seconds) for r in rows[start:start + batch_size]]
        out += [labels[int(i)] for i in np.argmax(explainer.score_labels(samples), axis=1)]
    return out


def agreement(refs: list[str], hyps: list[str], labels) -> dict:
    """accuracy, UA over the classes present in ``refs``, per-class recall (present classes), n."""
    m = classification_metrics(refs, hyps, labels)
    recall = {k: v["recall"] for k, v in m["per_class"].items() if v["support"]}
    support = {k: v["support"] for k, v in m["per_class"].items() if v["support"]}
    return {"accuracy": m["wa"], "ua": m["ua"], "per_class_recall": recall, "support": support, "n": m["n"],
            "confusion": m["confusion"], "labels": list(labels)}


def compare(refs: list[str], before: list[str], after: list[str], labels, *, n_resamples: int = 2000,
            seed: int = 0) -> dict:
    """{before, after, difference, mcnemar, bootstrap_95}: after - before on the same clips."""
    from scipy.stats import bootstrap

    a, b = agreement(refs, before, labels), agreement(refs, after, labels)
    right_before = [r == h for r, h in zip(refs, before)]
    right_after = [r == h for r, h in zip(refs, after)]
    out = {"before": a, "after": b,
           "difference": {"accuracy": b["accuracy"] - a["accuracy"], "ua": b["ua"] - a["ua"]},
           "mcnemar": mcnemar(right_after, right_before)}  # b = only the candidate right, c = only the parent
    index = {label: i for i, label in enumerate(labels)}
    codes = [np.array([index[x] for x in seq]) for seq in (refs, before, after)]
    score = {"accuracy": lambda r, h: np.mean(h == r),
             "ua": lambda r, h: np.mean([np.mean(h[r == c] == c) for c in np.unique(r)])}
    interval = {}
    for key, fn in score.items():
        if len(refs) < 2:
            interval[key] = None
            continue
        res = bootstrap(codes, lambda r, h0, h1: fn(r, h1) - fn(r, h0), paired=True, vectorized=False,
                        n_resamples=n_resamples, confidence_level=0.95, method="percentile",
                        random_state=np.random.default_rng(seed))
        interval[key] = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    out["bootstrap_95"] = interval
    return out

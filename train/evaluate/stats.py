"""Significance tests and cross-validation aggregation.

- ``paired_t_test``: the paper's "paired single-tailed t test, p = 0.05" (section 7). Pairs are usually the
  per-fold UAs of two systems (IEMOCAP, 5 folds) or per-utterance scores; H1 is "system A is better".
- ``mcnemar``: per-utterance correct/incorrect of two systems on the same test set (exact binomial for few
  discordant pairs, chi-square with continuity correction otherwise).
- ``aggregate_folds``: mean and standard deviation of each metric over the leave-one-session-out folds.
"""

from __future__ import annotations

import math

import numpy as np


def paired_t_test(a, b, *, alternative: str = "greater") -> dict:
    """Paired t-test of mean(a - b) > 0 (``"greater"``), < 0 (``"less"``) or != 0 (``"two-sided"``)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size < 2:
        raise ValueError("paired_t_test needs two equal-length samples of at least 2 values")
    d = a - b
    sd = d.std(ddof=1)
    n = d.size
    if sd == 0:  # every pair differs by the same amount: no variance to test against
        t = math.inf if d.mean() > 0 else (-math.inf if d.mean() < 0 else 0.0)
        p = {"greater": float(d.mean() <= 0), "less": float(d.mean() >= 0)}.get(alternative, float(d.mean() == 0))
        return {"t": t, "p": p, "df": n - 1, "mean_diff": float(d.mean()), "alternative": alternative}
    t = d.mean() / (sd / math.sqrt(n))
    dist = stats.t(df=n - 1)
    p = {"greater": dist.sf(t), "less": dist.cdf(t), "two-sided": 2 * dist.sf(abs(t))}[alternative]
    return {"t": float(t), "p": float(p), "df": n - 1, "mean_diff": float(d.mean()), "alternative": alternative}


def mcnemar(correct_a, correct_b, *, exact: bool | None = None) -> dict:
    """McNemar test on paired correctness. b = A right & B wrong, c = A wrong & B right; two-sided p."""
    from scipy import stats

    ca, cb = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if ca.shape != cb.shape:
        raise ValueError("mcnemar needs two equal-length correctness vectors")
    b = int(np.sum(ca & ~cb))
    c = int(np.sum(~ca & cb))
    if exact is None:
        exact = b + c < 25
    if b + c == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p": 1.0, "exact": exact}
    if exact:
        p = min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5))
        return {"b": b, "c": c, "statistic": float(min(b, c)), "p": float(p), "exact": True}
    chi2 = (abs(b - c) - 1) ** 2 / (b + c)
    return {"b": b, "c": c, "statistic": float(chi2), "p": float(stats.chi2.sf(chi2, 1)), "exact": False}


def aggregate_folds(fold_metrics: list[dict], keys=("ua", "wa", "macro_f1", "weighted_f1", "wer")) -> dict:
    """Mean / std / per-fold values of each scalar metric present in every fold (IEMOCAP 5-fold CV)."""
    out = {"folds": len(fold_metrics)}
    for key in keys:
        values = [m[key] for m in fold_metrics if m.get(key) is not None]
        if len(values) == len(fold_metrics) and values:
            arr = np.asarray(values, dtype=float)
            out[key] = {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
                        "values": [float(v) for v in arr]}
    return out

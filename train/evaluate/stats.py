"""Significance tests, paired comparison of two systems and cross-validation aggregation.

What each test compares (two systems scored on the same clips):

- ``bootstrap_ua_difference``: UA(A) - UA(B) with a paired percentile-bootstrap 95 % interval (clips resampled
  together for both systems): the paper's metric, UA, directly.
- ``paired_t_test`` over per-utterance *class-balanced* scores (``ua_scores``: correct / (K n_c) * N, whose mean
  is UA): the paper's "paired single-tailed t-test, p = 0.05" on UA. Over plain correctness it compares WA.
  Over per-fold UAs (IEMOCAP, 5 folds) it is the fold-level test.
- ``mcnemar``: the discordant pairs of per-utterance correctness; it compares error rates, i.e. WA, not UA.
- ``aggregate_folds``: mean and sample standard deviation (ddof = 1) of each metric over the folds.
"""

from __future__ import annotations

import numpy as np

ALTERNATIVES = ("greater", "less", "two-sided")


def paired_t_test(a, b, *, alternative: str = "greater") -> dict:
    """scipy.stats.ttest_rel: H1 mean(a - b) > 0 (``"greater"``, one-tailed as the paper), < 0 or != 0."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size < 2:
        raise ValueError("paired_t_test needs two equal-length samples of at least 2 values")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}")
    d = a - b
    out = {"df": int(d.size - 1), "mean_diff": float(d.mean()), "alternative": alternative}
    if np.all(d == d[0]):  # no variance: scipy returns nan; the sign of the constant difference decides
        t = np.inf * np.sign(d[0]) if d[0] else 0.0
        p = {"greater": float(d[0] <= 0), "less": float(d[0] >= 0), "two-sided": float(d[0] == 0)}[alternative]
        return {"t": float(t), "p": p, **out}
    r = stats.ttest_rel(a, b, alternative=alternative)
    return {"t": float(r.statistic), "p": float(r.pvalue), **out}


def mcnemar(correct_a, correct_b, *, exact: bool | None = None) -> dict:
    """McNemar on paired correctness: b = A right & B wrong, c = A wrong & B right; two-sided p.

    Exact binomial test (scipy.stats.binomtest) when b + c < 25, else chi-square with continuity correction.
    """
    from scipy import stats

    ca, cb = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if ca.shape != cb.shape:
        raise ValueError("mcnemar needs two equal-length correctness vectors")
    b, c = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    exact = b + c < 25 if exact is None else exact
    if b + c == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p": 1.0, "exact": exact}
    if exact:
        return {"b": b, "c": c, "statistic": float(min(b, c)), "p": float(stats.binomtest(b, b + c, 0.5).pvalue),
                "exact": True}
    chi2 = (abs(b - c) - 1) ** 2 / (b + c)  # scipy has no McNemar, and statsmodels is not worth a dependency
    return {"b": b, "c": c, "statistic": float(chi2), "p": float(stats.chi2.sf(chi2, 1)), "exact": False}


def ua_scores(refs, hyps) -> np.ndarray:
    """Per-utterance scores whose mean is UA: correct_i * N / (K * n_{class of i}), K = classes in ``refs``."""
    refs, hyps = np.asarray(refs), np.asarray(hyps)
    classes, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    return (refs == hyps) * len(refs) / (len(classes) * counts[inverse])


def _ua_along(ref, hyp, axis=-1):
    """UA of each resample (vectorised over the leading axes of integer-coded arrays).

    Hand-written because scipy's bootstrap calls it with every resample at once; balanced_accuracy_score would
    take one call per resample (2,000 calls). tests/test_metrics.py checks it against hand-computed UAs.
    """
    recalls = []
    for k in np.unique(ref):
        in_class = ref == k
        n = in_class.sum(axis)
        recalls.append(np.where(n > 0, (in_class & (hyp == k)).sum(axis) / np.maximum(n, 1), np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def bootstrap_ua_difference(refs, hyps_a, hyps_b, *, n_resamples: int = 2000, seed: int = 0) -> dict:
    """UA(A) - UA(B) with a paired percentile-bootstrap 95 % interval (scipy.stats.bootstrap, clips resampled)."""
    from scipy import stats

    codes = {label: i for i, label in enumerate(sorted({*refs, *hyps_a, *hyps_b}))}
    ref, a, b = (np.array([codes[x] for x in seq]) for seq in (refs, hyps_a, hyps_b))
    diff = (lambda r, x, y, axis=-1: _ua_along(r, x, axis) - _ua_along(r, y, axis))
    res = stats.bootstrap((ref, a, b), diff, paired=True, vectorized=True, n_resamples=n_resamples,
                          method="percentile", confidence_level=0.95, rng=np.random.default_rng(seed))
    return {"ua_diff": float(diff(ref, a, b)), "ci95": [float(res.confidence_interval.low),
                                                        float(res.confidence_interval.high)],
            "n_resamples": n_resamples, "method": "paired percentile bootstrap over clips"}


def compare_predictions(a: list[dict], b: list[dict]) -> dict:
    """Pair two ``predictions.json`` lists by clip id and test A against B (H1 for the t-tests: A is better).

    Refuses lists that do not cover the same clips, hold an id twice, or disagree on a clip's reference.
    """
    by_a, by_b = _by_id(a, "A"), _by_id(b, "B")
    if by_a.keys() != by_b.keys():
        only_a, only_b = sorted(by_a.keys() - by_b.keys()), sorted(by_b.keys() - by_a.keys())
        raise ValueError(f"the two files do not cover the same clips: {len(only_a)} only in A (e.g. {only_a[:3]}), "
                         f"{len(only_b)} only in B (e.g. {only_b[:3]}); evaluate both on the same split")
    ids = sorted(i for i in by_a if by_a[i]["reference"] is not None)
    clash = [i for i in ids if by_a[i]["reference"] != by_b[i]["reference"]]
    if clash:
        raise ValueError(f"{len(clash)} clips have different references in A and B (e.g. {clash[:3]})")
    if len(ids) < 2:
        raise ValueError("fewer than 2 clips with an emotion reference: nothing to compare")
    refs = [by_a[i]["reference"] for i in ids]
    ha, hb = [by_a[i]["predicted"] for i in ids], [by_b[i]["predicted"] for i in ids]
    ca, cb = np.equal(refs, ha), np.equal(refs, hb)
    return {"n": len(ids), "ua_a": float(ua_scores(refs, ha).mean()), "ua_b": float(ua_scores(refs, hb).mean()),
            "wa_a": float(ca.mean()), "wa_b": float(cb.mean()),
            "bootstrap_ua": bootstrap_ua_difference(refs, ha, hb),
            "t_test_ua": paired_t_test(ua_scores(refs, ha), ua_scores(refs, hb)),
            "t_test_wa": paired_t_test(ca, cb),
            "mcnemar_wa": mcnemar(ca, cb),
            "compares": {"bootstrap_ua": "UA difference, 95 % interval",
                         "t_test_ua": "paired one-tailed t-test on class-balanced per-clip scores (mean = UA)",
                         "t_test_wa": "paired one-tailed t-test on per-clip correctness (mean = WA)",
                         "mcnemar_wa": "McNemar on per-clip correctness: error rates, i.e. WA, two-sided"}}


def _by_id(predictions: list[dict], name: str) -> dict:
    out: dict = {}
    for p in predictions:
        key = str(p.get("id") or p.get("audio") or "")
        if not key:
            raise ValueError(f"a prediction in {name} has neither 'id' nor 'audio': re-run `train eval`")
        if key in out:
            raise ValueError(f"clip {key!r} appears twice in {name}: ids must be unique")
        out[key] = p
    return out


def aggregate_folds(fold_metrics: list[dict], keys=("ua", "wa", "macro_f1", "weighted_f1", "wer")) -> dict:
    """Mean / sample sd / per-fold values of each scalar metric present in every fold (IEMOCAP 5-fold CV)."""
    out: dict = {"folds": len(fold_metrics)}
    for key in keys:
        values = [m[key] for m in fold_metrics if m.get(key) is not None]
        if len(values) == len(fold_metrics) and values:
            arr = np.asarray(values, dtype=float)
            out[key] = {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
                        "values": [float(v) for v in arr]}
    return out


def format_folds(agg: dict) -> list[str]:
    """'UA 77.6 +- 1.2 % (5 folds)' lines, in percent as the paper prints."""
    return [f"{key.upper()} {100 * v['mean']:.1f} +- {100 * v['std']:.1f} % ({agg['folds']} folds)"
            for key, v in agg.items() if isinstance(v, dict)]

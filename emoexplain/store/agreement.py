"""Inter-annotator agreement (pure functions) and the store's agreement report.

Each coefficient returns ``None`` where it is undefined (no pairable data, or a single category so
that chance agreement is 1).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters who labelled the same items (``a[i]`` and ``b[i]``): scikit-learn's."""
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs paired labels, got {len(a)} and {len(b)}.")
    if not a or len(set(a) | set(b)) < 2:  # no items, or one category: chance agreement is 1
        return None
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    codes = {v: i for i, v in enumerate(sorted(set(a) | set(b), key=str))}
    kappa = cohen_kappa_score([codes[x] for x in a], [codes[y] for y in b], replace_undefined_by=np.nan)
    return None if kappa != kappa else float(kappa)


def fleiss_kappa(counts: Sequence[Sequence[float]]) -> float | None:
    """Fleiss' kappa from an items x categories matrix of rating counts.

    Items may have different numbers of ratings (each at least 2; others are ignored): the
    per-item agreement is averaged and category proportions are pooled over all ratings, which is
    Fleiss' formula when every item has the same number of ratings.
    """
    # hand-written because the library versions (statsmodels' fleiss_kappa) assume every item has the same
    # number of ratings, which a store of volunteers' judgements never has
    rows = [list(row) for row in counts if sum(row) >= 2]
    if not rows:
        return None
    total = sum(sum(row) for row in rows)
    p_bar = sum((sum(c * c for c in row) - sum(row)) / (sum(row) * (sum(row) - 1)) for row in rows) / len(rows)
    p_e = sum((sum(col) / total) ** 2 for col in zip(*rows))
    return None if p_e == 1 else (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha for nominal data; ``units`` holds each unit's values (``None`` = missing): the
    ``krippendorff`` package's.

    Units with fewer than two values are not pairable and are left out, as in Krippendorff (2011). Nominal
    alpha depends only on the values within each unit, not on which rater gave them, so each unit's values
    fill the first rows of its column of the raters x units matrix.
    """
    import krippendorff
    import numpy as np

    columns = [[v for v in unit if v is not None] for unit in units]
    columns = [c for c in columns if len(c) >= 2]
    codes = {v: i for i, v in enumerate(sorted({v for c in columns for v in c}, key=str))}
    if len(codes) < 2:  # nothing pairable, or one category: no expected disagreement
        return None
    data = np.full((max(len(c) for c in columns), len(columns)), np.nan)
    for j, column in enumerate(columns):
        data[:len(column), j] = [codes[v] for v in column]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def agreement_table(ratings: dict[Hashable, dict[str, Hashable]]) -> dict:
    """All three coefficients for ``{item: {annotator: value}}``. Items rated once carry no agreement
    information and are left out: ``n_items``, ``n_annotators`` and ``n_ratings`` count what remains."""
    pairable = {item: by for item, by in ratings.items() if len(by) >= 2}
    annotators = sorted({a for by in pairable.values() for a in by})  # the raters the coefficients rest on
    categories = sorted({v for by in pairable.values() for v in by.values()}, key=str)
    pairwise = []
    for x, y in itertools.combinations(annotators, 2):
        both = [by for by in pairable.values() if x in by and y in by]
        if both:
            pairwise.append({"annotators": [x, y], "n_items": len(both),
                             "kappa": _round(cohen_kappa([by[x] for by in both], [by[y] for by in both]))})
    counts = [[Counter(by.values())[c] for c in categories] for by in pairable.values()]
    return {
        "n_items": len(pairable),
        "n_annotators": len(annotators),
        "n_ratings": sum(len(by) for by in pairable.values()),
        # with exactly two annotators Cohen's kappa is the headline; otherwise see pairwise
        "cohen_kappa": pairwise[0]["kappa"] if len(annotators) == 2 and pairwise else None,
        "pairwise_cohen_kappa": pairwise,
        "fleiss_kappa": _round(fleiss_kappa(counts)),
        "krippendorff_alpha": _round(krippendorff_alpha_nominal(list(by.values()) for by in pairable.values())),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)

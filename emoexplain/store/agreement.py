"""Inter-annotator agreement (pure functions) and the store's agreement report.

Each coefficient returns ``None`` where it is undefined (no pairable data, or a single category so
that chance agreement is 1).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters who labelled the same items (``a[i]`` and ``b[i]``)."""
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs paired labels, got {len(a)} and {len(b)}.")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(counts: Sequence[Sequence[float]]) -> float | None:
    """Fleiss' kappa from an items x categories matrix of rating counts.

    Items may have different numbers of ratings (each at least 2; others are ignored): the
    per-item agreement is averaged and category proportions are pooled over all ratings, which is
    Fleiss' formula when every item has the same number of ratings.
    """
    rows = [list(row) for row in counts if sum(row) >= 2]
    if not rows:
        return None
    total = sum(sum(row) for row in rows)
    p_bar = sum((sum(c * c for c in row) - sum(row)) / (sum(row) * (sum(row) - 1)) for row in rows) / len(rows)
    p_e = sum((sum(col) / total) ** 2 for col in zip(*rows))
    return None if p_e == 1 else (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha for nominal data; ``units`` holds each unit's values (``None`` = missing).

    Units with fewer than two values are not pairable and are left out, as in Krippendorff (2011).
    """
    coincidence: dict[tuple, float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            coincidence[values[i], values[j]] += 1 / (m - 1)
    n_c: dict = defaultdict(float)
    for (c, _), o in coincidence.items():
        n_c[c] += o
    n = sum(n_c.values())
    if n <= 1:
        return None
    disagree_observed = sum(o for (c, k), o in coincidence.items() if c != k)
    disagree_expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if disagree_expected == 0:
        return None
    return 1 - (n - 1) * disagree_observed / disagree_expected


def agreement_table(ratings: dict[Hashable, dict[str, Hashable]]) -> dict:
    """All three coefficients for ``{item: {annotator: value}}`` (items rated once still count for
    nothing, as they carry no agreement information)."""
    annotators = sorted({a for by in ratings.values() for a in by})
    categories = sorted({v for by in ratings.values() for v in by.values()}, key=str)
    pairable = {item: by for item, by in ratings.items() if len(by) >= 2}
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

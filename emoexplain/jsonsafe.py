"""Strict JSON for results that may hold NaN/inf (unvoiced frames, failed measurements)."""

import math


def finite_or_none(value):
    """Replace NaN/inf floats with None, recursively through dicts, lists and tuples (tuples become lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value

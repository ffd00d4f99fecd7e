"""Emotion label sets as data (assets/label_sets.json) and the mappings between them.

SpeechCraft-7 is the hub vocabulary: every other set maps into it, so a model trained on one
vocabulary can be scored against another (``convert("joy", "meld7", "iemocap4") == "happy"``).
"""

import json
from functools import lru_cache

from emoexplain.errors import UnknownLabel
from emoexplain.paths import LABEL_SETS as LABEL_SETS_PATH

HUB = "speechcraft7"


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(LABEL_SETS_PATH.read_text())


def label_set_names() -> list[str]:
    return sorted(_data()["label_sets"])


def labels(name: str) -> tuple[str, ...]:
    """The ordered labels of a set, e.g. ``labels("iemocap4")``."""
    sets = _data()["label_sets"]
    if name not in sets:
        raise UnknownLabel(f"Unknown label set {name!r}; choose one of {sorted(sets)}.")
    return tuple(sets[name])


def to_hub(label: str, label_set: str) -> str:
    """Map a label of ``label_set`` to its SpeechCraft-7 word."""
    label = normalize(label, label_set)
    if label_set == HUB:
        return label
    return _data()["to_speechcraft7"][label_set][label]


def from_hub(hub_label: str, label_set: str) -> str | None:
    """Map a SpeechCraft-7 word into ``label_set``; None where the set has no such class."""
    if label_set == HUB:
        return hub_label
    for label, hub in _data()["to_speechcraft7"][label_set].items():
        if hub == hub_label:
            return label
    return None


def convert(label: str, source: str, target: str) -> str | None:
    """Convert a label between two sets through SpeechCraft-7 (None: no counterpart)."""
    return from_hub(to_hub(label, source), target)


def normalize(word: str, label_set: str) -> str:
    """Case-fold, strip punctuation and resolve aliases ("Excited!" -> "happy" in iemocap4).

    Raises UnknownLabel when the word is not a label (or alias of one) of ``label_set``.
    """
    allowed = labels(label_set)
    cleaned = "".join(ch for ch in str(word).strip().lower() if ch.isalpha())
    if cleaned in allowed:
        return cleaned
    hub_word = _data()["aliases"].get(cleaned, cleaned)
    if hub_word in labels(HUB):
        mapped = from_hub(hub_word, label_set)
        if mapped in allowed:
            return mapped
    raise UnknownLabel(f"{word!r} is not a label of {label_set}; use one of {list(allowed)}.")

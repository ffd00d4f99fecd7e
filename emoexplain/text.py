"""Words and numbers as text, one way everywhere: comparing words (app, pipeline, metrics, alignment) and
writing shares as percentages (app, reports).

    tokens("Well-known, isn't it?")   -> ["Well", "known", "isn't", "it"]    # as written, punctuation gone
    normalize_words("Isn't it?")      -> ["isn't", "it"]                      # for comparing (WER, matching)
    normalize_word("People,")         -> "people"
    percent(0.1234, 1)                -> "12.3%"
"""

from __future__ import annotations

import re

# a word is a run of letters, digits, underscores and in-word apostrophes; anything else separates words
_SEPARATOR = re.compile(r"[^\w']+")


def tokens(text) -> list[str]:
    """The words of ``text`` as written (case kept), split at whitespace and punctuation; apostrophes are
    kept inside words ("isn't") and dropped at their edges ("'quoted'" -> "quoted")."""
    return [t.strip("'") for t in _SEPARATOR.split(str(text or "")) if t.strip("'")]


def normalize_words(text) -> list[str]:
    """Lower-cased words of ``text`` without punctuation: what WER and word matching compare."""
    return [t.lower() for t in tokens(text)]


def normalize_word(word) -> str:
    """One word's comparison key ("People," -> "people"; a hyphenated "well-known" -> "wellknown")."""
    return "".join(normalize_words(word))


def percent(share: float | None, digits: int = 0, unit: str = "%") -> str:
    """``share`` (0..1) as a percentage; "–" when there is none."""
    return "–" if share is None else f"{100 * share:.{digits}f}{unit}"

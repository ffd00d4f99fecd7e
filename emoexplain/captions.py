"""Captions: the one sentence the LLM writes, rendered from fields and parsed back.

Every caption starts with the answer slot ``Emotion: <label>.`` (label scoring reads the label right after
``Emotion:``), then one SpeechCraft-style sentence (paper.md section 9) carrying pitch / volume / speed words,
tone, pitch variation, the quoted transcript and the emphasised words, e.g.

    Emotion: angry. A man with low pitch and normal volume speaks at a slow pace, his tone falling,
    saying "the way he talks about people", stressing "people".

Several templates vary the wording so the LLM learns the facts rather than one string; the parser reads all of
them (and the paper's own example) by cue words, not by template, and never raises.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

ANSWER_PREFIX = "Emotion:"
# Parts a complete caption carries; parse_caption reports the absent ones in ``missing``.
EXPECTED_PARTS = ("emotion", "transcript", "pitch", "volume", "speed")


@dataclass(frozen=True)
class CaptionFields:
    emotion: str | None
    transcript: str | None
    descriptors: dict[str, str] = field(default_factory=dict)   # {pitch, volume, speed, tone, pitch_variation}
    emphasis: tuple[str, ...] = ()
    gender: str | None = None                                    # "male" | "female" | None


@dataclass(frozen=True)
class ParsedCaption:
    emotion: str | None
    transcript: str | None
    descriptors: dict[str, str]
    emphasis: tuple[str, ...]
    missing: tuple[str, ...]
    gender: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["emphasis"], d["missing"] = list(self.emphasis), list(self.missing)
        return d


# --- rendering ------------------------------------------------------------------------------------------------
# Each template is a list of clauses; a clause is kept only when all its fields are present, so captions with
# missing descriptors stay grammatical. The first clause names the speaker and is always present.
_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("{who}{pv_with} speaks{pace_at}", "{pron} tone {tone}", "with {variation} delivery", "saying {quote}",
     "stressing {emph}"),
    ("speaking{pace_at}{pv_with}, {who} talks", "saying {quote}", "{pron} tone is {tone}",
     "{pron} delivery {variation_bare}", "with emphasis on {emph}"),
    ("{who}{pv_with} expresses {pron} opinion{pace_at}", "stating, {quote}", "{pron} {tone} tone evident",
     "in {variation} manner", "accentuating the word {emph} distinctly"),
    ("{who} talks{pace_at}{pv_with}", "in {variation} voice", "saying {quote}", "with a {tone} intonation",
     "putting stress on {emph}"),
    ("{who} speaks{pace_at}", "using {pitch_volume}", "with a {tone} tone", "{pron} delivery {variation_bare}",
     "uttering {quote}", "emphasising {emph}"),
)
N_TEMPLATES = len(_TEMPLATES)

_WHO = {"male": ("a man", "his"), "female": ("a woman", "her"), None: ("a speaker", "their")}
_ARTICLE = {"very monotone": "a", "monotone": "a", "slightly expressive": "a", "expressive": "an",
            "very expressive": "a"}


def _pieces(fields: CaptionFields, template: int) -> dict[str, str]:
    """Phrases for the template's placeholders; optional speaker-clause phrases are "" when absent."""
    d = fields.descriptors
    who, pron = _WHO.get(fields.gender, _WHO[None])
    # odd templates say "moderate" for "normal", as SpeechCraft does; the parser maps it back
    normal = "moderate" if template % 2 else "normal"
    pieces = {"who": who, "pron": pron, "pv_with": "", "pace_at": ""}
    pv = [f"{d[k].replace('normal', normal)} {k}" for k in ("pitch", "volume") if d.get(k)]
    if pv:
        pieces["pitch_volume"] = " and ".join(pv)
        pieces["pv_with"] = " with " + pieces["pitch_volume"]
    if d.get("speed"):
        pieces["pace_at"] = f" at a {d['speed'].replace('normal', normal)} pace"
    if d.get("tone"):
        pieces["tone"] = d["tone"]
    if d.get("pitch_variation") in _ARTICLE:
        pieces["variation_bare"] = d["pitch_variation"]
        pieces["variation"] = f"{_ARTICLE[d['pitch_variation']]} {d['pitch_variation']}"
    if fields.transcript and _clean_quote(fields.transcript):
        pieces["quote"] = '"' + _clean_quote(fields.transcript) + '"'
    emphasis = [_clean_quote(w) for w in fields.emphasis if _clean_quote(w)]
    if emphasis:
        pieces["emph"] = " and ".join(f'"{w}"' for w in emphasis)
    return pieces


def _clean_quote(text: str) -> str:
    return " ".join(str(text).replace('"', "'").split())


def _fill(clause: str, pieces: dict[str, str]) -> str | None:
    names = re.findall(r"{(\w+)}", clause)
    return clause.format(**pieces) if all(n in pieces for n in names) else None


def render_caption(fields: CaptionFields, template: int | None = None, rng: random.Random | None = None) -> str:
    """``Emotion: <label>.`` followed by one descriptive sentence; ``template`` None picks one with ``rng``."""
    if template is None:
        template = (rng or random).randrange(N_TEMPLATES)
    template %= N_TEMPLATES
    pieces = _pieces(fields, template)
    clauses = [c for c in (_fill(cl, pieces) for cl in _TEMPLATES[template]) if c]
    sentence = ", ".join(clauses) + "."
    sentence = sentence[0].upper() + sentence[1:]
    emotion = (fields.emotion or "neutral").strip().lower()
    return f"{ANSWER_PREFIX} {emotion}. {sentence}"


def render_transcript_target(transcript: str) -> str:
    """The ASR-stage answer: the transcript alone, whitespace normalised."""
    return " ".join(str(transcript).split())


# --- parsing ----------------------------------------------------------------------------------------------------
_QUOTE = re.compile(r'"([^"]*)"|“([^”]*)”')
_EMPH_CUE = re.compile(r"(stress|emphas|accentuat|the words?\s*$)", re.I)
_SLOT = re.compile(r"^\s*emotion\s*:\s*([A-Za-z]+)", re.I)
_LEVEL = {"low": "low", "normal": "normal", "moderate": "normal", "medium": "normal", "average": "normal",
          "high": "high"}
_SPEED = {"slow": "slow", "normal": "normal", "moderate": "normal", "medium": "normal", "fast": "fast",
          "quick": "fast", "rapid": "fast"}
_DESCRIPTOR_PATTERNS = {
    "pitch": (re.compile(r"\b(low|normal|moderate|medium|average|high)[- ]pitch", re.I), _LEVEL),
    "volume": (re.compile(r"\b(low|normal|moderate|medium|average|high)\s+(?:volume|energy)", re.I), _LEVEL),
    "speed": (re.compile(r"\b(slow|normal|moderate|medium|fast|quick|rapid)\s+(?:pace|speed|rate|tempo)", re.I),
              _SPEED),
    "tone": (re.compile(r"\b(?:tone|intonation)\s+(?:is\s+|was\s+)?(falling|level|rising)\b"
                        r"|\b(falling|level|rising)\s+(?:tone|intonation)", re.I), None),
    "pitch_variation": (re.compile(r"\b(very monotone|monotone|slightly expressive|very expressive|expressive)\b",
                                   re.I), None),
}
_GENDER = ((re.compile(r"\b(woman|female|girl|lady|she|her)\b", re.I), "female"),
           (re.compile(r"\b(man|male|boy|gentleman|he|his)\b", re.I), "male"))


def _emotion_words() -> dict[str, str]:
    """Every label of every set, and the aliases, mapped to the word itself or its SpeechCraft-7 form."""
    from emoexplain import labels
    words = dict(labels._data()["aliases"])
    words.update({w: w for name in labels.label_set_names() for w in labels.labels(name)})
    return words


def _quotes(text: str) -> tuple[str | None, tuple[str, ...], str]:
    """(transcript, emphasised words, text with quoted spans blanked)."""
    transcript, emphasis, prev_end, prev_emph = None, [], 0, False
    for m in _QUOTE.finditer(text):
        span = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        before = text[prev_end:m.start()]
        is_emph = bool(_EMPH_CUE.search(before)) or (prev_emph and before.strip() in ("and", ",", ", and"))
        if is_emph and span:
            emphasis.append(span)
        elif transcript is None and span:
            transcript = span
        prev_end, prev_emph = m.end(), is_emph
    return transcript, tuple(emphasis), _QUOTE.sub(" ", text)


def parse_caption(text) -> ParsedCaption:
    """Read a caption back into fields. Never raises: unreadable parts are None/empty and listed in ``missing``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text) if text is not None else ""
    transcript, emphasis, bare = _quotes(text)
    words = _emotion_words()
    emotion = None
    slot = _SLOT.match(text)
    if slot and slot.group(1).lower() in words:
        emotion = words[slot.group(1).lower()]
        bare = bare[slot.end():]
    else:
        for token in re.findall(r"[A-Za-z]+", bare):
            if token.lower() in words:
                emotion = words[token.lower()]
                break
    descriptors = {}
    for name, (pattern, mapping) in _DESCRIPTOR_PATTERNS.items():
        m = pattern.search(bare)
        if m:
            word = next(g for g in m.groups() if g).lower()
            descriptors[name] = mapping[word] if mapping else word
    gender = next((g for pattern, g in _GENDER if pattern.search(bare)), None)
    found = {"emotion": emotion, "transcript": transcript, **descriptors}
    missing = tuple(p for p in EXPECTED_PARTS if not found.get(p))
    return ParsedCaption(emotion, transcript, descriptors, emphasis, missing, gender)

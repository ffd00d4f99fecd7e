"""Each descriptor's evidence for people who are not phoneticians: one plain sentence, the numbers one click away.

    rows = descriptor_rows(explanation)          # one DescriptorRow per descriptor the model or the measurement has
    rows[0].sentence   # "About average for a female voice: median 201 Hz; typical 163–227 Hz."
    rows[0].details    # ("Measured: 201.3 Hz (median F0 of voiced frames; ...)", "Bins: 'low' below 163.1 Hz · ...", ...)
    card_html(rows[0]) # the row's card on the page (all free text HTML-escaped)

The words and bin edges come from the bins file (emoexplain.descriptors), so a sentence always names the edges the
word was read from. Only the phrasing lives here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from emoexplain.descriptors import ORDER, Descriptor, load_bins
from emoexplain.explanation import Explanation
from emoexplain.text import normalize_word, normalize_words

# how a bin's word leads a sentence ("About average for a female voice: ...")
_LEAD = {
    "pitch": {"low": "Low", "normal": "About average", "high": "High"},
    "volume": {"low": "Quiet", "normal": "Normal loudness", "high": "Loud"},
    "speed": {"slow": "Slow", "normal": "Normal pace", "fast": "Fast"},
    "tone": {"falling": "Falling at the end", "level": "Level at the end", "rising": "Rising at the end"},
}
_DIGITS = {"pitch": 0, "volume": 0, "speed": 1, "pitch_variation": 1, "tone": 1, "emphasis": 2}


@dataclass(frozen=True)
class DescriptorRow:
    name: str
    model: str | None            # the model's word (emphasis: its words, comma-joined); None: it gave none
    measured: str | None         # the measured word; None: not measurable in this clip
    sentence: str                # plain text: what the measurement means
    details: tuple[str, ...]     # plain text: value and unit, bins with their words, time span, method
    agree: bool | None           # model vs measured; None when one side is missing
    not_in_transcript: tuple[str, ...] = ()   # emphasis: model words the transcript does not contain

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


def descriptor_rows(result: Explanation) -> list[DescriptorRow]:
    """One row per descriptor that the model named or the acoustics measured, in the standard order."""
    model = model_words(result)
    measured = result.descriptors.measured_by_name()
    names = [n for n in ORDER if n in model or n in measured]
    names += sorted(n for n in set(model) | set(measured) if n not in names)
    said_words = set(normalize_words(result.transcript))
    rows = []
    for name in names:
        said, meas = model.get(name), measured.get(name)
        heard = meas.value if meas else None
        agree = normalize_word(said) == normalize_word(heard) if said and heard else None
        missing = tuple(w.word for w in result.descriptors.emphasis if w.word and not _in(w.word, said_words)) \
            if name == "emphasis" else ()
        rows.append(DescriptorRow(name=name, model=said or None, measured=heard or None,
                                  sentence=sentence(meas) if meas else _unmeasured(name),
                                  details=details(meas) if meas else (), agree=agree, not_in_transcript=missing))
    return rows


def model_words(result: Explanation) -> dict[str, str]:
    """The model's word per descriptor; emphasis as its emphasised words, comma-joined."""
    words = dict(result.descriptors.model)
    emphasis = ", ".join(w.word for w in result.descriptors.emphasis if w.word)
    if emphasis and not words.get("emphasis"):
        words["emphasis"] = emphasis
    return words


def _in(word: str, transcript_words: set[str]) -> bool:
    return all(part in transcript_words for part in normalize_words(word))


def _unmeasured(name: str) -> str:
    if name in ("pitch", "pitch_variation", "tone"):
        return "Not measured: too few voiced frames to follow the pitch."
    if name == "emphasis":
        return "Nothing stood out: no stretch was clearly more prominent than the rest."
    return "Not measured in this clip."


# --- the sentence ------------------------------------------------------------------------------------------------

def sentence(descriptor: Descriptor) -> str:
    """One plain sentence: the measured word as people say it, the number, and what counts as typical."""
    name, ev, word = descriptor.name, descriptor.evidence, descriptor.value
    if name == "emphasis":
        where = f"{ev.start_s:.2f}–{ev.end_s:.2f} s"
        top = word.split(",")[0].strip() if word else ""
        on = f"on \u201c{top}\u201d at {where}" if top else f"at {where} (no word aligned there)"
        return f"Strongest stress {on}: prominence {ev.value:.2f} on a 0–1 scale."
    lead = _LEAD.get(name, {}).get(word, word.capitalize())
    low, high = _typical(name, ev)
    digits = _DIGITS.get(name, 2)
    v = _apart(ev.value, digits, (low, high, ev.bin_low, ev.bin_high))
    typical = _span(low, high, digits)
    if name == "pitch":
        register = _register(ev)
        voice = f"a {register} voice" if register else "this voice"
        return f"{lead} for {voice}: median {v} Hz" + (f"; typical {typical} Hz." if typical else ".")
    if name == "volume":
        return (f"{lead}: the speech averages {v} dBFS (0 is the loudest a recording can hold)"
                + (f"; normal is {typical}" if typical else "") + ". Depends on the microphone and its level.")
    if name == "speed":
        return f"{lead}: {v} syllables per second" + (f"; normal is {typical}." if typical else ".")
    if name == "pitch_variation":
        return (f"{lead}: the pitch moves about {v} semitones around its middle"
                + (f" ({typical} semitones reads as \u201c{word}\u201d)." if typical else "."))
    if name == "tone":
        moves = "rises" if ev.value > 0 else "drops" if ev.value < 0 else "changes"
        return (f"{lead}: the pitch {moves} {v.lstrip(chr(0x2212))} semitones over the last stretch "
                f"({ev.start_s:.2f}–{ev.end_s:.2f} s)" + (f"; \u201clevel\u201d is {typical}." if typical else "."))
    return f"{lead}: {v} {ev.unit}."


def _span(low: float | None, high: float | None, digits: int) -> str:
    """ "3.2–5.0", "above 180", "below 5.0" or "" (no edges), with real minus signs."""
    if low is not None and high is not None:
        if low < 0:   # "−30 to −15", "−2.0 to +2.0": a dash between negative numbers would read as a minus
            return f"{_n(low, digits)} to {'+' if high > 0 else ''}{_n(high, digits)}"
        return f"{_n(low, digits)}–{_n(high, digits)}"
    if low is not None:
        return f"above {_n(low, digits)}"
    return f"below {_n(high, digits)}" if high is not None else ""


def _typical(name: str, ev) -> tuple[float | None, float | None]:
    """The middle word's edges (3-word scales: 'normal' / 'level'), else the clip's own bin."""
    edges = _edges(name, ev)
    if edges is not None and len(edges) == 2:
        return float(edges[0]), float(edges[1])
    return ev.bin_low, ev.bin_high


def _edges(name: str, ev):
    spec = load_bins()["descriptors"].get(name)
    if spec is None or "edges" not in spec:
        return None
    edges = spec["edges"]
    if isinstance(edges, dict):   # pitch: one set of edges per register
        register = _register(ev)
        return edges.get(register) if register else None
    return edges


def _register(ev) -> str | None:
    """Which register's edges the pitch word was read with (the evidence names the edges it fell between)."""
    for register, edges in load_bins()["descriptors"]["pitch"]["edges"].items():
        if any(edge is not None and any(abs(edge - e) < 1e-6 for e in edges) for edge in (ev.bin_low, ev.bin_high)):
            return register
    return None


def _apart(value: float, digits: int, edges) -> str:
    """``value`` with enough digits (up to 3) that it never reads as an edge it is not: 4.998 next to the edge 5.0
    is "4.998", not "5.0" (which would contradict the word)."""
    for d in range(digits, 4):
        text = _n(value, d)
        if all(e is None or value == e or text != _n(e, d) for e in edges):
            return text
    return _n(value, 3)


def _g(value) -> str:
    return f"{value:g}".replace("-", "\u2212")


def _n(value, digits: int) -> str:
    """A number as text, with a real minus sign."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}".replace("-", "\u2212")


# --- the technical evidence ----------------------------------------------------------------------------------------

def details(descriptor: Descriptor) -> tuple[str, ...]:
    """Value and unit, every bin with its word (the clip's marked), the time span and the method."""
    ev, name = descriptor.evidence, descriptor.name
    lines = [f"Measured: {_g(ev.value)} {ev.unit}"]
    bins = bin_words(descriptor)
    if bins:
        register = f" ({_register(ev)} register)" if name == "pitch" and _register(ev) else ""
        lines.append(f"Bins{register}: " + " · ".join(bins))
    lines.append(f"Time span: {ev.start_s:.2f}–{ev.end_s:.2f} s")
    if ev.detail:
        lines.append(f"Method: {ev.detail}")
    return tuple(lines)


def bin_words(descriptor: Descriptor) -> list[str]:
    """Each word of the scale with its span: ["“low” below 163.07 Hz", "“normal” 163.07 to 227.41 Hz (this clip)", ...]."""
    ev, name = descriptor.evidence, descriptor.name
    spec = load_bins()["descriptors"].get(name, {})
    edges, words = _edges(name, ev), spec.get("words")
    if not edges or not words or len(words) != len(edges) + 1:
        return []
    unit = spec.get("unit", ev.unit).split(" (")[0]
    out = []
    for i, word in enumerate(words):
        if i == 0:
            span = f"below {_g(edges[0])} {unit}"
        elif i == len(edges):
            span = f"above {_g(edges[-1])} {unit}"
        else:
            span = f"{_g(edges[i - 1])} to {_g(edges[i])} {unit}"
        out.append(f"\u201c{word}\u201d {span}" + (" (this clip)" if word == descriptor.value else ""))
    return out


# --- the card -----------------------------------------------------------------------------------------------------

def card_html(row: DescriptorRow) -> str:
    """The descriptor's card: name, the model's word beside the measured one, the sentence, the evidence folded."""
    e = html.escape
    state = {True: ("agree", "✓ same"), False: ("differ", "⚠ differ"), None: ("", "")}[row.agree]
    model = e(row.model) if row.model else "<i>no word</i>"
    if row.not_in_transcript:
        model += (f' <span class="desc-note">({e(", ".join(row.not_in_transcript))}: not in the transcript)</span>')
    measured = e(row.measured) if row.measured else "<i>–</i>"
    flag = f'<span class="desc-flag {state[0]}">{state[1]}</span>' if state[1] else ""
    parts = [f'<div class="desc-card {state[0]}" data-descriptor="{e(row.name)}">',
             f'<div class="desc-head"><span class="desc-name">{e(row.title.capitalize())}</span>{flag}</div>',
             f'<div class="desc-words"><span>model says <b>{model}</b></span>'
             f'<span>measured <b>{measured}</b></span></div>',
             f'<p class="desc-sentence">{e(row.sentence)}</p>']
    if row.details:
        items = "".join(f"<li>{e(line)}</li>" for line in row.details)
        parts.append(f'<details class="desc-details"><summary>Evidence in numbers</summary><ul>{items}</ul></details>')
    parts.append("</div>")
    return "".join(parts)

"""Numbers -> words: the SpeechCraft / dataspeech descriptor vocabulary, each word with its evidence.

Bin edges are data (assets/descriptor_bins.json, versioned as BINS_VERSION) so that the app and training
label speech the same way. Every Descriptor says which number it came from, its unit, the two bin edges
it fell between and the time span it describes, so a user can check the word against the plot.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emoexplain.errors import ConfigError
from emoexplain.paths import DESCRIPTOR_BINS as BINS_PATH

ORDER = ("pitch", "volume", "speed", "pitch_variation", "tone", "emphasis")


@dataclass(frozen=True)
class Evidence:
    value: float             # the measurement the word was read from
    unit: str                # e.g. "Hz", "dBFS", "syllables/s"
    bin_low: float | None    # the word's lower bin edge (None: open below)
    bin_high: float | None   # the word's upper bin edge (None: open above)
    start_s: float           # the stretch of audio the measurement covers
    end_s: float
    detail: str = ""         # how it was measured, in words

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "bin_low": self.bin_low, "bin_high": self.bin_high,
                "start_s": self.start_s, "end_s": self.end_s, "detail": self.detail}

    @classmethod
    def from_dict(cls, d: dict) -> "Evidence":
        return cls(**d)


@dataclass(frozen=True)
class Descriptor:
    name: str                # one of ORDER
    value: str               # a word of vocabulary()[name] (emphasis: the emphasised words, "" when unaligned)
    evidence: Evidence
    source: str = "measured"

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "source": self.source, "evidence": self.evidence.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Descriptor":
        return cls(name=d["name"], value=d["value"], evidence=Evidence.from_dict(d["evidence"]), source=d["source"])


@lru_cache(maxsize=1)
def load_bins(path: str | None = None) -> dict:
    """The bins JSON (default: assets/descriptor_bins.json), checked for the fields describe() needs."""
    data = json.loads(Path(path or BINS_PATH).read_text())
    missing = [name for name in ORDER if name not in data.get("descriptors", {})]
    if "version" not in data or missing:
        raise ConfigError(f"Descriptor bins file {path or BINS_PATH} lacks 'version' or descriptors {missing}; "
                          "restore it from the repository.")
    return data


BINS_VERSION: str = load_bins()["version"]


def vocabulary() -> dict[str, tuple[str, ...]]:
    """{descriptor name: allowed words}; emphasis is free text, so its tuple is empty."""
    spec = load_bins()["descriptors"]
    return {name: tuple(spec[name]["words"]) for name in ORDER}


@dataclass(frozen=True)
class Binned:
    """A measured value read as a word: the word, the bin edges around the value, how the bins were chosen."""
    word: str
    bin_low: float | None
    bin_high: float | None
    how: str = ""            # pitch: which register's edges (given, or estimated from the value)


def bin_value(name: str, value: float, *, gender: str | None = None, bins: dict | None = None) -> Binned:
    """The one binning function, for the app (describe) and training (augmentation re-binning): the word of
    descriptor ``name`` for ``value``, the measure named in the bins file (``measure(name)``, e.g. the median F0
    for pitch). Pitch is binned within a register: ``gender`` ("male"/"female") when given, else the register
    estimated from the value itself (below the threshold: male edges, else female)."""
    bins = bins or load_bins()
    spec = bins["descriptors"][name]
    edges, how = spec["edges"], ""
    if name == "pitch":
        register, how = _register(value, gender, bins)
        edges = edges[register]
    word, low, high = word_for(value, edges, spec["words"])
    return Binned(word, low, high, how)


def measure(name: str, bins: dict | None = None) -> str:
    """Which number descriptor ``name`` is read from, as ``section.key`` of an acoustic profile."""
    return (bins or load_bins())["descriptors"][name]["measure"]


def known_gender(value) -> str | None:
    """``value`` when it names a register of the bins ("male"/"female"), else None (estimate it)."""
    return value if value in load_bins()["descriptors"]["pitch"]["edges"] else None


def _register(median_hz: float, gender: str | None, bins: dict) -> tuple[str, str]:
    if gender is not None:
        if gender not in bins["descriptors"]["pitch"]["edges"]:
            raise ConfigError(f"gender must be one of {sorted(bins['descriptors']['pitch']['edges'])} or None, "
                              f"not {gender!r}.")
        return gender, f"{gender} register (given)"
    threshold = bins["register"]["threshold_hz"]
    register = "male" if median_hz < threshold else "female"
    return register, (f"{register} register estimated from median F0 "
                      f"{'<' if register == 'male' else '>='} {threshold:g} Hz")


def describe(profile, bins: dict | None = None, *, gender: str | None = None) -> tuple[Descriptor, ...]:
    """Descriptors for an AcousticProfile (or its to_dict()); gender "male"/"female" overrides the estimate."""
    bins = bins or load_bins()
    span = _speech_span(profile)

    def binned(name: str, detail: str, where=span) -> Descriptor:
        value = _measured(profile, measure(name, bins))
        b = bin_value(name, value, gender=gender, bins=bins)
        evidence = Evidence(value=round(float(value), 3), unit=bins["descriptors"][name]["unit"], bin_low=b.bin_low,
                            bin_high=b.bin_high, start_s=float(where[0]), end_s=float(where[1]),
                            detail="; ".join(x for x in (detail, b.how) if x))
        return Descriptor(name=name, value=b.word, evidence=evidence)

    out = []
    if _measured(profile, measure("pitch", bins)) is not None:
        out.append(binned("pitch", "median F0 of voiced frames"))
        out.append(binned("pitch_variation", "standard deviation of voiced F0 in semitones around its median"))
    out.append(binned("volume", "mean RMS level of the speech frames, re digital full scale (depends on recording "
                                "gain)"))
    rate = _section(profile, "rate")
    out.append(binned("speed", f"{rate['n_syllables']} syllable nuclei in {rate['speech_s']:.2f} s of speech"))
    tone = _section(profile, "tone")
    if _measured(profile, measure("tone", bins)) is not None:
        out.append(binned("tone", f"pitch change over the last voiced stretch (overall slope "
                                  f"{tone['slope_st_per_s']:+.2f} st/s)", (tone["final_start_s"], tone["final_end_s"])))
    emphasis = _emphasis(_section(profile, "emphasis"), bins["descriptors"]["emphasis"])
    if emphasis:
        out.append(emphasis)
    return tuple(out)


def _section(profile, key):
    return profile[key] if isinstance(profile, dict) else getattr(profile, key)


def _measured(profile, where: str):
    """The number at ``section.key`` of a profile (or its to_dict())."""
    section, key = where.split(".")
    return _section(profile, section)[key]


def _speech_span(profile) -> tuple[float, float]:
    duration = float(_section(profile, "duration_s"))
    return (0.0, round(duration, 3))


def word_for(value: float, edges, words) -> tuple[str, float | None, float | None]:
    """The word for ``value`` and the edges around it: words[i] covers edges[i-1] <= value < edges[i]."""
    i = int(np.searchsorted(edges, value, side="right"))
    low = float(edges[i - 1]) if i > 0 else None
    high = float(edges[i]) if i < len(edges) else None
    return words[i], low, high


def _emphasis(segments, spec: dict) -> Descriptor | None:
    strong = [s for s in segments if s["strength"] > spec.get("min_strength", 0.0)]
    if not strong:
        return None
    spans = [(f"{s['word']} " if s.get("word") else "") + f"({s['start_s']:.2f}-{s['end_s']:.2f} s)" for s in strong]
    top = strong[0]
    evidence = Evidence(value=float(top["strength"]), unit=spec["unit"], bin_low=None, bin_high=None,
                        start_s=float(top["start_s"]), end_s=float(top["end_s"]),
                        detail="joint pitch, energy and duration prominence; strongest first: " + ", ".join(spans))
    # the value holds words only: segments without an aligned word are in the evidence, not in the words
    return Descriptor(name="emphasis", value=", ".join(s["word"] for s in strong if s.get("word")),
                      evidence=evidence)

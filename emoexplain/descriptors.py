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


@dataclass(frozen=True)
class Descriptor:
    name: str                # one of ORDER
    value: str               # a word of vocabulary()[name] (emphasis: the emphasised words or segments)
    evidence: Evidence
    source: str = "measured"

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "source": self.source, "evidence": self.evidence.to_dict()}


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


def describe(profile, bins: dict | None = None, *, gender: str | None = None) -> tuple[Descriptor, ...]:
    """Descriptors for an AcousticProfile (or its to_dict()); gender "male"/"female" overrides the estimate."""
    bins = bins or load_bins()
    spec = bins["descriptors"]
    span = _speech_span(profile)
    out = []
    pitch = _section(profile, "pitch")
    if pitch.get("median_hz") is not None:
        out.append(_pitch(pitch["median_hz"], spec["pitch"], bins["register"], gender, span))
        out.append(_binned("pitch_variation", pitch["variability_semitones"], spec["pitch_variation"], span,
                           "standard deviation of voiced F0 in semitones around its median"))
    energy = _section(profile, "energy")
    out.append(_binned("volume", energy["mean_db"], spec["volume"], span,
                       "mean RMS level of the speech frames, re digital full scale (depends on recording gain)"))
    rate = _section(profile, "rate")
    out.append(_binned("speed", rate["syllables_per_s"], spec["speed"], span,
                       f"{rate['n_syllables']} syllable nuclei in {rate['speech_s']:.2f} s of speech"))
    tone = _section(profile, "tone")
    if tone.get("final_change_semitones") is not None:
        out.append(_binned("tone", tone["final_change_semitones"], spec["tone"],
                           (tone["final_start_s"], tone["final_end_s"]),
                           f"pitch change over the last voiced stretch (overall slope "
                           f"{tone['slope_st_per_s']:+.2f} st/s)"))
    emphasis = _emphasis(_section(profile, "emphasis"), spec["emphasis"])
    if emphasis:
        out.append(emphasis)
    return tuple(out)


def _section(profile, key):
    return profile[key] if isinstance(profile, dict) else getattr(profile, key)


def _speech_span(profile) -> tuple[float, float]:
    duration = float(_section(profile, "duration_s"))
    return (0.0, round(duration, 3))


def word_for(value: float, edges, words) -> tuple[str, float | None, float | None]:
    """The word for ``value`` and the edges around it: words[i] covers edges[i-1] <= value < edges[i]."""
    i = int(np.searchsorted(edges, value, side="right"))
    low = float(edges[i - 1]) if i > 0 else None
    high = float(edges[i]) if i < len(edges) else None
    return words[i], low, high


def _binned(name: str, value: float, spec: dict, span, detail: str, edges=None) -> Descriptor:
    word, low, high = word_for(value, edges if edges is not None else spec["edges"], spec["words"])
    evidence = Evidence(value=round(float(value), 3), unit=spec["unit"], bin_low=low, bin_high=high,
                        start_s=float(span[0]), end_s=float(span[1]), detail=detail)
    return Descriptor(name=name, value=word, evidence=evidence)


def _pitch(median_hz: float, spec: dict, register: dict, gender: str | None, span) -> Descriptor:
    """Pitch level within a register: the given gender, else one estimated from the median F0."""
    threshold = register["threshold_hz"]
    if gender is not None:
        if gender not in spec["edges"]:
            raise ConfigError(f"gender must be one of {sorted(spec['edges'])} or None, not {gender!r}.")
        how = f"{gender} register (given)"
    else:
        gender = "male" if median_hz < threshold else "female"
        how = (f"{gender} register estimated from median F0 "
               f"{'<' if gender == 'male' else '>='} {threshold:g} Hz")
    return _binned("pitch", median_hz, spec, span, f"median F0 of voiced frames; {how}",
                   edges=spec["edges"][gender])


def _emphasis(segments, spec: dict) -> Descriptor | None:
    strong = [s for s in segments if s["strength"] > spec.get("min_strength", 0.0)]
    if not strong:
        return None
    names = [s.get("word") or f"{s['start_s']:.2f}-{s['end_s']:.2f} s" for s in strong]
    top = strong[0]
    evidence = Evidence(value=float(top["strength"]), unit=spec["unit"], bin_low=None, bin_high=None,
                        start_s=float(top["start_s"]), end_s=float(top["end_s"]),
                        detail="joint pitch, energy and duration prominence; strongest first: " + ", ".join(names))
    return Descriptor(name="emphasis", value=", ".join(names), evidence=evidence)

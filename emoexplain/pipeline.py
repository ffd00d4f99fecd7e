"""explain(audio) -> Explanation: the acoustic profile (measured) beside the model's answer (predicted).

    load_audio -> explainer.predict (label probabilities, caption, transcript, word timings)
               -> acoustics.analyze (with the word timings, so emphasis lands on words)
               -> Explanation: where the model's descriptor words and the measured ones differ, both are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Explanation:
    emotion: dict                 # {"label": str, "probabilities": {label: p}}
    transcript: str | None
    caption: str | None
    descriptors: dict             # {"model": {name: word}, "measured": [descriptor dicts], "disagreements": [...],
                                  #  "emphasis": [{"word", "start_s", "end_s"}] the model's stressed words, timed}
    words: list                   # [{"word", "start_s", "end_s", "score"}]
    model: dict                   # {"name", "version"}
    acoustics: dict               # AcousticProfile.to_dict()
    warnings: list = field(default_factory=list)
    latency_s: dict = field(default_factory=dict)   # {"acoustics", "model", "total"}

    def to_dict(self) -> dict:
        return {"emotion": self.emotion, "transcript": self.transcript, "caption": self.caption,
                "descriptors": self.descriptors, "words": self.words, "model": self.model,
                "acoustics": self.acoustics, "warnings": list(self.warnings), "latency_s": self.latency_s}


@lru_cache(maxsize=1)
def default_explainer():
    """The process-wide default model ($EMOEXPLAIN_CHECKPOINT, else the demo checkpoint), loaded once."""
    from emoexplain.model import load_explainer
    return load_explainer()


def disagreements(model: dict[str, str], measured: list[dict]) -> list[dict]:
    """Descriptor names where the model's word differs from the measured word (both kept, nothing hidden)."""
    measured_words = {d["name"]: d["value"] for d in measured}
    return [{"name": name, "model": word, "measured": measured_words[name]}
            for name, word in sorted(model.items()) if name in measured_words and measured_words[name] != word]


def timed_emphasis(emphasis, timings: list[dict]) -> list[dict]:
    """The model's emphasised words with the times of their first aligned occurrence (None when unaligned)."""
    def key(word):
        return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")
    by_word = {}
    for t in timings:
        by_word.setdefault(key(t["word"]), t)
    out = []
    for word in emphasis:
        hit = by_word.get(key(word.split()[0])) if word.split() else None
        out.append({"word": word, "start_s": hit["start_s"] if hit else None, "end_s": hit["end_s"] if hit else None})
    return out


def explain(audio, explainer=None, *, max_seconds: float = 30.0, generate: bool = True) -> Explanation:
    """Explain one clip (path, ndarray, (ndarray, sr) or AudioClip) with ``explainer`` (None: the default)."""
    from emoexplain.acoustics import analyze, frame_track
    from emoexplain.audio import load_audio
    from emoexplain.model.alignment import segment_timings

    start = time.perf_counter()
    clip = load_audio(audio, max_seconds=max_seconds)      # an AudioClip comes back as is
    explainer = explainer or default_explainer()
    track_start = time.perf_counter()
    track = frame_track(clip.samples)     # once: the model's prosody input and the acoustic profile share it
    track_s = time.perf_counter() - track_start
    out = explainer.predict(clip.samples, generate=generate, track=track)
    model_done = time.perf_counter()
    timings = [w.to_dict() for w in out.words]
    profile = analyze(clip, word_timings=timings or None, max_seconds=max_seconds, track=track).to_dict()
    acoustics_s = track_s + time.perf_counter() - model_done
    # without a CTC head the words come from the acoustic emphasis segments (issue 4: "else fall back")
    words = timings or [w.to_dict() for w in segment_timings(profile.get("emphasis", []))]
    warnings = list(clip.warnings) + [w for w in profile.get("warnings", []) if w not in clip.warnings]
    if explainer.version == "untrained":
        warnings.append("The model checkpoint is untrained: its emotion, caption and descriptors are random.")
    if generate and out.caption is not None and not out.transcript:
        warnings.append("The model's caption holds no quoted transcript.")
    measured = profile.get("descriptors", [])
    return Explanation(
        emotion={"label": out.label, "probabilities": out.probabilities, "label_set": explainer.label_set},
        transcript=out.transcript, caption=out.caption,
        descriptors={"model": dict(out.descriptors), "measured": measured,
                     "disagreements": disagreements(out.descriptors, measured),
                     "emphasis": timed_emphasis(out.emphasis, timings)},
        words=words, model={"name": explainer.name, "version": explainer.version}, acoustics=profile,
        warnings=warnings,
        latency_s={"acoustics": round(acoustics_s, 4), "model": round(out.latency_s, 4),
                   "total": round(time.perf_counter() - start, 4)})

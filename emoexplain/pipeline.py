"""explain(audio) -> Explanation: the acoustic profile (measured) beside the model's answer (predicted).

    load_audio -> explainer.predict (label probabilities, caption, transcript, word timings)
               -> acoustics.analyze (with the word timings, so emphasis lands on words)
               -> Explanation: where the model's descriptor words and the measured ones differ, both are kept.

The result's types live in emoexplain/explanation.py.
"""

from __future__ import annotations

import time

from emoexplain.explanation import (Acoustics, DescriptorReport, Disagreement, Emotion, Explanation, Latency,
                                    ModelRef, StressedWord, WordTiming)
from emoexplain.text import normalize_word

__all__ = ["Explanation", "explain", "disagreements", "timed_emphasis"]


def disagreements(model: dict[str, str], measured: dict[str, str]) -> tuple[Disagreement, ...]:
    """Descriptor names where the model's word differs from the measured word (both kept, nothing hidden).
    ``model`` and ``measured`` map descriptor names to words."""
    return tuple(Disagreement(name, word, measured[name]) for name, word in sorted(model.items())
                 if name in measured and measured[name] != word)


def timed_emphasis(emphasis, timings: tuple[WordTiming, ...]) -> tuple[StressedWord, ...]:
    """The model's emphasised words with the times of their first aligned occurrence (None when unaligned)."""
    by_word: dict[str, WordTiming] = {}
    for t in timings:
        by_word.setdefault(normalize_word(t.word), t)
    out = []
    for word in emphasis:
        hit = by_word.get(normalize_word(word.split()[0])) if word.split() else None
        out.append(StressedWord(word, hit.start_s if hit else None, hit.end_s if hit else None))
    return tuple(out)


def explain(audio, explainer=None, *, max_seconds: float = 30.0, generate: bool = True) -> Explanation:
    """Explain one clip (path, ndarray, (ndarray, sr) or AudioClip) with ``explainer`` (None: the process's
    default model, emoexplain.model.holder.default_holder)."""
    from emoexplain.acoustics import analyze, frame_track
    from emoexplain.audio import load_audio

    start = time.perf_counter()
    clip = load_audio(audio, max_seconds=max_seconds)      # an AudioClip comes back as is
    if explainer is None:
        from emoexplain.model.holder import default_holder
        explainer = default_holder().get()
    track_start = time.perf_counter()
    track = frame_track(clip.samples)     # once: the model's prosody input and the acoustic profile share it
    track_s = time.perf_counter() - track_start
    out = explainer.predict(clip.samples, generate=generate, track=track)
    model_done = time.perf_counter()
    timings = tuple(out.words)
    profile = analyze(clip, word_timings=[w.to_dict() for w in timings] or None, max_seconds=max_seconds,
                      track=track)
    acoustics_s = track_s + time.perf_counter() - model_done
    warnings = list(clip.warnings) + [w for w in profile.warnings if w not in clip.warnings]
    if explainer.version == "untrained":
        warnings.append("The model checkpoint is untrained: its emotion, caption and descriptors are random.")
    if generate and out.caption is not None and not out.transcript:
        warnings.append("The model's caption holds no quoted transcript.")
    measured = tuple(profile.descriptors)
    return Explanation(
        emotion=Emotion(out.label, dict(out.probabilities), explainer.label_set),
        transcript=out.transcript, caption=out.caption,
        descriptors=DescriptorReport(model=dict(out.descriptors), measured=measured,
                                     disagreements=disagreements(out.descriptors, {d.name: d.value for d in measured}),
                                     emphasis=timed_emphasis(out.emphasis, timings)),
        words=timings, model=ModelRef(str(explainer.name), str(explainer.version)),
        acoustics=Acoustics.from_dict(profile.to_dict()), warnings=tuple(warnings),
        latency_s=Latency(acoustics=round(acoustics_s, 4), model=round(out.latency_s, 4),
                          total=round(time.perf_counter() - start, 4)))

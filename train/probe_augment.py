"""Counterfactual probes as training augmentation (``augment.p_probe``): teach the model to be faithful.

One probe transform per augmented clip, drawn uniformly: pitch -4/-2/+2/+4 st, monotone, pace x0.8/x1.25
(PSOLA, emoexplain/resynth.py) or level -10/+6 dB. The probe is then MEASURED by the acoustic engine and the
row's automatic descriptor words (and ``meta.measured``, so later re-binning augmentations stay consistent)
become the measured ones: the caption target says what the changed audio now sounds like, so a model that
learns it can only write the right words by listening to pitch, pace and level. Human or corpus words are not
overwritten; transforms whose target descriptor has such a word are not drawn.
"""

from __future__ import annotations

import random

import numpy as np

TRANSFORMS = (("pitch", -4.0), ("pitch", -2.0), ("pitch", 2.0), ("pitch", 4.0), ("monotone", 0.0),
              ("pace", 0.8), ("pace", 1.25), ("level", -10.0), ("level", 6.0))
TARGETS = {"pitch": ("pitch",), "monotone": ("pitch_variation", "tone"), "pace": ("speed",), "level": ("volume",)}
MIN_VOICED_S = 0.3


def probe_augment(samples: np.ndarray, row: dict, rng: random.Random) -> tuple[np.ndarray, dict]:
    """(transformed samples, row with the re-measured automatic words); the clip unchanged when nothing fits."""
    from emoexplain.acoustics import analyze, frame_track
    from emoexplain.descriptors import known_gender

    sources = row.get("descriptor_source") or {}
    track = frame_track(samples)
    voiced = float(np.sum(track.voiced)) * 0.01 >= MIN_VOICED_S
    allowed = [(k, v) for k, v in TRANSFORMS
               if all(sources.get(d, "automatic") == "automatic" for d in TARGETS[k])
               and (voiced or k in ("pace", "level")) and (k != "pace" or len(samples) / 16000 / v >= 0.5)]
    if not allowed:
        return samples, row
    kind, value = rng.choice(allowed)
    out = transform(samples, track, kind, value)
    profile = analyze((out, 16000), gender=known_gender(row.get("gender")), max_seconds=len(out) / 16000 + 1)
    return out, _with_words(row, profile, sources)


def transform(samples: np.ndarray, track, kind: str, value: float) -> np.ndarray:
    """One probe transform of ``samples`` (its frame track given), clipped to full scale."""
    from emoexplain.probes import _monotone
    from emoexplain.resynth import pitch_marks, psola

    if kind == "level":
        out = samples * 10 ** (value / 20)
    else:
        voiced = track.voiced if kind != "pace" or np.any(track.voiced) else np.zeros_like(track.voiced)
        marks = pitch_marks(samples, track.f0_hz, voiced)
        factor = 2 ** (value / 12) if kind == "pitch" else _monotone(track) if kind == "monotone" else 1.0
        out = psola(samples, marks, pitch_factor=factor, time_ratio=value if kind == "pace" else 1.0)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _with_words(row: dict, profile, sources: dict) -> dict:
    from emoexplain.descriptors import measure
    from train.augment import REBINNED

    words = {d.name: d.value for d in profile.descriptors if d.name != "emphasis"}
    descriptors = dict(row.get("descriptors") or {})
    for name, word in words.items():
        if sources.get(name, "automatic") == "automatic" and name in descriptors:
            descriptors[name] = word
    p = profile.to_dict(frames=False)
    meta = dict(row.get("meta") or {})
    keys = [measure(name) for name in REBINNED]      # as fill_descriptors stores them: what describe() binned
    meta["measured"] = {key: p[key.split(".")[0]][key.split(".")[1]] for key in keys}
    return {**row, "descriptors": descriptors, "meta": meta}

"""On-the-fly augmentation of training clips (speed, pitch, noise, gain), with descriptor targets adjusted.

Every augmentation that changes a measured quantity also updates the descriptor words that depend on it, so
the caption the model learns never contradicts the audio it hears:

| augmentation                  | audio                              | measured numbers changed            |
|-------------------------------|------------------------------------|-------------------------------------|
| speed (factor f, resampling)  | tempo and pitch both x f (Kaldi)   | syllables/s x f, pitch Hz x f       |
| tempo (factor f, TD-PSOLA)    | tempo x f, pitch and level kept    | syllables/s x f                     |
| pitch (s semitones)           | pitch x 2^(s/12), tempo kept       | pitch Hz x 2^(s/12)                 |
| gain (g dB)                   | level + g dB                       | energy dB + g                       |
| noise (SNR in dB)             | white noise added                  | none re-binned (small at >= 15 dB)  |
| probe (p_probe)               | one counterfactual probe (PSOLA)   | all words re-MEASURED (probe_augment)|

New words come from the app's own binning function on the app's own measure (``descriptors.bin_value``: the
median F0 for pitch, in the register describe() would pick); a row without those measured numbers
(``meta.measured``, written by ``train.data.manifest.fill_descriptors``) keeps its words and only gets the
augmentations that leave descriptors alone (noise).
Ranges are kept narrow by default because in the synthetic corpus pitch, rate and loudness ARE the emotion cue.
"""

from __future__ import annotations

import math
import random

import numpy as np

from emoexplain.audio import SAMPLE_RATE

DEFAULTS = {"p_speed": 0.0, "speed_range": [0.9, 1.1], "p_tempo": 0.0, "tempo_range": [0.8, 1.25],
            "p_pitch": 0.0, "pitch_semitones": 1.5,
            "p_noise": 0.0, "snr_db": [15.0, 40.0], "p_gain": 0.0, "gain_db": 3.0, "p_probe": 0.0}


def augment(samples: np.ndarray, row: dict, settings: dict, rng: random.Random) -> tuple[np.ndarray, dict]:
    """Return (augmented samples, row with descriptors updated). ``settings``: TrainConfig.augment."""
    from emoexplain.descriptors import measure

    s = {**DEFAULTS, **(settings or {})}
    if s["p_probe"] and rng.random() < s["p_probe"]:   # first, so that the re-binning below starts from its numbers
        from train.probe_augment import probe_augment
        samples, row = probe_augment(samples, row, rng)
    pitch, rate, level = (measure(name) for name in REBINNED)
    measured = dict(((row.get("meta") or {}).get("measured") or {}))
    can_rebin = all(measured.get(key) is not None for key in (pitch, rate, level))
    changed = False
    if can_rebin and rng.random() < s["p_speed"]:
        factor = quantize_speed(rng.uniform(*s["speed_range"]))
        samples = change_speed(samples, factor)
        measured[rate] *= factor
        measured[pitch] *= factor
        changed = True
    if can_rebin and rng.random() < s["p_tempo"]:
        factor = rng.uniform(*s["tempo_range"])
        samples = change_tempo(samples, factor)
        measured[rate] *= factor
        changed = True
    if can_rebin and rng.random() < s["p_pitch"]:
        semitones = rng.uniform(-s["pitch_semitones"], s["pitch_semitones"])
        samples = shift_pitch(samples, semitones)
        measured[pitch] *= 2 ** (semitones / 12)
        changed = True
    if can_rebin and rng.random() < s["p_gain"]:
        gain = rng.uniform(-s["gain_db"], s["gain_db"])
        samples = samples * 10 ** (gain / 20)
        measured[level] += gain
        changed = True
    if rng.random() < s["p_noise"]:
        samples = add_noise(samples, rng.uniform(*s["snr_db"]), rng)
    samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
    if changed:
        row = {**row, "descriptors": rebin(row.get("descriptors") or {}, row.get("descriptor_source") or {},
                                           measured, row.get("gender"))}
    return samples, row


def quantize_speed(factor: float, sr: int = SAMPLE_RATE, step: int = 100) -> float:
    """The nearest speed factor whose resampling rate is a multiple of ``step`` Hz. torchaudio's sinc kernel
    grows with (sr / gcd) x (new_sr / gcd): an arbitrary factor (gcd 1..20) costs seconds per clip and
    gigabytes; a multiple of 100 Hz keeps it to milliseconds (the factor moves by at most 0.4 %)."""
    new_sr = max(step, int(round(sr / factor / step)) * step)
    return sr / new_sr


def change_speed(samples: np.ndarray, factor: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Speed perturbation: play ``factor`` times faster (shorter, higher), by resampling. ``factor`` is first
    rounded with :func:`quantize_speed` (pass a quantized factor to know the exact one applied)."""
    import torch
    import torchaudio.functional as AF

    new_sr = int(round(sr / quantize_speed(factor, sr)))
    g = math.gcd(sr, new_sr)
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)), sr // g, new_sr // g)
    return out.numpy()


def change_tempo(samples: np.ndarray, factor: float) -> np.ndarray:
    """Tempo perturbation: ``factor`` times faster with pitch and level kept (the pace probe's TD-PSOLA), so
    that speaking rate alone stops deciding a label that pitch and level also carry."""
    from emoexplain.acoustics import frame_track
    from train.probe_augment import transform

    x = np.asarray(samples, dtype=np.float32)
    return transform(x, frame_track(x), "pace", factor)


def shift_pitch(samples: np.ndarray, semitones: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Pitch shift keeping the duration: resample by 2^(s/12), then stretch back with a phase vocoder."""
    import torch
    import torchaudio.functional as AF

    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    out = AF.pitch_shift(wave.unsqueeze(0), sr, n_steps=semitones, bins_per_octave=12, n_fft=512)
    return out.squeeze(0).numpy()[: len(samples)]


def add_noise(samples: np.ndarray, snr_db: float, rng: random.Random) -> np.ndarray:
    power = float(np.mean(samples.astype(np.float64) ** 2)) or 1e-10
    noise = np.random.default_rng(rng.getrandbits(32)).standard_normal(len(samples))
    return samples + noise * math.sqrt(power / 10 ** (snr_db / 10))


# --- descriptor re-binning -------------------------------------------------------------------------------
REBINNED = ("pitch", "speed", "volume")   # the descriptors whose measure an augmentation changes


def rebin(descriptors: dict, sources: dict, measured: dict, gender: str | None) -> dict:
    """Re-derive the automatic pitch/speed/volume words from changed numbers (human/corpus words are kept),
    with the app's binning function on the app's measure (``descriptors.bin_value``; ``measured`` is keyed by
    ``descriptors.measure(name)``, as ``fill_descriptors`` stores it)."""
    from emoexplain.descriptors import bin_value, known_gender, measure

    out = dict(descriptors)
    for name in REBINNED:
        if name in out and sources.get(name, "automatic") == "automatic":
            out[name] = bin_value(name, measured[measure(name)], gender=known_gender(gender)).word
    return out

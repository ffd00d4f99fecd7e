"""Measurements only: pitch, energy, speaking rate, tone, emphasis and voice quality on 10 ms frames.

Words ("high pitch", "fast") are made from these numbers in descriptors.py; nothing here interprets them.
Everything is relative to the clip itself (energy thresholds below its own peak, pitch in semitones re its
own median), so a recording's gain changes only the absolute energy numbers.
"""

from dataclasses import dataclass, field

import numpy as np

from emoexplain.audio import SAMPLE_RATE, AudioClip, load_audio
from emoexplain.pitch import PitchConfig, yin_track

HOP_S = 0.010            # one frame every 10 ms
ENERGY_WINDOW_S = 0.025  # RMS window for energy_db
SILENCE_DB = -25.0       # de Jong & Wempe: frames 25 dB below the 99th-percentile energy are silence
MIN_PAUSE_S = 0.25       # shorter silent stretches are closures or gaps between words, not pauses
MIN_DIP_DB = 2.0         # de Jong & Wempe: a syllable peak needs a 2 dB dip before the next peak
NUCLEUS_SMOOTH_S = 0.050  # intensity smoothing for syllable nuclei (Praat intensity with 100 Hz floor)
FINAL_S = 0.40           # the last 0.4 s of voicing is the utterance-final contour
EMPHASIS_Z = 1.0         # a segment is emphasised when its joint prominence z-score exceeds this
MAX_EMPHASIS = 3         # report at most this many emphasised segments


@dataclass(frozen=True)
class FrameTrack:
    times_s: np.ndarray      # (n,) frame centres, 10 ms apart
    f0_hz: np.ndarray        # (n,) NaN where unvoiced
    voiced: np.ndarray       # (n,) bool
    energy_db: np.ndarray    # (n,) RMS in dB re full scale (25 ms window)
    aperiodicity: np.ndarray | None = None  # (n,) YIN dip depth, 0 = periodic; used for HNR

    def to_dict(self) -> dict:
        return {"time_s": _rounded(self.times_s, 3), "f0_hz": _rounded(self.f0_hz, 2),
                "voiced": [bool(v) for v in self.voiced], "energy_db": _rounded(self.energy_db, 2)}


@dataclass(frozen=True)
class AcousticProfile:
    duration_s: float
    pitch: dict              # mean_hz, median_hz, p5_hz, p95_hz, range_semitones, variability_semitones, ...
    energy: dict             # mean_db, dynamic_range_db, peak_db
    rate: dict               # syllables_per_s, articulation_rate, pause_fraction, n_syllables, ...
    tone: dict               # final_change_semitones, final_slope_st_per_s, slope_st_per_s, ...
    voice_quality: dict      # jitter_percent, shimmer_percent, hnr_db (frame-level approximations)
    emphasis: tuple          # ({start_s, end_s, strength, word?}, ...) strongest first
    frames: FrameTrack
    audio: dict              # AudioClip.to_dict()
    warnings: tuple[str, ...] = ()
    nuclei_s: tuple = ()     # times of the syllable nuclei (for plots and checks)
    descriptors: tuple = field(default=(), compare=False)   # filled by analyze() via descriptors.describe

    def to_dict(self, *, frames: bool = True) -> dict:
        """frames=False leaves out the per-frame track (the bulk of the dict; a probe needs only the summary)."""
        return {"duration_s": round(self.duration_s, 3), "pitch": self.pitch, "energy": self.energy,
                "rate": self.rate, "tone": self.tone, "voice_quality": self.voice_quality,
                "emphasis": [dict(e) for e in self.emphasis],
                "descriptors": [d.to_dict() for d in self.descriptors],
                **({"frames": self.frames.to_dict()} if frames else {}), "nuclei_s": list(self.nuclei_s),
                "warnings": list(self.warnings), "audio": self.audio}


def analyze(audio, sample_rate=None, *, word_timings=None, max_seconds: float = 30.0,
            gender: str | None = None, track: FrameTrack | None = None) -> AcousticProfile:
    """Measure a clip: ``audio`` is a path, an ndarray (at ``sample_rate``), ``(ndarray, sr)`` or AudioClip.

    word_timings: optional list of {"word", "start_s", "end_s"}; emphasised segments then name their word.
    track: the clip's ``frame_track`` when the caller already has it (not computed again).
    Raises an AudioError subclass for audio that cannot be measured.
    """
    from emoexplain.descriptors import describe
    clip = load_audio(audio, sample_rate, max_seconds=max_seconds)
    profile = measure(clip, word_timings=word_timings, track=track)
    return _with_descriptors(profile, describe(profile, gender=gender))


def _with_descriptors(profile: AcousticProfile, descriptors) -> AcousticProfile:
    from dataclasses import replace
    return replace(profile, descriptors=tuple(descriptors))


def frame_track(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> FrameTrack:
    """F0 (with voicing) and RMS energy every 10 ms; ``samples`` mono float, resampled to 16 kHz if needed."""
    from emoexplain.audio import resample
    samples = resample(np.asarray(samples, dtype=np.float32), sample_rate)
    hop = int(HOP_S * SAMPLE_RATE)
    f0, voiced, aperiodicity = yin_track(samples, SAMPLE_RATE, hop, PitchConfig())
    energy = _energy_db(samples, hop)
    n = min(len(f0), len(energy))
    return FrameTrack(times_s=np.arange(n) * HOP_S, f0_hz=f0[:n], voiced=voiced[:n],
                      energy_db=energy[:n], aperiodicity=aperiodicity[:n])


def energy_track(samples: np.ndarray) -> np.ndarray:
    """The energy half of ``frame_track`` (dB, every 10 ms) for 16 kHz samples: enough to re-measure a clip
    whose gain alone changed, since the F0 track is gain-invariant (YIN and NCCF are scale-free and the
    silence test is relative to the loudest frame)."""
    return _energy_db(np.asarray(samples, dtype=np.float32), int(HOP_S * SAMPLE_RATE))


def measure(clip: AudioClip, *, word_timings=None, track: FrameTrack | None = None) -> AcousticProfile:
    """All the numbers for one clip (no descriptors); ``track``: its frame_track, if already computed."""
    track = frame_track(clip.samples) if track is None else track
    speech = speech_frames(track.energy_db)
    nuclei = syllable_nuclei(track, speech)
    segments = emphasis_segments(track, speech, nuclei, word_timings)
    return AcousticProfile(
        duration_s=clip.duration_s, pitch=pitch_stats(track), energy=energy_stats(track, speech),
        rate=rate_stats(track, speech, nuclei), tone=tone_stats(track), voice_quality=voice_quality(track, clip),
        emphasis=tuple(segments), frames=track, audio=clip.to_dict(), warnings=clip.warnings + _notes(track),
        nuclei_s=tuple(round(float(track.times_s[i]), 3) for i in nuclei))


# --- frames ----------------------------------------------------------------------------------------------
def _energy_db(samples: np.ndarray, hop: int) -> np.ndarray:
    window = int(ENERGY_WINDOW_S * SAMPLE_RATE)
    padded = np.pad(samples.astype(np.float64), (window // 2, window))
    power = np.cumsum(np.concatenate([[0.0], padded ** 2]))
    starts = np.arange(0, len(samples) + 1, hop)
    mean_power = (power[starts + window] - power[starts]) / window
    return 10 * np.log10(mean_power + 1e-10)


def speech_frames(energy_db: np.ndarray) -> np.ndarray:
    """Frames louder than the silence threshold, with silent gaps shorter than MIN_PAUSE_S filled in."""
    loud = energy_db > np.percentile(energy_db, 99) + SILENCE_DB
    gaps = _runs(~loud)
    min_len = int(round(MIN_PAUSE_S / HOP_S))
    for start, end in gaps:
        if end - start < min_len and start > 0 and end < len(loud):
            loud[start:end] = True
    return loud


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


# --- pitch and energy ------------------------------------------------------------------------------------
def _semitones(f0_hz: np.ndarray, reference_hz: float) -> np.ndarray:
    return 12 * np.log2(f0_hz / reference_hz)


def pitch_stats(track: FrameTrack) -> dict:
    f0 = track.f0_hz[track.voiced]
    if len(f0) < 3:
        return {"mean_hz": None, "median_hz": None, "p5_hz": None, "p95_hz": None, "range_semitones": None,
                "variability_semitones": None, "voiced_fraction": round(float(np.mean(track.voiced)), 3)}
    median = float(np.median(f0))
    p5, p95 = np.percentile(f0, [5, 95])
    # semitones re the clip's own median: a register-free measure of how much the voice moves
    st = _semitones(f0, median)
    return {"mean_hz": round(float(np.mean(f0)), 2), "median_hz": round(median, 2),
            "p5_hz": round(float(p5), 2), "p95_hz": round(float(p95), 2),
            "range_semitones": round(float(_semitones(p95, p5)), 2),
            "variability_semitones": round(float(np.std(st)), 2),
            "voiced_fraction": round(float(np.mean(track.voiced)), 3)}


def energy_stats(track: FrameTrack, speech: np.ndarray) -> dict:
    db = track.energy_db[speech] if speech.any() else track.energy_db
    p10, p95 = np.percentile(db, [10, 95])
    # mean of power, not of dB: loud syllables dominate loudness the way listeners hear it
    mean_db = 10 * np.log10(np.mean(10 ** (db / 10)))
    return {"mean_db": round(float(mean_db), 2), "median_db": round(float(np.median(db)), 2),
            "peak_db": round(float(np.max(db)), 2), "dynamic_range_db": round(float(p95 - p10), 2)}


# --- speaking rate (de Jong & Wempe 2009) -----------------------------------------------------------------
def syllable_nuclei(track: FrameTrack, speech: np.ndarray) -> np.ndarray:
    """Frame indices of syllable nuclei: voiced intensity peaks above the silence threshold with a dip
    of MIN_DIP_DB before the next peak."""
    smooth = _smooth(track.energy_db, int(round(NUCLEUS_SMOOTH_S / HOP_S)))
    threshold = np.percentile(smooth, 99) + SILENCE_DB
    is_peak = np.zeros(len(smooth), dtype=bool)
    is_peak[1:-1] = (smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:])
    peaks = np.flatnonzero(is_peak & (smooth > threshold))
    kept = []
    for i, peak in enumerate(peaks):
        following = peaks[i + 1] if i + 1 < len(peaks) else len(smooth)
        dip = smooth[peak:following].min()
        if smooth[peak] - dip >= MIN_DIP_DB and _voiced_near(track.voiced, peak):
            kept.append(peak)
    return np.array(kept, dtype=np.int64)


def _voiced_near(voiced: np.ndarray, index: int, reach: int = 2) -> bool:
    return bool(voiced[max(0, index - reach): index + reach + 1].any())


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return values
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    return np.convolve(np.pad(values, width, mode="edge"), kernel, mode="same")[width:-width]


def rate_stats(track: FrameTrack, speech: np.ndarray, nuclei: np.ndarray) -> dict:
    idx = np.flatnonzero(speech)
    if len(idx) == 0:
        return {"syllables_per_s": 0.0, "articulation_rate": 0.0, "pause_fraction": 1.0, "n_syllables": 0,
                "speech_s": 0.0, "phonation_s": 0.0, "n_pauses": 0}
    span = speech[idx[0]: idx[-1] + 1]
    span_s = len(span) * HOP_S                   # from the first to the last speech frame
    phonation_s = float(span.sum()) * HOP_S      # the same, without pauses
    n = len(nuclei)
    return {"syllables_per_s": round(n / span_s, 3), "articulation_rate": round(n / max(phonation_s, HOP_S), 3),
            "pause_fraction": round(1 - phonation_s / span_s, 3), "n_syllables": int(n),
            "speech_s": round(span_s, 3), "phonation_s": round(phonation_s, 3),
            "n_pauses": len(_runs(~span))}


# --- tone --------------------------------------------------------------------------------------------------
def tone_stats(track: FrameTrack) -> dict:
    """Overall slope and the shape of the last FINAL_S seconds of voicing, in semitones."""
    voiced = np.flatnonzero(track.voiced)
    empty = {"slope_st_per_s": None, "final_slope_st_per_s": None, "final_change_semitones": None,
             "final_start_s": None, "final_end_s": None}
    if len(voiced) < 5:
        return empty
    median = np.median(track.f0_hz[voiced])
    t, st = track.times_s[voiced], _semitones(track.f0_hz[voiced], median)
    slope = np.polyfit(t, st, 1)[0]
    final = voiced[track.times_s[voiced] >= track.times_s[voiced[-1]] - FINAL_S]
    if len(final) < 5:
        return {**empty, "slope_st_per_s": round(float(slope), 3)}
    ft, fst = track.times_s[final], _semitones(track.f0_hz[final], median)
    final_slope = np.polyfit(ft, fst, 1)[0]
    return {"slope_st_per_s": round(float(slope), 3), "final_slope_st_per_s": round(float(final_slope), 3),
            "final_change_semitones": round(float(final_slope * (ft[-1] - ft[0])), 3),
            "final_start_s": round(float(ft[0]), 3), "final_end_s": round(float(ft[-1]), 3)}


# --- emphasis ----------------------------------------------------------------------------------------------
def emphasis_segments(track: FrameTrack, speech: np.ndarray, nuclei: np.ndarray, word_timings=None) -> list:
    """The most prominent syllables (or words, when timings are given) by joint pitch, energy, duration.

    Each unit gets z-scores (across the clip's units) of its peak pitch in semitones, its peak energy and
    its duration; prominence is their mean. Units above EMPHASIS_Z are returned, strongest first.
    """
    units = _word_units(word_timings) if word_timings else _syllable_units(track, speech, nuclei)
    prominence = unit_prominence(track, units)
    if prominence is None:
        return []
    order = np.argsort(-prominence)
    out = []
    for i in order[:MAX_EMPHASIS]:
        if prominence[i] <= EMPHASIS_Z:
            break
        start, end, word = units[i]
        item = {"start_s": round(start, 3), "end_s": round(end, 3),
                "strength": round(float(np.clip(prominence[i] / 3, 0, 1)), 3)}
        if word is not None:
            item["word"] = word
        out.append(item)
    return out


def emphasis_units(track: FrameTrack, word_timings=None) -> list:
    """The units emphasis is scored on: (start_s, end_s, word or None) per word, else per syllable."""
    if word_timings:
        return _word_units(word_timings)
    speech = speech_frames(track.energy_db)
    return _syllable_units(track, speech, syllable_nuclei(track, speech))


def unit_features(track: FrameTrack, units) -> np.ndarray:
    """(n_units, 3): peak pitch in semitones re the clip median, peak energy in dB, duration in s (NaN: none)."""
    return np.array([_unit_features(track, start, end) for start, end, _ in units]).reshape(-1, 3)


def unit_prominence(track: FrameTrack, units) -> np.ndarray | None:
    """Each unit's prominence (mean z-score of its features across the units; -inf where unmeasurable), or
    None with fewer than 3 measurable units. The counterfactual probes re-score a fixed unit with it."""
    if len(units) < 3:
        return None
    feats = unit_features(track, units)
    usable = np.isfinite(feats).all(axis=1)
    if usable.sum() < 3:
        return None
    mean, std = feats[usable].mean(axis=0), feats[usable].std(axis=0) + 1e-6
    return np.where(usable, ((feats - mean) / std).mean(axis=1), -np.inf)


def _syllable_units(track: FrameTrack, speech: np.ndarray, nuclei: np.ndarray) -> list:
    """A syllable spans from the energy dip before its nucleus to the dip after it (within speech)."""
    smooth = _smooth(track.energy_db, int(round(NUCLEUS_SMOOTH_S / HOP_S)))
    units = []
    for i, peak in enumerate(nuclei):
        lo = nuclei[i - 1] if i > 0 else max(0, peak - 30)
        hi = nuclei[i + 1] if i + 1 < len(nuclei) else min(len(smooth) - 1, peak + 30)
        start = lo + int(np.argmin(smooth[lo: peak + 1]))
        end = peak + int(np.argmin(smooth[peak: hi + 1]))
        while start < peak and not speech[start]:
            start += 1
        while end > peak and not speech[end]:
            end -= 1
        units.append((float(track.times_s[start]), float(track.times_s[end]) + HOP_S, None))
    return units


def _word_units(word_timings) -> list:
    return [(float(w["start_s"]), float(w["end_s"]), str(w["word"])) for w in word_timings
            if float(w["end_s"]) > float(w["start_s"])]


def _unit_features(track: FrameTrack, start_s: float, end_s: float) -> tuple[float, float, float]:
    inside = (track.times_s >= start_s) & (track.times_s < end_s)
    if not inside.any():
        return (np.nan, np.nan, np.nan)
    voiced_f0 = track.f0_hz[inside & track.voiced]
    all_voiced = track.f0_hz[track.voiced]
    pitch = float(_semitones(voiced_f0.max(), np.median(all_voiced))) if len(voiced_f0) else np.nan
    return (pitch, float(track.energy_db[inside].max()), end_s - start_s)


# --- voice quality ----------------------------------------------------------------------------------------
def voice_quality(track: FrameTrack, clip: AudioClip) -> dict:
    """Frame-level approximations (not Praat's cycle-level values): jitter = mean relative change of the
    period between consecutive voiced frames, shimmer = the same for frame peak amplitude, HNR from YIN's
    aperiodicity d as 10*log10((1 - d) / d)."""
    both = track.voiced[1:] & track.voiced[:-1]
    if both.sum() < 5:
        return {"jitter_percent": None, "shimmer_percent": None, "hnr_db": None}
    period = 1.0 / track.f0_hz
    jitter = np.mean(np.abs(np.diff(period))[both]) / np.nanmean(period[track.voiced])
    amp = 10 ** (track.energy_db / 20)
    shimmer = np.mean(np.abs(np.diff(amp))[both]) / np.mean(amp[track.voiced])
    d = np.clip(track.aperiodicity[track.voiced], 1e-4, 0.9999)
    hnr = float(np.median(10 * np.log10((1 - d) / d)))
    return {"jitter_percent": round(100 * float(jitter), 3), "shimmer_percent": round(100 * float(shimmer), 3),
            "hnr_db": round(hnr, 2)}


def _notes(track: FrameTrack) -> tuple[str, ...]:
    if np.mean(track.voiced) < 0.05:
        return ("almost no voiced speech found: pitch, tone and emphasis are not measured",)
    return ()


def _rounded(values: np.ndarray, digits: int) -> list:
    """NaN -> None so that the dict is strict JSON."""
    return [None if not np.isfinite(v) else round(float(v), digits) for v in np.asarray(values, dtype=float)]

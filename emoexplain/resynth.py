"""Controlled re-synthesis for the counterfactual probes: pitch and tempo changes that keep the formants.

TD-PSOLA (Moulines & Charpentier 1990) on the acoustic engine's own F0 track: the clip is cut into grains
two periods long around pitch marks one period apart (every 5 ms where unvoiced), and the grains are laid
down again at the new period (pitch) and at a new time scale (pace). Each grain keeps the vocal tract's
impulse response, so the formants stay where they were; nothing is resampled.

Hand-written rather than WORLD (pyworld): the probes re-synthesise a clip eight times, and one WORLD
synthesis of 10 s costs about 130 ms on this CPU against about 20 ms here, which decides whether all probes
fit in 6x one ``explain`` (bench/bench_probe.py). With no change requested the output equals the input
(the asymmetric Hann halves around consecutive marks sum to one), so any change a probe shows is the one
it asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from emoexplain.audio import SAMPLE_RATE

HOP = 160                 # samples per acoustics frame (10 ms at 16 kHz): the F0 track's frame rate
UNVOICED_STEP = 80        # mark spacing where unvoiced (5 ms)
RESTORE_DB = 6.0          # restore_level corrects at most this much per frame
SNAP = 0.25              # a voiced mark may move this share of a period towards the local waveform peak


@dataclass(frozen=True)
class Marks:
    """Analysis pitch marks of one clip: sample positions, and whether each sits in a voiced stretch."""
    at: np.ndarray        # (M,) int sample positions, increasing, first 0 and last len(samples)
    voiced: np.ndarray    # (M,) bool
    frame: np.ndarray     # (M,) int index of the 10 ms frame each mark falls in


def pitch_marks(samples: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray) -> Marks:
    """Marks one period apart on voiced stretches (snapped to the low-passed waveform's peaks, so each grain
    is centred on a glottal pulse), every UNVOICED_STEP samples elsewhere. f0_hz/voiced: the 10 ms track."""
    from scipy.signal import butter, sosfiltfilt

    n = len(samples)
    smooth = sosfiltfilt(butter(2, 900, fs=SAMPLE_RATE, output="sos"), samples.astype(np.float64))
    voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0_hz)
    frames = len(voiced)
    at, is_voiced = [0], [False]
    t = 0
    while True:
        frame = min(t // HOP, frames - 1)
        if voiced[frame]:
            period = SAMPLE_RATE / f0_hz[frame]
            lo, hi = int(t + period * (1 - SNAP)), int(t + period * (1 + SNAP)) + 1
            if hi >= n:
                break
            nxt = lo + int(np.argmax(smooth[lo:hi]))
        else:
            nxt = t + UNVOICED_STEP
            if nxt >= n:
                break
        at.append(nxt)
        is_voiced.append(bool(voiced[min(nxt // HOP, frames - 1)]))
        t = nxt
    at.append(n)
    is_voiced.append(False)
    at = np.asarray(at, dtype=np.int64)
    return Marks(at=at, voiced=np.asarray(is_voiced), frame=np.minimum(at // HOP, frames - 1))


def psola(samples: np.ndarray, marks: Marks, *, pitch_factor: np.ndarray | float = 1.0,
          time_ratio: float = 1.0) -> np.ndarray:
    """Re-synthesise ``samples`` with F0 multiplied by ``pitch_factor`` and the tempo by ``time_ratio``.

    pitch_factor: a number, or one factor per 10 ms frame (monotone and emphasis probes change F0 locally).
    time_ratio: 1.25 = 25 % faster (output 1/1.25 as long); pitch is unchanged by it.
    Grains are scaled by sqrt(new period / old period) so that the level stays the same when the pitch moves.
    """
    x = np.asarray(samples, dtype=np.float64)
    n_frames = int(marks.frame.max()) + 1
    factor = np.broadcast_to(np.asarray(pitch_factor, dtype=np.float64), (n_frames,)) \
        if np.ndim(pitch_factor) == 0 else np.asarray(pitch_factor, dtype=np.float64)
    n_out = int(round(len(x) / time_ratio))
    centre, place, left, right, gain = _synthesis_plan(marks, factor, time_ratio, n_out)
    y = _overlap_add(x, centre, place, left, right, gain, n_out)
    return y if np.all(factor == 1.0) else restore_level(x, y)


def restore_level(original: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    """``shifted`` (same length) with the original's energy contour put back, frame by frame.

    Moving the grains closer or further apart changes how their tails overlap, which moves the level by up to
    2 dB (more for higher voices) and blurs the 2 dB intensity dips the syllable counter needs; a pitch probe
    should change the pitch only. The gain is the smoothed 10 ms energy difference, within +-6 dB, and 0 dB
    on frames 40 dB under the loud ones (no noise is lifted).
    """
    from emoexplain.acoustics import energy_track
    e0, e1 = energy_track(original), energy_track(shifted)
    n = min(len(e0), len(e1))
    gain = np.clip(e0[:n] - e1[:n], -RESTORE_DB, RESTORE_DB)
    gain[e0[:n] < np.percentile(e0[:n], 99) - 40.0] = 0.0
    gain = np.convolve(np.pad(gain, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    t = np.arange(len(shifted)) / HOP
    return (shifted * 10 ** (np.interp(t, np.arange(n), gain) / 20)).astype(np.float32)


def _synthesis_plan(marks: Marks, factor: np.ndarray, time_ratio: float, n_out: int):
    """Per output grain: source centre, output position, left/right half widths and gain (all (G,) arrays).

    A scalar walk over the output time (a few thousand steps per 10 s; plain floats keep it at ~5 ms).
    """
    at, voiced, frame = marks.at.tolist(), marks.voiced.tolist(), marks.frame.tolist()
    alpha = [float(factor[f]) for f in frame]
    centres, places, lefts, rights, gains = [], [], [], [], []
    tau, j, last = 0.0, 0, len(at) - 1
    while tau <= n_out:          # the last mark too: its rising half completes the clip's end
        src = tau * time_ratio
        while j < last and at[j + 1] <= src:
            j += 1
        k = j + 1 if j < last and at[j + 1] - src < src - at[j] else j      # the nearest analysis mark
        lw, rw = (at[k] - at[k - 1]) if k else 0, (at[k + 1] - at[k]) if k < last else 0
        if voiced[k]:
            step, gain, centre = rw / alpha[k], alpha[k] ** -0.5, at[k]     # a pulse, at the new period
        else:
            # noise: the grain at the exact mapped time, so that slowing down never repeats a grain (a grain
            # repeated every 5 ms would sound, and measure, as a 200 Hz voice); on marks when nothing changes
            step, gain, centre = rw or UNVOICED_STEP, 1.0, int(round(src))
        centres.append(centre)
        places.append(int(round(tau)))
        lefts.append(lw)
        rights.append(rw)
        gains.append(gain)
        tau += step
    return (np.asarray(centres), np.asarray(places), np.asarray(lefts), np.asarray(rights), np.asarray(gains))


def _overlap_add(x, centre, place, left, right, gain, n_out) -> np.ndarray:
    """Sum every grain x[c - l : c + r] (rising Hann half over l, falling half over r) x gain at its place."""
    pad = int(left.max()) + int(right.max()) + 1
    src = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    out = np.zeros(n_out + 2 * pad)
    for c, p, lw, rw, g in zip(centre.tolist(), place.tolist(), left.tolist(), right.tolist(), gain.tolist()):
        out[pad + p - lw: pad + p + rw] += src[pad + c - lw: pad + c + rw] * _window(lw, rw) * g
    return out[pad: pad + n_out].astype(np.float32)


@lru_cache(maxsize=4096)
def _half(n: int, rising: bool) -> np.ndarray:
    k = np.arange(n) / max(n, 1)
    return 0.5 - 0.5 * np.cos(np.pi * k) if rising else 0.5 + 0.5 * np.cos(np.pi * k)


@lru_cache(maxsize=8192)
def _window(lw: int, rw: int) -> np.ndarray:
    """A rising Hann half of lw samples then a falling one of rw (halves of neighbours sum to one)."""
    return np.concatenate([_half(lw, True), _half(rw, False)])

"""F0 tracking: vectorised YIN, NCCF voicing, and a Viterbi pass against octave jumps.

Why our own tracker: Praat (parselmouth) is GPL-3 and the project is MIT, librosa.pyin runs at about 12x real
time on one core (25x slower than Praat), and librosa.yin has no voicing decision. This is YIN (de Cheveigne &
Kawahara 2002) over all frames at once with numpy FFTs, a normalised cross-correlation (RAPT's NCCF) at the
chosen period for the voicing decision, and the candidate/path search that Praat uses to keep the contour
from jumping an octave. bench/bench_pitch.py measures it against Praat and pYIN; docs/acoustics.md has the
numbers (as accurate as Praat's ac method on known-F0 signals, 218x real time).
"""

from dataclasses import dataclass

import numpy as np
import scipy.fft


@dataclass(frozen=True)
class PitchConfig:
    fmin_hz: float = 60.0            # lowest F0 searched (deep male voices)
    fmax_hz: float = 500.0           # highest F0 searched (children, excited speech)
    window_s: float = 0.030          # YIN integration window
    threshold: float = 0.15          # YIN absolute threshold: first dip below it is the period
    voicing_threshold: float = 0.60  # frames whose best CMNDF dip is above this are unvoiced
    nccf_threshold: float = 0.45     # and so are frames whose normalised correlation at the period is below
                                     # this (Praat's voicing threshold is 0.45 on a similar measure)
    silence_db: float = -50.0        # frames this far below the loudest frame are unvoiced
    n_candidates: int = 3            # period candidates per frame kept for the path search
    octave_cost: float = 4.0         # path cost per octave jumped between consecutive voiced frames
    voicing_cost: float = 0.5        # path cost of switching voiced <-> unvoiced
    period_cost: float = 0.2         # cost per octave for a candidate that is a subharmonic of another (like
                                     # Praat's octave cost): in noise the 2x-period dip can be as deep as the true one


def yin_track(samples: np.ndarray, sample_rate: int, hop: int, config: PitchConfig = PitchConfig()):
    """Return (f0_hz with NaN where unvoiced, voiced bool, aperiodicity in [0, 1]) per hop-spaced frame.

    Frame i is centred on sample i * hop. aperiodicity is YIN's CMNDF minimum (0 = perfectly periodic).
    """
    tau_min = max(2, int(sample_rate / config.fmax_hz))
    tau_max = int(np.ceil(sample_rate / config.fmin_hz))
    window = int(config.window_s * sample_rate)
    # centre the analysis on i * hop: d(tau) compares x[j] with x[j + tau] for j in the window, so it
    # describes the stretch centred half a window plus half a typical period (150 Hz) after its start
    centre = (window + int(sample_rate / 150.0)) // 2
    frames = _frames(samples, window + tau_max, hop, centre)          # (n_frames, window + tau_max)
    cmndf, nccf = _cmndf(frames, window, tau_max)                      # (n_frames, tau_max + 1) each
    taus, costs = _candidates(cmndf, tau_min, tau_max, config)         # (n_frames, K) each
    loud = _frame_db(frames[:, :window])
    silent = loud < loud.max() + config.silence_db
    path_costs = _path_costs(taus, costs, tau_min, config)
    # the unvoiced state moves with the frame's cheapest candidate, so the period cost never decides voicing
    with np.errstate(invalid="ignore"):                               # inf - inf in frames without dips
        unvoiced = config.voicing_threshold + np.min(path_costs, axis=1) - np.min(costs, axis=1)
    best = _viterbi(taus, path_costs, silent, config, np.where(np.isfinite(unvoiced), unvoiced,
                                                                config.voicing_threshold))
    n = len(frames)
    period = taus[np.arange(n), np.maximum(best, 0)]
    depth = np.where(best >= 0, costs[np.arange(n), np.maximum(best, 0)], 1.0)
    lag = np.clip(np.round(period).astype(int), 0, nccf.shape[1] - 1)
    periodicity = np.where(best >= 0, nccf[np.arange(n), lag], 0.0)
    aperiodicity = 1.0 - np.clip(periodicity, 0.0, 1.0)
    voiced = (best >= 0) & (depth < config.voicing_threshold) & (periodicity > config.nccf_threshold) & ~silent
    f0 = np.where(voiced, sample_rate / np.where(period > 0, period, 1.0), np.nan)
    return f0.astype(np.float64), voiced, np.clip(aperiodicity, 0.0, 1.0)


def _frames(samples: np.ndarray, length: int, hop: int, pad_left: int) -> np.ndarray:
    """Frames of ``length`` samples; frame i starts ``pad_left`` samples before i * hop."""
    n_frames = 1 + len(samples) // hop
    padded = np.pad(samples.astype(np.float64), (pad_left, length))
    view = np.lib.stride_tricks.sliding_window_view(padded, length)[::hop]
    return view[:n_frames]


def _cmndf(frames: np.ndarray, window: int, tau_max: int) -> np.ndarray:
    """YIN's cumulative mean normalised difference d'(tau) for tau = 0..tau_max, all frames at once."""
    # the head (first `window` samples) correlated circularly over the whole frame never wraps for
    # tau <= tau_max, so the frame's own length suffices; a 5-smooth size is ~2.5x cheaper than a power of two
    n_fft = scipy.fft.next_fast_len(frames.shape[1], real=True)
    spectrum = np.fft.rfft(frames, n_fft)
    head = np.fft.rfft(frames[:, :window], n_fft)
    # r(tau) = sum_j x[j] x[j + tau] over the first `window` samples: a cross-correlation by FFT
    corr = np.fft.irfft(np.conj(head) * spectrum, n_fft)[:, : tau_max + 1]
    energy = np.cumsum(np.pad(frames ** 2, ((0, 0), (1, 0))), axis=1)
    e0 = energy[:, window][:, None]
    e_tau = energy[:, window: window + tau_max + 1] - energy[:, : tau_max + 1]
    diff = np.maximum(e0 + e_tau - 2 * corr, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    taus = np.arange(1, tau_max + 1)
    out = np.ones_like(diff)
    out[:, 1:] = diff[:, 1:] * taus / np.maximum(cumulative, 1e-12)
    # normalised cross-correlation (RAPT's NCCF): insensitive to loudness changes within the window
    nccf = corr / np.sqrt(np.maximum(e0 * e_tau, 1e-20))
    return out, nccf


def _candidates(cmndf: np.ndarray, tau_min: int, tau_max: int, config: PitchConfig):
    """The K deepest local minima of d' per frame, as parabolically refined periods and their depths.

    The YIN threshold rule (prefer the first dip under the threshold, not the deepest) becomes a bonus on
    that dip's cost, so the path search still sees the octave alternatives.
    """
    d = cmndf[:, tau_min - 1: tau_max + 1]
    is_min = (d[:, 1:-1] <= d[:, :-2]) & (d[:, 1:-1] < d[:, 2:])
    depth = np.where(is_min, d[:, 1:-1], np.inf)                       # candidates at tau_min..tau_max-1
    first = np.argmax(is_min & (d[:, 1:-1] < config.threshold), axis=1)
    has_first = (is_min & (d[:, 1:-1] < config.threshold)).any(axis=1)
    score = depth.copy()
    rows = np.arange(len(d))
    score[rows[has_first], first[has_first]] -= config.threshold       # favour YIN's pick
    k = config.n_candidates
    order = np.argsort(score, axis=1)[:, :k]
    chosen_depth = np.take_along_axis(depth, order, axis=1)
    # parabolic interpolation around each minimum for sub-sample periods
    i = order + 1
    left = np.take_along_axis(d, i - 1, axis=1)
    mid = np.take_along_axis(d, i, axis=1)
    right = np.take_along_axis(d, i + 1, axis=1)
    denom = left - 2 * mid + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    taus = (order + tau_min).astype(np.float64) + np.clip(shift, -1, 1)
    costs = np.where(np.isfinite(chosen_depth), chosen_depth, np.inf)
    return taus, costs


def _path_costs(taus: np.ndarray, costs: np.ndarray, tau_min: int, config: PitchConfig) -> np.ndarray:
    """Candidate costs for the path search: the dip depth, plus ``period_cost`` per octave for a candidate
    that is a subharmonic (2x or 3x the period, within 6 %) of another candidate of the same frame.

    In noise the dip at twice the period can be as deep as the true one (octave-down errors); penalising
    only exact multiples leaves alone the unrelated short-lag dips that formants produce.
    """
    ratio = taus[:, :, None] / np.maximum(taus[:, None, :], 1e-9)      # (n, K candidate, K other)
    octaves = np.zeros_like(ratio)
    for multiple in (2.0, 3.0):
        octaves = np.where(np.abs(ratio / multiple - 1) < 0.06, np.log2(multiple), octaves)
    octaves = np.where(np.isfinite(costs)[:, None, :], octaves, 0.0)  # only against real candidates
    return costs + config.period_cost * octaves.max(axis=2)


def _frame_db(frames: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def _viterbi(taus: np.ndarray, costs: np.ndarray, silent: np.ndarray, config: PitchConfig,
             unvoiced_cost: np.ndarray | None = None) -> np.ndarray:
    """Cheapest path through K period candidates + one unvoiced state; returns the candidate index or -1.

    Local cost: d' depth (+ period cost) for a candidate, ``unvoiced_cost`` (default: the voicing threshold)
    for "unvoiced". Transition cost: octaves
    jumped between consecutive voiced frames (so a one-frame octave error loses to a smooth contour).
    """
    n, k = taus.shape
    if unvoiced_cost is None:
        unvoiced_cost = np.full(n, config.voicing_threshold)
    local = np.concatenate([costs, unvoiced_cost[:, None]], axis=1)
    local[silent, :k] = np.inf
    local[silent, k] = 0.0
    log_tau = np.log2(np.where(taus > 0, taus, 1.0))
    # all transition matrices at once: (n - 1, from, to)
    trans = np.zeros((n - 1, k + 1, k + 1))
    trans[:, :k, :k] = config.octave_cost * np.abs(log_tau[:-1, :, None] - log_tau[1:, None, :])
    trans[:, :k, k] = trans[:, k, :k] = config.voicing_cost
    back = np.zeros((n, k + 1), dtype=np.int64)
    total = local[0].copy()
    columns = np.arange(k + 1)
    for t in range(1, n):
        step = total[:, None] + trans[t - 1]
        back[t] = np.argmin(step, axis=0)
        total = step[back[t], columns] + local[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return np.where(path == k, -1, path)

"""Re-synthesis for the probes (emoexplain/resynth.py): planted pitch, tempo and level changes are measured back."""

import numpy as np
import pytest

from emoexplain.acoustics import energy_track, frame_track
from helpers import synthesize_voice
from emoexplain.probes import _frame_shift_st, tempo_ratio
from emoexplain.resynth import pitch_marks, psola

SR = 16000


def _voice(seconds: float = 2.5, base_hz: float = 140.0) -> np.ndarray:
    """Syllables with gaps, a glide and a pitch accent: known F0, speech-like envelope."""
    t = np.arange(int(seconds * 100)) / 100
    f0 = base_hz * 2 ** ((1.5 * np.sin(2 * np.pi * 0.7 * t)) / 12)
    f0[(t % 0.5) > 0.38] = np.nan                                  # an unvoiced gap every half second
    return synthesize_voice(f0, jitter=0.005, shimmer=0.02, seed=1).astype(np.float32)


@pytest.fixture(scope="module")
def voice():
    x = _voice()
    track = frame_track(x)
    return x, track, pitch_marks(x, track.f0_hz, track.voiced)


def test_no_change_gives_the_input_back(voice):
    x, _, marks = voice
    assert np.array_equal(psola(x, marks), x.astype(np.float32))


@pytest.mark.parametrize("st", [-4.0, -2.0, 2.0, 4.0])
def test_pitch_shift_is_measured_back_within_0_3_semitones(voice, st):
    x, track, marks = voice
    y = psola(x, marks, pitch_factor=2 ** (st / 12))
    assert len(y) == len(x)
    got = _frame_shift_st(track, frame_track(y))
    assert got == pytest.approx(st, abs=0.3)
    # the level is kept (restore_level): a pitch probe changes the pitch only
    e0, e1 = energy_track(x), energy_track(y)
    loud = e0 > np.percentile(e0, 99) - 25
    assert abs(10 * np.log10(np.mean(10 ** (e1[loud] / 10)) / np.mean(10 ** (e0[loud] / 10)))) < 0.5


def _formant_hz(x: np.ndarray, track) -> float:
    """Peak of the voiced frames' average smoothed spectrum between 400 and 1200 Hz (F1 of the planted /a/)."""
    frames = [x[int(t * SR) - 256: int(t * SR) + 256] for t, v in zip(track.times_s, track.voiced)
              if v and 0.02 < t < len(x) / SR - 0.02]
    spec = np.mean([np.abs(np.fft.rfft(f * np.hanning(512))) ** 2 for f in frames], axis=0)
    freqs = np.fft.rfftfreq(512, 1 / SR)
    smooth = np.convolve(spec, np.ones(9) / 9, mode="same")           # 280 Hz wide: above the harmonics
    band = (freqs > 400) & (freqs < 1200)
    return float(freqs[band][np.argmax(smooth[band])])


def test_pitch_shift_keeps_the_formants(voice):
    """+4 st moves F0 by 26 %; the first formant (planted at 730 Hz) stays put, unlike a resampling."""
    x, track, marks = voice
    y = psola(x, marks, pitch_factor=2 ** (4 / 12))
    before, after = _formant_hz(x, track), _formant_hz(y, frame_track(y))
    assert abs(after - before) / before < 0.10


@pytest.mark.parametrize("ratio", [0.8, 1.25])
def test_pace_is_measured_back_within_5_percent_without_pitch_change(voice, ratio):
    x, track, marks = voice
    y = psola(x, marks, time_ratio=ratio)
    assert len(y) == round(len(x) / ratio)
    after = frame_track(y)
    assert tempo_ratio(track, after) == pytest.approx(ratio, rel=0.05)
    pitch = 12 * np.log2(np.nanmedian(after.f0_hz[after.voiced]) / np.nanmedian(track.f0_hz[track.voiced]))
    assert abs(pitch) < 0.3


def test_pitch_track_is_gain_invariant(voice):
    """Level probes re-measure only the energy: the F0 track of a scaled clip is the same track."""
    x, track, _ = voice
    for gain_db in (-10.0, 6.0):
        scaled = frame_track(x * 10 ** (gain_db / 20))
        assert np.array_equal(scaled.voiced, track.voiced)
        assert np.allclose(scaled.f0_hz[track.voiced], track.f0_hz[track.voiced], rtol=1e-6)
        e = energy_track(x * 10 ** (gain_db / 20))[: len(track.times_s)]
        loud = track.energy_db > -60
        assert np.allclose(e[loud] - track.energy_db[loud], gain_db, atol=0.01)


def test_local_pitch_factors_move_only_their_frames(voice):
    x, track, marks = voice
    factor = np.ones(len(track.times_s))
    span = (track.times_s >= 1.0) & (track.times_s < 1.35)
    factor[span] = 2 ** (-3 / 12)
    after = frame_track(psola(x, marks, pitch_factor=factor))
    both = track.voiced & after.voiced
    shift = 12 * np.log2(after.f0_hz / track.f0_hz)
    inner = both & (track.times_s >= 1.05) & (track.times_s < 1.3)
    outer = both & ((track.times_s < 0.9) | (track.times_s > 1.45))
    assert np.median(shift[inner]) == pytest.approx(-3.0, abs=0.3)
    assert np.median(np.abs(shift[outer])) < 0.1

"""Measurements against planted answers: known-F0 signals, espeak-ng speech at set pitch/rate/amplitude,
gain and time-scale transformations, glides for tone, an inserted louder+higher word for emphasis."""

import json

import numpy as np
import pytest

from emoexplain.acoustics import HOP_S, analyze, frame_track
from emoexplain.audio import load_audio
from helpers import synthesize_voice

SR = 16000


def _speech(synth_speech, **kwargs) -> np.ndarray:
    return load_audio(synth_speech(**kwargs)).samples


def _trim(samples: np.ndarray, db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing stretches quieter than ``db`` below the peak (espeak-ng pads its output)."""
    loud = np.flatnonzero(np.abs(samples) > np.max(np.abs(samples)) * 10 ** (db / 20))
    return samples[loud[0]: loud[-1] + 1]


def _gt_error(f0_true: np.ndarray, track):
    """(median relative error over frames voiced in both, voicing agreement over frames away from edges)."""
    n = min(len(f0_true), len(track.f0_hz))
    truth, est, voiced = f0_true[:n], track.f0_hz[:n], track.voiced[:n]
    true_voiced = np.isfinite(truth)
    both = true_voiced & voiced
    rel = np.abs(est[both] / truth[both] - 1)
    # frames within 30 ms of a voicing change are ambiguous in any tracker: leave them out
    edge = np.convolve(np.abs(np.diff(true_voiced.astype(int), prepend=true_voiced[0])), np.ones(7), "same") > 0
    return float(np.median(rel)), float(np.mean((voiced == true_voiced)[~edge]))


# --- F0 on signals with a known contour ----------------------------------------------------------------------
def test_pure_220_hz_tone(sine):
    profile = analyze((sine(220.0, seconds=1.5), SR))
    assert profile.pitch["median_hz"] == pytest.approx(220.0, abs=2.0)
    assert profile.pitch["mean_hz"] == pytest.approx(220.0, abs=2.0)
    assert profile.pitch["voiced_fraction"] > 0.9


@pytest.mark.parametrize("name", ["flat", "vibrato", "glide_up", "glide_down", "low", "gaps"])
@pytest.mark.parametrize("jitter,snr", [(0.0, None), (0.01, 20.0)])
def test_known_contours(name, jitter, snr):
    t = np.arange(250) * HOP_S
    contours = {
        "flat": np.full(len(t), 220.0),
        "vibrato": 180.0 * 2 ** (1.0 * np.sin(2 * np.pi * 5.5 * t) / 12),        # +-1 semitone at 5.5 Hz
        "glide_up": 100.0 * 2 ** (t / t[-1]),                                     # one octave up
        "glide_down": 320.0 * 2 ** (-t / t[-1]),
        "low": np.full(len(t), 72.0),
        "gaps": np.where((t % 0.8) < 0.55, 140.0 + 30 * np.sin(2 * np.pi * 0.7 * t), np.nan),
    }
    f0 = contours[name]
    track = frame_track(synthesize_voice(f0, SR, jitter=jitter, shimmer=2 * jitter, snr_db=snr, seed=3))
    median_error, voicing = _gt_error(f0, track)
    assert median_error < 0.02, f"{name}: median F0 error {median_error:.1%}"
    assert voicing > 0.93, f"{name}: voicing agreement {voicing:.1%}"
    assert np.all(np.isnan(track.f0_hz[~track.voiced])) and np.all(track.f0_hz[track.voiced] > 0)


def test_frame_track_shape_and_hop():
    x = synthesize_voice(np.full(120, 150.0), SR)
    track = frame_track(x)
    n = len(track.times_s)
    assert n == len(track.f0_hz) == len(track.voiced) == len(track.energy_db)
    assert abs(n - len(x) / SR / HOP_S) <= 2
    np.testing.assert_allclose(np.diff(track.times_s), HOP_S)
    # 44.1 kHz input is resampled: same track
    import soxr
    other = frame_track(soxr.resample(x, SR, 44100), 44100)
    assert np.nanmedian(other.f0_hz) == pytest.approx(np.nanmedian(track.f0_hz), rel=0.005)


def test_pitch_shift_by_four_semitones_on_speech(synth_speech):
    """Playing speech 2**(4/12) times faster (resampling) raises every F0 by 1.26x."""
    import soxr
    x = _speech(synth_speech)
    ratio = 2 ** (4 / 12)
    shifted = soxr.resample(x, SR * ratio, SR).astype(np.float32)
    a, b = analyze((x, SR)), analyze((shifted, SR))
    assert b.pitch["median_hz"] / a.pitch["median_hz"] == pytest.approx(ratio, rel=0.03)
    assert b.pitch["mean_hz"] / a.pitch["mean_hz"] == pytest.approx(ratio, rel=0.03)
    # semitone measures do not depend on the register
    assert b.pitch["range_semitones"] == pytest.approx(a.pitch["range_semitones"], abs=0.6)


# --- espeak-ng settings order the measurements --------------------------------------------------------------
def test_espeak_pitch_setting_orders_median_f0(synth_speech):
    medians = [analyze(synth_speech(pitch=p)).pitch["median_hz"] for p in (10, 50, 90)]
    assert medians[0] < medians[1] < medians[2]
    assert medians[2] / medians[0] > 1.5


def test_espeak_rate_setting_orders_syllable_rate(synth_speech):
    rates = [analyze(synth_speech(rate=r)).rate["syllables_per_s"] for r in (100, 160, 260)]
    assert rates[0] < rates[1] < rates[2], rates
    assert 2.0 < rates[0] < 4.5 and 4.5 < rates[2] < 9.0, rates


def test_syllable_count_near_the_text(synth_speech):
    """The sentence has 20 syllables; de Jong & Wempe nuclei count them within 25 % (slow speech over-counts:
    long diphthongs get two intensity peaks; docs/acoustics.md)."""
    for rate in (130, 175, 220):
        n = analyze(synth_speech(rate=rate)).rate["n_syllables"]
        assert 15 <= n <= 25, (rate, n)


def test_espeak_amplitude_orders_energy(synth_speech):
    levels = [analyze(synth_speech(amplitude=a)).energy["mean_db"] for a in (20, 60, 180)]
    assert levels[0] < levels[1] < levels[2]
    # espeak-ng's -a is linear in amplitude: 20 -> 180 is about +19 dB
    assert levels[2] - levels[0] == pytest.approx(20 * np.log10(180 / 20), abs=2.0)


# --- transformations ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gain_db", [6.0, -20.0])
def test_gain_changes_energy_only(synth_speech, gain_db):
    x = _speech(synth_speech) * 0.5
    a, b = analyze((x, SR)), analyze((x * 10 ** (gain_db / 20), SR))
    assert b.energy["mean_db"] - a.energy["mean_db"] == pytest.approx(gain_db, abs=0.5)
    assert b.energy["peak_db"] - a.energy["peak_db"] == pytest.approx(gain_db, abs=0.5)
    assert b.energy["dynamic_range_db"] == pytest.approx(a.energy["dynamic_range_db"], abs=0.3)
    for key in ("median_hz", "range_semitones", "variability_semitones"):
        assert b.pitch[key] == pytest.approx(a.pitch[key], rel=0.01, abs=0.02), key
    for key in ("syllables_per_s", "pause_fraction", "n_syllables"):
        assert b.rate[key] == pytest.approx(a.rate[key], abs=1e-6), key
    assert b.tone["final_change_semitones"] == pytest.approx(a.tone["final_change_semitones"], abs=0.05)
    assert [e["start_s"] for e in b.emphasis] == [e["start_s"] for e in a.emphasis]


@pytest.mark.parametrize("rate,text", [(160, None), (130, "Nobody knew what would happen to the little village "
                                                          "after the storm had passed.")])
def test_time_stretch_raises_syllable_rate(synth_speech, rate, text):
    """A 1.3x time compression (phase vocoder, pitch kept) raises syllables/s by 1.3 +- 15 %."""
    import librosa
    x = _speech(synth_speech, rate=rate, **({"text": text} if text else {}))
    fast = librosa.effects.time_stretch(x, rate=1.3, n_fft=512)     # 32 ms frames: syllable dips survive
    a, b = analyze((x, SR)), analyze((fast, SR))
    assert b.rate["syllables_per_s"] / a.rate["syllables_per_s"] == pytest.approx(1.3, rel=0.15)
    assert b.pitch["median_hz"] == pytest.approx(a.pitch["median_hz"], rel=0.03)


def test_pause_fraction_counts_an_inserted_pause(synth_speech):
    a = _trim(_speech(synth_speech, text="The weather was fine this morning"))
    b = _trim(_speech(synth_speech, text="so we walked down to the river"))
    joined = np.concatenate([a, np.zeros(SR), b]).astype(np.float32)
    together = np.concatenate([a, b]).astype(np.float32)
    paused, plain = analyze((joined, SR)).rate, analyze((together, SR)).rate
    assert paused["n_pauses"] >= 1 and paused["n_pauses"] > plain["n_pauses"] - 1
    assert paused["pause_fraction"] - plain["pause_fraction"] == pytest.approx(1.0 / paused["speech_s"], abs=0.05)
    # the pause does not change articulation rate (syllables per second of phonation)
    assert paused["articulation_rate"] == pytest.approx(plain["articulation_rate"], rel=0.12)
    assert paused["syllables_per_s"] < plain["syllables_per_s"]


# --- tone ---------------------------------------------------------------------------------------------------
def _syllables(f0_final, seconds=2.0, base=140.0):
    """Syllable-like voiced bursts (180 ms on, 70 ms off) at ``base`` Hz; the last 0.5 s follows f0_final."""
    n = int(seconds / HOP_S)
    t = np.arange(n) * HOP_S
    f0 = np.full(n, base)
    tail = t >= seconds - 0.5
    f0[tail] = f0_final((t[tail] - t[tail][0]) / 0.5)
    f0[((t % 0.25) >= 0.18) & ~tail] = np.nan
    return f0


@pytest.mark.parametrize("semitones,word", [(5.0, "rising"), (-5.0, "falling"), (0.0, "level")])
def test_tone_on_final_glides(semitones, word):
    f0 = _syllables(lambda u: 140.0 * 2 ** (semitones * u / 12))
    profile = analyze((synthesize_voice(f0, SR, jitter=0.005, seed=1), SR))
    change = profile.tone["final_change_semitones"]
    if semitones:
        assert np.sign(change) == np.sign(semitones) and abs(change) == pytest.approx(abs(semitones) * 0.8, abs=1.5)
    else:
        assert abs(change) < 0.5
    tone = {d.name: d.value for d in profile.descriptors}["tone"]
    assert tone == word


def test_question_rises_statement_falls(synth_speech):
    question = analyze(synth_speech(text="Are you coming to the party tonight?")).tone["final_change_semitones"]
    statement = analyze(synth_speech(text="I am coming to the party tonight.")).tone["final_change_semitones"]
    assert question > statement


# --- emphasis -----------------------------------------------------------------------------------------------
def test_emphasis_finds_a_louder_higher_word(synth_speech):
    before = _trim(_speech(synth_speech, text="I told you to bring the"))
    word = _trim(_speech(synth_speech, text="blue", pitch=85, amplitude=200, rate=120))
    after = _trim(_speech(synth_speech, text="one and not the other one"))
    gap = np.zeros(int(0.05 * SR), dtype=np.float32)
    x = np.concatenate([before, gap, word, gap, after]).astype(np.float32)
    start = (len(before) + len(gap)) / SR
    end = start + len(word) / SR
    profile = analyze((x, SR))
    top = profile.emphasis[0]
    assert top["start_s"] < end and top["end_s"] > start, (top, start, end)       # overlaps the word
    # with word timings, the emphasised word is named
    timings = [{"word": "told", "start_s": 0.1, "end_s": 0.4}, {"word": "bring", "start_s": 0.6, "end_s": 0.9},
               {"word": "the", "start_s": 0.95, "end_s": start - 0.05}, {"word": "blue", "start_s": start, "end_s": end},
               {"word": "one", "start_s": end + 0.05, "end_s": end + 0.35},
               {"word": "other", "start_s": end + 0.7, "end_s": end + 1.1}]
    named = analyze((x, SR), word_timings=timings)
    assert named.emphasis[0]["word"] == "blue"
    desc = {d.name: d for d in named.descriptors}["emphasis"]
    assert desc.value.split(", ")[0] == "blue"
    assert desc.evidence.start_s == pytest.approx(start, abs=0.01)


def test_no_emphasis_on_a_uniform_syllable_train():
    f0 = _syllables(lambda u: np.full(len(u), 140.0), seconds=3.0)
    profile = analyze((synthesize_voice(f0, SR), SR))
    assert profile.emphasis == ()


# --- voice quality and output -------------------------------------------------------------------------------
def test_voice_quality_moves_with_jitter_and_noise():
    f0 = np.full(200, 130.0)
    clean = analyze((synthesize_voice(f0, SR, seed=2), SR)).voice_quality
    jittery = analyze((synthesize_voice(f0, SR, jitter=0.03, seed=2), SR)).voice_quality
    noisy = analyze((synthesize_voice(f0, SR, snr_db=5.0, seed=2), SR)).voice_quality
    assert jittery["jitter_percent"] > 2 * clean["jitter_percent"]
    assert noisy["hnr_db"] < clean["hnr_db"] - 5


def test_profile_dict_is_strict_json_with_stable_keys(speech_wav):
    d = analyze(speech_wav).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    for key in ("duration_s", "pitch", "energy", "rate", "tone", "voice_quality", "emphasis", "descriptors",
                "frames", "warnings", "audio", "nuclei_s"):
        assert key in d, key
    assert {"mean_hz", "median_hz", "range_semitones", "variability_semitones"} <= set(d["pitch"])
    assert {"mean_db", "dynamic_range_db"} <= set(d["energy"])
    assert {"syllables_per_s", "articulation_rate", "pause_fraction"} <= set(d["rate"])
    frames = d["frames"]
    assert set(frames) == {"time_s", "f0_hz", "voiced", "energy_db"}
    assert len({len(v) for v in frames.values()}) == 1
    assert all((f is None) == (not v) for f, v in zip(frames["f0_hz"], frames["voiced"]))
    assert all(0 <= t <= d["duration_s"] for t in d["nuclei_s"])
    assert len(d["nuclei_s"]) == d["rate"]["n_syllables"]
    for e in d["emphasis"]:
        assert 0 <= e["start_s"] < e["end_s"] <= d["duration_s"] + HOP_S and 0 < e["strength"] <= 1


def test_unvoiced_noise_reports_no_pitch():
    rng = np.random.default_rng(0)
    profile = analyze((0.1 * rng.standard_normal(SR * 2).astype(np.float32), SR))
    assert profile.pitch["median_hz"] is None or profile.pitch["voiced_fraction"] < 0.05
    assert "pitch" not in {d.name for d in profile.descriptors}
    assert any("no voiced speech" in w for w in profile.warnings)
    json.dumps(profile.to_dict(), allow_nan=False)

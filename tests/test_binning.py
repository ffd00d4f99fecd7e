"""One binning function: what the app says (describe) and what training re-bins after augmentation agree,
because both call descriptors.bin_value on the same measure (the median F0 for pitch)."""

import random

import numpy as np
import pytest

from emoexplain.descriptors import bin_value, describe, measure
from train.augment import augment, rebin


def profile(median_hz: float, mean_hz: float) -> dict:
    return {"duration_s": 3.0, "pitch": {"median_hz": median_hz, "mean_hz": mean_hz, "variability_semitones": 1.5},
            "energy": {"mean_db": -20.0}, "rate": {"syllables_per_s": 4.0, "n_syllables": 12, "speech_s": 3.0},
            "tone": {"final_change_semitones": 0.0, "final_start_s": 2.6, "final_end_s": 3.0, "slope_st_per_s": 0.0},
            "emphasis": []}


@pytest.mark.parametrize("median_hz", [180.0, 200.0, 220.0])
def test_describe_and_augmentation_rebinning_give_the_same_pitch_word(median_hz):
    # gender unknown: the register is estimated from the median F0 (>= 165 Hz: the female edges 163-227 Hz)
    said = {d.name: d.value for d in describe(profile(median_hz, mean_hz=median_hz * 1.2))}["pitch"]
    measured = {measure("pitch"): median_hz, measure("speed"): 4.0, measure("volume"): -20.0}
    rebinned = rebin({"pitch": "?", "speed": "?", "volume": "?"}, {}, measured, gender=None)
    assert said == rebinned["pitch"] == bin_value("pitch", median_hz).word == "normal"
    # the old re-binning took the male edges for an unknown gender: 180-220 Hz read "high" there
    assert bin_value("pitch", median_hz, gender="male").word == "high"


def test_the_measure_is_the_median_not_the_mean():
    assert measure("pitch") == "pitch.median_hz"
    # a clip whose mean F0 (230 Hz) is above the female "normal" bin but whose median (200 Hz) is inside it
    said = {d.name: d for d in describe(profile(200.0, mean_hz=230.0))}["pitch"]
    assert said.value == "normal" and said.evidence.value == 200.0


def test_training_rows_store_the_measure_describe_binned_and_augmentation_uses_it(synth_speech):
    from emoexplain.audio import load_audio
    from train.data.manifest import fill_descriptors

    clip = load_audio(synth_speech(pitch=70))
    row = fill_descriptors({"audio": "x.wav", "descriptors": {}, "descriptor_source": {}, "gender": None},
                           clip.samples)
    stored = row["meta"]["measured"]
    assert set(stored) == {"pitch.median_hz", "rate.syllables_per_s", "energy.mean_db"}
    assert row["descriptors"]["pitch"] == bin_value("pitch", stored["pitch.median_hz"]).word
    # a gain change of 0 dB re-bins every automatic word and must reproduce the measured ones exactly
    _, same = augment(clip.samples, row, {"p_gain": 1.0, "gain_db": 0.0}, random.Random(0))
    assert {k: same["descriptors"][k] for k in ("pitch", "speed", "volume")} == \
        {k: row["descriptors"][k] for k in ("pitch", "speed", "volume")}
    assert np.isfinite(stored["pitch.median_hz"])

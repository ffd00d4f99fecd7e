"""Probes as training augmentation (train/probe_augment.py): the caption targets are the re-measured words."""

import random

import numpy as np

from emoexplain.acoustics import analyze, frame_track
from helpers import synthesize_voice
from train.probe_augment import probe_augment, transform


def _row(samples, gender="male"):
    p = analyze((samples, 16000), gender=gender)
    words = {d.name: d.value for d in p.descriptors if d.name != "emphasis"}
    return {"audio": "x.wav", "emotion": "neutral", "gender": gender, "descriptors": words,
            "descriptor_source": {k: "automatic" for k in words},
            "meta": {"measured": {"pitch.median_hz": p.pitch["median_hz"],
                                  "rate.syllables_per_s": p.rate["syllables_per_s"], "energy.mean_db": p.energy["mean_db"]}}}


def _voice():
    t = np.arange(250) / 100
    f0 = 135 * 2 ** (np.sin(2 * np.pi * 0.8 * t) / 12)
    f0[(t % 0.4) > 0.3] = np.nan
    return synthesize_voice(f0, seed=3).astype(np.float32)


def test_pitch_up_probe_moves_the_target_word_to_what_is_measured():
    x = _voice()
    row = _row(x)
    assert row["descriptors"]["pitch"] == "normal"                    # 135 Hz, male register
    y = transform(x, frame_track(x), "pitch", 4.0)                    # -> about 170 Hz: "high" for a man
    assert _row(y)["descriptors"]["pitch"] == "high"


def test_augmented_rows_say_what_the_changed_audio_measures():
    x = _voice()
    row = _row(x)
    seen = set()
    for seed in range(12):
        y, new = probe_augment(x, row, random.Random(seed))
        seen.add(len(y) != len(x) or not np.allclose(y, x))
        measured = _row(y)
        assert new["descriptors"] == measured["descriptors"]
        assert new["meta"]["measured"] == measured["meta"]["measured"]
    assert True in seen


def test_human_words_are_kept_and_their_transforms_not_drawn():
    x = _voice()
    row = {**_row(x), "descriptor_source": {"pitch": "human", "speed": "automatic", "volume": "automatic",
                                            "pitch_variation": "human", "tone": "human"}}
    row["descriptors"]["pitch"] = "low"                               # what a person said
    for seed in range(8):
        y, new = probe_augment(x, row, random.Random(seed))
        assert new["descriptors"]["pitch"] == "low"
        assert abs(len(y) / len(x) - 1) > 0.1 or np.allclose(frame_track(y).f0_hz[frame_track(x).voiced],
                                                             frame_track(x).f0_hz[frame_track(x).voiced],
                                                             equal_nan=True, rtol=1e-3)


def test_p_probe_is_a_config_flag_of_augment():
    from train.augment import augment
    from train.config import TrainConfig
    cfg = TrainConfig.from_dict({"augment": {"p_probe": 1.0}})
    x = _voice()
    row = _row(x)
    y, new = augment(x, row, cfg.augment, random.Random(1))
    assert new["descriptors"] == _row(y)["descriptors"]
    y0, row0 = augment(x, row, {"p_probe": 0.0, "p_noise": 0.0}, random.Random(1))
    assert np.array_equal(y0, np.clip(x, -1, 1)) and row0 == row

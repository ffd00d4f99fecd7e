"""Descriptor words: the fixed vocabulary, evidence consistent with the bins JSON, and words that move the
right way when the speech changes."""

import copy
import json

import numpy as np
import pytest

from emoexplain import descriptors as D
from emoexplain.acoustics import analyze
from emoexplain.audio import load_audio
from emoexplain.errors import ConfigError

SR = 16000
CONTRACT = {
    "pitch": ("low", "normal", "high"),
    "volume": ("low", "normal", "high"),
    "speed": ("slow", "normal", "fast"),
    "pitch_variation": ("very monotone", "monotone", "slightly expressive", "expressive", "very expressive"),
    "tone": ("falling", "level", "rising"),
    "emphasis": (),
}


def _words(profile) -> dict:
    return {d.name: d.value for d in profile.descriptors}


def _measure(d: dict, path: str):
    section, key = path.split(".")
    return d[section][key]


def test_vocabulary_is_the_contract():
    assert D.vocabulary() == CONTRACT
    bins = json.loads(D.BINS_PATH.read_text())
    assert D.BINS_VERSION == bins["version"]


def test_bins_are_well_formed():
    spec = D.load_bins()["descriptors"]
    for name, entry in spec.items():
        if name == "emphasis":
            continue
        edge_sets = entry["edges"].values() if isinstance(entry["edges"], dict) else [entry["edges"]]
        for edges in edge_sets:
            assert list(edges) == sorted(edges) and len(set(edges)) == len(edges), name
            assert len(edges) == len(entry["words"]) - 1, name


def test_evidence_matches_the_measurement_and_the_bins(speech_wav):
    profile = analyze(speech_wav)
    d = profile.to_dict()
    spec = D.load_bins()["descriptors"]
    names = [x["name"] for x in d["descriptors"]]
    assert len(names) == len(set(names))
    assert {"pitch", "volume", "speed", "pitch_variation", "tone"} <= set(names)
    for desc in d["descriptors"]:
        ev, entry = desc["evidence"], spec[desc["name"]]
        assert desc["source"] == "measured"
        assert set(ev) == {"value", "unit", "bin_low", "bin_high", "start_s", "end_s", "detail"}
        assert ev["unit"] == entry["unit"] and ev["detail"]
        assert 0.0 <= ev["start_s"] <= ev["end_s"] <= d["duration_s"] + 0.01
        if desc["name"] == "emphasis":
            assert ev["value"] == d["emphasis"][0]["strength"]
            continue
        assert ev["value"] == pytest.approx(_measure(d, entry["measure"]), abs=1e-3)
        edges = entry["edges"]
        if isinstance(edges, dict):                      # pitch: per register
            register = "male" if "male register" in ev["detail"] and "female" not in ev["detail"] else "female"
            edges = edges[register]
        i = entry["words"].index(desc["value"])
        assert ev["bin_low"] == (edges[i - 1] if i > 0 else None)
        assert ev["bin_high"] == (edges[i] if i < len(edges) else None)
        assert (ev["bin_low"] is None or ev["bin_low"] <= ev["value"]) and \
               (ev["bin_high"] is None or ev["value"] < ev["bin_high"])
    tone = next(x for x in d["descriptors"] if x["name"] == "tone")["evidence"]
    assert (tone["start_s"], tone["end_s"]) == (d["tone"]["final_start_s"], d["tone"]["final_end_s"])


def test_word_for_edges():
    edges, words = [1.0, 2.0], ["a", "b", "c"]
    assert D.word_for(0.5, edges, words) == ("a", None, 1.0)
    assert D.word_for(1.0, edges, words) == ("b", 1.0, 2.0)       # an edge belongs to the upper bin
    assert D.word_for(1.999, edges, words) == ("b", 1.0, 2.0)
    assert D.word_for(2.0, edges, words) == ("c", 2.0, None)
    assert D.word_for(-1e9, edges, words)[0] == "a" and D.word_for(1e9, edges, words)[0] == "c"


def _profile_dict(median_hz=120.0, variability=1.5, mean_db=-20.0, rate=4.0, final=0.0, emphasis=()):
    return {"duration_s": 3.0,
            "pitch": {"median_hz": median_hz, "variability_semitones": variability},
            "energy": {"mean_db": mean_db},
            "rate": {"syllables_per_s": rate, "n_syllables": int(rate * 3), "speech_s": 3.0},
            "tone": {"final_change_semitones": final, "final_start_s": 2.6, "final_end_s": 3.0, "slope_st_per_s": 0.0},
            "emphasis": list(emphasis)}


def test_register_estimate_and_given_gender():
    threshold = D.load_bins()["register"]["threshold_hz"]
    low_voice = {d.name: d for d in D.describe(_profile_dict(median_hz=threshold - 20))}["pitch"]
    high_voice = {d.name: d for d in D.describe(_profile_dict(median_hz=threshold + 20))}["pitch"]
    assert "male register estimated" in low_voice.evidence.detail
    assert "female register estimated" in high_voice.evidence.detail
    # the same 150 Hz is high for a man and low for a woman
    as_male = {d.name: d.value for d in D.describe(_profile_dict(median_hz=150.0), gender="male")}["pitch"]
    as_female = {d.name: d.value for d in D.describe(_profile_dict(median_hz=150.0), gender="female")}["pitch"]
    assert (as_male, as_female) == ("high", "low")
    with pytest.raises(ConfigError):
        D.describe(_profile_dict(), gender="robot")


@pytest.mark.parametrize("field,values,name", [
    ("mean_db", (-45.0, -20.0, -5.0), "volume"),
    ("rate", (2.0, 4.0, 7.0), "speed"),
    ("final", (-6.0, 0.0, 6.0), "tone"),
    ("variability", (0.3, 1.5, 2.5, 3.5, 6.0), "pitch_variation"),
])
def test_each_bin_is_reachable_in_order(field, values, name):
    words = [{d.name: d.value for d in D.describe(_profile_dict(**{field: v}))}[name] for v in values]
    assert tuple(words) == CONTRACT[name]


def test_custom_bins_change_the_words():
    bins = copy.deepcopy(D.load_bins())
    bins["descriptors"]["speed"]["edges"] = [1.0, 2.0]
    default = {d.name: d.value for d in D.describe(_profile_dict(rate=4.0))}["speed"]
    custom = {d.name: d for d in D.describe(_profile_dict(rate=4.0), bins)}["speed"]
    assert (default, custom.value) == ("normal", "fast")
    assert (custom.evidence.bin_low, custom.evidence.bin_high) == (2.0, None)


def test_describe_accepts_a_profile_or_its_dict(speech_wav):
    profile = analyze(speech_wav)
    from_profile = [d.to_dict() for d in D.describe(profile)]
    from_dict = [d.to_dict() for d in D.describe(profile.to_dict())]
    assert from_profile == from_dict == profile.to_dict()["descriptors"]


def test_emphasis_descriptor_names_words_and_keeps_unaligned_segments_in_the_evidence():
    segments = [{"start_s": 1.2, "end_s": 1.55, "strength": 0.6}, {"start_s": 0.3, "end_s": 0.5, "strength": 0.4}]
    desc = {d.name: d for d in D.describe(_profile_dict(emphasis=segments))}["emphasis"]
    assert desc.value == ""   # no aligned words: a time span is not a word
    assert "(1.20-1.55 s), (0.30-0.50 s)" in desc.evidence.detail
    assert (desc.evidence.start_s, desc.evidence.end_s, desc.evidence.value) == (1.2, 1.55, 0.6)
    worded = [dict(segments[0], word="never")]
    assert {d.name: d.value for d in D.describe(_profile_dict(emphasis=worded))}["emphasis"] == "never"
    assert "emphasis" not in {d.name for d in D.describe(_profile_dict())}


# --- words move with the speech -----------------------------------------------------------------------------
def _rank(name, word):
    return CONTRACT[name].index(word)


def test_espeak_pitch_low_vs_high(synth_speech):
    low, high = _words(analyze(synth_speech(pitch=5))), _words(analyze(synth_speech(pitch=95)))
    assert (low["pitch"], high["pitch"]) == ("low", "high")


def test_espeak_rate_slow_vs_fast(synth_speech):
    words = [_words(analyze(synth_speech(rate=r)))["speed"] for r in (80, 175, 320)]
    assert words[0] == "slow" and words[-1] == "fast"
    assert [_rank("speed", w) for w in words] == sorted(_rank("speed", w) for w in words)


def test_espeak_amplitude_low_vs_high(synth_speech):
    quiet, loud = _words(analyze(synth_speech(amplitude=8))), _words(analyze(synth_speech(amplitude=200)))
    assert (quiet["volume"], loud["volume"]) == ("low", "high")


def test_transformations_move_the_words_the_right_way(synth_speech):
    import soxr
    x = load_audio(synth_speech(pitch=30)).samples * 0.5
    base = _words(analyze((x, SR)))
    louder = _words(analyze((x * 10 ** (20 / 20), SR)))
    quieter = _words(analyze((x * 10 ** (-20 / 20), SR)))
    assert _rank("volume", quieter["volume"]) <= _rank("volume", base["volume"]) <= _rank("volume", louder["volume"])
    assert quieter["volume"] == "low" and louder["volume"] == "high"
    # pitch and speed do not depend on gain
    assert base["pitch"] == louder["pitch"] == quieter["pitch"] and base["speed"] == louder["speed"]
    higher = _words(analyze((soxr.resample(x, SR * 2 ** (7 / 12), SR).astype(np.float32), SR)))
    assert _rank("pitch", higher["pitch"]) > _rank("pitch", base["pitch"])

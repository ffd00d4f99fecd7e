"""Faithfulness scoring (emoexplain/probe_score.py) on planted probe results: known answers, no model."""

import pytest

from emoexplain.probe_score import (clip_faithfulness, corpus_faithfulness, descriptor_associations,
                                    summary_sentence)

ORIGINAL = {"label": "sad", "probabilities": {"sad": 0.8, "happy": 0.2}, "descriptors": {"pitch": "low", "speed": "slow"},
            "emphasis": [], "emphasis_timed": [], "measured_descriptors": {"pitch": "normal", "speed": "slow",
                                                                            "volume": "normal"}}


def _probe(name, kind, model, measured, p_sad, emphasis=(), side=None, value=None):
    return {"name": name, "kind": kind, "descriptors": model, "measured_descriptors": measured, "emphasis": list(emphasis),
            "probabilities": {"sad": p_sad, "happy": 1 - p_sad}, "side_effects": side or {}, "measured": value,
            "delta": {"probabilities": {"sad": p_sad - 0.8, "happy": 0.8 - p_sad}}}


# pitch +4: measured normal -> high, model stays "low"; pace x1.25: measured slow -> normal, model follows;
# level +6: measured normal -> high, the model names no volume; pitch +2: nothing measured moved, model stable
PROBES = [
    _probe("pitch+4st", "pitch", {"pitch": "low", "speed": "slow"}, {"pitch": "high", "speed": "slow"}, 0.6),
    _probe("pace1.25x", "pace", {"pitch": "low", "speed": "normal"}, {"pitch": "normal", "speed": "normal"}, 0.795),
    _probe("level+6dB", "level", {"pitch": "low", "speed": "slow"}, {"volume": "high"}, 0.8),
    _probe("pitch+2st", "pitch", {"pitch": "low", "speed": "slow"}, {"pitch": "normal"}, 0.8),
]
ASSOC = {"source": "planted", "counts": {"pitch": {"low": 50, "normal": 50, "high": 50}, "speed": {"slow": 50, "normal": 50, "fast": 50}}, "labels": {"sad": {"pitch": {"low": 1.0, "normal": 0.0, "high": -1.0},
                                                 "speed": {"slow": 1.0, "normal": 0.0, "fast": -1.0}}}}
ABLATION = {"descriptor_share": 0.25}


def test_descriptor_sensitivity_counts_probes_whose_measured_word_moved():
    f = clip_faithfulness(ORIGINAL, PROBES, ABLATION, None)
    assert f["descriptor_sensitivity"] == {"score": 0.3333, "n": 3, "hits": 1}   # pace follows
    assert f["stability"] == {"score": 1.0, "n": 1, "hits": 1}                               # pitch+2st
    assert f["ablation_share"] == 0.25
    assert f["explanation_consistency"]["n"] == 0                                           # no table: not scored


def test_explanation_consistency_uses_the_association_direction():
    f = clip_faithfulness(ORIGINAL, PROBES, ABLATION, ASSOC)
    v = {x["name"]: x for x in f["probes"]}
    # "sad, low pitch": raising the measured pitch word (normal -> high) implies p(sad) falls: 0.8 -> 0.6, yes
    assert v["pitch+4st"]["consistent"] is True
    # speed slow -> normal implies p(sad) falls; 0.8 -> 0.795 is under MIN_DP: did not move, inconsistent
    assert v["pace1.25x"]["consistent"] is False
    assert v["level+6dB"]["consistent"] is None                  # the model cited no volume
    assert f["explanation_consistency"] == {"score": 0.5, "n": 2, "hits": 1}


def test_emphasis_probe_follows_when_the_model_drops_the_word():
    original = {**ORIGINAL, "emphasis": ["door"], "emphasis_timed": [{"word": "door", "start_s": 1.0, "end_s": 1.3}]}
    side = {"before_z": 1.8, "span_s": [0.95, 1.35], "word": None}
    kept = _probe("de-emphasis", "emphasis", {}, {}, 0.8, emphasis=["door"], side=side, value=0.4)
    dropped = _probe("de-emphasis", "emphasis", {}, {}, 0.8, emphasis=[], side=side, value=0.4)
    still = _probe("de-emphasis", "emphasis", {}, {}, 0.8, emphasis=[], side=side, value=1.2)
    assert clip_faithfulness(original, [kept], {}, None)["probes"][0]["follows"] is False
    assert clip_faithfulness(original, [dropped], {}, None)["probes"][0]["follows"] is True
    assert clip_faithfulness(original, [still], {}, None)["probes"][0]["follows"] is None   # still emphasised


def test_summary_sentence_names_the_failure():
    f = clip_faithfulness(ORIGINAL, PROBES, ABLATION, ASSOC)
    s = summary_sentence(ORIGINAL, PROBES, f, {})
    assert s.startswith("Raising the pitch by 4 semitones moved the measured pitch from 'normal' to 'high'")
    assert "did not change the model's 'low pitch' word: this explanation does not follow the pitch" in s
    only_pace = [PROBES[1]]
    s = summary_sentence(ORIGINAL, only_pace, clip_faithfulness(ORIGINAL, only_pace, ABLATION, None), {})
    assert "the model's speed word moved with it" in s and "follows the speed" in s


def test_corpus_scores_pool_the_clips():
    one = {"faithfulness": clip_faithfulness(ORIGINAL, PROBES, ABLATION, ASSOC), "skipped": [],
           "ablation": {"label_flips": {"descriptor": False, "content": True}}, "level": {"sensitivity": "nearly blind"}}
    two = {"faithfulness": clip_faithfulness(ORIGINAL, PROBES[:1], {"descriptor_share": 0.75}, ASSOC),
           "skipped": [{"name": "de-emphasis"}], "ablation": {"label_flips": {"descriptor": True, "content": True}},
           "level": {"sensitivity": "nearly blind"}}
    c = corpus_faithfulness([one, two])
    assert c["descriptor_sensitivity"] == {"score": 0.25, "n": 4, "hits": 1}
    assert c["ablation_share"] == {"mean": 0.5, "n": 2}
    assert c["ablation_label_flips"] == {"descriptor": 0.5, "content": 1.0}
    assert c["by_probe"]["pitch+4st"]["descriptor_sensitivity"]["n"] == 2 and c["skipped"] == {"de-emphasis": 1}


def test_associations_follow_the_corpus_counts():
    rows = ([{"emotion": "sad", "descriptors": {"pitch": "low"}, "emphasis": []}] * 8
            + [{"emotion": "sad", "descriptors": {"pitch": "normal"}, "emphasis": []}] * 2
            + [{"emotion": "happy", "descriptors": {"pitch": "high"}, "emphasis": ["door"]}] * 10
            + [{"emotion": "happy", "descriptors": {"pitch": "normal"}, "emphasis": ["door"]}] * 6)
    a = descriptor_associations(rows, ["sad", "happy"], source="planted")
    sad, happy = a["labels"]["sad"], a["labels"]["happy"]
    assert sad["pitch"]["low"] > sad["pitch"]["normal"] > sad["pitch"]["high"]
    assert happy["pitch"]["high"] > 0 > happy["pitch"]["low"]
    assert happy["emphasis"]["emphasised"] > 0 > sad["emphasis"]["emphasised"]
    assert a["n_rows"] == 26


def test_a_word_the_corpus_never_has_implies_no_direction():
    rare = {**ASSOC, "counts": {"pitch": {"low": 50, "normal": 50, "high": 3}, "speed": ASSOC["counts"]["speed"]}}
    v = {x["name"]: x for x in clip_faithfulness(ORIGINAL, PROBES, ABLATION, rare)["probes"]}
    assert v["pitch+4st"]["consistent"] is None and v["pace1.25x"]["consistent"] is False

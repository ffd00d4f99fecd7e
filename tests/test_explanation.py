"""The typed result: frozen parts, one JSON shape with a schema version, read back to the same object."""

import json

import pytest

from emoexplain.descriptors import Descriptor, Evidence
from emoexplain.errors import ConfigError
from emoexplain.explanation import (SCHEMA, Acoustics, AudioInfo, DescriptorReport, Disagreement, EmphasisSegment,
                                    Emotion, Explanation, Latency, ModelRef, StressedWord, WordTiming)

# the keys API users of /analyze had before the schema version (docs/contracts.md)
V1_KEYS = {"emotion": {"label", "probabilities", "label_set"},
           "descriptors": {"model", "measured", "disagreements", "emphasis"},
           "model": {"name", "version"}, "latency_s": {"acoustics", "model", "total"}}


def make(words=(WordTiming("so", 0.1, 0.3, 0.9), WordTiming("what", 0.4, 0.7, 0.8))) -> Explanation:
    pitch = Descriptor("pitch", "high", Evidence(231.4, "Hz", 227.41, None, 0.0, 2.0, "median F0"))
    return Explanation(
        emotion=Emotion("angry", {"neutral": 0.2, "angry": 0.8}, "iemocap4"), transcript="so what",
        caption='Emotion: angry. "so what"',
        descriptors=DescriptorReport(model={"pitch": "low"}, measured=(pitch,),
                                     disagreements=(Disagreement("pitch", "low", "high"),),
                                     emphasis=(StressedWord("what", 0.4, 0.7), StressedWord("never", None, None))),
        words=words, model=ModelRef("tiny", "r1"),
        acoustics=Acoustics(duration_s=2.0, audio=AudioInfo("a" * 64, 16000, 44100, 2.0, False),
                            emphasis=(EmphasisSegment(0.4, 0.7, 0.8, "what"), EmphasisSegment(1.2, 1.5, 0.3)),
                            sections={"pitch": {"median_hz": 231.4}, "frames": {"time_s": [0.0, 0.01]}}),
        warnings=("clipping",), latency_s=Latency(0.05, 0.2, 0.3))


def test_round_trip_through_json_gives_the_same_object():
    explanation = make()
    d = json.loads(json.dumps(explanation.to_dict(), allow_nan=False))
    assert Explanation.from_dict(d) == explanation
    assert Explanation.from_dict({**d, "analysis_id": 7}) == explanation   # the /analyze extra is ignored


def test_the_json_has_a_schema_and_every_key_api_users_had():
    d = make().to_dict()
    assert d["schema"] == SCHEMA == 2
    assert {"emotion", "transcript", "caption", "descriptors", "words", "model", "acoustics", "warnings",
            "latency_s"} < set(d)
    for key, inner in V1_KEYS.items():
        assert inner <= set(d[key]), key
    assert d["descriptors"]["measured"][0]["evidence"]["bin_low"] == 227.41
    assert d["acoustics"]["emphasis"][1] == {"start_s": 1.2, "end_s": 1.5, "strength": 0.3}  # no word: no key
    assert d["acoustics"]["audio"]["sha256"] == "a" * 64 and d["acoustics"]["pitch"]["median_hz"] == 231.4


def test_emphasis_segments_stay_out_of_the_words():
    d = make(words=()).to_dict()   # a model without a CTC head aligns no words
    assert d["words"] == [] and len(d["acoustics"]["emphasis"]) == 2


def test_a_newer_schema_is_refused_with_what_to_do():
    with pytest.raises(ConfigError, match="Upgrade emoexplain"):
        Explanation.from_dict({**make().to_dict(), "schema": SCHEMA + 1})


def test_the_parts_are_frozen():
    explanation = make()
    with pytest.raises(AttributeError):
        explanation.emotion.label = "happy"


def test_the_store_keeps_the_models_emphasised_words(tmp_path):
    from emoexplain.store import open_store, record_analysis
    with open_store(tmp_path / "e.db") as store:
        aid = record_analysis(store, make(), audio_sha256="a" * 64, duration_s=2.0, sample_rate=16000,
                              source="upload")
        [row] = store.read("SELECT label, emphasis, explanation FROM analyses WHERE id = ?", [aid])
    assert row["label"] == "angry" and json.loads(row["emphasis"]) == ["what", "never"]
    assert json.loads(row["explanation"])["schema"] == SCHEMA


def test_a_stored_analysis_keeps_only_the_stressed_words():
    d = make().to_dict()
    d["descriptors"]["emphasis"] = [{"word": "what"}]   # the store keeps the words, not their times
    assert Explanation.from_dict(d).descriptors.emphasis == (StressedWord("what", None, None),)

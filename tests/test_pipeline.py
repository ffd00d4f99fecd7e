"""explain(): model output beside the acoustic profile; the `explain` CLI."""

import json
import math

import pytest

from emoexplain.explanation import SCHEMA, Explanation, StressedWord, WordTiming
from emoexplain.pipeline import disagreements, timed_emphasis

KEYS = {"schema", "emotion", "transcript", "caption", "descriptors", "words", "model", "acoustics", "warnings",
        "latency_s"}


def test_disagreements_keep_both_words():
    got = disagreements({"pitch": "low", "speed": "slow", "volume": "high"},
                        {"pitch": "high", "speed": "slow", "tone": "rising"})
    assert [d.to_dict() for d in got] == [{"name": "pitch", "model": "low", "measured": "high"}]


def test_emphasis_words_get_times_from_word_timings():
    timings = (WordTiming("The", 0.1, 0.2, 1.0), WordTiming("people,", 1.0, 1.4, 1.0))
    assert timed_emphasis(("People",), timings) == (StressedWord("People", 1.0, 1.4),)
    assert timed_emphasis(("never",), timings) == (StressedWord("never", None, None),)


@pytest.fixture(scope="module")
def explainer():
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.model import load_explainer
    return load_explainer("assets/demo_checkpoint")


def test_explain_returns_the_contract_keys(explainer, speech_wav):
    from emoexplain.pipeline import explain
    explanation = explain(str(speech_wav), explainer)
    d = explanation.to_dict()
    assert set(d) == KEYS and d["schema"] == SCHEMA == 2
    assert Explanation.from_dict(json.loads(json.dumps(d))) == explanation   # the typed result round-trips
    probs = d["emotion"]["probabilities"]
    assert set(probs) == set(explainer.labels) and math.isclose(sum(probs.values()), 1, abs_tol=1e-6)
    assert d["emotion"]["label"] == max(probs, key=probs.get)
    assert d["caption"].startswith(f"Emotion: {d['emotion']['label']}.")
    assert set(d["descriptors"]) == {"model", "measured", "disagreements", "emphasis"}
    assert d["model"] == {"name": explainer.name, "version": explainer.version}
    assert d["acoustics"]["duration_s"] > 3 and set(d["latency_s"]) == {"acoustics", "model", "total"}
    for w in d["words"]:
        assert 0 <= w["start_s"] <= w["end_s"] <= d["acoustics"]["duration_s"] + 1e-6
    if explainer.version == "untrained":
        assert any("untrained" in w for w in d["warnings"])
    json.dumps(d)  # JSON-able
    quick = explain(str(speech_wav), explainer, generate=False).to_dict()
    assert quick["caption"] is None and quick["emotion"]["probabilities"] == probs


def test_cli_json_and_errors(explainer, speech_wav, tmp_path, capsys):
    from emoexplain.cli_explain import main
    assert main([str(speech_wav), "--json", "--no-generate", "--checkpoint", "assets/demo_checkpoint"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == KEYS and d["caption"] is None
    missing = tmp_path / "nope.wav"
    assert main([str(missing), str(speech_wav), "--no-generate", "--checkpoint", "assets/demo_checkpoint"]) == 1
    out = capsys.readouterr()
    assert "error:" in out.err and str(missing) in out.err and str(speech_wav) in out.out

"""explain(): model output beside the acoustic profile; the `explain` CLI."""

import json
import math

import pytest

from emoexplain.pipeline import disagreements, timed_emphasis

KEYS = {"emotion", "transcript", "caption", "descriptors", "words", "model", "acoustics", "warnings", "latency_s"}


def test_disagreements_keep_both_words():
    measured = [{"name": "pitch", "value": "high"}, {"name": "speed", "value": "slow"},
                {"name": "tone", "value": "rising"}]
    got = disagreements({"pitch": "low", "speed": "slow", "volume": "high"}, measured)
    assert got == [{"name": "pitch", "model": "low", "measured": "high"}]


def test_emphasis_words_get_times_from_word_timings():
    timings = [{"word": "The", "start_s": 0.1, "end_s": 0.2, "score": 1}, {"word": "people", "start_s": 1.0,
                                                                           "end_s": 1.4, "score": 1}]
    assert timed_emphasis(("People",), timings) == [{"word": "People", "start_s": 1.0, "end_s": 1.4}]
    assert timed_emphasis(("never",), timings) == [{"word": "never", "start_s": None, "end_s": None}]


@pytest.fixture(scope="module")
def explainer():
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.model import load_explainer
    return load_explainer("assets/demo_checkpoint")


def test_explain_returns_the_contract_keys(explainer, speech_wav):
    from emoexplain.pipeline import explain
    d = explain(str(speech_wav), explainer).to_dict()
    assert set(d) == KEYS
    probs = d["emotion"]["probabilities"]
    assert set(probs) == set(explainer.labels) and math.isclose(sum(probs.values()), 1, abs_tol=1e-6)
    assert d["emotion"]["label"] == max(probs, key=probs.get)
    assert d["caption"].startswith(f"Emotion: {d['emotion']['label']}.")
    assert {"model", "measured", "disagreements"} <= set(d["descriptors"])
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

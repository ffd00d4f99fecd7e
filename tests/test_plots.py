"""plots.figure / save: the traces, gaps, shading and word marks that the app and the CLI show."""

import json

import numpy as np
import pytest

from emoexplain import plots
from emoexplain.acoustics import analyze
from emoexplain.errors import ConfigError
from helpers import synthesize_voice

SR = 16000


@pytest.fixture(scope="module")
def profile():
    """Bursts at 150 Hz with one louder, higher burst (so there is emphasis) and unvoiced gaps."""
    n = 300
    t = np.arange(n) * 0.01
    f0 = np.where((t % 0.3) < 0.2, 150.0, np.nan)
    f0[(t >= 1.5) & (t < 1.7)] = 210.0
    x = synthesize_voice(f0, SR, seed=4)
    x[int(1.5 * SR): int(1.7 * SR)] *= 3.0
    return analyze((x, SR))


def _by_name(fig):
    return {trace.name: trace for trace in fig.data}


def _emphasis_shapes(fig):
    return [s for s in fig.layout.shapes if s.name == "emphasis"]


def test_figure_from_a_profile(profile):
    fig = plots.figure(profile)
    traces = _by_name(fig)
    assert {"pitch (F0)", "energy", "syllable nuclei"} <= set(traces)
    pitch, energy = traces["pitch (F0)"], traces["energy"]
    voiced = profile.frames.voiced
    # F0 only where voiced; None (a gap, connectgaps off) elsewhere
    assert [y is None for y in pitch.y] == list(~voiced)
    assert pitch.connectgaps is False
    np.testing.assert_allclose([y for y in pitch.y if y is not None], profile.frames.f0_hz[voiced], atol=0.01)
    assert len(energy.y) == len(profile.frames.energy_db)
    assert pitch.xaxis == "x" and energy.xaxis == "x2" and fig.layout.xaxis.matches == "x2"   # shared time axis
    assert pitch.yaxis != energy.yaxis
    assert len(traces["syllable nuclei"].x) == len(profile.nuclei_s)
    shapes = _emphasis_shapes(fig)
    assert len(shapes) == len(profile.emphasis) >= 1
    top = profile.emphasis[0]
    assert (shapes[0].x0, shapes[0].x1) == (top["start_s"], top["end_s"])
    assert 1.45 <= top["start_s"] <= 1.75                      # the planted emphasis is what is shaded
    assert "F0" in pitch.hovertemplate and "dB" in energy.hovertemplate


def test_figure_from_a_pipeline_result_with_words(profile):
    words = [{"word": "hello", "start_s": 0.0, "end_s": 0.5, "score": 0.9},
             {"word": "there", "start_s": 0.6, "end_s": 1.1, "score": 0.8},
             {"word": "unaligned", "start_s": None, "end_s": None, "score": 0.0}]
    result = {"emotion": {"label": "neutral", "probabilities": {"neutral": 1.0}}, "transcript": "hello there",
              "acoustics": profile.to_dict(), "words": words, "warnings": []}
    fig = plots.figure(result)
    traces = _by_name(fig)
    assert list(traces["words"].text) == ["hello", "there"]
    assert list(traces["words"].x) == [0.25, 0.85]
    boundaries = sorted(s.x0 for s in fig.layout.shapes if s.name == "word boundary")
    assert boundaries == [0.0, 0.5, 0.6, 1.1]
    assert len(_emphasis_shapes(fig)) == len(profile.emphasis)
    # the typed result draws the same words and the same emphasis
    from emoexplain.explanation import Acoustics, DescriptorReport, Emotion, Explanation, ModelRef, WordTiming
    typed = plots.figure(Explanation(
        emotion=Emotion("neutral", {"neutral": 1.0}, "iemocap4"), transcript="hello there", caption=None,
        descriptors=DescriptorReport({}, (), ()), model=ModelRef("tiny", "r1"),
        words=tuple(WordTiming.from_dict(w) for w in words[:2]), acoustics=Acoustics.from_dict(profile.to_dict())))
    assert list(_by_name(typed)["words"].text) == ["hello", "there"] and len(_emphasis_shapes(typed)) == len(profile.emphasis)
    # the same picture from the profile dict alone (no words)
    from_dict = plots.figure(profile.to_dict())
    assert "words" not in _by_name(from_dict)
    assert list(_by_name(from_dict)["energy"].y) == list(traces["energy"].y)


def test_figure_serialises_for_gradio(profile):
    payload = json.loads(plots.figure(profile).to_json())
    assert len(payload["data"]) >= 2 and "shapes" in payload["layout"]


def test_emphasis_shading_follows_strength():
    base = {"duration_s": 2.0, "frames": {"time_s": [0.0, 0.01], "f0_hz": [None, 120.0], "voiced": [False, True],
                                          "energy_db": [-40.0, -20.0]},
            "emphasis": [{"start_s": 0.1, "end_s": 0.3, "strength": 0.9}, {"start_s": 1.0, "end_s": 1.2, "strength": 0.1}]}
    shapes = _emphasis_shapes(plots.figure(base))
    assert shapes[0].opacity > shapes[1].opacity
    assert fig_range(plots.figure(base)) == (0, 2.0)


def fig_range(fig):
    return tuple(fig.layout.xaxis2.range)


def test_empty_frames_do_not_crash():
    fig = plots.figure({"acoustics": {"duration_s": 1.0, "frames": {}, "emphasis": []}})
    assert len(_by_name(fig)["pitch (F0)"].y) == 0
    with pytest.raises(TypeError):
        plots.figure("not a result")


def test_png_and_html_writers(profile, tmp_path):
    png = plots.save(profile, tmp_path / "p.png")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width > 600 and height > 300
    html = plots.save({"acoustics": profile.to_dict(), "words": []}, tmp_path / "p.html").read_text()
    assert "plotly" in html.lower() and "pitch (F0)" in html
    with pytest.raises(ConfigError, match=".png or .html"):
        plots.save(profile, tmp_path / "p.svg")

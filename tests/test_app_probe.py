"""The "Test this explanation" panel's handlers without gradio (emoexplain/app/probe.py), demo model, real store."""

import numpy as np
import pytest

from emoexplain.app import analyze, probe
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.errors import AudioNotFound


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    import torch
    torch.set_num_threads(1)
    from emoexplain.model import load_explainer
    return Backend(AppConfig(data_dir=str(tmp_path_factory.mktemp("data"))), explainer=load_explainer())


@pytest.fixture(scope="module")
def view(backend, speech_wav):
    return probe.on_probe(backend, analyze.on_analyze(backend, str(speech_wav)))


def test_panel_shows_sentence_table_chart_and_players(view):
    report = view.report
    assert report.summary in view.sentence.replace("\\", "") and "descriptor sensitivity" in view.sentence
    names = [r["probe"] for r in view.table.rows]
    assert names[: len(report.probes)] == [p.name for p in report.probes]
    assert {"pitch+4st", "pace1.25x", "level+6dB"} <= set(names)
    row = view.table.rows[names.index("pitch+4st")]
    assert "+4.0 st requested" in row["requested vs measured"]
    # the small multiples: one bar chart for the original and one per probe, same labels, 0-1 axis
    bars = [t for t in view.chart.data if t.type == "bar"]
    assert len(bars) == len(report.probes) + 1 and list(bars[0].x) == list(report.original["probabilities"])
    assert view.picker.choices == [p.name for p in report.probes] and view.picker.value == report.probes[0].name
    rate, samples = view.audio
    assert rate == 16000 and samples.dtype == np.int16 and len(samples) == len(report.probes[0].samples)


def test_each_probe_is_playable(view):
    rate, samples = probe.on_pick(view.report, "pace1.25x").audio
    assert len(samples) == len(view.report.probe("pace1.25x").samples)
    assert probe.on_pick(view.report, None).audio is None


def test_probe_before_analysing_says_what_to_do(backend):
    with pytest.raises(AudioNotFound, match="analyse a clip first"):
        probe.on_probe(backend, None)


def test_probe_api_returns_the_report(backend, speech_wav):
    d = probe.probe_endpoint(backend)(str(speech_wav))
    assert {"probes", "ablation", "faithfulness", "summary", "skipped"} <= set(d)
    assert all({"name", "kind", "requested", "measured", "probabilities", "descriptors", "delta"} <= set(p)
               for p in d["probes"])
    with pytest.raises(AudioNotFound):
        probe.probe_endpoint(backend)("")

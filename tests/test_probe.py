"""Counterfactual probes with the demo checkpoint (emoexplain/probes.py): rows, skips, batching, ablation, CLI."""

import json
import math

import numpy as np
import pytest

from helpers import synthesize_voice

KINDS = {"pitch+4st": "pitch", "pitch-4st": "pitch", "pitch+2st": "pitch", "pitch-2st": "pitch",
         "monotone": "monotone", "pace0.8x": "pace", "pace1.25x": "pace", "level-10dB": "level",
         "level+6dB": "level", "de-emphasis": "emphasis"}


@pytest.fixture(scope="module")
def explainer():
    import torch
    torch.set_num_threads(1)
    from emoexplain.model import load_explainer
    return load_explainer("assets/demo_checkpoint")


@pytest.fixture(scope="module")
def speech(synth_speech):
    from emoexplain.audio import load_audio
    return load_audio(str(synth_speech("The teacher opened the red door near the river.", pitch=40)))


@pytest.fixture(scope="module")
def report(explainer, speech):
    from emoexplain.probes import probe
    return probe(speech, explainer)


def test_every_probe_row_says_what_was_requested_and_measured(report):
    d = report.to_dict()
    json.dumps(d, allow_nan=False)                        # strict JSON
    names = [p["name"] for p in d["probes"]] + [s["name"] for s in d["skipped"]]
    assert sorted(names) == sorted(KINDS)
    for p in d["probes"]:
        assert p["kind"] == KINDS[p["name"]]
        assert {"name", "kind", "requested", "measured", "probabilities", "descriptors", "delta"} <= set(p)
        assert math.isclose(sum(p["probabilities"].values()), 1.0, abs_tol=1e-5)
        assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
        assert "requested" in p["text"] and "measured" in p["text"]
    assert set(d) >= {"probes", "ablation", "faithfulness", "skipped", "summary", "level", "original"}


def test_pitch_pace_and_level_probes_did_what_they_say(report):
    for name, requested in (("pitch+4st", 4.0), ("pitch-4st", -4.0), ("pitch+2st", 2.0)):
        assert report.probe(name).measured == pytest.approx(requested, abs=0.3)
    for name, ratio in (("pace0.8x", 0.8), ("pace1.25x", 1.25)):
        p = report.probe(name)
        assert p.measured == pytest.approx(ratio, rel=0.05)
        assert abs(p.side_effects["pitch_st"]) < 0.3
        assert len(p.samples) == pytest.approx(len(report.probe("pitch+4st").samples) / ratio, abs=2)
    for name, db in (("level-10dB", -10.0), ("level+6dB", 6.0)):
        assert report.probe(name).measured == pytest.approx(db, abs=0.01)
    assert report.probe("monotone").measured < 0.5 * report.probe("monotone").side_effects["before_st"]
    assert "+4.0 st requested, +" in report.probe("pitch+4st").text


def test_delta_is_the_change_against_the_original(report):
    orig = report.original["probabilities"]
    for p in report.probes:
        for label, dp in p.delta["probabilities"].items():
            assert dp == pytest.approx(p.probabilities[label] - orig[label], abs=1e-4)
        for name, (before, after) in p.delta["measured_descriptors"].items():
            assert report.original["measured_descriptors"].get(name) == before
            assert p.measured_descriptors.get(name) == after


def test_pitch_probe_words_are_binned_in_the_original_register(report):
    """+4 st on a low male voice must not be read as a female voice's 'low' pitch."""
    order = ["low", "normal", "high"]
    before = report.original["measured_descriptors"]["pitch"]
    up, down = report.probe("pitch+4st").measured_descriptors["pitch"], report.probe("pitch-4st").measured_descriptors["pitch"]
    assert order.index(up) >= order.index(before) >= order.index(down)


def test_ablation_and_level_check_are_measured(report):
    a = report.ablation
    assert 0 <= a["descriptor_share"] <= 1
    assert a["descriptor_share"] == pytest.approx(a["tv_descriptor"] / (a["tv_descriptor"] + a["tv_content"]), abs=1e-3)
    assert a["descriptor_zeroed"]["probabilities"] != report.original["probabilities"]
    # the demo model normalises its input but reads absolute energy through its prosody input: not blind
    assert report.level["normalize_audio"] is True and report.level["sensitivity"] != "blind"
    assert report.level["max_abs_dp"] == pytest.approx(
        max(abs(v) for n in ("level-10dB", "level+6dB") for v in report.probe(n).delta["probabilities"].values()),
        abs=1e-6)


def test_batched_probes_equal_one_clip_at_a_time(explainer, report):
    from emoexplain.acoustics import frame_track
    clips = [report.probe("pitch+4st").samples, report.probe("pace1.25x").samples]
    tracks = [frame_track(c) for c in clips]
    batch = explainer.predict_batch(clips, tracks=tracks)
    for clip, track, b in zip(clips, tracks, batch):
        single = explainer.predict(clip, track=track)
        assert single.caption == b.caption
        assert max(abs(single.probabilities[k] - b.probabilities[k]) for k in b.probabilities) < 1e-4


def test_rows_without_a_caption_leave_the_others_captions_unchanged(explainer, report):
    """Per-row generation (the ablation rows get none): the captioned rows are those of a fully captioned batch,
    the others have label and probabilities only."""
    from emoexplain.acoustics import frame_track
    clips = [report.probe(n).samples for n in ("pitch+4st", "pace1.25x", "pitch-4st")]
    tracks = [frame_track(c) for c in clips]
    full = explainer.predict_batch(clips, tracks=tracks)
    some = explainer.predict_batch(clips, tracks=tracks, generate=[True, False, True])
    assert [o.caption for o in some] == [full[0].caption, None, full[2].caption] and full[1].caption
    assert some[1].descriptors == {} and some[1].label == full[1].label
    assert all(max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) < 1e-6
               for a, b in zip(full, some))
    assert report.ablation["content_zeroed"]["caption"] is None and report.ablation["descriptor_zeroed"]["label"]
    with pytest.raises(ValueError, match="one per clip"):
        explainer.predict_batch(clips, tracks=tracks, generate=[True, False])


def test_a_gain_changed_copy_shares_the_encoding_but_keeps_its_own_prosody(explainer, report):
    """The level probes ride on the original's encoder pass (the demo normalises its input) and still give
    what scoring them alone gives; a quiet copy, where the normaliser's epsilon matters, is encoded apart."""
    from emoexplain.acoustics import frame_track
    x = report.probe("pitch+2st").samples
    louder, quiet = (x * 10 ** (6 / 20)).astype(np.float32), (x * 1e-3).astype(np.float32)
    assert explainer._encoding_sources([x, louder, x, quiet, report.probe("pitch-2st").samples]) == [0, 0, 0, 3, 4]
    encoded = []
    forward = explainer.encoder.forward
    explainer.encoder.forward = lambda s, m: (encoded.append(s.shape[0]), forward(s, m))[1]
    try:
        batch = explainer.predict_batch([x, louder], tracks=[frame_track(x), frame_track(louder)], generate=False)
        alone = explainer.predict_batch([louder], tracks=[frame_track(louder)], generate=False)[0]
    finally:
        explainer.encoder.forward = forward
    assert encoded == [1, 1]                       # the pair: one encoder row; the copy alone: one
    assert max(abs(alone.probabilities[k] - batch[1].probabilities[k]) for k in alone.probabilities) < 1e-5
    assert batch[0].probabilities != batch[1].probabilities        # the prosody input still tells them apart


def test_unvoiced_clip_skips_the_pitch_probes_and_runs_the_rest(explainer):
    from emoexplain.probes import probe
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * 16000)) / 16000
    whisper = (0.1 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    r = probe(whisper, explainer)
    skipped = {s["name"]: s["reason"] for s in r.skipped}
    assert {"pitch+4st", "pitch-4st", "monotone", "de-emphasis"} <= set(skipped)
    assert "voiced speech" in skipped["pitch+4st"]
    assert {p.name for p in r.probes} >= {"pace0.8x", "pace1.25x", "level-10dB", "level+6dB"}


def test_short_clip_skips_the_pace_probe_that_would_be_too_short(explainer):
    from emoexplain.probes import probe
    f0 = np.full(56, 150.0)
    r = probe(synthesize_voice(f0).astype(np.float32), explainer)
    reasons = {s["name"]: s["reason"] for s in r.skipped}
    assert "pace1.25x" in reasons and "0.5 s minimum" in reasons["pace1.25x"]
    assert r.probe("pace0.8x") is not None and r.probe("pitch+4st") is not None


class LabelOnly:
    """A label-only model (an SSL baseline has this interface): probabilities, no captions, no descriptor branch."""

    def __init__(self, explainer):
        self.labels, self.name, self.version = explainer.labels, "label-only", "test"
        self._score = explainer.score_labels

    def score_labels(self, clips):
        return self._score(clips)


def test_model_without_descriptor_branch_skips_the_ablation_only(explainer, speech):
    from emoexplain.probes import probe
    r = probe(speech, LabelOnly(explainer))
    assert "no descriptor branch" in r.ablation["skipped"]
    assert len(r.probes) >= 9 and all(p.descriptors == {} for p in r.probes)
    assert r.probe("pitch+4st").measured == pytest.approx(4.0, abs=0.3)
    assert "only its label can be tested" in r.summary


def test_clip_at_the_length_limit_is_probed_whole(explainer):
    """Cut at max_seconds, the slowed probe is longer than the limit: it is measured and scored whole."""
    from emoexplain.probes import probe
    r = probe(_accented_voice(), LabelOnly(explainer), max_seconds=2.5)
    slow = r.probe("pace0.8x")
    assert len(slow.samples) == pytest.approx(2.5 / 0.8 * 16000, abs=2)
    assert slow.measured == pytest.approx(0.8, rel=0.05)
    assert any("pace0.8x: the clip was cut at" in w for w in r.warnings)


def _accented_voice() -> np.ndarray:
    """Ten syllables with one planted accent (1.5-1.7 s: +4 st, +6 dB): the clip's one emphasised stretch."""
    t = np.arange(300) / 100
    f0 = 130 * 2 ** (-1.0 * t / 12)
    f0[(t % 0.3) > 0.2] = np.nan
    f0[(t >= 1.5) & (t < 1.7)] *= 2 ** (4 / 12)
    x = synthesize_voice(f0, jitter=0.005, shimmer=0.02, seed=2)
    x[int(1.5 * 16000):int(1.7 * 16000)] *= 2.0
    return x.astype(np.float32)


def test_de_emphasis_flattens_the_planted_accent(explainer):
    from emoexplain.probes import probe
    r = probe(_accented_voice(), LabelOnly(explainer))
    p = r.probe("de-emphasis")
    start, end = p.side_effects["span_s"]
    assert start < 1.6 < end                                  # the planted accent is the stretch
    assert p.side_effects["before_z"] > 1.5
    assert p.measured < 1.0 and p.measured == pytest.approx(p.requested, abs=0.5)
    assert "emphasis" not in p.measured_descriptors          # the engine no longer finds an emphasis


def test_cli_explain_probe_json(speech_wav, capsys):
    from emoexplain.__main__ import main
    assert main(["explain", str(speech_wav), "--probe", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in d["probe"]["probes"]} | {s["name"] for s in d["probe"]["skipped"]} == set(KINDS)
    assert d["probe"]["faithfulness"]["descriptor_sensitivity"]["n"] >= 0 and d["probe"]["summary"]

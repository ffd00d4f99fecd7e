"""Model tab, admins: a round started from the page runs in a child process, reports its progress and decision,
and ends with a checkpoint the app switches to and then records in every analysis."""

import time

import pytest

from emoexplain.app import analyze, rounds
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.errors import AdminRequired, RoundError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FAST = "--epochs_per_stage=4 --round.parent_test_max=8 --round.min_eval=1 --round.min_gain=0 --round.max_forgetting=1 --round.max_class_drop=1"


def _fill(db, clips):
    from emoexplain.audio import load_audio
    from emoexplain.store import open_store, record_analysis, record_judgement

    store = open_store(db)
    for clip in clips:
        audio = load_audio(str(clip))
        explanation = {"emotion": {"label": "neutral", "probabilities": {"neutral": 0.7, "happy": 0.1, "angry": 0.1,
                                                                         "sad": 0.1}},
                       "transcript": "a clip", "caption": "Emotion: neutral.",
                       "descriptors": {"model": {}, "measured": [], "disagreements": []},
                       "model": {"name": "emoexplain-tiny", "version": "parent", "label_set": "iemocap4"},
                       "acoustics": {"duration_s": 2.0}, "latency_s": {"total": 0.1}}
        aid = record_analysis(store, explanation, audio_sha256=audio.sha256, duration_s=audio.duration_s,
                              sample_rate=16000, source="upload")
        record_judgement(store, aid, annotator="ada", emotion="sad", consent=True, audio_path=str(clip))
    store.close()


def test_a_round_from_the_model_tab_ends_with_a_checkpoint_the_app_serves(tmp_path, monkeypatch, corrected_clips):
    monkeypatch.setenv("EMOEXPLAIN_ROUND_ARGS", f"{FAST} --round.cache_dir={tmp_path / 'cache'}")
    data = tmp_path / "data"
    _fill(data / "emoexplain.db", corrected_clips)
    backend = Backend(AppConfig(data_dir=str(data)))
    with pytest.raises(AdminRequired):
        rounds.on_start_round(backend, unlocked=False)
    assert rounds.on_round_status(backend, unlocked=False).round_table is rounds.KEEP  # visitors see nothing
    started = rounds.on_start_round(backend, unlocked=True)
    assert "Round started on 3 corrections" in started.info_toasts[0] and started.round_timer.active is True
    with pytest.raises(RoundError, match="already running"):
        rounds.on_start_round(backend, unlocked=True)
    # visitors keep analysing while the round trains
    assert analyze.on_analyze(backend, str(corrected_clips[0])).result["analysis_id"] >= 1
    deadline = time.time() + 900
    while (view := rounds.on_round_status(backend, unlocked=True)).round_timer.active:
        assert "Round running" in view.round_status
        assert time.time() < deadline, view.round_status
        time.sleep(1)
    assert "Round finished: promoted" in view.round_status, view.round_status
    assert "held-out agreement with people" in view.round_table and view.round_switch.visible is True

    shown = rounds.on_switch_to_round(backend, unlocked=True)
    version = backend.model.get().version
    assert "+store." in version and "Switched to" in shown.info_toasts[0]
    assert rounds.resolve_checkpoint(str(data / "checkpoints")) == backend.model.source  # the latest promoted one
    result = analyze.on_analyze(backend, str(corrected_clips[1])).result
    [row] = backend.store.read("SELECT model_version FROM analyses WHERE id = ?", [result["analysis_id"]])
    assert row["model_version"] == version


def test_a_store_without_corrections_is_refused_before_anything_starts(tmp_path):
    backend = Backend(AppConfig(data_dir=str(tmp_path / "data")))
    backend.store  # an empty store, as a fresh Space has
    with pytest.raises(RoundError, match="no corrections yet"):
        rounds.on_start_round(backend, unlocked=True)
    assert not (tmp_path / "data" / "checkpoints").exists()

"""Issue 10's app-side rules on the handlers (no gradio): stale results, signed-in names, admin warnings, exports.
The same attacks through the real API are in test_security_api.py."""

import os
import shutil
import time

import pytest

from emoexplain.app import analyze, judge, review
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.descriptors import ORDER
from emoexplain.errors import InvalidJudgement


@pytest.fixture(scope="module")
def explainer():
    from emoexplain.model import load_explainer
    return load_explainer()


@pytest.fixture(scope="module")
def explained(explainer, speech_wav):
    from emoexplain.pipeline import explain
    return explain(str(speech_wav), explainer)


def make_backend(tmp_path, explainer, explained, **config):
    backend = Backend(AppConfig(data_dir=str(tmp_path / "data"), **config), explainer=explainer)
    backend.explain = lambda path, holder_key, max_seconds: explained
    return backend


@pytest.fixture
def backend(tmp_path, explainer, explained):
    return make_backend(tmp_path, explainer, explained)


def form(session, audio, **changes):
    return dict(session=session, audio=audio, emotion="agree", annotator="ana", verdicts=[None] * len(ORDER),
                values=[None] * len(ORDER), transcript=session.transcript if session else "", faithfulness=None,
                helpfulness=None, note="", consent=False, example_idx=0, examples=[]) | changes


def count(backend) -> int:
    return backend.store.read("SELECT count(*) AS n FROM judgements")[0]["n"]


def test_a_new_clip_in_the_box_clears_the_result_and_form():
    cleared = analyze.on_clip_changed()
    assert cleared.session is None and cleared.analysis is None
    # the whole result panel (result, raw JSON and form, Save included) goes; the next on_show fills a fresh form
    assert cleared.result_panel.visible is False


def test_save_refuses_when_the_box_holds_another_clip(backend, speech_wav, synth_speech, tmp_path):
    session = analyze.on_show(analyze.on_analyze(backend, str(speech_wav))).session
    other = synth_speech("A different clip altogether.")
    for in_box in (str(other), None):                                # a new upload; Clear
        with pytest.raises(InvalidJudgement, match="another clip than the one in the box"):
            judge.on_save(backend, **form(session, in_box))
    assert count(backend) == 0
    moved = tmp_path / "gradio" / "again" / "speech.wav"               # the same bytes under another cache path
    moved.parent.mkdir(parents=True)
    shutil.copy(speech_wav, moved)
    assert "Saved judgement" in judge.on_save(backend, **form(session, str(moved))).save_status


def test_consent_after_a_restart_keeps_the_audio(tmp_path, explainer, explained, speech_wav):
    upload = tmp_path / "gradio-cache" / "speech.wav"
    upload.parent.mkdir()
    shutil.copy(speech_wav, upload)
    first = make_backend(tmp_path, explainer, explained)
    analysis = analyze.on_analyze(first, str(upload))
    first.store.close()
    shutil.rmtree(upload.parent)                                       # the restart took gradio's cache along
    restarted = make_backend(tmp_path, explainer, explained)
    judge.save(restarted, analysis.result["analysis_id"], analysis_token=analysis.result["analysis_token"],
               emotion="agree", consent=True)
    [clip] = restarted.store.read("SELECT audio_path FROM clips")
    assert clip["audio_path"] and (restarted.data_folder / clip["audio_path"]).read_bytes() == speech_wav.read_bytes()


def test_the_signed_in_name_wins_and_typed_names_cannot_pose_as_one(tmp_path, explainer, explained, speech_wav):
    backend = make_backend(tmp_path, explainer, explained, sign_in=True)
    result = analyze.on_analyze(backend, str(speech_wav)).result
    endpoint = judge.save_judgement_endpoint(backend)
    endpoint(result["analysis_id"], result["analysis_token"], "agree", annotator="mallory", username="ana")
    endpoint(result["analysis_id"], result["analysis_token"], "sad", annotator="ana")   # nobody signed in
    names = [r["annotator_id"] for r in backend.store.read("SELECT annotator_id FROM judgements ORDER BY id")]
    assert names == ["ana", "guest:ana"]
    assert judge.annotator_id("ana", None, sign_in=False) == "ana" and judge.annotator_id("", None, sign_in=False) == "anonymous"


def test_admins_see_where_judgements_go(backend, monkeypatch):
    from emoexplain.store import db
    monkeypatch.setattr(db, "_on_own_volume", lambda folder: False)   # the data dir is on the Space's own disk
    monkeypatch.setenv("SPACE_ID", "someone/emoexplain")
    monkeypatch.delenv("EMOEXPLAIN_HUB_DATASET", raising=False)
    backend = Backend(AppConfig(admin_token="s3cret", data_dir=backend.config.data_dir), explainer=object(),
                      store=backend.store)
    view = review.on_unlock(backend, token="s3cret")
    assert view.admin is True and "restart erases them" in view.status
    monkeypatch.delenv("SPACE_ID")
    assert review.on_unlock(backend, token="s3cret").status == "Unlocked."


def test_unlock_refusals_are_rate_limited_status_lines(backend):
    locked = Backend(AppConfig(admin_token="s3cret"), explainer=object(), store=backend.store)
    statuses = [review.on_unlock(locked, token=f"guess{i}", client="203.0.113.9").status for i in range(7)]
    assert statuses[:5] == ["That admin token is not right (or this account is not an admin)."] * 5
    assert statuses[5].startswith("Too many wrong admin tokens: wait")
    assert "Too many" in review.on_unlock(locked, token="s3cret", client="203.0.113.9").status
    assert review.on_unlock(locked, token="s3cret", client="198.51.100.1").admin is True


def test_exports_share_one_folder_that_forgets_old_files(backend):
    first = review.on_export(backend, unlocked=True, fmt="csv").file
    old = time.time() - 3600
    os.utime(first, (old, old))
    second = review.on_export(backend, unlocked=True, fmt="jsonl").file
    assert os.path.dirname(first) == os.path.dirname(second) and not os.path.exists(first)
    assert os.path.exists(second)

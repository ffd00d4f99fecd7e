"""The app's handlers without gradio: plain functions over a Backend (the real demo model, a store on disk)."""

import inspect
import json
import re
from pathlib import Path

import pytest

from emoexplain.app import analyze, judge, model_tab, review
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.app.views import KEEP, Update
from emoexplain.descriptors import ORDER
from emoexplain.errors import AdminRequired, AudioEmpty, InvalidJudgement, NotYourAnalysis
from emoexplain.paths import DEFAULT_CHECKPOINT


@pytest.fixture(scope="module")
def explainer():
    from emoexplain.model import load_explainer
    return load_explainer()   # the demo checkpoint


@pytest.fixture(scope="module")
def explained(explainer, speech_wav):
    """The demo model's explanation of the clip, computed once: each test's backend replays it (the model
    itself is tested in test_pipeline / test_model_*; these tests are about what the handlers do with it)."""
    from emoexplain.pipeline import explain
    return explain(str(speech_wav), explainer)


@pytest.fixture
def backend(tmp_path, explainer, explained):
    backend = Backend(AppConfig(data_dir=str(tmp_path / "data")), explainer=explainer)
    backend.explain = lambda path, holder_key, max_seconds: explained
    return backend


@pytest.fixture
def analysis(backend, speech_wav):
    return analyze.on_analyze(backend, str(speech_wav))


def form(session, **changes):
    values = dict(session=session, audio=session.audio if session else None, emotion="agree", annotator="ana", verdicts=[None] * len(ORDER),
                  values=[None] * len(ORDER), transcript=session.transcript if session else "", faithfulness="4",
                  helpfulness=None, note="", consent=False, example_idx=0, examples=[])
    return values | changes


def test_analyze_records_the_result_and_returns_the_api_json(backend, analysis):
    result = analysis.result
    assert result["analysis_id"] >= 1 and result["schema"] == 2
    [row] = backend.store.read("SELECT label, clip_sha256 FROM analyses WHERE id = ?", [result["analysis_id"]])
    assert row["label"] == result["emotion"]["label"]
    assert row["clip_sha256"] == result["acoustics"]["audio"]["sha256"]
    assert json.loads(json.dumps(result)) == result  # plain JSON, as the API sends it
    with pytest.raises(AudioEmpty, match="record something or upload"):
        analyze.on_analyze(backend, None)


def test_show_fills_every_component_and_resets_the_form(analysis):
    view = analyze.on_show(analysis)
    assert view.session.analysis_id == analysis.result["analysis_id"] and len(view.session.token) == 32
    assert view.session.analysis_token == analysis.result["analysis_token"] and view.session.audio == analysis.audio
    assert view.session.token != analyze.on_show(analysis).session.token  # each showing is a new submission
    values = [v for _, v in view.corrected.choices]
    assert values[-1] == "unsure" and values[:-1] == list(analysis.result["emotion"]["probabilities"])
    assert view.corrected.value is None and view.result_panel == Update(visible=True)
    assert len(view.verdicts) == len(view.values) == len(view.rows) == len(view.cards) == len(ORDER)
    assert all(u.value is None and ("right?" in u.label or u.label == "The model gave no word")
               for u, r in zip(view.verdicts, view.rows) if r.visible)
    assert all(u.visible is False for u in view.values)
    assert view.plot is not None and all("desc-card" in c for c, r in zip(view.cards, view.rows) if r.visible)
    assert view.fixed_transcript == view.session.transcript and view.raw == analysis.result
    assert view.player.value == analysis.audio and "synthetic" in view.words_note   # the demo model's words


def test_the_analyse_button_shows_the_result_and_a_new_clip_hides_it(backend, speech_wav):
    view = analyze.on_analyse(backend, path=str(speech_wav), spectrogram=True, semitones=True)
    assert view.analysis.analysis_id == view.session.analysis_id and view.result_panel.visible
    assert {t.type for t in view.plot.data} >= {"heatmap", "scatter"}     # the spectrogram panel
    assert view.plot.layout.yaxis2.title.text.startswith("F0 (st re")
    assert analyze.on_plot_options(analysis=view.analysis, spectrogram=False, semitones=False).plot.layout \
        .yaxis.title.text == "F0 (Hz)"
    cleared = analyze.on_clip_changed()
    assert cleared.result_panel == Update(visible=False) and cleared.session is None and cleared.analysis is None


def test_save_stores_once_and_loads_the_next_example(backend, analysis, tmp_path):
    session = analyze.on_show(analysis).session
    examples = [{"path": str(tmp_path / "next.wav"), "title": "Next"}]
    saved = judge.on_save(backend, **form(session, examples=examples, verdicts=["correct", "wrong"] + [None] * 4,
                                          values=[None, "high"] + [None] * 4))
    assert "Saved judgement #" in saved.save_status and "Next" in saved.save_status
    assert saved.audio == examples[0]["path"] and saved.example_idx == 1 and saved.session.saved
    assert saved.result_panel == Update(visible=False) and saved.info_toasts   # toast + inline, the result goes
    again = judge.on_save(backend, **form(saved.session))
    assert "Already saved" in again.save_status and again.session is KEEP and again.audio is KEEP
    [row] = backend.store.read("SELECT * FROM judgements")
    assert json.loads(row["descriptor_verdicts"]) == {"pitch": {"verdict": "correct"},
                                                      "volume": {"verdict": "wrong", "value": "high"}}
    assert (row["faithfulness"], row["annotator_id"], row["agreed"]) == (4, "ana", 1)


def test_form_values_are_validated_by_the_store(backend, analysis):
    session = analyze.on_show(analysis).session
    with pytest.raises(InvalidJudgement, match="pick the right value"):
        judge.on_save(backend, **form(session, verdicts=[None, None, "wrong", None, None, None]))
    with pytest.raises(InvalidJudgement, match="1 to 5"):
        judge.on_save(backend, **form(session, faithfulness="9"))
    assert backend.store.read("SELECT count(*) AS n FROM judgements")[0]["n"] == 0


def test_the_api_function_keeps_its_contract(backend, analysis):
    endpoint = judge.save_judgement_endpoint(backend)
    assert list(inspect.signature(endpoint).parameters) == [
        "analysis_id", "analysis_token", "emotion", "annotator", "descriptor_verdicts", "transcript", "faithfulness",
        "helpfulness", "note", "consent", "submission_token", "username"]   # the edge fills username (login)
    aid, token = analysis.result["analysis_id"], analysis.result["analysis_token"]
    first = endpoint(aid, token, "agree", submission_token="t1")
    assert first == {"judgement_id": first["judgement_id"], "created": True}
    assert endpoint(aid, token, "agree", submission_token="t1") == {**first, "created": False}
    # no token: the same content is the same submission
    a = endpoint(aid, token, "sad", faithfulness=3)
    assert endpoint(aid, token, "sad", faithfulness=3) == {**a, "created": False}
    with pytest.raises(NotYourAnalysis):
        endpoint(aid, "", "sad")


def test_consent_keeps_the_audio(backend, analysis):
    session = analyze.on_show(analysis).session
    judge.on_save(backend, **form(session, consent=True))
    [clip] = backend.store.read("SELECT audio_path FROM clips")
    assert clip["audio_path"] and (backend.data_folder / clip["audio_path"]).is_file()


def test_verdict_picker_shows_only_for_wrong():
    assert judge.on_verdict(verdict="wrong").picker == Update(visible=True)
    assert judge.on_verdict(verdict="correct").picker == Update(visible=False)


def test_admin_handlers_refuse_a_locked_session(backend, monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    for call in (lambda: review.on_review(backend, unlocked=False),
                 lambda: review.on_export(backend, unlocked=False, fmt="csv"),
                 lambda: review.on_backup(backend, unlocked=False),
                 lambda: model_tab.on_switch(backend, unlocked=False, checkpoint="x")):
        with pytest.raises(AdminRequired):
            call()
    locked = Backend(AppConfig(admin_token="s3cret"), explainer=backend.model.get(), store=backend.store)
    refused = review.on_unlock(locked, token="guess")
    assert "not right" in refused.status and refused.admin is KEEP and refused.review is KEEP
    assert review.on_unlock(locked, token="s3cret").admin is True


def test_review_numbers_and_export(backend, analysis):
    judge.save(backend, analysis.result["analysis_id"], analysis_token=analysis.result["analysis_token"],
               emotion="agree", annotator="ana", note="<b>x</b>", consent=True,
               descriptor_verdicts={"pitch": {"verdict": "wrong", "value": "high"}})
    view = review.on_unlock(backend, token=None)   # a local server without a token is open
    assert view.review_panel == Update(visible=True) and "**1** judgements" in view.review.counts
    assert view.review.distribution.visible and view.review.confusion.visible
    heatmap = view.review.confusion.value.data[0]
    assert list(heatmap.x) == ["neutral", "happy", "angry", "sad"] and "100%" in str(heatmap.text)   # every label
    recent = view.review.recent
    assert recent.columns[:3] == ("#", "analysis", "when (UTC)") and len(recent.rows) == 1
    assert recent.rows[0]["agrees"] == "✓" and recent.rows[0]["audio kept"] == "✓"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", recent.rows[0]["when (UTC)"])   # readable, in minutes
    for filters, n in (({"annotator": "bo"}, 0), ({"annotator": "ana", "agreement": "agreed with the model"}, 1),
                       ({"agreement": "disagreed"}, 0), ({"since": "2999-01-01"}, 0), ({"until": "2999-01-01"}, 1)):
        assert len(review.on_filter(backend, unlocked=True, **{"annotator": None, "label": None, "since": None,
                                                               "until": None, "agreement": "any", **filters})
                   .recent.rows) == n, filters
    with pytest.raises(InvalidJudgement, match="a date like"):
        review.on_filter(backend, unlocked=True, annotator=None, label=None, since="yesterday", until=None,
                         agreement="any")
    opened = review.on_open(backend, unlocked=True, judgement_id=recent.rows[0]["#"])
    assert opened.opened.visible and "pitch: wrong → high" in opened.summary and "desc-card" in opened.cards
    assert opened.audio.visible and opened.plot.visible          # consented: the clip and its plot
    exported = review.on_export(backend, unlocked=True, fmt="csv").file
    assert exported.endswith(".csv") and "&lt;b&gt;" not in open(exported).read()
    assert review.on_export(backend, unlocked=True, fmt="manifest").file.endswith(".manifest.jsonl")
    backup = review.on_backup(backend, unlocked=True).status
    assert backup.startswith("Backup written: `") and "\\" not in backup     # the path as written


def test_model_tab_and_switcher(backend):
    view = model_tab.on_model_tab(backend)
    assert view.info.startswith("### Loaded model") and view.notice == Update(visible=True)   # the demo checkpoint
    ua = json.loads((Path(DEFAULT_CHECKPOINT) / "metrics.json").read_text())["ua"]  # the card's own number
    assert "not a real emotion recognizer" in view.info and f"| UA (balanced accuracy) | **{100 * ua:.1f}%** |" in view.metrics
    assert view.confusion.visible and list(view.confusion.value.data[0].y) == ["neutral", "happy", "angry", "sad"]
    assert "none none" not in view.details and "**Per emotion**" in view.details
    assert view.runs.columns[0] == "id" and view.runs.rows == []
    assert model_tab.on_admin(backend, unlocked=False).switch_panel == Update(visible=False)
    switcher = model_tab.on_admin(backend, unlocked=True)
    assert switcher.switch_panel == Update(visible=True) and switcher.checkpoints.value in switcher.checkpoints.choices


def test_a_checkpoint_that_does_not_load_is_summarised_and_the_model_stays(backend, monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError

    from emoexplain.errors import CheckpointError

    def offline(checkpoint):
        try:
            raise LocalEntryNotFoundError("An error happened while trying to locate the files on the Hub, and ...")
        except LocalEntryNotFoundError as e:
            raise CheckpointError(f"Could not download checkpoint {checkpoint!r} from the hub: {e}") from e
    monkeypatch.setattr(backend.model, "_load", offline)
    before = backend.model.source
    with pytest.raises(CheckpointError) as caught:
        model_tab.on_switch(backend, unlocked=True, checkpoint="owner/missing")
    message = str(caught.value)
    assert message.startswith("Could not switch to owner/missing: the Hugging Face Hub cannot be reached")
    assert "An error happened" not in message and message.endswith(f"stays {before}.")
    assert backend.model.source == before

"""The annotator's workspace without a browser: plain-language evidence, descriptor cards, the emotion choices,
the rows' verdicts in the store's shape, inline errors, and the words and notes around the result."""

import dataclasses

import pytest

from emoexplain.app import analyze, evidence, judge, render
from emoexplain.descriptors import describe
from emoexplain.errors import InvalidJudgement
from emoexplain.explanation import Explanation, StressedWord

from test_app_render import EXPLANATION, RESULT


def _profile(**sections):
    """An acoustic profile with the numbers describe() reads (emphasis: none)."""
    base = {"duration_s": 3.0, "pitch": {"median_hz": 201.0, "variability_semitones": 2.5},
            "energy": {"mean_db": -18.4}, "rate": {"syllables_per_s": 4.2, "n_syllables": 12, "speech_s": 2.86},
            "tone": {"final_change_semitones": -3.1, "slope_st_per_s": -0.5, "final_start_s": 2.5,
                     "final_end_s": 2.9}, "emphasis": []}
    for key, value in sections.items():
        base[key] = {**base[key], **value}
    return base


def test_each_descriptor_leads_with_a_plain_sentence_and_keeps_the_numbers_one_click_away():
    by = {d.name: d for d in describe(_profile())}
    assert evidence.sentence(by["pitch"]) == "About average for a female voice: median 201 Hz; typical 163–227 Hz."
    assert evidence.sentence(by["volume"]).startswith("Normal loudness: the speech averages −18 dBFS")
    assert "normal is −30 to −15" in evidence.sentence(by["volume"])
    assert evidence.sentence(by["speed"]) == "Normal pace: 4.2 syllables per second; normal is 3.2–5.0."
    assert evidence.sentence(by["pitch_variation"]).startswith("Slightly expressive: the pitch moves about 2.5 semitones")
    assert evidence.sentence(by["tone"]).startswith("Falling at the end: the pitch drops 3.1 semitones")
    lines = evidence.details(by["pitch"])
    assert lines[0] == "Measured: 201 Hz"
    assert lines[1] == ("Bins (female register): “low” below 163.07 Hz · “normal” 163.07 to 227.41 Hz (this clip) · "
                        "“high” above 227.41 Hz")
    assert lines[2] == "Time span: 0.00–3.00 s" and lines[3].startswith("Method: median F0 of voiced frames")
    low = {d.name: d for d in describe(_profile(pitch={"median_hz": 120.0}))}["pitch"]
    assert evidence.sentence(low).startswith("About average for a male voice: median 120 Hz; typical 99–150 Hz")


def test_a_value_next_to_an_edge_never_reads_as_the_edge():
    fast = {d.name: d for d in describe(_profile(rate={"syllables_per_s": 5.004}))}["speed"]
    assert fast.value == "fast" and "5.004 syllables per second" in evidence.sentence(fast)


def test_cards_escape_words_and_mark_model_emphasis_the_transcript_lacks():
    result = dataclasses.replace(EXPLANATION, descriptors=dataclasses.replace(
        EXPLANATION.descriptors, emphasis=(StressedWord("<img src=x>", None, None), StressedWord("people", 1.5, 1.75))))
    rows = {r.name: r for r in evidence.descriptor_rows(result)}
    assert rows["emphasis"].not_in_transcript == ("<img src=x>",)
    card = evidence.card_html(rows["emphasis"])
    assert "<img" not in card and "&lt;img src=x&gt;" in card and "not in the transcript" in card
    pitch = evidence.card_html(rows["pitch"])
    assert "⚠ differ" in pitch and "<details" in pitch and "Evidence in numbers" in pitch
    note = render.words_note(result, True, rows["emphasis"])
    assert "synthetic" in note and "&lt;img src\\=x&gt;" in note and "does not contain" in note
    assert render.words_note(EXPLANATION, False) == ""


def test_emotion_choices_are_the_labels_with_the_models_marked_and_no_separate_agree():
    choices = analyze.emotion_choices(EXPLANATION)
    assert [v for _, v in choices] == ["neutral", "happy", "angry", "sad", "unsure"]
    assert dict((v, k) for k, v in choices)["angry"] == "angry · model"
    assert "agree" not in [v for _, v in choices]


def test_rows_ask_about_what_the_model_said_and_offer_add_one_where_it_said_nothing():
    view = analyze.on_show(analyze.Analysis(explanation=EXPLANATION, analysis_id=3, result=RESULT))
    by = dict(zip(analyze.DESCRIPTOR_NAMES, view.verdicts))
    assert by["pitch"].label == "Is “low” right?" and [v for _, v in by["pitch"].choices] == ["correct", "wrong",
                                                                                            "unsure"]
    assert by["speed"].label == "Is “slow” right?"
    rows = dict(zip(analyze.DESCRIPTOR_NAMES, view.rows))
    assert rows["tone"].visible is False          # neither the model nor the measurement has it
    assert rows["emphasis"].visible is True and [v for _, v in by["emphasis"].choices] == ["correct", "wrong",
                                                                                         "unsure"]
    no_word = dataclasses.replace(EXPLANATION, descriptors=dataclasses.replace(EXPLANATION.descriptors,
                                                                                model={"pitch": "low"}))
    view = analyze.on_show(analyze.Analysis(explanation=no_word, analysis_id=3, result=RESULT))
    volume = dict(zip(analyze.DESCRIPTOR_NAMES, view.verdicts))["volume"]
    assert volume.label == "The model gave no word" and [v for _, v in volume.choices] == ["add", "skip"]
    assert judge.on_verdict(verdict="add").picker.visible is True
    assert view.result_panel.visible is True and view.player.subtitles[0] == {"text": "the", "timestamp": [0.0, 0.25]}


def test_the_rows_answers_become_the_stores_verdicts():
    verdicts = judge.form_verdicts(["correct", "add", "skip", "wrong", None, "unsure"],
                                   [None, "high", "fast", "expressive", None, None])
    assert verdicts["pitch"] == {"verdict": "correct", "value": None}
    assert verdicts["volume"] == {"verdict": "wrong", "value": "high"}       # "add one": the right value
    assert verdicts["speed"]["verdict"] is None and verdicts["tone"]["verdict"] is None


def test_a_truncated_clip_says_how_to_choose_another_part_and_paths_show_as_written():
    truncated = Explanation.from_dict({**RESULT, "acoustics": {**RESULT["acoustics"], "audio": {
        **RESULT["acoustics"]["audio"], "truncated": True, "original_duration_s": 314.8}}})
    assert "Trim" in render.warnings_markdown(truncated) and "scissors" in render.warnings_markdown(truncated)
    assert "Trim" not in render.warnings_markdown(EXPLANATION)
    assert render.code_span("/tmp/tmp.jTOC/backups/db-1.sqlite") == "`/tmp/tmp.jTOC/backups/db-1.sqlite`"
    assert render.code_span("a`b") == "``a`b``"


def test_errors_go_in_words_beside_the_action_and_the_other_outputs_stay():
    gr = pytest.importorskip("gradio")
    from emoexplain.app.edge import event
    from emoexplain.app.views import Update

    def fails(*, x):
        raise InvalidJudgement("Pick the emotion <b>first</b>.")
    spec = event(fails, inputs={"x": object()}, outputs={"status": object(), "panel": object(), "rows": [1, 2]},
                 errors_to="status", on_error={"panel": Update(visible=False)})
    status, panel, *rows = spec["fn"](1)
    assert "inline-error" in status and "&lt;b&gt;first&lt;/b&gt;" in status and "<b>" not in status
    assert panel == gr.update(visible=False) and all(r == gr.skip() for r in rows)
    with pytest.raises(gr.Error):     # without errors_to: a toast, as before
        event(fails, inputs={"x": object()}, outputs={"status": object()})["fn"](1)


def test_dark_theme_rules_survive_gradios_css_scoping():
    """Gradio 6.31 scopes custom CSS by splitting selectors at every comma: a dark-theme rule must be one selector."""
    import re
    from emoexplain.app import style
    css = re.sub(r"/\*.*?\*/", "", style.css(), flags=re.S)
    dark = [sel.strip() for sel in re.findall(r"([^{}]*\.dark[^{}]*)\{", css)]
    assert dark and all("," not in sel and sel.startswith(".dark ") for sel in dark), dark
    assert ":is(" not in css
    assert "<script>" in style.head() and "#result-audio" in style.head()

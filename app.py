"""emoexplain in the browser: record or upload speech, see the evidence beside the model, correct and judge.

    python app.py                       # http://127.0.0.1:7860, demo checkpoint, ./data (or /data on Spaces)
    python app.py --help                # every option and its environment variable

Layout and wiring only. Each tab is one function below: its components top to bottom, then its events, each
wired with ``event(handler, backend, inputs={name: component}, outputs={field: component})`` to a handler in
emoexplain/app/ (a plain function of the backend and values that returns a view; tested without gradio).
A new feature is a handler module emoexplain/app/<feature>.py plus one layout function here, called from
build_demo. gradio, torch and the model are imported when the page is built, never at ``import app``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from emoexplain.app import analyze, campaign, judge, model_tab, probe, review, rounds
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.app.edge import analyze_endpoint, event, selected_row_value, user_errors, with_login
from emoexplain.app.examples import example_clips, example_label
from emoexplain.app.render import EMPHASIS_COLORS, demo_notice
from emoexplain.app.style import SCROLL_TO_RESULT_JS, SCROLL_TO_SAVED_JS
from emoexplain.app.views import Update
from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
from emoexplain.model.checkpoint import is_demo_checkpoint

RATINGS = ["1", "2", "3", "4", "5"]
# uploads and recordings sit in gradio's cache only while they may still be judged: files older than an hour
# are deleted (checked every 15 min) and the whole cache goes on restart; consented audio is copied into the
# store when the judgement is saved
CACHE_CHECK_S, CACHE_MAX_AGE_S = 900, 3600


def build_demo(backend: Backend | None = None):
    """The whole app as a gr.Blocks; ``backend`` defaults to one configured from the environment."""
    import gradio as gr

    backend = backend or Backend(AppConfig.from_env())
    with gr.Blocks(title="emoexplain: explainable speech emotion recognition",
                   delete_cache=(CACHE_CHECK_S, CACHE_MAX_AGE_S)) as demo:
        gr.Markdown("# emoexplain\nRecord or upload speech, see the measured pitch and energy beside the model's "
                    "emotion and descriptors, then correct and judge the explanation.")
        notice = gr.Markdown(demo_notice(True), elem_id="demo-notice",
                             visible=is_demo_checkpoint(backend.config.checkpoint))
        admin = gr.State(False)   # this session unlocked the admin parts (Review, checkpoint switching)
        with gr.Tab("Analyse"):
            analyse_page(gr, backend)
        with gr.Tab("Campaigns") as campaigns_tab:
            campaign_page(gr, backend, campaigns_tab)
        with gr.Tab("Review"):
            review_page(gr, backend, admin)
        with gr.Tab("Model") as tab:
            model_page(gr, backend, tab, admin, notice)
    return demo


def analyse_page(gr, backend: Backend) -> None:
    """Record or upload, Analyse, then the result and its judgement side by side: the emotion heard beside the
    probabilities, each descriptor's verdict in the descriptor's own row, the plot with a player linked to it.
    The result panel shows only while its clip is the one in the box."""
    examples = example_clips(backend.config.examples_dir)
    session = gr.State(None)         # analyze.Session: the analysis a save refers to
    analysis = gr.State(None)        # analyze.Analysis: the last result, kept server-side
    example_idx = gr.State(0)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", elem_id="audio-in",
                             label=f"Speech: record or upload (up to {backend.config.max_seconds:g} s are analysed)")
        with gr.Column(scale=2, min_width=260):
            analyse_btn = gr.Button("Analyse", variant="primary", elem_id="analyse-btn")
            status = gr.Markdown(elem_id="analyse-status")       # progress, then errors in words
            if examples:
                gr.Examples([[e["path"]] for e in examples], inputs=[audio], label="Example clips",
                            example_labels=[example_label(e) for e in examples], cache_examples=False,
                            api_visibility="private")
            gr.Markdown("Keys: **Ctrl/⌘+Enter** analyse · **Ctrl/⌘+S** save · outside text fields **1-9** pick "
                        "the emotion with that number, **a** the model's, **u** unsure", elem_classes="shortcut-hint")
    save_status = gr.Markdown(elem_id="save-status")   # the last save's confirmation; stays when the result goes
    with gr.Column(visible=False, elem_id="result") as result_panel:
        result = result_area(gr)
        probe_panel(gr, backend, analysis, audio)   # testing this explanation belongs with the result
        form = judge_form(gr)
        with gr.Accordion("Raw result (JSON, as returned by the /analyze API)", open=False):
            raw = gr.JSON(label="result")
    # the public /analyze API: the same analysis on hidden components, so that the page's own Analyse can put
    # its errors in words beside the button (a failing event would leave "Error" badges on its outputs)
    api_audio, api_result = gr.Audio(type="filepath", visible=False), gr.JSON(visible=False)
    gr.Button(visible=False).click(analyze_endpoint(backend), [api_audio], [api_result, gr.State()],
                                   api_name="analyze", concurrency_limit=2, concurrency_id="analyze")

    shown = {"result_panel": result_panel, **result.outputs, "raw": raw, "session": session, "analysis": analysis,
             "corrected": result.corrected, "fixed_transcript": form.transcript, "faithfulness": form.faithfulness,
             "helpfulness": form.helpfulness, "note": form.note, "consent": form.consent, "status": status,
             "save_status": save_status}
    cleared = {"result_panel": Update(visible=False), "session": None, "analysis": None}
    analyse_btn.click(**event(analyze.on_analyse, backend, errors_to="status", on_error=cleared, inputs={
        "path": audio, "spectrogram": result.spectrogram, "semitones": result.semitones}, outputs=shown),
        api_visibility="private", concurrency_limit=2, concurrency_id="analyze", show_progress_on=[status],
        trigger_mode="once").then(None, js=SCROLL_TO_RESULT_JS)
    # a new clip in the box: the result and form shown belong to the previous one, so they go
    audio.change(**event(analyze.on_clip_changed, outputs={"result_panel": result_panel, "session": session,
                                                           "analysis": analysis, "status": status}),
                 queue=False, api_visibility="private", show_progress="hidden")
    for option in (result.spectrogram, result.semitones):
        option.input(**event(analyze.on_plot_options, inputs={
            "analysis": analysis, "spectrogram": result.spectrogram, "semitones": result.semitones},
            outputs={"plot": result.plot}), api_visibility="private", show_progress="minimal")
    form.save.click(**event(judge.on_save, backend, username=True, examples=examples, errors_to="save_status", inputs={
        "session": session, "audio": audio, "emotion": result.corrected, "annotator": form.annotator, "verdicts": result.verdicts,
        "values": result.values, "transcript": form.transcript, "faithfulness": form.faithfulness,
        "helpfulness": form.helpfulness, "note": form.note, "consent": form.consent, "example_idx": example_idx},
        outputs={"save_status": save_status, "session": session, "audio": audio, "example_idx": example_idx,
                 "result_panel": result_panel}),
        api_visibility="private", trigger_mode="once", concurrency_limit=4,
        show_progress_on=[form.save_note]).then(None, js=SCROLL_TO_SAVED_JS)
    gr.api(user_errors(with_login(judge.save_judgement_endpoint(backend))), api_name="save_judgement",
           concurrency_limit=4)


def probe_panel(gr, backend: Backend, analysis, audio) -> None:
    """Test this explanation: the clip re-synthesised (pitch, pace, level, emphasis) and re-run (docs/probes.md)."""
    report = gr.State(None)   # the ProbeReport, server-side: the player reads its audio
    with gr.Accordion("Test this explanation", open=True, elem_id="probe-panel"):
        run = gr.Button("Test this explanation (pitch, pace, level and emphasis probes)", elem_id="probe-btn")
        sentence = gr.Markdown(elem_id="probe-sentence")
        table = gr.Dataframe(headers=list(probe.COLUMNS), interactive=False, wrap=True, elem_id="probe-table")
        chart = gr.Plot(label="Label probabilities per probe (hollow marks: the original)", elem_id="probe-chart")
        with gr.Row():
            picker = gr.Radio([], label="Play a probe", visible=False, elem_id="probe-picker", scale=3)
            player = gr.Audio(label="The probe's audio", interactive=False, elem_id="probe-audio", scale=2)
    run.click(**event(probe.on_probe, backend, inputs={"analysis": analysis}, outputs={
        "sentence": sentence, "table": table, "chart": chart, "picker": picker, "audio": player, "report": report}),
        api_visibility="private", concurrency_limit=1, trigger_mode="once", show_progress_on=[sentence])
    picker.input(**event(probe.on_pick, inputs={"report": report, "name": picker}, outputs={"audio": player}),
                 api_visibility="private", show_progress="hidden")
    # the public /probe API (an audio file in, like /analyze): a hidden listener, so the page's button stays private
    api_out = gr.JSON(visible=False)
    gr.Button(visible=False).click(user_errors(probe.probe_endpoint(backend)), [audio], [api_out], api_name="probe",
                                   concurrency_limit=1)


def result_area(gr) -> SimpleNamespace:
    """The result of one clip, each part beside its judgement: emotion, words, one row per descriptor, the plot."""
    summary = gr.Markdown(elem_classes="small-note", elem_id="summary")
    with gr.Row(equal_height=False):
        emotion = gr.Label(label="The model's emotion", num_top_classes=7, elem_id="emotion", scale=1, min_width=260)
        corrected = gr.Radio([], label="What emotion do you hear? (the model's is marked)",
                             elem_id="corrected-emotion", scale=1, min_width=260)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            caption = gr.Markdown(elem_id="caption")
            words_note = gr.Markdown(elem_id="words-note", elem_classes="note-box")
        transcript = gr.HighlightedText(label="Transcript (emphasised words highlighted)", scale=1, min_width=260,
                                        color_map=EMPHASIS_COLORS, show_legend=True, elem_id="transcript")
    gr.Markdown("### Each descriptor: what the model said, what was measured, your verdict")
    rows, cards, verdicts, values = descriptor_rows(gr)
    gr.Markdown("### Pitch and energy over time\nClick the plot to play the clip from there; the red line follows "
                "playback.", elem_id="plot-heading")
    player = gr.Audio(label="The analysed clip", type="filepath",
                      interactive=False, elem_id="result-audio", buttons=["download"])
    plot = gr.Plot(show_label=False, elem_id="prosody-plot")
    with gr.Row():
        spectrogram = gr.Checkbox(False, label="Spectrogram (log frequency)", elem_id="opt-spectrogram",
                                  min_width=200)
        semitones = gr.Checkbox(False, label="F0 in semitones re the speaker's median", elem_id="opt-semitones",
                                min_width=200)
    warnings = gr.Markdown(elem_id="result-warnings")
    # other panels about this result (a probe of the explanation, ...) go here, above the judgement form
    outputs = {"summary": summary, "emotion": emotion, "caption": caption, "transcript": transcript,
               "words_note": words_note, "rows": rows, "cards": cards, "verdicts": verdicts, "values": values,
               "player": player, "plot": plot, "warnings_md": warnings}
    return SimpleNamespace(outputs=outputs, corrected=corrected, verdicts=verdicts, values=values, plot=plot,
                           spectrogram=spectrogram, semitones=semitones)


def descriptor_rows(gr, prefix: str = "") -> tuple[list, list, list, list]:
    """One row per descriptor: its card (model word, measured word, sentence, folded evidence) beside its verdict
    and, when the verdict is "wrong" / "add one", the right value; the pickers show and hide with the verdict."""
    from emoexplain.descriptors import vocabulary
    vocab = vocabulary()
    rows, cards, verdicts, values = [], [], [], []
    for name in DESCRIPTOR_NAMES:
        with gr.Row(equal_height=False, elem_classes="desc-row", elem_id=f"{prefix}desc-{name}") as row:
            with gr.Column(scale=3, min_width=260):
                cards.append(gr.HTML(elem_classes="desc-card-html"))
            with gr.Column(scale=2, min_width=240, elem_classes="desc-judge"):
                verdicts.append(gr.Radio(list(analyze.VERDICT_CHOICES), label="verdict",
                                         elem_id=f"{prefix}verdict-{name}"))
                values.append(_value_picker(gr, name, vocab[name], prefix))
        rows.append(row)
    for verdict, picker in zip(verdicts, values):
        verdict.change(**event(judge.on_verdict, inputs={"verdict": verdict}, outputs={"picker": picker}),
                       queue=False, api_visibility="private", show_progress="hidden")
    return rows, cards, verdicts, values


def judge_form(gr) -> SimpleNamespace:
    """The rest of the judgement: transcript, ratings, note, name, consent, Save (the verdicts sit in the rows)."""
    gr.Markdown("### Your judgement of the whole explanation")
    with gr.Group():
        transcript = gr.Textbox(label="Transcript (correct it if needed)", lines=2, elem_id="fixed-transcript")
        with gr.Row():
            faithfulness = gr.Radio(RATINGS, label="Is the explanation faithful to the audio? (1 = not at all, "
                                    "5 = fully)", elem_id="faithfulness", elem_classes="rating", min_width=260)
            helpfulness = gr.Radio(RATINGS, label="Is it helpful? (1 = not at all, 5 = very)",
                                   elem_id="helpfulness", elem_classes="rating", min_width=260)
        note = gr.Textbox(label="Note (optional)", lines=2, max_length=2000)
        with gr.Row():
            annotator = gr.Textbox(label="Your name (annotator)", placeholder="anonymous", max_lines=1,
                                   elem_id="annotator", min_width=200)
            consent = gr.Checkbox(False, label="Keep my audio for research. Without this only the audio's hash and "
                                  "the measurements are stored.", elem_id="consent", min_width=260)
        if os.environ.get("OAUTH_CLIENT_ID"):   # on a Space with hf_oauth: judgements saved under the HF login
            gr.LoginButton()
        save = gr.Button("Save judgement", variant="primary", elem_id="save-btn")
        save_note = gr.Markdown(elem_id="save-progress")
    return SimpleNamespace(annotator=annotator, transcript=transcript, faithfulness=faithfulness,
                           helpfulness=helpfulness, note=note, consent=consent, save=save, save_note=save_note)


def _value_picker(gr, name: str, words, prefix: str = ""):
    """Where a verdict is "wrong" (or "add one"): the right word (a dropdown), or for emphasis the words themselves."""
    if words:
        return gr.Dropdown(list(words), label=f"the right {name.replace('_', ' ')}", visible=False,
                           elem_id=f"{prefix}value-{name}")
    return gr.Textbox(label="the emphasised words (empty: none)", visible=False, max_lines=1,
                      elem_id=f"{prefix}value-{name}")


def review_page(gr, backend: Backend, admin) -> None:
    from emoexplain.store import export_formats
    gr.Markdown("Admins only: unlock with the admin token (EMOEXPLAIN_ADMIN_TOKEN) or your HF login.")
    with gr.Row(equal_height=True):
        token = gr.Textbox(label="Admin token", type="password", max_lines=1, scale=3, min_width=220)
        unlock_btn = gr.Button("Unlock", scale=1, min_width=120)
    status = gr.Markdown(elem_id="review-status")
    with gr.Column(visible=False) as panel:
        refresh_btn = gr.Button("Refresh", size="sm")
        counts = gr.Markdown(elem_id="review-counts")
        with gr.Row(equal_height=False):
            distribution = gr.Plot(show_label=False, visible=False, elem_id="review-distribution", min_width=300)
            confusion = gr.Plot(show_label=False, visible=False, elem_id="review-confusion", min_width=300)
        agreement = gr.Markdown(elem_id="review-agreement")
        gr.Markdown("### Recent judgements")
        with gr.Row(equal_height=True, elem_classes="filters"):
            who = gr.Dropdown(label="Annotator", choices=[""], value="", allow_custom_value=True, min_width=150)
            label = gr.Dropdown(label="Emotion (model's or person's)", choices=[""], value="", min_width=150)
            since = gr.Textbox(label="From (YYYY-MM-DD)", max_lines=1, min_width=130)
            until = gr.Textbox(label="To (YYYY-MM-DD)", max_lines=1, min_width=130)
            agreed = gr.Dropdown(list(review.AGREEMENT_FILTERS), value="any", label="Agreement", min_width=150)
            filter_btn = gr.Button("Show", min_width=90)
        recent_status = gr.Markdown(elem_id="recent-status")
        recent = gr.Dataframe(interactive=False, wrap=True, elem_id="recent", max_height=520)
        opened_id = gr.Number(visible=False, precision=0)
        with gr.Column(visible=False, elem_id="opened") as opened:
            opened_summary = gr.Markdown(elem_id="opened-summary")
            opened_audio = gr.Audio(label="The clip (kept with consent)", type="filepath", interactive=False,
                                    visible=False, elem_id="opened-audio")
            opened_plot = gr.Plot(show_label=False, visible=False, elem_id="opened-plot")
            opened_cards = gr.HTML(elem_id="opened-cards")
        with gr.Row(equal_height=True):
            export_fmt = gr.Radio(list(export_formats()), value="csv", label="Export format", min_width=240)
            export_btn = gr.Button("Export", min_width=100)
            backup_btn = gr.Button("Back up now", min_width=120)
        export_file = gr.File(label="Export", interactive=False, height=90)
        backup_status = gr.Markdown(elem_id="backup-status")

    filters = {"annotator": who, "label": label, "since": since, "until": until, "agreement": agreed}
    numbers = {"counts": counts, "distribution": distribution, "agreement": agreement, "confusion": confusion,
               "recent": recent, "annotators": who, "labels": label}
    unlock_btn.click(**event(review.on_unlock, backend, username=True, client=True, errors_to="status", inputs={"token": token},
                             outputs={"admin": admin, "status": status, "review_panel": panel, "review": numbers}),
                     api_visibility="private")
    refresh_btn.click(**event(review.on_review, backend, inputs={"unlocked": admin, **filters},
                              outputs=numbers), api_visibility="private")
    filter_btn.click(**event(review.on_filter, backend, errors_to="status", inputs={"unlocked": admin, **filters},
                             outputs={"status": recent_status, "recent": recent}), api_visibility="private")
    recent.select(selected_row_value(0), None, opened_id, api_visibility="private", queue=False).then(
        **event(review.on_open, backend, errors_to="status", inputs={"unlocked": admin, "judgement_id": opened_id},
                outputs={"status": recent_status, "opened": opened, "summary": opened_summary, "cards": opened_cards,
                         "audio": opened_audio, "plot": opened_plot}), api_visibility="private")
    export_btn.click(**event(review.on_export, backend, errors_to="status", inputs={"unlocked": admin, "fmt": export_fmt},
                             outputs={"status": backup_status, "file": export_file}), api_visibility="private")
    backup_btn.click(**event(review.on_backup, backend, errors_to="status", inputs={"unlocked": admin},
                             outputs={"status": backup_status}), api_visibility="private")
    with panel:
        campaign_admin(gr, backend, admin)


def campaign_page(gr, backend: Backend, tab) -> None:
    """Annotation campaigns: the next clip where the model is least sure, judged by several people."""
    gr.Markdown("Judge clips of an annotation campaign. Each clip is heard by several people; the model's least "
                "sure clips come first.")
    lease = gr.State(None)          # campaign.Lease: the clip this page is judging
    with gr.Row():
        name = gr.Dropdown(label="Campaign", choices=[], elem_id="campaign-name", scale=2)
        annotator = gr.Textbox(label="Your name (annotator)", max_lines=1, elem_id="campaign-annotator", scale=2)
        next_btn = gr.Button("Next clip", variant="primary", elem_id="campaign-next", scale=1)
    status = gr.Markdown(elem_id="campaign-status")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            audio = gr.Audio(label="Clip", type="filepath", interactive=False, elem_id="campaign-audio")
            choice = gr.Radio([], label="What emotion do you hear?", elem_id="campaign-emotion")
        with gr.Column(scale=3):
            emotion = gr.Label(label="The model's emotion", num_top_classes=7)
            caption = gr.Markdown()
    with gr.Column(visible=False, elem_id="campaign-descriptors") as descriptors:
        gr.Markdown("#### Each descriptor: what the model said, what was measured, your verdict (optional)")
        rows, cards, verdicts, values = descriptor_rows(gr, prefix="campaign-")
    # below the rows, so that judging a descriptor never means scrolling back up to save
    note = gr.Textbox(label="Note (optional)", lines=1, max_length=2000)
    with gr.Row():
        save_btn = gr.Button("Save and next", variant="primary", elem_id="campaign-save")
        skip_btn = gr.Button("Skip", elem_id="campaign-skip")
    with gr.Accordion("What is kept, and your judgements", open=False):
        kept = gr.Markdown(elem_id="campaign-kept")
        mine_btn = gr.Button("Show my judgements")
        mine = gr.Dataframe(interactive=False, wrap=True, elem_id="campaign-mine")
        with gr.Row():
            ids = gr.Textbox(label="Judgement numbers to delete (or: all)", max_lines=1, scale=3)
            delete_btn = gr.Button("Delete", variant="stop", scale=1)
        mine_status = gr.Markdown()

    clip = {"status": status, "lease": lease, "audio": audio, "emotion": emotion, "caption": caption,
            "descriptors": descriptors, "rows": rows, "cards": cards, "verdicts": verdicts, "values": values,
            "choice": choice, "note": note, "kept": kept}
    ask = event(campaign.on_next, backend, username=True, inputs={"campaign": name, "annotator": annotator},
                outputs=clip)
    tab.select(**event(campaign.on_campaign_list, backend, outputs={"campaigns": name}), api_visibility="private")
    next_btn.click(**ask, api_visibility="private")
    for btn, handler, inputs in ((save_btn, campaign.on_submit, {"lease": lease, "emotion": choice, "note": note,
                                                                  "verdicts": verdicts, "values": values}),
                                 (skip_btn, campaign.on_skip, {"lease": lease})):
        btn.click(**event(handler, backend, username=True, inputs=inputs, outputs={"status": status, "lease": lease}),
                  api_visibility="private", trigger_mode="once").success(**ask, api_visibility="private")
    mine_btn.click(**event(campaign.on_mine, backend, username=True, inputs={"annotator": annotator},
                           outputs={"mine": mine, "status": mine_status}), api_visibility="private")
    delete_btn.click(**event(campaign.on_delete_mine, backend, username=True,
                             inputs={"annotator": annotator, "ids": ids},
                             outputs={"mine": mine, "status": mine_status}), api_visibility="private")
    gr.api(user_errors(campaign.campaign_next_endpoint(backend)), api_name="campaign_next", concurrency_limit=8)
    gr.api(user_errors(campaign.campaign_submit_endpoint(backend)), api_name="campaign_submit", concurrency_limit=8)


def campaign_admin(gr, backend: Backend, admin) -> None:
    """Review tab: create a campaign, follow its progress, annotator quality and agreement, exclude people."""
    gr.Markdown("## Campaigns")
    with gr.Row():
        name = gr.Textbox(label="New campaign name", max_lines=1, elem_id="campaign-new-name")
        source = gr.Textbox(label="Folder or manifest (.jsonl) on the server", max_lines=1)
        upload = gr.File(label="... or upload a .zip of audio", file_types=[".zip"], type="filepath", height=90)
    with gr.Row():
        per_clip = gr.Number(2, label="Judgements per clip", precision=0, minimum=1)
        gold = gr.File(label="Gold answers (.csv clip,emotion / .json / .jsonl)", type="filepath", height=90)
        label_set = gr.Textbox(label="Label set (empty: the model's)", max_lines=1)
        instructions = gr.Textbox(label="Instructions for annotators", lines=2)
    create_btn = gr.Button("Create and analyse", variant="primary", elem_id="campaign-create")
    with gr.Row():
        chosen = gr.Dropdown(label="Campaign", choices=[], elem_id="campaign-admin-name", scale=3)
        refresh = gr.Button("Refresh", scale=1, elem_id="campaign-refresh")
    progress = gr.Markdown(elem_id="campaign-progress")
    quality = gr.Dataframe(label="Annotators: gold accuracy, leave-one-out agreement, Dawid-Skene skill",
                           interactive=False, elem_id="campaign-quality")
    agreement = gr.Markdown(elem_id="campaign-agreement")
    clips = gr.Dataframe(label="Clips: judgements and consensus", interactive=False, wrap=True)
    with gr.Row():
        who = gr.Textbox(label="Annotator", max_lines=1, scale=3)
        exclude_btn = gr.Button("Exclude from consensus", scale=1)
        include_btn = gr.Button("Include again", scale=1)

    shown = {"progress": progress, "clips": clips, "quality": quality, "agreement": agreement, "campaigns": chosen}
    create_btn.click(**event(campaign.on_create, backend, username=True, inputs={
        "unlocked": admin, "name": name, "source": source, "upload": upload, "per_clip": per_clip, "gold": gold,
        "label_set": label_set, "instructions": instructions}, outputs=shown), api_visibility="private")
    for trigger in (refresh.click, chosen.input):
        trigger(**event(campaign.on_admin_status, backend, inputs={"unlocked": admin, "name": chosen}, outputs=shown),
                api_visibility="private")
    for btn, exclude in ((exclude_btn, True), (include_btn, False)):
        btn.click(**event(campaign.on_exclude, backend, username=True, exclude=exclude,
                          inputs={"unlocked": admin, "name": chosen, "annotator": who}, outputs=shown),
                  api_visibility="private")


def model_page(gr, backend: Backend, tab, admin, notice) -> None:
    """The loaded model at a glance (card summary, key metrics, confusion), details folded; for admins the
    checkpoint switcher and the training rounds at the top. (The model's parts are made first, unrendered, so
    that the rounds block, which switches to a new model, can show it while standing above them.)"""
    info = gr.Markdown("_Open this tab to load the model card._", elem_id="model-card", render=False)
    metrics = gr.Markdown(elem_id="model-metrics", render=False)
    confusion = gr.Plot(show_label=False, visible=False, elem_id="model-confusion", render=False)
    details = gr.Markdown(elem_id="model-details", render=False)
    card = gr.Markdown(elem_id="model-card-full", render=False)
    runs = gr.Dataframe(label="Training runs (from the store)", interactive=False, wrap=True, elem_id="runs",
                        render=False)
    shown = {"info": info, "metrics": metrics, "confusion": confusion, "details": details, "runs": runs,
             "card": card, "notice": notice}
    with gr.Column(visible=False, elem_id="switch-panel") as switch_panel:
        with gr.Row(equal_height=True):
            checkpoint = gr.Dropdown(label="Checkpoint (a folder on the server or a hub id owner/name)", choices=[],
                                     allow_custom_value=True, scale=3, min_width=240, elem_id="checkpoint-choice")
            switch_btn = gr.Button("Switch (admin)", scale=1, min_width=140, elem_id="switch-btn")
        switch_status = gr.Markdown(elem_id="switch-status")
    round_block(gr, backend, admin, shown)
    with gr.Row(equal_height=False):
        info.render()
        metrics.render()
    confusion.render()
    with gr.Accordion("All metrics", open=False):
        details.render()
    with gr.Accordion("Model card", open=False):
        card.render()
    runs.render()

    tab.select(**event(model_tab.on_model_tab, backend, outputs=shown), api_visibility="private")
    admin.change(**event(model_tab.on_admin, backend, inputs={"unlocked": admin},
                         outputs={"switch_panel": switch_panel, "checkpoints": checkpoint}), api_visibility="private")
    switch_btn.click(**event(model_tab.on_switch, backend, errors_to="switch_status", inputs={
        "unlocked": admin, "checkpoint": checkpoint}, outputs={**shown, "switch_status": switch_status}),
        api_visibility="private", show_progress_on=[switch_status])


def round_block(gr, backend: Backend, admin, shown: dict) -> None:
    """Admins: a round of learning from the store's corrections, its progress, decision and checkpoint."""
    with gr.Column(visible=False) as panel:
        gr.Markdown("### Learn from the corrections (admin)\n\nTrains a candidate on the store's consented "
                    "corrections, judges it on corrections it did not see and on the model's own test set, and "
                    "promotes it only when it agrees better with people without forgetting (docs/training.md).")
        start_btn = gr.Button("Start a round on the current corrections", elem_id="round-start")
        status = gr.Markdown(elem_id="round-status")
        table = gr.Markdown(elem_id="round-table")
        switch_btn = gr.Button("Switch to the promoted checkpoint", variant="primary", visible=False,
                               elem_id="round-switch")
    timer = gr.Timer(rounds.POLL_S, active=False)
    view = {"round_status": status, "round_table": table, "round_switch": switch_btn, "round_timer": timer}
    admin.change(lambda unlocked: gr.update(visible=bool(unlocked)), [admin], [panel], api_visibility="private")
    start_btn.click(**event(rounds.on_start_round, backend, inputs={"unlocked": admin}, outputs=view),
                    api_visibility="private", trigger_mode="once")
    timer.tick(**event(rounds.on_round_status, backend, inputs={"unlocked": admin}, outputs=view),
               api_visibility="private", show_progress="hidden")
    switch_btn.click(**event(rounds.on_switch_to_round, backend, inputs={"unlocked": admin}, outputs=shown),
                     api_visibility="private")


if __name__ == "__main__":
    from emoexplain.app.serve import main
    main(build_demo)

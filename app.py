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

from emoexplain.app import analyze, judge, model_tab, review
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.app.edge import analyze_endpoint, event, user_errors, with_login
from emoexplain.app.examples import example_clips, example_label
from emoexplain.app.render import EMPHASIS_COLORS, demo_notice
from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
from emoexplain.model.checkpoint import is_demo_checkpoint

VERDICT_CHOICES = [("right", "correct"), ("wrong", "wrong"), ("unsure", "unsure")]
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
        with gr.Tab("Review"):
            review_page(gr, backend, admin)
        with gr.Tab("Model") as tab:
            model_page(gr, backend, tab, admin, notice)
    return demo


def analyse_page(gr, backend: Backend) -> None:
    examples = example_clips(backend.config.examples_dir)
    session = gr.State(None)         # analyze.Session: the analysis a save refers to
    analysis = gr.State(None)        # analyze.Analysis: the last result, kept server-side
    example_idx = gr.State(0)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", elem_id="audio-in",
                             label=f"Speech: record or upload (up to {backend.config.max_seconds:g} s are analysed)")
            analyse_btn = gr.Button("Analyse", variant="primary", elem_id="analyse-btn")
            if examples:
                gr.Examples([[e["path"]] for e in examples], inputs=[audio], label="Example clips",
                            example_labels=[example_label(e) for e in examples], cache_examples=False,
                            api_visibility="private")
        with gr.Column(scale=3, min_width=300):
            summary = gr.Markdown(elem_classes="small-note")
            emotion = gr.Label(label="Predicted emotion", num_top_classes=7, elem_id="emotion")
            caption = gr.Markdown(label="Caption", elem_id="caption")
            transcript = gr.HighlightedText(label="Transcript (emphasised words highlighted)",
                                            color_map=EMPHASIS_COLORS, show_legend=True, elem_id="transcript")
    descriptors = gr.Markdown(elem_id="descriptors")
    plot = gr.Plot(label="Pitch and energy (emphasis shaded)", elem_id="prosody-plot")
    warnings = gr.Markdown()
    with gr.Accordion("Raw result (JSON, as returned by the /analyze API)", open=False):
        raw = gr.JSON(label="result")
    form = judge_form(gr)

    analyse_btn.click(analyze_endpoint(backend), [audio], [raw, analysis], api_name="analyze", concurrency_limit=2,
                      show_progress_on=[emotion, descriptors], trigger_mode="once").success(
        **event(analyze.on_show, inputs={"analysis": analysis}, outputs={
            "emotion": emotion, "caption": caption, "transcript": transcript, "descriptors": descriptors,
            "plot": plot, "warnings_md": warnings, "summary": summary, "session": session,
            "corrected": form.corrected, "fixed_transcript": form.transcript, "faithfulness": form.faithfulness,
            "helpfulness": form.helpfulness, "note": form.note, "consent": form.consent,
            "save_status": form.status, "verdicts": form.verdicts, "values": form.values}),
        api_visibility="private", show_progress="hidden")
    # a new clip in the box (upload, recording, Clear, an example, the next clip after a save): the result and
    # form shown belong to the previous one, so they go (and Save refuses until Analyse)
    audio.change(**event(analyze.on_clip_changed, outputs={
        "emotion": emotion, "caption": caption, "transcript": transcript, "descriptors": descriptors, "plot": plot,
        "warnings_md": warnings, "summary": summary, "session": session, "raw": raw, "analysis": analysis,
        "corrected": form.corrected, "fixed_transcript": form.transcript, "faithfulness": form.faithfulness,
        "helpfulness": form.helpfulness, "note": form.note, "consent": form.consent, "verdicts": form.verdicts,
        "values": form.values}), api_visibility="private", show_progress="hidden")
    for verdict, picker in zip(form.verdicts, form.values):
        verdict.change(**event(judge.on_verdict, inputs={"verdict": verdict}, outputs={"picker": picker}),
                       queue=False, api_visibility="private", show_progress="hidden")
    form.save.click(**event(judge.on_save, backend, username=True, examples=examples, inputs={
        "session": session, "audio": audio, "emotion": form.corrected, "annotator": form.annotator, "verdicts": form.verdicts,
        "values": form.values, "transcript": form.transcript, "faithfulness": form.faithfulness,
        "helpfulness": form.helpfulness, "note": form.note, "consent": form.consent, "example_idx": example_idx},
        outputs={"save_status": form.status, "session": session, "audio": audio, "example_idx": example_idx}),
        api_visibility="private", trigger_mode="once", concurrency_limit=4,
        show_progress_on=[form.status])  # an error must not cover the audio box
    gr.api(user_errors(with_login(judge.save_judgement_endpoint(backend))), api_name="save_judgement",
           concurrency_limit=4)


def judge_form(gr) -> SimpleNamespace:
    """Correct & judge: the emotion heard, a verdict per descriptor, transcript, ratings, note, consent."""
    from emoexplain.descriptors import vocabulary
    vocab = vocabulary()
    gr.Markdown("## Correct & judge")
    with gr.Group():
        with gr.Row():
            corrected = gr.Radio(["agree"], label="What emotion do you hear? (agree = the model is right)",
                                 elem_id="corrected-emotion", scale=3, min_width=280)
            annotator = gr.Textbox(label="Your name (annotator)", placeholder="anonymous", max_lines=1, scale=1,
                                   min_width=200, elem_id="annotator")
        verdicts, values = [], []
        for group in (DESCRIPTOR_NAMES[:3], DESCRIPTOR_NAMES[3:]):
            with gr.Row():
                for name in group:
                    with gr.Column(min_width=220):
                        verdicts.append(gr.Radio(VERDICT_CHOICES, label=name.replace("_", " "),
                                                 elem_id=f"verdict-{name}"))
                        values.append(_value_picker(gr, name, vocab[name]))
        transcript = gr.Textbox(label="Transcript (correct it if needed)", lines=2, elem_id="fixed-transcript")
        with gr.Row():
            faithfulness = gr.Radio(RATINGS, label="Is the explanation faithful to the audio? (1 = not at all, "
                                    "5 = fully)", elem_id="faithfulness", min_width=260)
            helpfulness = gr.Radio(RATINGS, label="Is it helpful? (1 = not at all, 5 = very)",
                                   elem_id="helpfulness", min_width=260)
        note = gr.Textbox(label="Note (optional)", lines=2, max_length=2000)
        consent = gr.Checkbox(False, label="Keep my audio for research. Without this only the audio's hash and "
                              "the measurements are stored.", elem_id="consent")
        if os.environ.get("OAUTH_CLIENT_ID"):   # on a Space with hf_oauth: judgements saved under the HF login
            gr.LoginButton()
        save = gr.Button("Save judgement", variant="primary", elem_id="save-btn")
    status = gr.Markdown(elem_id="save-status")
    gr.Markdown("Shortcuts: **Ctrl/⌘+Enter** analyse · **Ctrl/⌘+S** save · outside text fields: **a** agree, "
                "**1-9** pick an emotion", elem_classes="small-note")
    return SimpleNamespace(corrected=corrected, annotator=annotator, verdicts=verdicts, values=values,
                           transcript=transcript, faithfulness=faithfulness, helpfulness=helpfulness, note=note,
                           consent=consent, save=save, status=status)


def _value_picker(gr, name: str, words):
    """Where a verdict is "wrong": the right word (a dropdown), or for emphasis the words themselves."""
    if words:
        return gr.Dropdown(list(words), label=f"the right {name.replace('_', ' ')}", visible=False)
    return gr.Textbox(label="the emphasised words (empty: none)", visible=False, max_lines=1)


def review_page(gr, backend: Backend, admin) -> None:
    from emoexplain.store import export_formats
    gr.Markdown("Admins only: unlock with the admin token (EMOEXPLAIN_ADMIN_TOKEN) or your HF login.")
    with gr.Row():
        token = gr.Textbox(label="Admin token", type="password", max_lines=1, scale=3)
        unlock_btn = gr.Button("Unlock", scale=1)
    status = gr.Markdown()
    with gr.Column(visible=False) as panel:
        refresh_btn = gr.Button("Refresh")
        counts = gr.Markdown()
        with gr.Row():
            distribution = gr.Markdown()
            agreement = gr.Markdown()
        confusion = gr.Dataframe(label="Model (rows) vs human (columns) emotion", interactive=False)
        recent = gr.Dataframe(label="Recent judgements", interactive=False, wrap=True, elem_id="recent")
        with gr.Row():
            export_fmt = gr.Radio(list(export_formats()), value="csv", label="Export format")
            export_btn = gr.Button("Export")
            backup_btn = gr.Button("Back up now")
        export_file = gr.File(label="Export", interactive=False, height=90)
        backup_status = gr.Markdown()

    numbers = {"counts": counts, "distribution": distribution, "agreement": agreement, "confusion": confusion,
               "recent": recent}
    unlock_btn.click(**event(review.on_unlock, backend, username=True, client=True, inputs={"token": token}, outputs={
        "admin": admin, "status": status, "review_panel": panel, "review": numbers}), api_visibility="private")
    refresh_btn.click(**event(review.on_review, backend, inputs={"unlocked": admin}, outputs=numbers),
                      api_visibility="private")
    export_btn.click(**event(review.on_export, backend, inputs={"unlocked": admin, "fmt": export_fmt},
                             outputs={"file": export_file}), api_visibility="private")
    backup_btn.click(**event(review.on_backup, backend, inputs={"unlocked": admin}, outputs={"status": backup_status}),
                     api_visibility="private")


def model_page(gr, backend: Backend, tab, admin, notice) -> None:
    info = gr.Markdown("_Open this tab to load the model card._")
    runs = gr.Dataframe(label="Training runs (from the store)", interactive=False, wrap=True)
    with gr.Row(visible=False) as switch_panel:
        checkpoint = gr.Dropdown(label="Checkpoint", choices=[], allow_custom_value=True, scale=3)
        switch_btn = gr.Button("Switch (admin)", scale=1)
    gr.Markdown("### Model card")
    card = gr.Markdown()

    shown = {"info": info, "runs": runs, "card": card, "notice": notice}
    tab.select(**event(model_tab.on_model_tab, backend, outputs=shown), api_visibility="private")
    admin.change(**event(model_tab.on_admin, backend, inputs={"unlocked": admin},
                         outputs={"switch_panel": switch_panel, "checkpoints": checkpoint}), api_visibility="private")
    switch_btn.click(**event(model_tab.on_switch, backend, inputs={"unlocked": admin, "checkpoint": checkpoint},
                             outputs=shown), api_visibility="private")


if __name__ == "__main__":
    from emoexplain.app.serve import main
    main(build_demo)

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
        with gr.Tab("Campaigns") as campaigns_tab:
            campaign_page(gr, backend, campaigns_tab)
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
    probe_panel(gr, backend, analysis, audio)
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
            note = gr.Textbox(label="Note (optional)", lines=1, max_length=2000)
            with gr.Row():
                save_btn = gr.Button("Save and next", variant="primary", elem_id="campaign-save")
                skip_btn = gr.Button("Skip", elem_id="campaign-skip")
        with gr.Column(scale=3):
            emotion = gr.Label(label="The model's emotion", num_top_classes=7)
            caption = gr.Markdown()
            descriptors = gr.Markdown()
    with gr.Accordion("What is kept, and your judgements", open=False):
        kept = gr.Markdown(elem_id="campaign-kept")
        mine_btn = gr.Button("Show my judgements")
        mine = gr.Dataframe(interactive=False, wrap=True, elem_id="campaign-mine")
        with gr.Row():
            ids = gr.Textbox(label="Judgement numbers to delete (or: all)", max_lines=1, scale=3)
            delete_btn = gr.Button("Delete", variant="stop", scale=1)
        mine_status = gr.Markdown()

    clip = {"status": status, "lease": lease, "audio": audio, "emotion": emotion, "caption": caption,
            "descriptors": descriptors, "choice": choice, "note": note, "kept": kept}
    ask = event(campaign.on_next, backend, username=True, inputs={"campaign": name, "annotator": annotator},
                outputs=clip)
    tab.select(**event(campaign.on_campaign_list, backend, outputs={"campaigns": name}), api_visibility="private")
    next_btn.click(**ask, api_visibility="private")
    for btn, handler, inputs in ((save_btn, campaign.on_submit, {"lease": lease, "emotion": choice, "note": note}),
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
    round_block(gr, backend, admin, shown)


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

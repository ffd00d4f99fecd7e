"""emoexplain in the browser: record or upload speech, see the evidence beside the model, correct and judge.

    python app.py                       # http://127.0.0.1:7860, demo checkpoint, ./data (or /data on Spaces)
    python app.py --help                # every option and its environment variable

Thin on purpose: the work lives in emoexplain.ui_backend (analyse / save / review) and emoexplain.ui_render
(result -> markdown). This file only builds the gradio components and wires them; gradio, torch and the model
are imported when the demo is built, never at ``import app``. Library errors (EmoExplainError) become gr.Error.
"""

from __future__ import annotations

import argparse
import functools
import html
import logging
import os
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

from emoexplain import ui_render as render
from emoexplain.errors import EmoExplainError
from emoexplain.ui_backend import EXAMPLES_DIR, AppConfig, Backend, example_clips, is_demo_checkpoint

log = logging.getLogger("emoexplain.app")
VERDICT_CHOICES = [("right", "correct"), ("wrong", "wrong"), ("unsure", "unsure")]
RUN_COLUMNS = ["id", "created_at", "checkpoint", "model_name", "model_version", "n_examples", "metrics"]
RECENT_COLUMNS = ["id", "created_at", "annotator", "model", "human", "agreed", "faithfulness", "helpfulness",
                  "consent", "note"]
CACHE_CHECK_S, CACHE_MAX_AGE_S = 900, 3600
EXPORT_FORMATS = ("csv", "jsonl", "manifest")  # manifest: the training manifest (JSONL)

# Keyboard shortcuts (documented in docs/app.md and under the Save button).
SHORTCUTS_JS = """
<script>
document.addEventListener("keydown", (e) => {
  const click = (sel) => { const el = document.querySelector(sel); if (el) { e.preventDefault(); el.click(); } };
  const typing = e.target.closest && e.target.closest("input[type=text], input[type=password], textarea, [contenteditable]");
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") return click("#analyse-btn");
  if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) return click("#save-btn");
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const radios = document.querySelectorAll("#corrected-emotion input[type=radio]");
  if (e.key === "a" || e.key === "0") { if (radios[0]) { e.preventDefault(); radios[0].click(); } return; }
  if (/^[1-9]$/.test(e.key) && radios[Number(e.key)]) { e.preventDefault(); radios[Number(e.key)].click(); }
});
</script>
"""
CSS = """
#demo-notice { background: #fff7ed; border: 1px solid #fdba74; border-radius: 8px; padding: 6px 14px; }
#demo-notice p { color: #7c2d12; margin: 4px 0; }
#save-status p { font-size: 1.05em; }
.small-note p { font-size: 0.85em; opacity: 0.8; }
#descriptors th, #descriptors td:not(:nth-child(4)) { white-space: nowrap; }  /* only the evidence wraps */
@media (max-width: 640px) {
  #descriptors table { display: block; overflow-x: auto; }
  #descriptors td, #descriptors th { white-space: nowrap; }
}
"""


def plain(message) -> str:
    """Gradio renders toast messages (gr.Error/Warning/Info) as HTML: escape anything that may carry text
    from outside (file names in audio errors, typed checkpoint ids). Quotes stay readable for API users."""
    return html.escape(str(message), quote=False)


def user_errors(fn):
    """Show EmoExplainError messages to the user as gr.Error; log anything unexpected."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except EmoExplainError as e:
            raise gr.Error(plain(e)) from e
        except Exception as e:
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong on our side ({type(e).__name__}); nothing was saved.") from e
    return wrapper


def build_demo(backend: Backend | None = None):
    """The whole app as a gr.Blocks; ``backend`` defaults to one configured from the environment."""
    import gradio as gr

    from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
    from emoexplain.descriptors import vocabulary

    backend = backend or Backend(AppConfig.from_env())
    cfg = backend.config
    examples = example_clips(cfg.examples_dir)
    vocab = vocabulary()
    on_spaces_oauth = bool(os.environ.get("OAUTH_CLIENT_ID"))

    # uploads and recordings sit in gradio's cache only while they may still be judged: files older than an
    # hour are deleted (checked every 15 min) and the whole cache goes on restart; consented audio is copied
    # into the store when the judgement is saved
    with gr.Blocks(title="emoexplain: explainable speech emotion recognition",
                   delete_cache=(CACHE_CHECK_S, CACHE_MAX_AGE_S)) as demo:
        gr.Markdown("# emoexplain\nRecord or upload speech, see the measured pitch and energy beside the model's "
                    "emotion and descriptors, then correct and judge the explanation.")
        notice = gr.Markdown(render.demo_notice(True), elem_id="demo-notice",
                             visible=is_demo_checkpoint(cfg.checkpoint))
        session = gr.State(None)        # {"analysis_id", "token", "transcript", "saved"}
        result_state = gr.State(None)   # the last /analyze result, kept server-side
        admin = gr.State(False)
        example_idx = gr.State(0)

        with gr.Tab("Analyse"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    audio = gr.Audio(sources=["upload", "microphone"], type="filepath", elem_id="audio-in",
                                     label=f"Speech: record or upload (up to {cfg.max_seconds:g} s are analysed)")
                    analyse_btn = gr.Button("Analyse", variant="primary", elem_id="analyse-btn")
                    if examples:
                        gr.Examples([[e["path"]] for e in examples], inputs=[audio], label="Example clips",
                                    example_labels=[_example_label(e) for e in examples], cache_examples=False,
                                    api_visibility="private")
                with gr.Column(scale=3, min_width=300):
                    summary = gr.Markdown(elem_classes="small-note")
                    emotion = gr.Label(label="Predicted emotion", num_top_classes=7, elem_id="emotion")
                    caption = gr.Markdown(label="Caption", elem_id="caption")
                    transcript = gr.HighlightedText(label="Transcript (emphasised words highlighted)",
                                                    color_map=render.EMPHASIS_COLORS, show_legend=True,
                                                    elem_id="transcript")
            descriptors = gr.Markdown(elem_id="descriptors")
            plot = gr.Plot(label="Pitch and energy (emphasis shaded)", elem_id="prosody-plot")
            warnings = gr.Markdown()
            with gr.Accordion("Raw result (JSON, as returned by the /analyze API)", open=False):
                raw = gr.JSON(label="result")

            gr.Markdown("## Correct & judge")
            with gr.Group():
                with gr.Row():
                    corrected = gr.Radio(["agree"], label="What emotion do you hear? (agree = the model is right)",
                                         elem_id="corrected-emotion", scale=3, min_width=280)
                    annotator = gr.Textbox(label="Your name (annotator)", placeholder="anonymous", max_lines=1,
                                           scale=1, min_width=200, elem_id="annotator")
                verdicts, values = [], []
                for group in (DESCRIPTOR_NAMES[:3], DESCRIPTOR_NAMES[3:]):
                    with gr.Row():
                        for name in group:
                            with gr.Column(min_width=220):
                                verdicts.append(gr.Radio(VERDICT_CHOICES, label=name.replace("_", " "),
                                                         elem_id=f"verdict-{name}"))
                                values.append(_value_picker(gr, name, vocab.get(name)))
                fixed_transcript = gr.Textbox(label="Transcript (correct it if needed)", lines=2,
                                              elem_id="fixed-transcript")
                with gr.Row():
                    faithful = gr.Radio(["1", "2", "3", "4", "5"], label="Is the explanation faithful to the audio? "
                                        "(1 = not at all, 5 = fully)", elem_id="faithfulness", min_width=260)
                    helpful = gr.Radio(["1", "2", "3", "4", "5"], label="Is it helpful? (1 = not at all, 5 = very)",
                                       elem_id="helpfulness", min_width=260)
                note = gr.Textbox(label="Note (optional)", lines=2, max_length=2000)
                consent = gr.Checkbox(False, label="Keep my audio for research. Without this only the audio's "
                                      "hash and the measurements are stored.", elem_id="consent")
                if on_spaces_oauth:
                    gr.LoginButton()
                save_btn = gr.Button("Save judgement", variant="primary", elem_id="save-btn")
            save_status = gr.Markdown(elem_id="save-status")
            gr.Markdown("Shortcuts: **Ctrl/⌘+Enter** analyse · **Ctrl/⌘+S** save · outside text fields: **a** "
                        "agree, **1-9** pick an emotion", elem_classes="small-note")

        with gr.Tab("Review"):
            gr.Markdown("Admins only: unlock with the admin token (EMOEXPLAIN_ADMIN_TOKEN) or your HF login.")
            with gr.Row():
                token_box = gr.Textbox(label="Admin token", type="password", max_lines=1, scale=3)
                unlock_btn = gr.Button("Unlock", scale=1)
            review_status = gr.Markdown()
            with gr.Column(visible=False) as review_panel:
                refresh_btn = gr.Button("Refresh")
                counts = gr.Markdown()
                with gr.Row():
                    distribution = gr.Markdown()
                    agreement = gr.Markdown()
                confusion = gr.Dataframe(label="Model (rows) vs human (columns) emotion", interactive=False)
                recent = gr.Dataframe(label="Recent judgements", interactive=False, wrap=True, elem_id="recent")
                with gr.Row():
                    export_fmt = gr.Radio(list(EXPORT_FORMATS), value="csv", label="Export format")
                    export_btn = gr.Button("Export")
                    backup_btn = gr.Button("Back up now")
                export_file = gr.File(label="Export", interactive=False, height=90)
                backup_status = gr.Markdown()

        with gr.Tab("Model") as model_tab:
            model_info = gr.Markdown("_Open this tab to load the model card._")
            runs = gr.Dataframe(label="Training runs (from the store)", interactive=False, wrap=True)
            with gr.Row(visible=False) as switch_panel:
                ckpt = gr.Dropdown(label="Checkpoint", choices=[], allow_custom_value=True, scale=3)
                switch_btn = gr.Button("Switch (admin)", scale=1)
            gr.Markdown("### Model card")
            card = gr.Markdown()

        # --- analyse ---------------------------------------------------------------------------
        @user_errors
        def analyze(audio_path: str, progress=gr.Progress()):
            """Explain one speech clip: emotion + probabilities, transcript, caption, descriptors with measured
            evidence, acoustics; records the analysis and returns its JSON (with analysis_id)."""
            progress(0.05, desc="loading the model" if not backend.model.loaded else "measuring and explaining")
            result = backend.analyze(audio_path, source="app")
            for w in result.get("warnings") or []:
                gr.Warning(plain(w))
            return result, result

        def show(result):
            start = time.perf_counter()
            try:
                from emoexplain import plots
                fig = plots.figure(result)
            except Exception:  # noqa: BLE001 - a broken plot must not hide the prediction and the evidence
                log.exception("the pitch/energy plot failed for analysis %s", result.get("analysis_id"))
                gr.Warning("The pitch/energy plot could not be drawn; the numbers above are complete.")
                fig = None
            result.setdefault("latency_s", {})["plot"] = time.perf_counter() - start
            model_words = render.model_words(result)
            labels = list(((result.get("emotion") or {}).get("probabilities") or {}).keys())
            state = {"analysis_id": result["analysis_id"], "token": uuid.uuid4().hex,
                     "transcript": result.get("transcript") or "", "saved": None}
            verdict_updates = [gr.update(value=None, label=f"{n.replace('_', ' ')}: the model says "
                                         f"\u201c{_word(model_words.get(n))}\u201d") for n in DESCRIPTOR_NAMES]
            value_updates = [gr.update(value=None, visible=False) for _ in DESCRIPTOR_NAMES]
            return [render.emotion_label(result), render.caption_markdown(result),
                    render.transcript_highlights(result), render.descriptor_markdown(result), fig,
                    render.warnings_markdown(result), render.summary_markdown(result), state,
                    gr.update(choices=["agree", *labels, "unsure"], value=None), state["transcript"], None, None, "", False,
                    "", *verdict_updates, *value_updates]

        result_outputs = [emotion, caption, transcript, descriptors, plot, warnings, summary, session, corrected,
                          fixed_transcript, faithful, helpful, note, consent, save_status, *verdicts, *values]
        analyse_btn.click(analyze, [audio], [raw, result_state], api_name="analyze", concurrency_limit=2,
                          show_progress_on=[emotion, descriptors], trigger_mode="once").success(
            user_errors(show), [result_state], result_outputs, api_visibility="private", show_progress="hidden")

        for verdict, value in zip(verdicts, values):
            verdict.change(lambda v: gr.update(visible=v == "wrong"), [verdict], [value], queue=False,
                           api_visibility="private", show_progress="hidden")

        # --- save ------------------------------------------------------------------------------
        @user_errors
        def save(form: dict, profile: gr.OAuthProfile | None = None):
            state, idx = form[session], form[example_idx]
            if not state:
                raise gr.Error("Nothing to save yet: analyse a clip first, then judge the result.")
            if state.get("saved"):
                return {save_status: f"Already saved as judgement #{state['saved']}; analyse another clip "
                                     "to judge it."}
            text = form[fixed_transcript]
            judgement_id, _ = backend.save_judgement(
                state["analysis_id"], emotion=form[corrected],
                annotator=profile.username if profile is not None else form[annotator],
                descriptor_verdicts={n: {"verdict": form[v], "value": form[p]}
                                     for n, v, p in zip(DESCRIPTOR_NAMES, verdicts, values)},
                transcript=text if text and text.strip() != state["transcript"].strip() else None,
                faithfulness=form[faithful], helpfulness=form[helpful], note=form[note], consent=form[consent],
                token=state["token"])
            message = f"✅ Saved judgement #{judgement_id} for analysis #{state['analysis_id']}. Thank you!"
            out = {session: {**state, "saved": judgement_id}}
            if not examples:
                return {**out, save_status: message + " Record or upload the next clip."}
            nxt = examples[idx % len(examples)]
            return {**out, audio: nxt["path"], example_idx: idx + 1,
                    save_status: message + f" Next clip loaded: **{render.escape_md(_example_label(nxt))}**. "
                                           "Press Analyse."}

        save_btn.click(save, {session, corrected, annotator, fixed_transcript, faithful, helpful, note, consent,
                              example_idx, *verdicts, *values}, [save_status, session, audio, example_idx],
                       api_visibility="private", trigger_mode="once", concurrency_limit=4,
                       show_progress_on=[save_status])  # an error must not cover the audio box

        @user_errors
        def save_judgement(analysis_id: int, emotion: str, annotator: str = "", descriptor_verdicts: dict | None = None,
                           transcript: str = "", faithfulness: int | None = None, helpfulness: int | None = None,
                           note: str = "", consent: bool = False, submission_token: str = "") -> dict:
            """Save a human judgement of analysis `analysis_id`. emotion: a label of the model's label set or
            "agree"; descriptor_verdicts: {name: {"verdict": "correct"|"wrong"|"unsure", "value": word-if-wrong}};
            faithfulness/helpfulness 1-5; consent=True keeps the audio. The same submission (same fields, or the
            same submission_token) is stored once. Returns {"judgement_id", "created"}."""
            judgement_id, created = backend.save_judgement(
                analysis_id, emotion=emotion, annotator=annotator, descriptor_verdicts=descriptor_verdicts,
                transcript=transcript or None, faithfulness=faithfulness, helpfulness=helpfulness, note=note,
                consent=consent, token=submission_token or None)
            return {"judgement_id": judgement_id, "created": created}

        gr.api(save_judgement, api_name="save_judgement", concurrency_limit=4)

        # --- review (admin) ----------------------------------------------------------------------
        @user_errors
        def review(is_admin):
            if not is_admin:
                raise gr.Error("Unlock the Review tab first.")
            data = backend.review()
            return (render.counts_markdown(data["stats"]),
                    render.distribution_markdown(data["stats"].get("human_emotions") or {}),
                    render.agreement_markdown(data["agreement"]), _frame(render.confusion_rows(data["agreement"])),
                    _frame(data["recent"], columns=RECENT_COLUMNS))

        @user_errors
        def unlock(token, profile: gr.OAuthProfile | None = None):
            ok = backend.check_admin(token, profile.username if profile is not None else None)
            if not ok:
                raise gr.Error("That admin token is not right (or this account is not an admin).")
            return (True, "Unlocked.", gr.update(visible=True), gr.update(visible=True),
                    gr.update(choices=backend.available_checkpoints(), value=backend.model.info()["checkpoint"]),
                    *review(True))

        review_outputs = [counts, distribution, agreement, confusion, recent]
        unlock_btn.click(unlock, [token_box], [admin, review_status, review_panel, switch_panel, ckpt,
                                               *review_outputs], api_visibility="private")
        refresh_btn.click(review, [admin], review_outputs, api_visibility="private")

        @user_errors
        def export(is_admin, fmt):
            if not is_admin:
                raise gr.Error("Unlock the Review tab first.")
            return str(backend.export(fmt, tempfile.mkdtemp(prefix="emoexplain-export-")))

        @user_errors
        def backup(is_admin):
            if not is_admin:
                raise gr.Error("Unlock the Review tab first.")
            return f"Backup written: `{render.escape_md(backend.backup())}`"

        export_btn.click(export, [admin, export_fmt], [export_file], api_visibility="private")
        backup_btn.click(backup, [admin], [backup_status], api_visibility="private")

        # --- model -------------------------------------------------------------------------------
        @user_errors
        def model_card():
            info = backend.model.info()
            runs_frame = _frame(backend.training_runs(), columns=RUN_COLUMNS)
            return (render.model_markdown(info), runs_frame, info["card"] or "_This checkpoint has no card._",
                    gr.update(visible=info["is_demo"]))

        model_outputs = [model_info, runs, card, notice]
        model_tab.select(model_card, None, model_outputs, api_visibility="private")

        @user_errors
        def switch(is_admin, path):
            if not is_admin:
                raise gr.Error("Only admins can switch checkpoints: unlock in the Review tab.")
            if not path:
                raise gr.Error("Pick a checkpoint folder or type a hub id.")
            backend.model.switch(path)
            gr.Info(plain(f"Switched to {path}."))
            return model_card()

        switch_btn.click(switch, [admin, ckpt], model_outputs, api_visibility="private")
    return demo


def _value_picker(gr, name: str, words):
    """Where a verdict is "wrong": the right word (a dropdown), or for emphasis the words themselves."""
    if words:
        return gr.Dropdown(list(words), label=f"the right {name.replace('_', ' ')}", visible=False)
    return gr.Textbox(label="the emphasised words (empty: none)", visible=False, max_lines=1)


def _word(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "–"
    return str(value) if value else "–"


def _example_label(example: dict) -> str:
    """"Title (emotion)"; without a title the start of its transcript in quotes, else the file name."""
    text = str(example.get("transcript") or "")
    quoted = "\u201c" + textwrap.shorten(text, 40, placeholder=" \u2026") + "\u201d" if text else ""
    bits = [example.get("title") or quoted or example.get("file") or "clip"]
    if example.get("emotion"):
        bits.append(f"({example['emotion']})")
    return " ".join(map(str, bits))


def _frame(rows: list[dict], columns: list[str] | None = None):
    import pandas as pd
    return pd.DataFrame(rows, columns=columns)


def launch_kwargs(config: AppConfig) -> dict:
    """What demo.launch() needs besides the demo (theme, css and head moved to launch() in Gradio 6)."""
    import gradio as gr
    examples = Path(config.examples_dir) if config.examples_dir else EXAMPLES_DIR
    return dict(server_name=config.host, server_port=config.port, max_file_size=config.max_file_size,
                allowed_paths=[str(examples.resolve())],  # example clips are served to the audio box
                theme=gr.themes.Soft(primary_hue="indigo"), css=CSS, head=SHORTCUTS_JS,
                footer_links=["api", "gradio"], show_error=True)


def parse_args(argv=None) -> argparse.Namespace:
    env = AppConfig.from_env()
    parser = argparse.ArgumentParser(description="emoexplain browser app (Gradio). Every option also reads an "
                                     "environment variable; flags win.")
    parser.add_argument("--checkpoint", help=f"checkpoint folder or hub id [EMOEXPLAIN_CHECKPOINT; default: the "
                        f"demo checkpoint in assets/] (now: {env.checkpoint or 'demo'})")
    parser.add_argument("--data-dir", help="folder for emoexplain.db and consented audio [EMOEXPLAIN_DATA_DIR; "
                        "default /data if writable, else ./data]")
    parser.add_argument("--max-seconds", type=float, help="analyse at most this many seconds per clip "
                        f"[EMOEXPLAIN_MAX_SECONDS; default 30] (now: {env.max_seconds:g})")
    parser.add_argument("--admin-token", help="token that unlocks Review and checkpoint switching "
                        "[EMOEXPLAIN_ADMIN_TOKEN; prefer the env var or a Space secret]")
    parser.add_argument("--host", help=f"interface to bind [GRADIO_SERVER_NAME; default 127.0.0.1] (now: {env.host})")
    parser.add_argument("--port", type=int, help=f"port [GRADIO_SERVER_PORT; default 7860] (now: {env.port})")
    parser.add_argument("--examples-dir", help="folder of example clips (+ optional examples.json) "
                        "[EMOEXPLAIN_EXAMPLES_DIR; default assets/examples; empty or absent: no examples]")
    parser.add_argument("--max-file-size", help="largest accepted upload [EMOEXPLAIN_MAX_FILE_SIZE; default 20mb]")
    parser.add_argument("--no-preload", dest="preload", action="store_false", default=None,
                        help="load the model on the first analysis instead of right after start")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = AppConfig.from_env(**vars(args))
    backend = Backend(config)
    backend.store  # noqa: B018 - open (and, with EMOEXPLAIN_HUB_DATASET, restore + start syncing) the store before serving
    demo = build_demo(backend)
    if config.preload:  # warm the model while the page loads; errors surface again on the first analysis
        threading.Thread(target=_preload, args=(backend,), daemon=True).start()
    demo.queue(max_size=128, default_concurrency_limit=2)
    demo.launch(**launch_kwargs(config))


def _preload(backend: Backend) -> None:
    try:
        backend.model.warm_up()
        log.info("model loaded in %.1f s and warmed up", backend.model.load_seconds or 0)
    except Exception as e:  # noqa: BLE001 - shown to users when they analyse
        log.warning("model preload failed: %s", e)


if __name__ == "__main__":
    main()

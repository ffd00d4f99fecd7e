"""Analyse tab: one clip in, the explanation recorded and shown, the judging form reset for it.

    analysis = on_analyze(backend, "clip.wav")     # analysis.explanation (typed); the /analyze JSON: analysis.result
    view = on_show(analysis)                         # what every component of the result area shows
    view = on_analyse(backend, path="clip.wav")      # the Analyse button: both, the Analysis in view.analysis
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass

from emoexplain.app import evidence, render
from emoexplain.app.backend import Backend
from emoexplain.app.views import KEEP, Update, View
from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
from emoexplain.errors import AudioEmpty
from emoexplain.explanation import Explanation

log = logging.getLogger("emoexplain.app")


@dataclass(frozen=True)
class Session:
    """One browser session's current analysis: what a save refers to."""
    analysis_id: int
    token: str            # the submission token of this analysis' form (a double save is stored once)
    transcript: str       # the model's transcript (a correction is only stored when it differs)
    saved: int | None = None
    analysis_token: str = ""   # proves the analysis is this session's (the store keeps only its hash)
    audio: str | None = None   # the file that was analysed: a save refuses when the box holds another clip


@dataclass(frozen=True)
class Analysis(View):
    explanation: Explanation
    analysis_id: int
    result: dict          # the /analyze JSON: explanation.to_dict() + analysis_id + analysis_token
    audio: str | None = None   # the analysed file (the result's player, the spectrogram and probes read it)
    analysis_token: str = ""
    is_demo: bool = False      # made by the demo checkpoint (its words come from a synthetic-speech model)


# the verdict a descriptor row asks for: on the model's word, or (where it gave none) whether to add one
VERDICT_CHOICES = (("right", "correct"), ("wrong", "wrong"), ("unsure", "unsure"))
ADD_CHOICES = (("add one", "add"), ("leave it", "skip"))


@dataclass(frozen=True)
class ResultView(View):
    result_panel: Update  # shown (the panel is hidden while no result belongs to the clip in the box)
    summary: str
    emotion: dict
    corrected: Update     # the emotion heard: the model's labels (its own marked) and "unsure", nothing picked
    caption: str
    transcript: list
    words_note: str       # where the words come from; model emphasis words the transcript lacks
    rows: tuple           # one Update(visible) per descriptor row (ORDER)
    cards: tuple          # one card (HTML) per descriptor row
    verdicts: tuple       # one Update per row: the choices for what the model said (or "add one"), nothing picked
    values: tuple         # one Update per row: the correction picker, hidden and empty
    player: Update        # the analysed clip, its timed words as subtitles
    plot: object          # a plotly Figure, or None when it could not be drawn
    warnings_md: str
    raw: dict             # the /analyze JSON, for the raw-result accordion
    session: Session
    fixed_transcript: str
    faithfulness: None = None
    helpfulness: None = None
    note: str = ""
    consent: bool = False
    status: str = ""      # the line under Analyse (an earlier error goes)
    save_status: str = ""
    analysis: object = KEEP   # the Analysis, kept server-side (on_analyse sets it)


def on_analyze(backend: Backend, path: str | None, *, source: str = "app") -> Analysis:
    """Explain one audio file and record the analysis with a new secret token (only whoever holds it may judge
    the analysis) and a copy of the upload in the store's pending/ (for a consented save, even after a restart)."""
    from emoexplain import store as store_api
    from emoexplain.model.checkpoint import is_demo_checkpoint
    if not path:
        raise AudioEmpty("No audio yet: record something or upload a file, then press Analyse.")
    explainer = backend.model.get()  # load outside the (GPU) call: loading errors are reported as such
    explanation: Explanation = backend.explain(str(path), id(backend.model), backend.config.max_seconds)
    result = explanation.to_dict()
    audio = explanation.acoustics.audio
    analysis_token, _ = store_api.new_token()
    analysis_id = int(store_api.record_analysis(
        backend.store, result, audio_sha256=audio.sha256, duration_s=audio.original_duration_s,
        sample_rate=audio.original_sample_rate, source=source, latency_s=explanation.latency_s.total,
        analysis_token=analysis_token, pending_audio=path))
    return Analysis(explanation=explanation, analysis_id=analysis_id, audio=str(path), analysis_token=analysis_token,
                    result={**result, "analysis_id": analysis_id, "analysis_token": analysis_token},
                    is_demo=is_demo_checkpoint(backend.model.source, getattr(explainer, "card_markdown", "") or ""),
                    warning_toasts=explanation.warnings)


def on_show(analysis: Analysis, *, spectrogram: bool = False, semitones: bool = False) -> ResultView:
    """The result area for ``analysis`` and a fresh judging form (a new submission token)."""
    result = analysis.explanation
    figure, warnings = _figure(analysis, spectrogram=spectrogram, semitones=semitones)
    by_name, rows = descriptor_row_updates(result)
    session = Session(analysis_id=analysis.analysis_id, token=uuid.uuid4().hex, transcript=result.transcript or "",
                      analysis_token=analysis.analysis_token, audio=analysis.audio)
    return ResultView(
        result_panel=Update(visible=True), summary=render.summary_markdown(result, analysis.analysis_id),
        emotion=render.emotion_label(result), corrected=Update(choices=emotion_choices(result), value=None),
        caption=render.caption_markdown(result), transcript=render.transcript_highlights(result),
        words_note=render.words_note(result, analysis.is_demo, by_name.get("emphasis")),
        **rows, player=Update(value=analysis.audio, subtitles=render.subtitles(result) or None),
        plot=figure, warnings_md=render.warnings_markdown(result), raw=analysis.result, session=session,
        fixed_transcript=session.transcript, warning_toasts=warnings)


def on_analyse(backend: Backend, *, path: str | None, spectrogram: bool = False,
               semitones: bool = False) -> ResultView:
    """The Analyse button: explain and record the clip in the box, then show it (the /analyze API is separate)."""
    analysis = on_analyze(backend, path)
    view = on_show(analysis, spectrogram=spectrogram, semitones=semitones)
    return dataclasses.replace(view, warning_toasts=analysis.warning_toasts + view.warning_toasts,
                               analysis=analysis)


@dataclass(frozen=True)
class ClearedView(View):
    result_panel: Update
    session: None = None
    analysis: None = None
    status: str = ""


def on_clip_changed() -> ClearedView:
    """A new clip in the box (upload, recording, Clear, an example, the next clip after a save): the result and
    form on the page belong to the previous one, so they go until Analyse."""
    return ClearedView(result_panel=Update(visible=False))


@dataclass(frozen=True)
class PlotView(View):
    plot: object


def on_plot_options(*, analysis: Analysis | None, spectrogram: bool, semitones: bool) -> PlotView:
    """Redraw the plot with or without the spectrogram panel, F0 in Hz or in semitones re the median."""
    if analysis is None:
        return PlotView(plot=KEEP)
    figure, warnings = _figure(analysis, spectrogram=spectrogram, semitones=semitones)
    return PlotView(plot=figure, warning_toasts=warnings)


def emotion_choices(result: Explanation) -> list[tuple[str, str]]:
    """The emotion radio: each label of the model's set in its order (the model's own marked: picking it is
    agreeing), then "unsure". The keyboard's 1-9 pick them in this order."""
    model = result.emotion.label
    return [(f"{label} · model" if label == model else label, label) for label in result.emotion.probabilities] + [
        ("unsure", "unsure")]


def descriptor_row_updates(result: Explanation) -> tuple[dict, dict]:
    """({name: evidence row}, the descriptor rows' fields for ``result``: rows, cards, verdicts, values, one per
    DESCRIPTOR_NAMES, nothing picked). The Analyse and Campaigns tabs share it."""
    by_name = {row.name: row for row in evidence.descriptor_rows(result)}
    fields = {"rows": tuple(Update(visible=name in by_name) for name in DESCRIPTOR_NAMES),
              "cards": tuple(evidence.card_html(by_name[name]) if name in by_name else "" for name in DESCRIPTOR_NAMES),
              "verdicts": tuple(_verdict(by_name.get(name)) for name in DESCRIPTOR_NAMES),
              "values": tuple(Update(value=None, visible=False) for _ in DESCRIPTOR_NAMES)}
    return by_name, fields


def _verdict(row) -> Update:
    if row is None:
        return Update(value=None, choices=list(VERDICT_CHOICES), label="verdict")
    if row.model:
        return Update(value=None, choices=list(VERDICT_CHOICES), label=f"Is \u201c{row.model}\u201d right?")
    return Update(value=None, choices=list(ADD_CHOICES), label="The model gave no word")


def _figure(analysis: Analysis, *, spectrogram: bool = False, semitones: bool = False):
    """The pitch/energy figure, or None and a warning: a broken plot must not hide the prediction."""
    start = time.perf_counter()
    try:
        from emoexplain import plots
        figure = plots.figure(analysis.explanation, semitones=semitones,
                              spectrogram=plots.clip_spectrogram(analysis.audio, analysis.explanation)
                              if spectrogram and analysis.audio else None)
    except Exception:  # noqa: BLE001 - the numbers above stay complete without the plot
        log.exception("the pitch/energy plot failed for analysis %s", analysis.analysis_id)
        return None, ("The pitch/energy plot could not be drawn; the numbers above are complete.",)
    log.debug("plot drawn in %.3f s", time.perf_counter() - start)
    return figure, ()

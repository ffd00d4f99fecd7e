"""Analyse tab: one clip in, the explanation recorded and shown, the judging form reset for it.

    analysis = on_analyze(backend, "clip.wav")     # analysis.explanation (typed); the /analyze JSON: analysis.result
    view = on_show(analysis)                         # what every component of the result area shows
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass

from emoexplain.app import render
from emoexplain.app.backend import Backend
from emoexplain.app.views import Update, View
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
    audio: str | None = None   # the analysed file
    analysis_token: str = ""


@dataclass(frozen=True)
class ResultView(View):
    emotion: dict
    caption: str
    transcript: list
    descriptors: str
    plot: object          # a plotly Figure, or None when it could not be drawn
    warnings_md: str
    summary: str
    session: Session
    corrected: Update     # the emotion choices of this model, nothing picked
    fixed_transcript: str
    faithfulness: None = None
    helpfulness: None = None
    note: str = ""
    consent: bool = False
    save_status: str = ""
    verdicts: tuple = ()  # one Update per descriptor: label with the model's word, nothing picked
    values: tuple = ()    # one Update per descriptor: the correction picker, hidden


def on_analyze(backend: Backend, path: str | None, *, source: str = "app") -> Analysis:
    """Explain one audio file and record the analysis with a new secret token (only whoever holds it may judge
    the analysis) and a copy of the upload in the store's pending/ (for a consented save, even after a restart)."""
    from emoexplain import store as store_api
    if not path:
        raise AudioEmpty("No audio yet: record something or upload a file, then press Analyse.")
    backend.model.get()  # load outside the (GPU) call: loading errors are reported as such
    explanation: Explanation = backend.explain(str(path), id(backend.model), backend.config.max_seconds)
    result = explanation.to_dict()
    audio = explanation.acoustics.audio
    analysis_token = secrets.token_urlsafe(32)
    analysis_id = int(store_api.record_analysis(
        backend.store, result, audio_sha256=audio.sha256, duration_s=audio.original_duration_s,
        sample_rate=audio.original_sample_rate, source=source, latency_s=explanation.latency_s.total,
        analysis_token=analysis_token, pending_audio=path))
    return Analysis(explanation=explanation, analysis_id=analysis_id, audio=str(path), analysis_token=analysis_token,
                    result={**result, "analysis_id": analysis_id, "analysis_token": analysis_token},
                    warning_toasts=explanation.warnings)


def on_show(analysis: Analysis) -> ResultView:
    """The result area for ``analysis`` and a fresh judging form (a new submission token)."""
    result = analysis.explanation
    figure, warnings = _figure(analysis)
    model_words = render.model_words(result)
    session = Session(analysis_id=analysis.analysis_id, token=uuid.uuid4().hex, transcript=result.transcript or "",
                      analysis_token=analysis.analysis_token, audio=analysis.audio)
    return ResultView(
        emotion=render.emotion_label(result), caption=render.caption_markdown(result),
        transcript=render.transcript_highlights(result), descriptors=render.descriptor_markdown(result),
        plot=figure, warnings_md=render.warnings_markdown(result),
        summary=render.summary_markdown(result, analysis.analysis_id), session=session,
        corrected=Update(choices=["agree", *result.emotion.probabilities, "unsure"], value=None),
        fixed_transcript=session.transcript,
        verdicts=tuple(Update(value=None, label=verdict_label(name, model_words.get(name)))
                       for name in DESCRIPTOR_NAMES),
        values=tuple(Update(value=None, visible=False) for _ in DESCRIPTOR_NAMES), warning_toasts=warnings)


@dataclass(frozen=True)
class ClearedView(ResultView):
    raw: None = None      # the raw JSON of the previous result goes too
    analysis: None = None


def on_clip_changed() -> ClearedView:
    """A new clip in the box (upload, recording, Clear, an example, the next clip after a save): the previous
    result and form belong to another clip, so they go, and Save has nothing to refer to until Analyse."""
    return ClearedView(
        emotion=None, caption="", transcript=None, descriptors="", plot=None, warnings_md="", summary="",
        session=None, corrected=Update(choices=["agree"], value=None), fixed_transcript="",
        verdicts=tuple(Update(value=None, label=name.replace("_", " ")) for name in DESCRIPTOR_NAMES),
        values=tuple(Update(value=None, visible=False) for _ in DESCRIPTOR_NAMES))


def verdict_label(name: str, model_word: str | None) -> str:
    return f"{name.replace('_', ' ')}: the model says \u201c{render.word_or_dash(model_word)}\u201d"


def _figure(analysis: Analysis):
    """The pitch/energy figure, or None and a warning: a broken plot must not hide the prediction."""
    start = time.perf_counter()
    try:
        from emoexplain import plots
        figure = plots.figure(analysis.explanation)
    except Exception:  # noqa: BLE001 - the numbers above stay complete without the plot
        log.exception("the pitch/energy plot failed for analysis %s", analysis.analysis_id)
        return None, ("The pitch/energy plot could not be drawn; the numbers above are complete.",)
    log.debug("plot drawn in %.3f s", time.perf_counter() - start)
    return figure, ()

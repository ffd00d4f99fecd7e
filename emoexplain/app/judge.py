"""Correct & judge: the form's save, and the public /save_judgement API; both store a submission once.

    judgement_id, created = save(backend, analysis_id, emotion="agree", annotator="ana", token="form-1")

Validation lives in the store (emoexplain.store.records): this module only turns form values into the
store's shape and refuses what only the page can get wrong (saving before analysing, no emotion picked).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from emoexplain.app import render
from emoexplain.app.analyze import Session
from emoexplain.app.backend import Backend
from emoexplain.app.examples import example_label
from emoexplain.app.views import KEEP, Update, View
from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
from emoexplain.errors import InvalidJudgement


@dataclass(frozen=True)
class SaveView(View):
    save_status: str
    session: object = KEEP
    audio: object = KEEP          # the next example clip, loaded into the audio box
    example_idx: object = KEEP
    result_panel: object = KEEP   # hidden once saved: the next clip's result never sits beside this one's form


def save(backend: Backend, analysis_id, *, analysis_token: str | None = None, emotion: str | None,
         annotator: str = "", descriptor_verdicts: dict | None = None, transcript: str | None = None,
         faithfulness=None, helpfulness=None, note: str = "", consent: bool = False, token: str | None = None,
         username: str | None = None) -> tuple[int, bool]:
    """Record a judgement once per submission token; returns (judgement id, newly created).

    Only the holder of the analysis' token may judge it (the store checks). Without a submission token the
    submission's own content is the token, so an identical resubmission (a double-click, a retried HTTP call)
    returns the first id and writes nothing; tokens live in the DB, scoped to the analysis, so this holds
    across restarts and between visitors who pick the same token. With consent the analysed upload, waiting
    in the store's pending/, is kept.
    """
    from emoexplain import store as store_api
    if analysis_id in (None, "", 0):
        raise InvalidJudgement("Nothing to save yet: analyse a clip first, then judge the result.")
    if not emotion:
        raise InvalidJudgement("Pick the emotion you hear (or 'agree' if the model is right) before saving.")
    analysis_id = _whole(analysis_id, "analysis_id")   # 61.5 stays 61.5: the store refuses it
    fields = dict(annotator=annotator_id(annotator, username, sign_in=backend.config.sign_in), emotion=emotion,
                  descriptor_verdicts=descriptor_verdicts or {}, transcript=transcript or None,
                  faithfulness=_whole(faithfulness, "faithfulness"), helpfulness=_whole(helpfulness, "helpfulness"),
                  note=note or "", consent=consent)
    key = token or hashlib.sha256(json.dumps([analysis_id, fields], sort_keys=True, default=str).encode()).hexdigest()
    return store_api.record_judgement_once(backend.store, analysis_id, analysis_token=analysis_token or None,
                                           submission_token=key, **fields)


def annotator_id(typed: str | None, username: str | None, *, sign_in: bool) -> str:
    """Who a judgement is stored under: the signed-in Hugging Face name when there is one (whatever was typed);
    with sign-in on, a typed name is marked ``guest:`` so that nobody can save under a real HF name."""
    if username:
        return username
    name = (typed or "").strip() or "anonymous"
    return f"guest:{name}" if sign_in else name


def _whole(value, name: str):
    """Form and JSON values as the store takes them: "4" (a radio's value) -> 4, "" -> None; the store
    checks the rest (3.7 and 61.5 are refused there, never rounded)."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidJudgement(f"{name} must be a whole number, not {value!r}.") from None
    return value


def on_save(backend: Backend, *, session: Session | None, audio: str | None = None, emotion: str | None,
            annotator: str, verdicts: list, values: list, transcript: str, faithfulness, helpfulness, note: str,
            consent: bool, example_idx: int, examples: list[dict], username: str | None = None) -> SaveView:
    """The form's Save: store the judgement of the session's analysis, then load the next example clip.
    Refused when the clip in the box (``audio``) is not the one the shown result is for."""
    if session is None:
        raise InvalidJudgement("Nothing to save yet: analyse a clip first, then judge the result.")
    if not same_clip(session.audio, audio):
        raise InvalidJudgement("The result shown is for another clip than the one in the box now: press Analyse "
                               "to see and judge the clip in the box.")
    if session.saved:
        return SaveView(save_status=f"Already saved as judgement #{session.saved}; analyse another clip to "
                                    "judge it.")
    judgement_id, _ = save(
        backend, session.analysis_id, analysis_token=session.analysis_token, emotion=emotion, annotator=annotator,
        username=username, descriptor_verdicts=form_verdicts(verdicts, values),
        transcript=transcript if transcript and transcript.strip() != session.transcript.strip() else None,
        faithfulness=faithfulness, helpfulness=helpfulness, note=note, consent=consent, token=session.token)
    message = f"✅ Saved judgement #{judgement_id} for analysis #{session.analysis_id}. Thank you!"
    done = dict(session=dataclasses.replace(session, saved=judgement_id), result_panel=Update(visible=False),
                info_toasts=(f"Saved judgement #{judgement_id}.",))
    if not examples:
        return SaveView(save_status=message + " Record or upload the next clip, then press Analyse.", **done)
    nxt = examples[example_idx % len(examples)]
    return SaveView(save_status=message + f" Next clip loaded: **{render.escape_md(example_label(nxt))}**. "
                                          "Press Analyse.", audio=nxt["path"], example_idx=example_idx + 1, **done)


def form_verdicts(verdicts: list, values: list) -> dict:
    """The descriptor rows' answers in the store's shape. Where the model gave no word, "add one" is a
    correction (the right value is the one picked) and "leave it" no answer."""
    out = {}
    for name, verdict, value in zip(DESCRIPTOR_NAMES, verdicts, values):
        if verdict == "add":
            verdict = "wrong"
        elif verdict == "skip":
            verdict = None
        out[name] = {"verdict": verdict, "value": value}
    return out


def same_clip(analysed: str | None, in_box: str | None) -> bool:
    """Whether the box still holds the analysed clip: the same file, or one with the same bytes (gradio may
    hand the same upload over under another cache path)."""
    if not analysed or not in_box:
        return analysed is None and in_box is None  # a session made without a file (tests, API) has no box
    if analysed == in_box:
        return True
    try:
        return _digest(analysed) == _digest(in_box)
    except OSError:
        return False


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class PickerView(View):
    picker: Update


def on_verdict(*, verdict: str | None) -> PickerView:
    """The correction picker of a descriptor shows only while its verdict is "wrong" (or "add one")."""
    return PickerView(picker=Update(visible=verdict in ("wrong", "add")))


def save_judgement_endpoint(backend: Backend):
    """The public ``/save_judgement`` API function (its signature and docstring are the API's; the edge fills
    ``username`` with the signed-in Hugging Face user, which callers cannot set)."""
    def save_judgement(analysis_id: int, analysis_token: str = "", emotion: str = "", annotator: str = "",
                       descriptor_verdicts: dict | None = None, transcript: str = "", faithfulness: int | None = None,
                       helpfulness: int | None = None, note: str = "", consent: bool = False,
                       submission_token: str = "", username: str | None = None) -> dict:
        """Save a human judgement of analysis `analysis_id`, proven yours by the `analysis_token` that /analyze
        returned with it. emotion: a label of the model's label set or "agree"; descriptor_verdicts:
        {name: {"verdict": "correct"|"wrong"|"unsure", "value": word-if-wrong}}; faithfulness/helpfulness
        whole numbers 1-5; consent true keeps the audio (a JSON boolean). The same submission (same fields, or
        the same submission_token for this analysis) is stored once. Returns {"judgement_id", "created"}."""
        judgement_id, created = save(
            backend, analysis_id, analysis_token=analysis_token, emotion=emotion, annotator=annotator,
            descriptor_verdicts=descriptor_verdicts, transcript=transcript or None, faithfulness=faithfulness,
            helpfulness=helpfulness, note=note, consent=consent, token=submission_token or None, username=username)
        return {"judgement_id": judgement_id, "created": created}
    return save_judgement

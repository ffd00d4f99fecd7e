"""Writing to the store: analyses, judgements, training runs, deletions. Input is validated first;
a rejected call raises a named error and writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import numbers
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path

from emoexplain.errors import (AnalysisNotFound, AudioGone, InvalidAnalysis, InvalidJudgement, NotYourAnalysis,
                               NoteTooLong, StoreError, UnknownLabel)
from emoexplain.jsonsafe import finite_or_none
from emoexplain.store.db import AUDIO_DIR, PENDING_DIR, Store, atomic_copy, now, pending_ttl_s, sweep

NOTE_MAX_CHARS = 10_000        # notes and corrected transcripts
NAME_MAX_CHARS = 200           # annotator ids and display names
VERDICTS = ("correct", "wrong", "unsure")
VERDICT_ALIASES = {"right": "correct"}   # what the app's form says for "correct"
EMOTION_AGREE, EMOTION_UNSURE = "agree", "unsure"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,7}$")       # what a kept audio file's name may end with
TOKEN_MIN_CHARS, TOKEN_MAX_CHARS = 16, 200    # analysis tokens (the app makes 43-character random ones)

def vocabulary() -> dict[str, tuple[str, ...]]:
    """Descriptor name -> allowed words (emphasis -> (): free words); the acoustic engine's vocabulary."""
    from emoexplain.descriptors import vocabulary as descriptor_vocabulary
    return descriptor_vocabulary()


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, allow_nan=False, default=_jsonable)


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- analyses ------------------------------------------------------------------------------------

def record_analysis(store: Store, explanation: dict, *, audio_sha256: str, duration_s: float,
                    sample_rate: int, source: str, latency_s: float | None = None,
                    label_set: str | None = None, analysis_token: str | None = None,
                    pending_audio: str | os.PathLike | None = None) -> int:
    """Store one model explanation of a clip (``Explanation.to_dict()``); returns the analysis id.

    The clip row is created on first sight (hash + measurements only: audio is kept later, and only
    with consent). The acoustic profile is kept without its frame tracks.

    :param label_set: the model's label set; default: ``explanation["model"]["label_set"]``, else
      inferred from the label probabilities.
    :param analysis_token: a secret of the caller's; when given, the analysis can only be judged with it
      (only its sha256 is kept).
    :param pending_audio: the analysed file; a copy waits in ``pending/`` beside the DB (for
      ``EMOEXPLAIN_PENDING_TTL_S``, default 1 h) so that a judgement with consent can keep it, even after a restart.
    """
    if hasattr(explanation, "to_dict"):
        explanation = explanation.to_dict()
    if not isinstance(explanation, dict):
        raise InvalidAnalysis(f"explanation must be a dict (Explanation.to_dict()), got {type(explanation).__name__}.")
    sha = _check_sha(audio_sha256)
    duration_s = _number(duration_s, "duration_s", InvalidAnalysis, minimum=0.0)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral) or sample_rate <= 0:
        raise InvalidAnalysis(f"sample_rate must be a positive int, got {sample_rate!r}.")
    if not isinstance(source, str) or not source.strip():
        raise InvalidAnalysis("source must be a non-empty string such as 'upload', 'microphone' or 'example'.")
    emotion = explanation.get("emotion") or {}
    label = emotion.get("label") if isinstance(emotion, dict) else None
    probabilities = emotion.get("probabilities") if isinstance(emotion, dict) else None
    if not isinstance(label, str) or not label:
        raise InvalidAnalysis("explanation['emotion']['label'] is missing; pass Explanation.to_dict().")
    model = explanation.get("model") or {}
    if not isinstance(model, dict) or not isinstance(model.get("name"), str) or not model["name"]:
        raise InvalidAnalysis("explanation['model']['name'] is missing; every analysis must say which model made it.")
    label_set = label_set or model.get("label_set") or explanation.get("label_set") or _infer_label_set(
        label, probabilities)
    from emoexplain.labels import normalize
    label = normalize(label, label_set)  # UnknownLabel if the model's label is not in its own set
    descriptors = explanation.get("descriptors") or {}
    model_words = dict(descriptors.get("model") or {}) if isinstance(descriptors, dict) else {}
    emphasis = _emphasis_words(model_words.pop("emphasis", None) or _stressed_words(descriptors))
    acoustics = dict(explanation.get("acoustics") or {})
    acoustics.pop("frames", None)
    rest = {k: v for k, v in explanation.items() if k not in {"emotion", "acoustics", "descriptors", "transcript",
                                                               "caption"}}
    if latency_s is None and isinstance(explanation.get("latency_s"), dict):
        latency_s = explanation["latency_s"].get("total")
    token_sha256 = None if analysis_token is None else token_hash(_token(analysis_token, "analysis_token",
                                                                          InvalidAnalysis))
    pending = None if pending_audio is None else _keep_pending(store, sha, pending_audio)
    created = now()
    row = {
        "clip_sha256": sha, "model_name": model["name"], "model_version": str(model.get("version") or ""),
        "label_set": label_set, "label": label, "probabilities": _json(finite_or_none(probabilities)),
        "transcript": explanation.get("transcript"), "caption": explanation.get("caption"),
        "descriptors": _json(model_words), "emphasis": _json(emphasis),
        "measured": _json(finite_or_none(descriptors.get("measured") if isinstance(descriptors, dict) else None)),
        "acoustics": _json(finite_or_none(acoustics)), "explanation": _json(finite_or_none(rest)),
        "latency_s": None if latency_s is None else float(latency_s), "created_at": created,
        "token_sha256": token_sha256, "pending_audio": pending,
    }
    with store.write() as db:
        db.execute("INSERT OR IGNORE INTO clips (sha256, duration_s, sample_rate, source, consent, created_at) "
                   "VALUES (?, ?, ?, ?, 0, ?)", [sha, duration_s, int(sample_rate), source.strip(), created])
        return db["analyses"].insert(row).last_pk


def _infer_label_set(label: str, probabilities) -> str:
    from emoexplain.labels import label_set_names, labels
    keys = set(probabilities) if isinstance(probabilities, dict) and probabilities else {label}
    candidates = [name for name in label_set_names() if keys <= set(labels(name))]
    if not candidates:
        raise InvalidAnalysis(f"Cannot tell the label set of {sorted(keys)}; pass label_set= or put it in "
                              "explanation['model']['label_set'].")
    return min(candidates, key=lambda name: len(labels(name)))


def _check_sha(sha) -> str:
    if not isinstance(sha, str) or not _SHA256.match(sha.lower()):
        raise InvalidAnalysis(f"audio_sha256 must be 64 hex digits (AudioClip.sha256), got {sha!r}.")
    return sha.lower()


def _number(value, name, error, *, minimum=None, maximum=None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise error(f"{name} must be a number, got {value!r}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise error(f"{name} must be between {minimum} and {maximum}, got {value!r}.")
    return float(value)


def _stressed_words(descriptors) -> list[str]:
    """The model's emphasised words of an Explanation dict: ``descriptors.emphasis`` [{word, start_s, end_s}]."""
    stressed = descriptors.get("emphasis") if isinstance(descriptors, dict) else None
    if not isinstance(stressed, list):
        return []
    return [w.get("word") if isinstance(w, dict) else w for w in stressed]


def whole_number(value, name: str, *, minimum=None, maximum=None, error=InvalidJudgement) -> int:
    """``value`` as an int when it is a whole number (4 or 4.0) in range; 3.7, "4", True and NaN are refused."""
    whole = not isinstance(value, bool) and isinstance(value, numbers.Real) and value == value and \
        value not in (float("inf"), float("-inf")) and value == int(value)
    if not whole or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f" from {minimum} to {maximum}" if minimum is not None and maximum is not None else ""
        raise error(f"{name} must be a whole number{bounds}, got {value!r}.")
    return int(value)


def boolean(value, name: str, error=InvalidJudgement) -> bool:
    """``value`` when it is True or False; the strings "false", "0", "no" (and every other non-bool) are refused."""
    import numpy as np
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} must be true or false (a JSON boolean), got {value!r}.")
    return bool(value)


def new_token() -> tuple[str, str]:
    """(token for the client, its sha256 to store): analyses and campaign leases both hand out these."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """What the store keeps of an analysis token: its sha256 (a leaked DB does not reveal live tokens)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token(value, name: str, error=InvalidJudgement) -> str:
    if not isinstance(value, str) or not TOKEN_MIN_CHARS <= len(value) <= TOKEN_MAX_CHARS:
        raise error(f"{name} must be a string of {TOKEN_MIN_CHARS} to {TOKEN_MAX_CHARS} characters "
                    "(the one /analyze returned).")
    return value


def _emphasis_words(value) -> list[str]:
    """Emphasis as a list of words: lists are kept; a string is split on commas (or semicolons), else on spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"[,;]", value) if ("," in value or ";" in value) else value.split()
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise InvalidJudgement(f"emphasis must be words (a string or a list of strings), got {value!r}.")


# --- judgements ----------------------------------------------------------------------------------

def record_judgement(store: Store, analysis_id: int, *, annotator: str, emotion: str,
                     descriptor_verdicts: dict | None = None, transcript: str | None = None,
                     faithfulness: int | None = None, helpfulness: int | None = None, note: str = "",
                     consent: bool = False, audio_path: str | os.PathLike | None = None,
                     annotator_name: str | None = None, analysis_token: str | None = None,
                     submission_token: str | None = None) -> int:
    """Store one person's judgement of an analysis; returns the judgement id.

    A second judgement of the same analysis by the same annotator is a new revision: history is
    kept, the latest wins (view ``latest_judgements``).

    :param emotion: a label of the analysis' label set (aliases accepted), ``"agree"`` (the model's
      label) or ``"unsure"``.
    :param descriptor_verdicts: ``{name: {"verdict": "correct"|"wrong"|"unsure", "value": word}}``;
      ``value`` is required for ``"wrong"`` and must be in the vocabulary (emphasis: free words).
      A bare string ``"correct"``/``"unsure"`` is accepted as the verdict.
    :param consent: True or False (nothing else). With consent the audio is copied beside the DB as
      ``audio/<sha256>.<ext>``: ``audio_path``, else the analysis' pending upload; without consent no audio is kept.
    :param analysis_token: required when the analysis was recorded with one (and must match it).
    :param submission_token: makes the save idempotent: a second call with the same token for the same
      analysis stores nothing and returns the first judgement's id (see :func:`record_judgement_once`).
    :raises AnalysisNotFound, NotYourAnalysis, AudioGone, UnknownLabel, NoteTooLong, InvalidJudgement:
    """
    return record_judgement_once(
        store, analysis_id, annotator=annotator, emotion=emotion, descriptor_verdicts=descriptor_verdicts,
        transcript=transcript, faithfulness=faithfulness, helpfulness=helpfulness, note=note, consent=consent,
        audio_path=audio_path, annotator_name=annotator_name, analysis_token=analysis_token,
        submission_token=submission_token)[0]


def record_judgement_once(store: Store, analysis_id: int, *, annotator: str, emotion: str,
                          descriptor_verdicts: dict | None = None, transcript: str | None = None,
                          faithfulness: int | None = None, helpfulness: int | None = None, note: str = "",
                          consent: bool = False, audio_path: str | os.PathLike | None = None,
                          annotator_name: str | None = None, analysis_token: str | None = None,
                          submission_token: str | None = None) -> tuple[int, bool]:
    """:func:`record_judgement`, returning ``(judgement id, created)``: ``created`` is False when this
    ``submission_token`` was already stored for this analysis (a retry, a double click, a resend after a
    crash), in which case nothing was written. Tokens are scoped to the analysis: two visitors who both send
    ``"form-1"`` for their own analyses get two judgements."""
    if isinstance(analysis_id, bool) or not isinstance(analysis_id, numbers.Integral):
        raise InvalidJudgement(f"analysis_id must be an int (from record_analysis), got {analysis_id!r}.")
    analysis_id = int(analysis_id)
    rows = store.read("SELECT label, label_set, clip_sha256, token_sha256, pending_audio FROM analyses WHERE id = ?",
                      [analysis_id])
    if not rows:
        raise AnalysisNotFound(f"No analysis with id {analysis_id}; record the analysis first "
                               "(record_analysis) or reload the page.")
    analysis = rows[0]
    _check_owner(analysis, analysis_id, analysis_token)
    annotator = _name(annotator, "annotator")
    annotator_name = annotator if annotator_name is None else _name(annotator_name, "annotator_name")
    label, agreed = _emotion(emotion, analysis)
    verdicts = _verdicts(descriptor_verdicts)
    transcript = _text(transcript, "transcript", InvalidJudgement) if transcript is not None else None
    note = _text("" if note is None else note, "note", NoteTooLong)
    ratings = {name: None if value is None else whole_number(value, name, minimum=1, maximum=5)
               for name, value in (("faithfulness", faithfulness), ("helpfulness", helpfulness))}
    consent = boolean(consent, "consent")
    if submission_token is not None and (not isinstance(submission_token, str)
                                         or not 0 < len(submission_token) <= TOKEN_MAX_CHARS):
        raise InvalidJudgement(f"submission_token must be a string of 1 to {TOKEN_MAX_CHARS} characters.")
    if submission_token is not None:
        done = _stored_submission(store, analysis_id, submission_token)
        if done is not None:
            return done, False
    kept_audio = _consented_audio(store, analysis, audio_path) if consent else None
    created = now()
    try:
        with store.write() as db:
            db.execute("INSERT OR IGNORE INTO annotators (id, display_name, created_at) VALUES (?, ?, ?)",
                       [annotator, annotator_name, created])
            # the next revision is computed inside the INSERT, under the write lock: no race between writers;
            # a submission token already stored (by a concurrent retry) makes it insert nothing
            cursor = db.execute(
                "INSERT INTO judgements (analysis_id, annotator_id, revision, emotion, agreed, descriptor_verdicts,"
                " transcript, faithfulness, helpfulness, note, consent, created_at, submission_token)"
                " SELECT ?, ?, coalesce(max(revision), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM judgements"
                " WHERE analysis_id = ? AND annotator_id = ?"
                " ON CONFLICT (analysis_id, submission_token) DO NOTHING",
                [analysis_id, annotator, label, int(agreed), _json(verdicts), transcript,
                 ratings["faithfulness"], ratings["helpfulness"], note, int(consent), created, submission_token,
                 analysis_id, annotator])
            if cursor.rowcount == 0:
                existing = db.execute("SELECT id FROM judgements WHERE analysis_id = ? AND submission_token = ?",
                                      [analysis_id, submission_token]).fetchone()
                return int(existing[0]), False
            if kept_audio:
                db.execute("UPDATE clips SET audio_path = ?, consent = 1 WHERE sha256 = ?",
                           [kept_audio, analysis["clip_sha256"]])
            return int(cursor.lastrowid), True
    except sqlite3.IntegrityError as e:  # the analysis was deleted between the check and the insert
        raise AnalysisNotFound(f"Analysis {analysis_id} was deleted while saving ({e}); nothing was saved.") from e


def _check_owner(analysis: dict, analysis_id: int, token) -> None:
    if analysis["token_sha256"] is None:  # recorded without a token (library, CLI): anyone with the store may judge
        return
    if token is None:
        raise NotYourAnalysis(f"Analysis {analysis_id} can only be judged with the analysis_token that /analyze "
                              "returned with it; send it along (or analyse the clip yourself).")
    if not isinstance(token, str) or not hmac.compare_digest(token_hash(token), analysis["token_sha256"]):
        raise NotYourAnalysis(f"That analysis_token is not the one of analysis {analysis_id}: only whoever made an "
                              "analysis can judge it. Analyse the clip yourself to judge it.")


def _stored_submission(store: Store, analysis_id: int, submission_token: str) -> int | None:
    row = store.read("SELECT id FROM judgements WHERE analysis_id = ? AND submission_token = ?",
                     [analysis_id, submission_token])
    return int(row[0]["id"]) if row else None


def _name(value, what) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidJudgement(f"{what} must be a non-empty string (HF username or typed name), got {value!r}.")
    if len(value.strip()) > NAME_MAX_CHARS:
        raise InvalidJudgement(f"{what} is longer than {NAME_MAX_CHARS} characters; use a shorter name.")
    return value.strip()


def _text(value, what, error) -> str:
    if not isinstance(value, str):
        raise InvalidJudgement(f"{what} must be a string, got {type(value).__name__}.")
    if len(value) > NOTE_MAX_CHARS:
        raise error(f"The {what} has {len(value):,} characters; the limit is {NOTE_MAX_CHARS:,}. "
                    "Shorten it or split it into several judgements.")
    return value


def _emotion(emotion, analysis) -> tuple[str | None, bool]:
    if not isinstance(emotion, str) or not emotion.strip():
        raise InvalidJudgement(f"emotion must be a label, 'agree' or 'unsure', got {emotion!r}.")
    word = emotion.strip().lower()
    if word == EMOTION_AGREE:
        return analysis["label"], True
    if word == EMOTION_UNSURE:
        return None, False
    from emoexplain.labels import normalize
    label = normalize(emotion, analysis["label_set"])  # raises UnknownLabel with the allowed labels
    return label, label == analysis["label"]


def _verdicts(verdicts) -> dict:
    if verdicts is None:
        return {}
    if not isinstance(verdicts, dict):
        raise InvalidJudgement(f"descriptor_verdicts must be a dict {{name: {{'verdict': ...}}}}, got "
                               f"{type(verdicts).__name__}.")
    vocab = vocabulary()
    clean = {}
    for name, verdict in verdicts.items():
        if name not in vocab:
            raise UnknownLabel(f"Unknown descriptor {name!r}; use one of {sorted(vocab)}.")
        if verdict is None or isinstance(verdict, str):
            verdict = {"verdict": verdict}
        answer = verdict.get("verdict") if isinstance(verdict, dict) else verdict
        answer = VERDICT_ALIASES.get(answer, answer) if isinstance(answer, str) else answer
        if answer in (None, ""):  # a descriptor the annotator left unanswered
            continue
        if answer not in VERDICTS:
            raise InvalidJudgement(f"The verdict on {name} must be one of {list(VERDICTS)}, got {verdict!r}.")
        entry = {"verdict": answer}
        if answer == "wrong":
            entry["value"] = _corrected_value(name, verdict.get("value"), vocab[name])
        clean[name] = entry
    return clean


def _corrected_value(name, value, words):
    if name == "emphasis" or not words:
        words_given = _emphasis_words(value)
        if not words_given and value not in (None, [], ""):
            raise InvalidJudgement(f"A 'wrong' verdict on {name} needs the corrected words.")
        return words_given  # no words means "nothing was emphasised"
    if value in (None, ""):
        raise UnknownLabel(f"You marked {name.replace('_', ' ')} as wrong: pick the right value too (the corrected "
                           f"value is one of {list(words)}).")
    if not isinstance(value, str) or value.strip().lower() not in words:
        raise UnknownLabel(f"A 'wrong' verdict on {name} needs the corrected value, one of {list(words)}; "
                           f"got {value!r}.")
    return value.strip().lower()


def _consented_audio(store: Store, analysis: dict, audio_path) -> str | None:
    """Keep the audio of a consented judgement: ``audio_path`` if given, else the analysis' pending upload.

    Returns the kept file's path relative to the DB folder, or None when there is nothing to keep (an
    analysis recorded without its audio). Raises AudioGone when the pending upload has expired."""
    if audio_path is not None:
        return _keep_audio(store, analysis["clip_sha256"], audio_path)
    if not analysis["pending_audio"]:
        return None
    kept = store.read("SELECT audio_path FROM clips WHERE sha256 = ?", [analysis["clip_sha256"]])
    if kept and kept[0]["audio_path"] and (store.path.parent / kept[0]["audio_path"]).is_file():
        return kept[0]["audio_path"]  # kept already (an earlier consent)
    pending = store.path.parent / analysis["pending_audio"]
    if not pending.is_file():
        minutes = pending_ttl_s() / 60
        raise AudioGone(f"The audio of this analysis is no longer on the server (uploads wait {minutes:g} minutes "
                        "for their judgement), so it cannot be kept. Analyse the clip again and save, or save "
                        "without consent.")
    return _keep_audio(store, analysis["clip_sha256"], pending)


def _keep_audio(store: Store, sha: str, audio_path) -> str:
    """Copy consented audio to audio/<sha256>.<ext> beside the DB; returns the relative path."""
    return f"{AUDIO_DIR}/{_copy_beside(store, store.audio_dir, sha, audio_path).name}"


def _keep_pending(store: Store, sha: str, audio_path) -> str:
    """Copy an analysed upload to pending/<sha256>.<ext> (refreshing its age if it is there); relative path."""
    _sweep_now_and_then(store)
    dest = _copy_beside(store, store.pending_dir, sha, audio_path)
    os.utime(dest)
    return f"{PENDING_DIR}/{dest.name}"


def _copy_beside(store: Store, folder: Path | None, sha: str, audio_path) -> Path:
    if folder is None:
        raise StoreError("An in-memory store cannot keep audio; open a store on a file.")
    src = Path(audio_path)
    if not src.is_file():
        raise InvalidJudgement(f"audio file {src.name!r} is not a file; pass the clip that was analysed.")
    ext = src.suffix.lower() if _SUFFIX.match(src.suffix.lower()) else ".audio"
    dest = folder / f"{sha}{ext}"
    if not dest.exists():
        atomic_copy(src, dest)
    return dest


_last_sweep: dict[str, float] = {}


def _sweep_now_and_then(store: Store, every_s: float = 60.0) -> None:
    """Expire pending uploads while the app runs (not only at start), at most once a minute per store."""
    key = str(store.path)
    if time.monotonic() - _last_sweep.get(key, -every_s) >= every_s:
        _last_sweep[key] = time.monotonic()
        sweep(store)


# --- training runs, deletions ----------------------------------------------------------------------

_RUN_COLUMNS = ("checkpoint", "base_checkpoint", "model_name", "model_version", "n_examples", "config", "metrics")


def record_training_run(store: Store, **fields) -> int:
    """Record a training run (called by train/); returns its id. Known fields get columns
    (checkpoint, base_checkpoint, model_name, model_version, n_examples, config, metrics), any other
    field is kept in ``extra`` (JSON). Dicts and lists are stored as JSON."""
    row = {"created_at": now()}
    extra = {}
    for key, value in fields.items():
        if key in _RUN_COLUMNS:
            row[key] = _json(finite_or_none(value)) if isinstance(value, (dict, list, tuple)) else value
        else:
            extra[key] = value
    if "n_examples" in row and row["n_examples"] is not None:
        row["n_examples"] = int(row["n_examples"])
    for key in ("checkpoint", "base_checkpoint", "model_name", "model_version"):
        if key in row and row[key] is not None:
            row[key] = str(row[key])
    row["extra"] = _json(finite_or_none(extra)) if extra else None
    with store.write() as db:
        return db["training_runs"].insert(row).last_pk


def delete_clip(store: Store, sha256: str) -> dict:
    """Remove a clip, its analyses, their judgements and its audio file; returns deleted row counts.

    Unknown hashes delete nothing (counts are zero)."""
    sha = _check_sha(sha256)
    with store.write() as db:
        audio = db.execute("SELECT audio_path FROM clips WHERE sha256 = ?", [sha]).fetchone()
        judgements = db.execute("DELETE FROM judgements WHERE analysis_id IN "
                                "(SELECT id FROM analyses WHERE clip_sha256 = ?)", [sha]).rowcount
        analyses = db.execute("DELETE FROM analyses WHERE clip_sha256 = ?", [sha]).rowcount
        clips = db.execute("DELETE FROM clips WHERE sha256 = ?", [sha]).rowcount
    files = 0
    for folder in (store.audio_dir, store.pending_dir) if store.path is not None else ():
        for path in folder.glob(f"{sha}.*"):  # also files of a clip whose row was lost
            path.unlink(missing_ok=True)
            files += 1
    return {"clips": clips, "analyses": analyses, "judgements": judgements, "audio_files": files,
            "had_audio": bool(audio and audio[0])}


def delete_annotator(store: Store, annotator_id: str) -> dict:
    """Remove an annotator and all their judgements (every revision); returns deleted row counts."""
    annotator_id = _name(annotator_id, "annotator_id")
    with store.write() as db:
        judgements = db.execute("DELETE FROM judgements WHERE annotator_id = ?", [annotator_id]).rowcount
        annotators = db.execute("DELETE FROM annotators WHERE id = ?", [annotator_id]).rowcount
    return {"annotators": annotators, "judgements": judgements}

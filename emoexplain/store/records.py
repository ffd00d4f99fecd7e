"""Writing to the store: analyses, judgements, training runs, deletions. Input is validated first;
a rejected call raises a named error and writes nothing."""

from __future__ import annotations

import json
import numbers
import os
import re
import sqlite3
from pathlib import Path

from emoexplain.errors import (AnalysisNotFound, InvalidAnalysis, InvalidJudgement, NoteTooLong,
                               StoreError, UnknownLabel)
from emoexplain.jsonsafe import finite_or_none
from emoexplain.store.db import AUDIO_DIR, Store, atomic_copy, now

NOTE_MAX_CHARS = 10_000        # notes and corrected transcripts
NAME_MAX_CHARS = 200           # annotator ids and display names
VERDICTS = ("correct", "wrong", "unsure")
VERDICT_ALIASES = {"right": "correct"}   # what the app's form says for "correct"
EMOTION_AGREE, EMOTION_UNSURE = "agree", "unsure"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

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
                    label_set: str | None = None) -> int:
    """Store one model explanation of a clip (``Explanation.to_dict()``); returns the analysis id.

    The clip row is created on first sight (hash + measurements only: audio is kept later, and only
    with consent). The acoustic profile is kept without its frame tracks.

    :param label_set: the model's label set; default: ``explanation["model"]["label_set"]``, else
      inferred from the label probabilities.
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
    created = now()
    row = {
        "clip_sha256": sha, "model_name": model["name"], "model_version": str(model.get("version") or ""),
        "label_set": label_set, "label": label, "probabilities": _json(finite_or_none(probabilities)),
        "transcript": explanation.get("transcript"), "caption": explanation.get("caption"),
        "descriptors": _json(model_words), "emphasis": _json(emphasis),
        "measured": _json(finite_or_none(descriptors.get("measured") if isinstance(descriptors, dict) else None)),
        "acoustics": _json(finite_or_none(acoustics)), "explanation": _json(finite_or_none(rest)),
        "latency_s": None if latency_s is None else float(latency_s), "created_at": created,
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
                     annotator_name: str | None = None) -> int:
    """Store one person's judgement of an analysis; returns the judgement id.

    A second judgement of the same analysis by the same annotator is a new revision: history is
    kept, the latest wins (view ``latest_judgements``).

    :param emotion: a label of the analysis' label set (aliases accepted), ``"agree"`` (the model's
      label) or ``"unsure"``.
    :param descriptor_verdicts: ``{name: {"verdict": "correct"|"wrong"|"unsure", "value": word}}``;
      ``value`` is required for ``"wrong"`` and must be in the vocabulary (emphasis: free words).
      A bare string ``"correct"``/``"unsure"`` is accepted as the verdict.
    :param consent: with ``audio_path``, the audio is copied beside the DB as ``audio/<sha256>.<ext>``;
      without consent no audio is kept.
    :raises AnalysisNotFound, UnknownLabel, NoteTooLong, InvalidJudgement:
    """
    if isinstance(analysis_id, bool) or not isinstance(analysis_id, numbers.Integral):
        raise InvalidJudgement(f"analysis_id must be an int (from record_analysis), got {analysis_id!r}.")
    rows = store.read("SELECT label, label_set, clip_sha256 FROM analyses WHERE id = ?", [int(analysis_id)])
    if not rows:
        raise AnalysisNotFound(f"No analysis with id {analysis_id}; record the analysis first "
                               "(record_analysis) or reload the page.")
    analysis = rows[0]
    annotator = _name(annotator, "annotator")
    annotator_name = annotator if annotator_name is None else _name(annotator_name, "annotator_name")
    label, agreed = _emotion(emotion, analysis)
    verdicts = _verdicts(descriptor_verdicts)
    transcript = _text(transcript, "transcript", InvalidJudgement) if transcript is not None else None
    note = _text("" if note is None else note, "note", NoteTooLong)
    ratings = {name: _rating(value, name) for name, value in
               (("faithfulness", faithfulness), ("helpfulness", helpfulness))}
    if not isinstance(consent, (bool, int)) or consent not in (0, 1):
        raise InvalidJudgement(f"consent must be True or False, got {consent!r}.")
    kept_audio = _keep_audio(store, analysis["clip_sha256"], audio_path) if consent and audio_path else None
    created = now()
    try:
        with store.write() as db:
            db.execute("INSERT OR IGNORE INTO annotators (id, display_name, created_at) VALUES (?, ?, ?)",
                       [annotator, annotator_name, created])
            # the next revision is computed inside the INSERT, under the write lock: no race between writers
            cursor = db.execute(
                "INSERT INTO judgements (analysis_id, annotator_id, revision, emotion, agreed, descriptor_verdicts,"
                " transcript, faithfulness, helpfulness, note, consent, created_at)"
                " SELECT ?, ?, coalesce(max(revision), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM judgements"
                " WHERE analysis_id = ? AND annotator_id = ?",
                [int(analysis_id), annotator, label, int(agreed), _json(verdicts), transcript,
                 ratings["faithfulness"], ratings["helpfulness"], note, int(bool(consent)), created,
                 int(analysis_id), annotator])
            if kept_audio:
                db.execute("UPDATE clips SET audio_path = ?, consent = 1 WHERE sha256 = ?",
                           [kept_audio, analysis["clip_sha256"]])
            return cursor.lastrowid
    except sqlite3.IntegrityError as e:  # the analysis was deleted between the check and the insert
        raise AnalysisNotFound(f"Analysis {analysis_id} was deleted while saving ({e}); nothing was saved.") from e


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


def _rating(value, what) -> int | None:
    if value is None:
        return None
    # the range test comes first: it is False for NaN, which int() cannot convert
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 1 <= value <= 5 \
            or value != int(value):
        raise InvalidJudgement(f"{what} must be a whole number from 1 to 5 (or None), got {value!r}.")
    return int(value)


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


def _keep_audio(store: Store, sha: str, audio_path) -> str:
    """Copy consented audio to audio/<sha256>.<ext> beside the DB; returns the relative path."""
    if store.audio_dir is None:
        raise StoreError("An in-memory store cannot keep audio; open a store on a file.")
    src = Path(audio_path)
    if not src.is_file():
        raise InvalidJudgement(f"audio_path {str(src)!r} is not a file; pass the clip that was analysed.")
    ext = (src.suffix.lower() or ".wav")[:8]
    dest = store.audio_dir / f"{sha}{ext}"
    if not dest.exists():
        atomic_copy(src, dest)
    return f"{AUDIO_DIR}/{dest.name}"


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
    if store.audio_dir is not None:  # also sweep files of a clip whose row was lost
        for path in store.audio_dir.glob(f"{sha}.*"):
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

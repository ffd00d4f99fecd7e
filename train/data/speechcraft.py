"""SpeechCraft-style caption manifests (e.g. its GigaSpeech-m English subset) -> manifest rows.

SpeechCraft ships labels (pitch, speed, volume/energy, age, gender, emotion, emphasis, transcript) and two
caption versions: "Description" (no transcript) and "Instruction" (transcript embedded; the paper's target).
Releases differ in container, so this reader accepts a JSON object keyed by clip id, a JSON list, or JSONL,
and finds each field under its usual names (case-insensitive):

    id        key | id | segment_id | audio | path | wav
    caption   instruction | caption | description | text_description
    transcript transcript | text | trans
    emotion   emotion | emotion_tone        pitch | speed | volume (or energy)      gender | age | emphasis

Audio: the ``audio``/``path`` value when it is a file, else ``audio_root/<id>.{wav,flac,opus,mp3}`` (also one
folder level down by the id's prefix, as GigaSpeech stores them). Emotions map into speechcraft7.
"""

from __future__ import annotations

import json
from pathlib import Path

from emoexplain.errors import UnknownLabel
from train.data.manifest import ManifestError

ALIASES = {"id": ("key", "id", "segment_id", "sid", "audio", "path", "wav", "audio_path"),
           "caption": ("instruction", "caption", "description", "text_description"),
           "transcript": ("transcript", "text", "trans"), "emotion": ("emotion", "emotion_tone"),
           "pitch": ("pitch",), "speed": ("speed", "pace"), "volume": ("volume", "energy"),
           "gender": ("gender",), "age": ("age",), "emphasis": ("emphasis", "emphasis_words")}
EXTS = (".wav", ".flac", ".opus", ".mp3", ".ogg")


def _records(path: Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, dict):
        return [{"key": k, **v} for k, v in data.items()]
    return data


def _get(lower: dict, field: str):
    """The field's value under its first alias present in ``lower`` (the record with lower-cased keys)."""
    for name in ALIASES[field]:
        if lower.get(name) not in (None, ""):
            return lower[name]
    return None


def build(labels_file: str | Path, audio_root: str | Path | None = None, *, split: str = "train") -> tuple[list, dict]:
    from emoexplain.labels import normalize

    labels_file = Path(labels_file)
    if not labels_file.is_file():
        raise ManifestError(f"{labels_file} not found: give the SpeechCraft labels/instruction JSON(L) file.")
    rows, skipped = [], {"no_audio": 0, "unknown_emotion": 0}
    for rec in _records(labels_file):
        rec = {k.lower(): v for k, v in rec.items()}
        clip_id = str(_get(rec, "id") or "")
        audio = _find_audio(clip_id, audio_root)
        if audio is None:
            skipped["no_audio"] += 1
            continue
        emotion = _get(rec, "emotion")
        if emotion is not None:
            try:
                emotion = normalize(str(emotion), "speechcraft7")
            except UnknownLabel:
                skipped["unknown_emotion"] += 1
                continue
        descriptors = {k: str(v).strip().lower() for k in ("pitch", "speed", "volume") if (v := _get(rec, k))}
        emphasis = _get(rec, "emphasis") or []
        if isinstance(emphasis, str):
            emphasis = [w for w in emphasis.replace(",", " ").split() if w]
        gender = str(_get(rec, "gender") or "").strip().lower() or None
        rows.append({"audio": str(audio), "transcript": _get(rec, "transcript"), "emotion": emotion,
                     "label_set": "speechcraft7", "descriptors": descriptors,
                     "descriptor_source": {k: "corpus" for k in descriptors}, "emphasis": list(emphasis),
                     "caption": _get(rec, "caption"), "speaker": None,
                     "gender": gender if gender in ("male", "female") else None, "split": split,
                     "source": "speechcraft", "meta": {"id": clip_id, "age": _get(rec, "age")}})
    return rows, skipped


def _find_audio(clip_id: str, audio_root) -> Path | None:
    if clip_id and Path(clip_id).is_file():
        return Path(clip_id)
    if not audio_root or not clip_id:
        return None
    root, stem = Path(audio_root), Path(clip_id).stem
    for folder in (root, root / stem.split("_")[0]):
        for ext in EXTS:
            if (folder / f"{stem}{ext}").is_file():
                return folder / f"{stem}{ext}"
    return None

"""A plain folder of labelled clips -> manifest rows.

Two layouts:

    root/<emotion>/<any name>.{wav,flac,ogg,mp3}     (one sub-folder per label)
    root/*.wav + root/labels.csv                     (columns: file, emotion[, transcript, speaker, gender, split])

An optional ``<name>.txt`` beside a clip holds its transcript. Labels are normalised into ``label_set``
(aliases such as "Excited" -> "happy"); unknown labels raise. Without a split column every clip gets
``split`` (default "train").
"""

from __future__ import annotations

import csv
from pathlib import Path

from emoexplain.labels import normalize
from train.data.manifest import ManifestError

AUDIO_EXTS = {".wav", ".flac", ".ogg", ".mp3"}


def build(root: str | Path, *, label_set: str = "iemocap4", split: str = "train") -> list[dict]:
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root} is not a folder.")
    table = root / "labels.csv"
    if table.is_file():
        with table.open(newline="") as f:
            records = list(csv.DictReader(f))
        items = [(root / r["file"], r) for r in records]
    else:
        items = [(p, {"emotion": p.parent.name}) for p in sorted(root.glob("*/*")) if p.suffix.lower() in AUDIO_EXTS]
    if not items:
        raise ManifestError(f"No labelled clips under {root}: use <label>/<clip>.wav folders or a labels.csv.")
    rows = []
    for path, rec in items:
        if not path.is_file():
            raise ManifestError(f"labels.csv names {path.name}, which is not in {root}.")
        txt = path.with_suffix(".txt")
        transcript = rec.get("transcript") or (txt.read_text().strip() if txt.is_file() else None)
        rows.append({"audio": str(path.resolve()), "transcript": transcript,
                     "emotion": normalize(rec["emotion"], label_set), "label_set": label_set,
                     "speaker": rec.get("speaker") or None, "gender": rec.get("gender") or None,
                     "split": rec.get("split") or split, "source": f"folder:{root.name}"})
    return rows

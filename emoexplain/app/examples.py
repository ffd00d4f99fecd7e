"""Example clips offered under the audio box, and the next one loaded after each save."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from emoexplain.paths import EXAMPLES_DIR

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm", ".opus"}


def example_clips(folder: str | os.PathLike | None = None) -> list[dict]:
    """Example clips from ``folder`` (default assets/examples/): examples.json entries if present, else every
    audio file there; an absent or empty folder gives no examples (the app then simply shows none)."""
    folder = Path(folder) if folder else EXAMPLES_DIR
    if not folder.is_dir():
        return []
    items = _listed(folder)
    if not items:
        items = [{"path": str(p.resolve()), "file": p.name} for p in sorted(folder.iterdir())
                 if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()]
    return items


def _listed(folder: Path) -> list[dict]:
    """The entries of examples.json whose file exists: {"file", "title"?, "emotion"?, ..., "path"}."""
    meta = folder / "examples.json"
    if not meta.is_file():
        return []
    try:
        data = json.loads(meta.read_text())
    except ValueError:
        return []
    entries = data.get("examples", data) if isinstance(data, dict) else data
    items = []
    for entry in entries if isinstance(entries, list) else []:
        entry = {"file": entry} if isinstance(entry, str) else dict(entry)
        name = entry.get("file") or entry.get("audio") or entry.get("path")
        if name and (folder / name).is_file():
            items.append({**entry, "path": str((folder / name).resolve())})
    return items


def example_label(example: dict) -> str:
    """"Title (emotion)"; without a title the start of its transcript in quotes, else the file name."""
    text = str(example.get("transcript") or "")
    quoted = "\u201c" + textwrap.shorten(text, 40, placeholder=" \u2026") + "\u201d" if text else ""
    bits = [example.get("title") or quoted or example.get("file") or "clip"]
    if example.get("emotion"):
        bits.append(f"({example['emotion']})")
    return " ".join(map(str, bits))

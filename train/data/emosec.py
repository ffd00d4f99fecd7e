"""The SECap / EMOSEC speech-emotion-caption test set (paper Table 1, zero-shot SED) -> manifest rows.

The format is the one the SECap release (github.com/thuhcsi/SECap, ``dataset/``) ships for its 600-clip test
set, read there by ``dataloader/dataloader.py``: three Kaldi-style files keyed by utterance id,

    wav.scp             "<id> <wav path>"              (paths relative to the SECap repository root)
    text.txt            "<id> <transcript>"            (first whitespace splits id from text)
    fid2captions.json   {"<id>": "<caption>"}          (one caption, or a list of captions, per clip)

Captions and transcripts there are Mandarin. The paper scores an English model zero-shot against them
(following AlignCap) without saying how; ``captions`` lets you give a file of the same shape with translated
(e.g. English) references instead. Rows carry no emotion label (caption-only: UA is not computed on them), and
the Mandarin transcript is kept in ``meta`` only: Table 1 reports no WER, and an English model's WER on it
would mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from train.data.manifest import ManifestError

FILES = ("wav.scp", "text.txt", "fid2captions.json")


def _kaldi(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            out[parts[0]] = parts[1].strip()
    return out


def _audio(path: str, folder: Path) -> Path | None:
    """The wav as listed (relative to the repo root, i.e. the folder above ``dataset/``, or to ``folder``)."""
    for base in (folder.parent, folder, Path.cwd()):
        candidate = Path(path) if Path(path).is_absolute() else base / path
        if candidate.is_file():
            return candidate.resolve()
    return None


def build(folder: str | Path, captions: str | Path | None = None) -> tuple[list, dict]:
    """(rows, counts) from a folder holding the three files; ``captions`` replaces fid2captions.json."""
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ManifestError(f"{folder} lacks {missing}: point --root at the SECap release's dataset/ folder.")
    caption_file = Path(captions) if captions else folder / "fid2captions.json"
    try:
        refs = json.loads(caption_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ManifestError(f"cannot read captions {caption_file}: {e}") from None
    if not isinstance(refs, dict):
        raise ManifestError(f"{caption_file} must be a JSON object {{utterance id: caption}}.")
    wavs, texts = _kaldi(folder / "wav.scp"), _kaldi(folder / "text.txt")
    rows, counts = [], {"no_audio": 0, "no_caption": 0}
    for utt, path in wavs.items():
        caption = refs.get(utt)
        if not caption:
            counts["no_caption"] += 1
            continue
        audio = _audio(path, folder)
        if audio is None:
            counts["no_audio"] += 1
            continue
        captions_list = [caption] if isinstance(caption, str) else [str(c) for c in caption]
        rows.append({"audio": str(audio), "transcript": None, "emotion": None, "label_set": "speechcraft7",
                     "caption": captions_list[0], "split": "test", "source": "emosec",
                     "meta": {"id": utt, "captions": captions_list, "transcript": texts.get(utt)}})
    if not rows:
        raise ManifestError(f"no usable clips in {folder} ({counts}); check the wav paths in wav.scp.")
    return rows, counts

"""MELD (Poria et al. 2019) from the official release -> manifest rows, official train/dev/test split.

Layout read (``MELD.Raw/``):

    train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv
        columns: Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID, Season, Episode,
                 StartTime, EndTime
    train_splits/dia{D}_utt{U}.mp4, dev_splits_complete/..., output_repeated_splits_test/...   (video)

Audio comes from ``audio_dir/dia{D}_utt{U}.wav|flac`` when given, else from the video clip, extracted with
FFmpeg to 16 kHz mono WAV under ``cache_dir`` (once). Seven classes (meld7). Rows whose media is missing
(the release lacks a few) are skipped and counted.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

from emoexplain.audio import SAMPLE_RATE
from emoexplain.labels import labels
from train.data.manifest import ManifestError

SPLITS = {"train": ("train_sent_emo.csv", "train_splits"), "valid": ("dev_sent_emo.csv", "dev_splits_complete"),
          "test": ("test_sent_emo.csv", "output_repeated_splits_test")}
LABELS = set(labels("meld7"))


def build(root: str | Path, *, audio_dir: str | Path | None = None, cache_dir: str | Path | None = None,
          splits=("train", "valid", "test")) -> tuple[list[dict], dict]:
    """(rows, {"missing": n}) for the chosen splits."""
    root = Path(root)
    cache = Path(cache_dir) if cache_dir else root / "audio16k"
    rows, missing = [], 0
    for split in splits:
        csv_name, video_folder = SPLITS[split]
        path = root / csv_name
        if not path.is_file():
            raise ManifestError(f"{path} not found: point --root at MELD.Raw/")
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            for rec in csv.DictReader(f):
                emotion = rec["Emotion"].strip().lower()
                if emotion not in LABELS:
                    continue
                stem = f"dia{rec['Dialogue_ID']}_utt{rec['Utterance_ID']}"
                audio = _audio(stem, split, root / video_folder, audio_dir, cache)
                if audio is None:
                    missing += 1
                    continue
                rows.append({"audio": str(audio), "transcript": rec["Utterance"].strip(), "emotion": emotion,
                             "label_set": "meld7", "speaker": rec["Speaker"].strip(), "gender": None,
                             "split": split, "source": "meld", "meta": {"id": f"{split}/{stem}"}})
    return rows, {"missing": missing}


def _audio(stem, split, video_dir: Path, audio_dir, cache: Path) -> Path | None:
    if audio_dir:
        for ext in (".wav", ".flac"):
            for cand in (Path(audio_dir) / split / f"{stem}{ext}", Path(audio_dir) / f"{stem}{ext}"):
                if cand.is_file():
                    return cand
    video = video_dir / f"{stem}.mp4"
    if not video.is_file():
        return None
    out = cache / split / f"{stem}.wav"
    if not out.is_file():
        extract_audio(video, out)
    return out


def extract_audio(video: Path, out: Path) -> Path:
    """FFmpeg: first audio stream -> 16 kHz mono 16-bit WAV."""
    if shutil.which("ffmpeg") is None:
        raise ManifestError("MELD video needs ffmpeg to extract audio: apt-get install -y ffmpeg")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(video), "-vn", "-ac", "1",
                    "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", str(tmp)], check=True)
    tmp.replace(out)
    return out

"""IEMOCAP (Busso et al. 2008) from the official release folder -> manifest rows.

Layout read (the release as distributed, ``IEMOCAP_full_release/``):

    Session{1..5}/sentences/wav/<dialog>/<utterance>.wav
    Session{1..5}/dialog/EmoEvaluation/<dialog>.txt     "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5, 2.5, 2.5]"
    Session{1..5}/dialog/transcriptions/<dialog>.txt    "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me."

Four classes as in the paper and EmoBox: neutral, happy (+ excited merged), angry, sad; every other label
(frustration, surprise, xxx, ...) is dropped, leaving 5,531 utterances. ``split`` is the session name
("Session1".."Session5"): leave-one-session-out fold k tests on Session k and trains on the other four
(``--eval_split=Session5 --train_split=*``). The speaker's gender is the letter before the utterance number
(``..._F000`` female, ``..._M012`` male). IEMOCAP has no descriptor words: they are measured (automatic).
"""

from __future__ import annotations

import re
from pathlib import Path

from train.data.manifest import ManifestError

KEEP = {"neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad"}
_EVAL_LINE = re.compile(r"^\[(\d+\.?\d*) - (\d+\.?\d*)\]\s+(\S+)\s+(\S+)\s+\[")
_TRANS_LINE = re.compile(r"^(\S+)\s+\[[^\]]*\]:\s*(.*)$")


def build(root: str | Path, sessions=(1, 2, 3, 4, 5)) -> list[dict]:
    """Manifest rows for the 4-class IEMOCAP protocol (descriptors left empty: fill with fill_descriptors)."""
    root = Path(root)
    rows = []
    for s in sessions:
        session = root / f"Session{s}"
        if not session.is_dir():
            raise ManifestError(f"{session} not found: point --root at IEMOCAP_full_release/")
        transcripts = {}
        for f in sorted((session / "dialog" / "transcriptions").glob("*.txt")):
            for line in f.read_text(errors="replace").splitlines():
                m = _TRANS_LINE.match(line.strip())
                if m:
                    transcripts[m.group(1)] = m.group(2).strip()
        for f in sorted((session / "dialog" / "EmoEvaluation").glob("*.txt")):
            for line in f.read_text(errors="replace").splitlines():
                m = _EVAL_LINE.match(line.strip())
                if not m or m.group(4) not in KEEP:
                    continue
                start, end, utt, label = float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
                wav = session / "sentences" / "wav" / f.stem / f"{utt}.wav"
                speaker_letter = utt.rsplit("_", 1)[-1][0]
                rows.append({"audio": str(wav), "duration_s": round(end - start, 3),
                             "transcript": transcripts.get(utt), "emotion": KEEP[label], "label_set": "iemocap4",
                             "speaker": f"Ses{s:02d}{speaker_letter}",
                             "gender": {"F": "female", "M": "male"}.get(speaker_letter),
                             "split": f"Session{s}", "source": "iemocap", "meta": {"utterance": utt}})
    return rows


def folds(n: int = 5) -> list[dict]:
    """The leave-one-session-out folds as config overrides: [{"eval_split": "Session1", "train_split": "*"}, ...]."""
    return [{"eval_split": f"Session{k}", "train_split": "*"} for k in range(1, n + 1)]

"""Word timings: CTC forced alignment of a transcript on the encoder's CTC posteriors (torchaudio). Encoders
without a CTC head give no timings (the measured emphasis segments stay in the acoustic profile, never words).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from emoexplain.model.config import resolve_backbone
from emoexplain.model.data import WordTiming
from emoexplain.text import tokens

BLANK, WORD_SEP = "<pad>", "|"


def ctc_vocab(encoder_id: str) -> dict[str, int]:
    """The character vocabulary of a CTC checkpoint (its vocab.json: local folder or hub id)."""
    where = resolve_backbone(encoder_id)
    path = Path(where) / "vocab.json"
    if not path.exists():
        from huggingface_hub import hf_hub_download
        path = Path(hf_hub_download(where, "vocab.json"))
    return json.loads(path.read_text())


def _words(transcript: str, vocab: dict[str, int]) -> list[tuple[str, list[int]]]:
    """(display word, CTC token ids) for every word that has at least one character in the vocabulary."""
    out = []
    for word in tokens(transcript):
        ids = [vocab[c] for c in word.upper() if c in vocab]
        if ids:
            out.append((word, ids))
    return out


def ctc_word_timings(log_probs: torch.Tensor, transcript: str, vocab: dict[str, int], seconds_per_frame: float,
                     duration_s: float) -> tuple[WordTiming, ...]:
    """log_probs (F, V) CTC log-posteriors of one clip -> one WordTiming per alignable word, in order.

    Returns () when nothing can be aligned (no known characters, or more tokens than frames).
    """
    import torchaudio.functional as AF

    words = _words(transcript, vocab)
    if not words:
        return ()
    sep = vocab.get(WORD_SEP)
    targets = []
    for i, (_, ids) in enumerate(words):
        targets += ([sep] if (i and sep is not None) else []) + ids
    repeats = sum(a == b for a, b in zip(targets, targets[1:]))
    if len(targets) + repeats > log_probs.shape[0]:
        return ()
    with warnings.catch_warnings():  # torchaudio 2.9+ prints a maintenance-mode deprecation notice
        warnings.simplefilter("ignore")
        aligned, scores = AF.forced_align(log_probs[None].float().cpu(), torch.tensor([targets], dtype=torch.int32),
                                          blank=vocab.get(BLANK, 0))
        spans = AF.merge_tokens(aligned[0], scores[0].exp())
    timings, k = [], 0
    for word, ids in words:
        if k < len(spans) and sep is not None and spans[k].token == sep and timings:
            k += 1
        mine = spans[k: k + len(ids)]
        k += len(ids)
        start = min(mine[0].start * seconds_per_frame, duration_s)
        end = min(max(mine[-1].end * seconds_per_frame, start), duration_s)
        frames = sum(s.end - s.start for s in mine)
        score = sum(s.score * (s.end - s.start) for s in mine) / max(frames, 1)
        timings.append(WordTiming(word, round(start, 3), round(end, 3), round(float(score), 4)))
    return tuple(timings)


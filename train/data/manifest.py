"""The manifest: one JSON object per line, one line per clip, shared by every builder and the loop.

Row keys (docs/contracts.md):

    audio               path of the clip (absolute, or relative to the manifest's folder)
    audio_sha256        sha256 of the canonical 16 kHz float32 little-endian samples (emoexplain.audio)
    duration_s          seconds
    transcript          words spoken, or null
    emotion             label of ``label_set`` (null for caption-only corpora)
    label_set           e.g. "iemocap4", "meld7", "speechcraft7"
    descriptors         {name: word} over the vocabulary of emoexplain.descriptors
    descriptor_source   {name: "human" | "corpus" | "automatic"}
    emphasis            [emphasised words]
    caption             the corpus' own caption, or null (then composed by ``compose_caption``)
    speaker, gender     speaker id and "male" | "female" | null
    split               "train" | "valid" | "test" | a fold name such as "Session1"
    source              corpus name, e.g. "iemocap", "synthetic-espeak-ng", "store"
    weight              loss weight of the row (store: per-annotator weighting), default 1.0

Builders may add a ``meta`` dict; readers ignore keys they do not know.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from emoexplain.audio import SAMPLE_RATE
from emoexplain.errors import EmoExplainError

REQUIRED = ("audio", "transcript", "emotion", "label_set", "split", "source")
DEFAULTS = {"audio_sha256": None, "duration_s": None, "descriptors": {}, "descriptor_source": {}, "emphasis": [],
            "caption": None, "speaker": None, "gender": None, "weight": 1.0}


class ManifestError(EmoExplainError):
    """A manifest row is malformed (message names the file and line)."""


def make_row(**fields) -> dict:
    """A manifest row with defaults filled; raises ManifestError when a required key is missing."""
    missing = [k for k in REQUIRED if k not in fields]
    if missing:
        raise ManifestError(f"manifest row lacks {missing}: {fields}")
    row = {**{k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in DEFAULTS.items()}, **fields}
    return row


def write_manifest(rows, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(make_row(**row), ensure_ascii=False) + "\n")
    return path


def read_manifest(path: str | Path, *, split: str | None = None, exclude_split: str | None = None) -> list[dict]:
    """Rows of a manifest, audio paths made absolute; ``split``/``exclude_split`` filter by the split key."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"No manifest at {path}; build one with `python -m train prepare ...`.")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = make_row(**json.loads(line))
        except (json.JSONDecodeError, TypeError, ManifestError) as e:
            raise ManifestError(f"{path}:{n}: not a manifest row ({e})") from None
        if not Path(row["audio"]).is_absolute():
            row["audio"] = str((path.parent / row["audio"]).resolve())
        if split is not None and split != "*" and row["split"] != split:
            continue
        if exclude_split is not None and row["split"] == exclude_split:
            continue
        rows.append(row)
    return rows


def load_samples(row: dict, max_seconds: float = 30.0) -> np.ndarray:
    """The row's audio as float32 16 kHz mono (emoexplain.audio.load_audio)."""
    from emoexplain.audio import load_audio
    return load_audio(row["audio"], max_seconds=max_seconds, min_seconds=0.1).samples


def fill_descriptors(row: dict, samples: np.ndarray | None = None) -> dict:
    """Fill descriptor words the corpus lacks from the acoustic engine, marked ``"automatic"``.

    Words the row already has (human or corpus) are kept. The measured numbers that augmentation needs to
    re-bin descriptors are kept in ``row["meta"]["measured"]``, keyed by the bins' measure names
(``{"pitch.median_hz", "rate.syllables_per_s", "energy.mean_db"}``): the numbers describe() binned.
    """
    from emoexplain.acoustics import analyze
    from emoexplain.descriptors import describe, known_gender, measure
    from train.augment import REBINNED

    if samples is None:
        samples = load_samples(row)
    profile = analyze((samples, SAMPLE_RATE))
    row = {**row, "descriptors": dict(row.get("descriptors") or {}),
           "descriptor_source": dict(row.get("descriptor_source") or {}), "meta": dict(row.get("meta") or {})}
    gender = known_gender(row.get("gender"))
    for d in describe(profile, gender=gender):
        if d.name == "emphasis" or d.name in row["descriptors"]:
            continue
        row["descriptors"][d.name] = d.value
        row["descriptor_source"][d.name] = "automatic"
    p = profile.to_dict()
    keys = [measure(name) for name in REBINNED]      # e.g. "pitch.median_hz": what describe() binned
    row["meta"]["measured"] = {key: p[key.split(".")[0]][key.split(".")[1]] for key in keys}
    return row


def compose_caption(row: dict, targets=("trans", "des", "emo"), rng: random.Random | None = None,
                    source: str = "auto") -> str:
    """The SER-SED target, from ``source``:

    - ``template``: rendered from the row's fields with a random SpeechCraft-like template (emoexplain.captions),
      whatever the targets: one source for every row of an ablation (Table 3);
    - ``corpus``: the corpus' own caption (all three targets only: a corpus caption cannot drop a part);
    - ``auto``: the corpus caption when the row has one and all targets are wanted, else a template.
    """
    from emoexplain.captions import CaptionFields, render_caption

    targets = tuple(targets)
    full = set(targets) == {"trans", "des", "emo"}
    if source == "corpus" and not (row.get("caption") and full):
        raise ManifestError(f"caption_source 'corpus' needs a corpus caption and all three targets "
                            f"(row {row.get('audio')}, targets {list(targets)}); use 'template'.")
    if source != "template" and row.get("caption") and full:
        caption = row["caption"]
        return caption if caption.lower().startswith("emotion:") else f"Emotion: {row['emotion'] or 'neutral'}. {caption}"
    fields = CaptionFields(emotion=row.get("emotion"),
                           transcript=row.get("transcript") if "trans" in targets else None,
                           descriptors={k: v for k, v in (row.get("descriptors") or {}).items()
                                        if "des" in targets and v},
                           emphasis=tuple(row.get("emphasis") or ()) if "des" in targets else (),
                           gender=row.get("gender") if "des" in targets else None)
    return render_caption(fields, rng=rng)


def dedup_by_hash(rows: list[dict]) -> list[dict]:
    """Keep the first row of each audio hash (rows without a hash are kept)."""
    seen, out = set(), []
    for row in rows:
        h = row.get("audio_sha256")
        if h and h in seen:
            continue
        seen.add(h)
        out.append(row)
    return out


def summary(rows: list[dict]) -> dict:
    """Counts per split, emotion and source (for logs, run records and model cards)."""
    from collections import Counter
    return {"n": len(rows), "split": dict(Counter(r["split"] for r in rows)),
            "emotion": dict(Counter(str(r["emotion"]) for r in rows)),
            "source": dict(Counter(r["source"] for r in rows)),
            "hours": round(sum(r.get("duration_s") or 0 for r in rows) / 3600, 3)}

"""Run a model over manifest rows and score it: label scoring for UA/WA/F1, generation for WER/SED/captions.

Every row of the split is scored by default; ``limit`` (``train eval --limit N``) keeps the first N rows and
``generate_max`` generates captions for the first N of those only (quick checks during training); the result
records both. Label metrics use ``score_labels`` (log-likelihood of each label in the "Emotion:" slot), so
they do not hinge on free-text parsing. Generated captions give the transcript (WER), the descriptor words
(accuracy against the row's human / corpus / measured words) and the COCO caption metrics against the row's
reference caption(s) (the corpus caption(s), else one composed from its fields with template 0), the leading
"Emotion: <label>." answer slot dropped on both sides (corpus captions have none). A model without
captions (the SSL baselines of Table 2) gives its CTC transcript for WER and no caption metrics.
"""

from __future__ import annotations

import numpy as np

from emoexplain.descriptors import ORDER
from train.data.manifest import compose_caption, load_samples
from train.evaluate import metrics as M

WORD_DESCRIPTORS = tuple(name for name in ORDER if name != "emphasis")  # emphasis: a list of words, not one word


def clip_id(row: dict) -> str:
    """What pairs a clip across evaluations: the corpus' own id, else the audio hash, else the audio path."""
    meta = row.get("meta") or {}
    return str(row.get("id") or meta.get("id") or meta.get("utterance") or row.get("audio_sha256") or row["audio"])


def evaluate_explainer(explainer, rows: list[dict], *, batch_size: int = 8, limit: int | None = None,
                       generate_max: int | None = None, max_seconds: float = 15.0, keep_predictions: bool = False,
                       java: bool | None = None) -> dict:
    """Metrics over ``rows`` (all of them, or the first ``limit``); ``java`` as in captions.caption_metrics."""
    n_rows = len(rows)
    rows = rows[:limit] if limit else rows
    if not rows:
        raise ValueError("no rows to evaluate")
    refs, hyps, probs = _score(explainer, rows, batch_size, max_seconds)
    labels = list(explainer.labels)
    keep = [i for i, r in enumerate(refs) if r is not None]
    out: dict = {"n_rows": n_rows, "limit": limit or None, "splits": sorted({str(r.get("split")) for r in rows})}
    if keep:
        out.update(M.classification_metrics([refs[i] for i in keep], [hyps[i] for i in keep], labels))
    out["n"] = len(keep)
    gen_rows = rows if generate_max is None else rows[:generate_max]
    generated = [explainer.predict(load_samples(r, max_seconds), generate=True) for r in gen_rows]
    if gen_rows:
        out.update(_generation_metrics(gen_rows, generated, java))
    if keep_predictions:
        texts = [(g.transcript, g.caption) for g in generated] + [(None, None)] * (len(rows) - len(generated))
        out["predictions"] = [{"id": clip_id(r), "audio": r["audio"], "reference": ref, "predicted": h,
                               "probabilities": p, "transcript": t, "caption": c}
                              for r, ref, h, p, (t, c) in zip(rows, refs, hyps, probs, texts)]
    return out


def _score(explainer, rows, batch_size, max_seconds):
    """(reference labels in the model's label set or None, predicted labels, probability rows)."""
    from emoexplain.labels import convert

    labels = list(explainer.labels)
    label_set = explainer.label_set
    refs, hyps, probs_all = [], [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        probs = explainer.score_labels([load_samples(r, max_seconds) for r in chunk])
        probs_all.extend(probs.tolist())
        for r, p in zip(chunk, probs):
            ref = r.get("emotion")
            if ref is not None and r.get("label_set") not in (None, label_set):
                ref = convert(ref, r["label_set"], label_set)
            refs.append(ref)
            hyps.append(labels[int(np.argmax(p))])
    return refs, hyps, probs_all


def _generation_metrics(rows, generated, java) -> dict:
    import random

    from train.evaluate.captions import caption_metrics

    captions = [g.caption for g in generated]
    out: dict = {"n_generated": len(rows), "examples": [
        {"audio": r["audio"], "reference_emotion": r.get("emotion"), "caption": g.caption or g.transcript}
        for r, g in zip(rows[:5], generated)]}
    with_text = [(r["transcript"], g.transcript or "") for r, g in zip(rows, generated) if r.get("transcript")]
    if with_text and any(M.normalize_words(ref) for ref, _ in with_text):
        out["wer"] = M.wer([a for a, _ in with_text], [b for _, b in with_text])
        out["n_wer"] = len(with_text)
    ref_desc = [{k: v for k, v in (r.get("descriptors") or {}).items() if k in WORD_DESCRIPTORS} for r in rows]
    if any(ref_desc) and any(c is not None for c in captions):
        acc = M.descriptor_accuracy(ref_desc, [g.descriptors or {} for g in generated])
        out["descriptor_accuracy"] = acc
        out["descriptor_acc_mean"] = acc.get("mean")
    if any(c is not None for c in captions):
        refs = [(r.get("meta") or {}).get("captions") or r.get("caption") or compose_caption(r, rng=random.Random(0))
                for r in rows]
        refs = [[without_answer_slot(c) for c in ([x] if isinstance(x, str) else x)] for x in refs]
        out.update(caption_metrics(refs, [without_answer_slot(c or "") for c in captions], java=java))
    return out


def without_answer_slot(caption: str) -> str:
    """The caption without its leading "Emotion: <label>." slot, which corpus references do not have."""
    import re

    from emoexplain.captions import ANSWER_PREFIX

    return re.sub(rf"^\s*{re.escape(ANSWER_PREFIX)}\s*[^.]*\.\s*", "", caption or "")

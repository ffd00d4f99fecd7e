"""Run an Explainer over manifest rows and score it: label scoring for UA/WA/F1, captions for WER/SED/BLEU.

Label metrics use ``Explainer.score_labels`` (log-likelihood of each label in the "Emotion:" slot), so they do
not hinge on free-text parsing. Captions are generated for the first ``generate_max`` rows (generation is the
slow part); their parsed transcript gives WER, their descriptor words give descriptor accuracy against the
row's reference words (human / corpus / measured), and the captions themselves give BLEU-4 / ROUGE-L against
the row's reference caption (the corpus caption, else one composed from its fields with template 0).
"""

from __future__ import annotations

import numpy as np

from emoexplain.descriptors import ORDER
from train.data.manifest import compose_caption, load_samples
from train.evaluate import metrics as M

WORD_DESCRIPTORS = tuple(name for name in ORDER if name != "emphasis")  # emphasis: a list of words, not one word


def evaluate_explainer(explainer, rows: list[dict], *, batch_size: int = 8, generate_max: int = 64,
                       max_seconds: float = 15.0, keep_predictions: bool = False) -> dict:
    from emoexplain.labels import convert

    labels = list(explainer.labels)
    label_set = getattr(explainer, "label_set", None) or explainer.config.label_set
    refs, hyps, probs_all = [], [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        samples = [load_samples(r, max_seconds) for r in chunk]
        probs = explainer.score_labels(samples)
        probs_all.extend(probs.tolist())
        for r, p in zip(chunk, probs):
            ref = r["emotion"] if r.get("label_set") in (None, label_set) else convert(r["emotion"], r["label_set"],
                                                                                         label_set)
            refs.append(ref)
            hyps.append(labels[int(np.argmax(p))])
    keep = [i for i, r in enumerate(refs) if r is not None]
    out = M.classification_metrics([refs[i] for i in keep], [hyps[i] for i in keep], labels)
    gen_rows = rows[:generate_max]
    if gen_rows:
        out.update(_caption_metrics(explainer, gen_rows, max_seconds))
    if keep_predictions:
        out["predictions"] = [{"audio": r["audio"], "reference": ref, "predicted": h, "probabilities": p}
                              for r, ref, h, p in zip(rows, refs, hyps, probs_all)]
    return out


def _caption_metrics(explainer, rows, max_seconds) -> dict:
    import random

    captions, transcripts, descriptors = [], [], []
    for r in rows:
        pred = explainer.predict(load_samples(r, max_seconds), generate=True)
        captions.append(pred.caption or "")
        transcripts.append(pred.transcript or "")
        descriptors.append(pred.descriptors or {})
    out: dict = {"n_generated": len(rows), "examples": [
        {"audio": r["audio"], "reference_emotion": r["emotion"], "caption": c} for r, c in zip(rows[:5], captions)]}
    with_text = [(r["transcript"], t) for r, t in zip(rows, transcripts) if r.get("transcript")]
    if with_text:
        out["wer"] = M.wer([a for a, _ in with_text], [b for _, b in with_text])
    ref_desc = [{k: v for k, v in (r.get("descriptors") or {}).items() if k in WORD_DESCRIPTORS} for r in rows]
    if any(ref_desc):
        acc = M.descriptor_accuracy(ref_desc, descriptors)
        out["descriptor_accuracy"] = acc
        out["descriptor_acc_mean"] = acc.get("mean")
    refs = [compose_caption(r, rng=random.Random(0)) if not r.get("caption") else r["caption"] for r in rows]
    out["bleu4"] = M.bleu(refs, captions, smooth=True)
    out["rouge_l"] = M.rouge_l(refs, captions)
    return out

"""Faithfulness of an explanation, scored from its counterfactual probes (emoexplain/probes.py, docs/probes.md).

(a) descriptor sensitivity: of the probes that moved the measured word of the descriptor they target (pitch
    +4 st: "normal" -> "high"), the share where the model's word moved the same way. A word the model does not
    name cannot move, so it counts as not following.
(b) explanation consistency: of those probes whose descriptor the model cited, the share where p(label) moved
    the way the explanation implies. The implied direction comes from the label-descriptor association of a
    labelled corpus (the model's training data): log p(word | label) / p(word), add-one smoothed. If the
    training clips labelled "sad" are mostly "low" pitch, then "sad, low pitch" implies that moving the pitch
    word from "low" to "normal" lowers p(sad). |dp| < MIN_DP counts as not moving.
(c) ablation share: the descriptor branch's part of the decision, TV(zeroed descriptor) / (TV(descriptor) +
    TV(content)) over the label probabilities (probes.py ``_ablation``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

TARGET = {"pitch": "pitch", "pace": "speed", "level": "volume", "monotone": "pitch_variation",
          "emphasis": "emphasis"}
MIN_DP = 0.01                    # a probability change smaller than this is "did not move"
MIN_WORD_ROWS = 20               # a word seen on fewer corpus rows implies no direction (its lift is noise)
ASSOCIATIONS_FILE = "descriptor_associations.json"   # beside a checkpoint's config.json
EMPHASIS_WORDS = ("none", "emphasised")


# --- the association table ----------------------------------------------------------------------------------------
def descriptor_associations(rows, labels, *, source: str = "") -> dict:
    """{labels: {label: {descriptor: {word: log-lift}}}} from labelled manifest rows (emotion + descriptors).

    log-lift = log(p(word | label) / p(word)), add-one smoothed over each descriptor's vocabulary; emphasis is
    "emphasised" when the row lists emphasised words, else "none". ``counts`` keeps each word's row count:
    a word the corpus (almost) never has implies nothing (MIN_WORD_ROWS).
    """
    from emoexplain.descriptors import vocabulary

    vocab = {**{k: v for k, v in vocabulary().items() if v}, "emphasis": EMPHASIS_WORDS}
    counts = {l: {d: {w: 0 for w in words} for d, words in vocab.items()} for l in labels}
    n = 0
    for row in rows:
        label = row.get("emotion")
        if label not in counts:
            continue
        n += 1
        words = {**(row.get("descriptors") or {}), "emphasis": EMPHASIS_WORDS[bool(row.get("emphasis"))]}
        for d, w in words.items():
            if d in vocab and w in counts[label][d]:
                counts[label][d][w] += 1
    table, seen = {}, {d: {w: sum(counts[l][d][w] for l in labels) for w in words} for d, words in vocab.items()}
    for label in labels:
        table[label] = {}
        for d, words in vocab.items():
            in_label = sum(counts[label][d].values())
            overall = {w: sum(counts[l][d][w] for l in labels) for w in words}
            total = sum(overall.values())
            table[label][d] = {w: round(math.log(((counts[label][d][w] + 1) / (in_label + len(words)))
                                                 / ((overall[w] + 1) / (total + len(words)))), 4) for w in words}
    return {"format": "emoexplain-descriptor-associations", "source": source, "n_rows": n, "labels": table,
            "counts": seen}


def load_associations(checkpoint=None) -> dict | None:
    """The checkpoint folder's association table (None: $EMOEXPLAIN_CHECKPOINT, else the demo), or None."""
    import os

    from emoexplain.model.checkpoint import DEFAULT_CHECKPOINT
    folder = Path(checkpoint or os.environ.get("EMOEXPLAIN_CHECKPOINT") or DEFAULT_CHECKPOINT)
    path = folder if folder.suffix == ".json" else folder / ASSOCIATIONS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --- one clip ----------------------------------------------------------------------------------------------------
def clip_faithfulness(original: dict, probes: list[dict], ablation: dict, associations: dict | None) -> dict:
    """(a), (b), (c) for one clip, with the per-probe verdicts they are counted from."""
    verdicts = [_verdict(original, p, associations) for p in probes]
    return {**_scores(verdicts), "ablation_share": ablation.get("descriptor_share"),
            "probes": verdicts, "associations": (associations or {}).get("source") if associations else None}


def _verdict(original: dict, p: dict, associations: dict | None) -> dict:
    d = TARGET[p["kind"]]
    if d == "emphasis":
        m, s, cited = _emphasis_moves(original, p)
        old, new = EMPHASIS_WORDS[1], EMPHASIS_WORDS[1] if m == 0 else EMPHASIS_WORDS[0]
    else:
        old, new = original["measured_descriptors"].get(d), p["measured_descriptors"].get(d)
        m = _move(d, old, new)
        s = _move(d, original["descriptors"].get(d), p["descriptors"].get(d))
        cited = original["descriptors"].get(d) is not None
    follows = None if not m else (s == m)
    consistent = None
    if m and cited and associations:
        consistent = _consistent(associations, original, p, d, old, new)
    return {"name": p["name"], "descriptor": d, "measured_move": m, "model_move": s, "cited": cited,
            "follows": follows, "stable": (s == 0) if m == 0 else None, "consistent": consistent}


def _rank(name: str, word):
    from emoexplain.descriptors import vocabulary
    words = vocabulary().get(name, ())
    return words.index(word) if word in words else None


def _move(name: str, before, after) -> int | None:
    """+1 / -1 / 0: the word went up / down / stayed on its ordered scale; None when either is missing."""
    a, b = _rank(name, before), _rank(name, after)
    if a is None or b is None:
        return None
    return (b > a) - (b < a)


def _emphasis_moves(original: dict, p: dict) -> tuple[int, int, bool]:
    """Measured: -1 when the stretch is no longer emphasised (prominence at or under the engine's 1.0).
    Model: -1 when a word it emphasised on that stretch is gone from its emphasis, 0 otherwise."""
    from emoexplain.acoustics import EMPHASIS_Z
    side = p["side_effects"]
    m = -1 if (side.get("before_z") or 0) > EMPHASIS_Z and (p["measured"] is not None
                                                              and p["measured"] <= EMPHASIS_Z) else 0
    start, end = side.get("span_s") or (None, None)
    key = (lambda w: "".join(ch for ch in str(w).lower() if ch.isalnum()))
    on_unit = {key(e["word"]) for e in original.get("emphasis_timed", [])
               if key(e["word"]) == key(side.get("word") or "") or
               (e.get("start_s") is not None and start is not None and e["start_s"] < end and e["end_s"] > start)}
    kept = on_unit & {key(w) for w in p["emphasis"]}
    return m, (-1 if on_unit and not kept else 0), bool(on_unit)


def _consistent(associations: dict, original: dict, p: dict, d: str, old, new) -> bool | None:
    label = original["label"]
    table = associations["labels"].get(label, {}).get(d, {})
    seen = associations.get("counts", {}).get(d, {})
    if old not in table or new not in table or table[old] == table[new] or \
            min(seen.get(old, 0), seen.get(new, 0)) < MIN_WORD_ROWS:
        return None
    implied = 1 if table[new] > table[old] else -1
    dp = p["probabilities"][label] - original["probabilities"][label]
    observed = 0 if abs(dp) < MIN_DP else (1 if dp > 0 else -1)
    return observed == implied


def _scores(verdicts: list[dict]) -> dict:
    def share(key):
        counted = [v[key] for v in verdicts if v[key] is not None]
        return {"score": round(sum(counted) / len(counted), 4) if counted else None, "n": len(counted),
                "hits": int(sum(counted))}
    return {"descriptor_sensitivity": share("follows"), "stability": share("stable"),
            "explanation_consistency": share("consistent")}


# --- a corpus ----------------------------------------------------------------------------------------------------
def corpus_faithfulness(reports: list[dict]) -> dict:
    """Pooled over clips (every probe verdict counts once), per probe kind for (a), and the mean ablation share."""
    verdicts = [v for r in reports for v in r["faithfulness"]["probes"]]
    shares = [r["faithfulness"]["ablation_share"] for r in reports if r["faithfulness"]["ablation_share"] is not None]
    flips = [r["ablation"]["label_flips"] for r in reports if "label_flips" in r["ablation"]]
    by_probe = {}
    for v in verdicts:
        by_probe.setdefault(v["name"], []).append(v)
    return {"n_clips": len(reports), **_scores(verdicts),
            "ablation_share": {"mean": round(sum(shares) / len(shares), 4) if shares else None, "n": len(shares)},
            "ablation_label_flips": {k: round(sum(f[k] for f in flips) / len(flips), 4) if flips else None
                                     for k in ("descriptor", "content")},
            "by_probe": {name: _scores(vs) for name, vs in sorted(by_probe.items())},
            "skipped": _count(s["name"] for r in reports for s in r["skipped"]),
            "level_sensitivity": _count(str(r["level"].get("sensitivity")) for r in reports)}


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


# --- the sentence --------------------------------------------------------------------------------------------------
PHRASES = {"pitch+4st": "raising the pitch by 4 semitones", "pitch-4st": "lowering the pitch by 4 semitones",
           "pitch+2st": "raising the pitch by 2 semitones", "pitch-2st": "lowering the pitch by 2 semitones",
           "pace1.25x": "speaking 25 % faster", "pace0.8x": "speaking 20 % slower",
           "level+6dB": "making the clip 6 dB louder", "level-10dB": "making the clip 10 dB quieter",
           "monotone": "flattening the pitch to a monotone", "de-emphasis": "removing the emphasis"}
NOUNS = {"pitch": "pitch", "speed": "speed", "volume": "volume", "pitch_variation": "pitch variation",
         "emphasis": "emphasis"}
PRIORITY = ("pitch+4st", "pace1.25x", "level+6dB", "pitch-4st", "pace0.8x", "level-10dB", "monotone",
            "de-emphasis", "pitch+2st", "pitch-2st")


def summary_sentence(original: dict, probes: list[dict], faith: dict, level: dict) -> str:
    """One sentence on what the probes show, led by the most telling probe (a measured word that moved)."""
    if not probes:
        return "No probe could run on this clip (see the skipped probes)."
    if not original["descriptors"] and not original["emphasis"]:
        dp = max(abs(v) for p in probes for v in p["delta"]["probabilities"].values())
        return (f"The model writes no descriptor words here, so only its label can be tested: the probes moved a "
                f"label probability by at most {dp:.2f}.")
    verdicts = {v["name"]: v for v in faith["probes"]}
    moved = sorted((p for p in probes if verdicts[p["name"]]["measured_move"]),
                   key=lambda p: (verdicts[p["name"]]["follows"] is True, PRIORITY.index(p["name"])))
    if not moved:
        return ("None of the probes moved a measured descriptor word across a bin edge on this clip, so the "
                "model's words cannot be tested on it.")
    p, v = moved[0], verdicts[moved[0]["name"]]
    what = _first_upper(PHRASES[p["name"]])
    d, noun = v["descriptor"], NOUNS[v["descriptor"]]
    sens = faith["descriptor_sensitivity"]
    tally = f" (its words followed {sens['hits']} of {sens['n']} measured changes)"
    if d == "emphasis":
        said = ("the model dropped its emphasis too" if v["follows"] else
                "the model still emphasised it" if v["cited"] else "the model had named no emphasis there")
        verdict = "follows" if v["follows"] else "does not follow"
        return (f"{what} took the emphasis off the stretch, and {said}: this "
                f"explanation {verdict} the emphasis{tally}.")
    before = original["measured_descriptors"].get(d)
    after = p["measured_descriptors"].get(d)
    model_before, model_after = original["descriptors"].get(d), p["descriptors"].get(d)
    change = f"moved the measured {noun} from '{before}' to '{after}'"
    if v["follows"]:
        return (f"{what} {change} and the model's {noun} word moved with it "
                f"('{model_before}' -> '{model_after}'): this explanation follows the {noun}{tally}.")
    if model_before is None:
        said = f"the model named no {noun}"
    elif model_before == model_after:
        said = f"did not change the model's '{_phrase(d, model_before)}' word"
    else:
        said = f"the model's word went the other way ('{model_before}' -> '{model_after or 'none'}')"
    extra = " (the model is blind to level)" if d == "volume" and level.get("blind") else ""
    return (f"{what} {change} but {said}{extra}: this explanation does not follow the "
            f"{noun}{tally}.")


def _phrase(d: str, word: str) -> str:
    return word if d == "pitch_variation" else f"{word} {NOUNS[d]}"


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]    # str.capitalize would also lower "dB"

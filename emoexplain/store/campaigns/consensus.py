"""Consensus, annotator quality and agreement within one campaign.

Every individual judgement is kept; consensus is computed from them on demand, never stored in their place.
An excluded annotator's judgements stay in the store but take no part in consensus, agreement or training.

- majority vote: each annotator's latest judgement of a clip is one vote ("unsure" does not vote); a tie has
  no consensus. Its confidence is the winner's share of the votes.
- Dawid-Skene (crowd-kit): weights annotators by the confusion matrix it estimates for each; its confidence
  is the posterior of the chosen label, and each annotator's skill is their estimated accuracy.
"""

from __future__ import annotations

import statistics
import warnings
from collections import Counter, defaultdict

from emoexplain.store.agreement import agreement_table
from emoexplain.store.campaigns.create import campaign_row
from emoexplain.store.db import Store
from emoexplain.store.queries import _resolve, _vote

_ITEMS_SQL = """
SELECT i.*, a.label AS model_label, a.label_set, a.descriptors AS model_descriptors, a.emphasis AS model_emphasis,
       a.transcript AS model_transcript, a.measured, a.created_at AS analysis_created_at, cl.duration_s
FROM campaign_items i JOIN analyses a ON a.id = i.analysis_id JOIN clips cl ON cl.sha256 = i.clip_sha256
WHERE i.campaign_id = ? AND i.state = 'ready' ORDER BY i.id"""
_JUDGED_SQL = """
SELECT j.*, i.id AS item_id, (x.annotator_id IS NOT NULL) AS excluded
FROM campaign_items i JOIN latest_judgements j ON j.analysis_id = i.analysis_id
LEFT JOIN campaign_exclusions x ON x.campaign_id = i.campaign_id AND x.annotator_id = j.annotator_id
WHERE i.campaign_id = ? ORDER BY j.id"""


def clips_with_judgements(store: Store, campaign_id: int) -> list[dict]:
    """The campaign's analysed clips, each with ``judgements``: every annotator's latest judgement, resolved
    to values (``queries._resolve``), excluded annotators marked ``excluded``."""
    items = {row["id"]: {**row, "judgements": []} for row in store.read(_ITEMS_SQL, [campaign_id])}
    for row in store.read(_JUDGED_SQL, [campaign_id]):
        item = items.get(row["item_id"])
        if item is not None:
            row["excluded"] = bool(row["excluded"])
            item["judgements"].append(_resolve({**row, "model_descriptors": item["model_descriptors"],
                                                "model_emphasis": item["model_emphasis"]}))
    return list(items.values())


def counted(item: dict) -> list[dict]:
    """The judgements of a clip that count (excluded annotators left out)."""
    return [j for j in item["judgements"] if not j["excluded"]]


def emotion_ratings(items: list[dict]) -> dict[int, dict[str, str]]:
    return {item["id"]: {j["annotator_id"]: j["emotion"] for j in counted(item) if j["emotion"] is not None}
            for item in items}


def descriptor_ratings(items: list[dict]) -> dict[str, dict[int, dict[str, object]]]:
    """{descriptor: {clip: {annotator: value}}}; the emphasis compares verdicts, as the store's agreement does."""
    out: dict[str, dict] = defaultdict(dict)
    for item in items:
        for j in counted(item):
            for name, verdict in j["verdicts"].items():
                if name == "emphasis":
                    if verdict["verdict"] != "unsure":
                        out[name].setdefault(item["id"], {})[j["annotator_id"]] = verdict["verdict"]
                elif name in j["values"]:
                    out[name].setdefault(item["id"], {})[j["annotator_id"]] = j["values"][name]
    return dict(out)


def majority(votes: dict[str, object]) -> dict:
    """``{"value", "share", "n_votes", "n_agreed"}`` of ``{annotator: value}``; ``value`` None on a tie."""
    decided = _vote([(v, 1.0) for v in votes.values()])
    value = decided[0] if decided else None
    return {"value": value, "share": round(decided[1], 6) if decided else None, "n_votes": len(votes),
            "n_agreed": sum(v == value for v in votes.values()) if decided else 0}


def dawid_skene(ratings: dict[object, dict[str, object]]) -> tuple[dict, dict]:
    """({item: {"value", "confidence"}}, {annotator: skill}) by Dawid-Skene (crowd-kit); ({}, {}) when there is
    nothing to estimate (no ratings, or one value only)."""
    codes: dict[object, int] = {}
    rows = [(item, annotator, codes.setdefault(value, len(codes)))
            for item, by in ratings.items() for annotator, value in by.items()]
    if len(codes) < 2:
        return {}, {}
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    values = {code: value for value, code in codes.items()}
    model = DawidSkene(n_iter=100)
    with warnings.catch_warnings():  # crowd-kit 1.4 uses pandas keywords that pandas 3 deprecates
        warnings.simplefilter("ignore", category=Warning)
        posterior = model.fit_predict_proba(pd.DataFrame(rows, columns=["task", "worker", "label"]))
    estimates = {item: {"value": values[int(row.idxmax())], "confidence": round(float(row.max()), 6)}
                 for item, row in posterior.iterrows()}
    priors = model.priors_
    skills = {}
    for worker in model.errors_.index.get_level_values("worker").unique():
        errors = model.errors_.loc[worker]  # rows: the label given, columns: the true label
        skills[worker] = round(float(sum(priors[k] * errors.loc[k, k] for k in priors.index if k in errors.index)), 6)
    return estimates, skills


def consensus(store: Store, campaign: str, *, items: list[dict] | None = None) -> dict[int, dict]:
    """{clip id: {"emotion": {"majority", "dawid_skene"}, "descriptors": {name: {"majority", "dawid_skene"}},
    "n_judgements"}} over the judgements that count."""
    items = clips_with_judgements(store, campaign_row(store, campaign)["id"]) if items is None else items
    emotions = emotion_ratings(items)
    emotion_ds, _ = dawid_skene(emotions)
    descriptors = {name: (ratings, dawid_skene(ratings)[0]) for name, ratings in descriptor_ratings(items).items()}
    out = {}
    for item in items:
        judged = {}
        for name, (ratings, ds) in sorted(descriptors.items()):
            if item["id"] in ratings:
                judged[name] = {"majority": _plain(majority(ratings[item["id"]])),
                                "dawid_skene": _plain(ds.get(item["id"]))}
        out[item["id"]] = {"n_judgements": len(counted(item)),
                           "emotion": {"majority": majority(emotions[item["id"]]),
                                       "dawid_skene": emotion_ds.get(item["id"])},
                           "descriptors": judged}
    return out


def _plain(result):
    """Emphasis values are tuples of words; lists in the JSON."""
    if result and isinstance(result.get("value"), tuple):
        return {**result, "value": list(result["value"])}
    return result


def quality(store: Store, campaign: str) -> list[dict]:
    """Per annotator: judgements, skips, seconds per clip, accuracy on gold clips, leave-one-out agreement
    with the majority of the others (counted annotators only; a tie counts 1/k), Dawid-Skene skill, and
    whether they are excluded."""
    c = campaign_row(store, campaign)
    items = clips_with_judgements(store, c["id"])
    _, skills = dawid_skene(emotion_ratings(items))
    excluded = {r["annotator_id"] for r in store.read(
        "SELECT annotator_id FROM campaign_exclusions WHERE campaign_id = ?", [c["id"]])}
    people: dict[str, dict] = defaultdict(lambda: {"judgements": 0, "gold": Counter(), "loo": Counter()})
    for item in items:
        others_of = {j["annotator_id"]: {k["annotator_id"]: k["emotion"] for k in counted(item)
                                         if k["annotator_id"] != j["annotator_id"] and k["emotion"] is not None}
                     for j in item["judgements"]}
        for j in item["judgements"]:
            p = people[j["annotator_id"]]
            p["judgements"] += 1
            if j["emotion"] is None:
                continue
            if item["gold_emotion"] is not None:
                p["gold"]["n"] += 1
                p["gold"]["correct"] += j["emotion"] == item["gold_emotion"]
            others = Counter(others_of[j["annotator_id"]].values())
            if others:
                p["loo"]["n"] += 1
                p["loo"]["agree"] += _agrees_with_majority(j["emotion"], others)
    timing = defaultdict(list)
    skips = Counter()
    for row in store.read("SELECT annotator_id, state, issued_at, finished_at FROM campaign_assignments "
                          "WHERE campaign_id = ? AND state IN ('judged', 'skipped')", [c["id"]]):
        if row["state"] == "skipped":
            skips[row["annotator_id"]] += 1
        elif row["finished_at"] is not None:
            timing[row["annotator_id"]].append(row["finished_at"] - row["issued_at"])
    names = {r["id"]: r["display_name"] for r in store.read("SELECT id, display_name FROM annotators")}
    out = []
    for who in sorted(set(people) | set(skips)):
        p, seconds = people[who], timing.get(who, [])
        out.append({
            "annotator": who, "display_name": names.get(who, who), "excluded": who in excluded,
            "judgements": p["judgements"], "skips": skips[who],
            "median_s_per_clip": round(statistics.median(seconds), 2) if seconds else None,
            "gold": {"n": p["gold"]["n"], "correct": p["gold"]["correct"],
                     "accuracy": _share(p["gold"]["correct"], p["gold"]["n"])},
            "leave_one_out": {"n": p["loo"]["n"], "agree": round(p["loo"]["agree"], 6),
                              "agreement": _share(p["loo"]["agree"], p["loo"]["n"])},
            "dawid_skene_skill": skills.get(who),
        })
    return out


def _agrees_with_majority(label, votes: Counter) -> float:
    """1 when ``label`` is the others' majority, 1/k when it is one of k tied leaders, else 0: the chance of
    agreeing with the others' majority when a tie is broken at random (with two others, ties are common)."""
    top = max(votes.values())
    leaders = [v for v, n in votes.items() if n == top]
    return 1.0 / len(leaders) if label in leaders else 0.0


def _share(k: float, n: int) -> float | None:
    return round(k / n, 6) if n else None


def campaign_agreement(store: Store, campaign: str) -> dict:
    """Kappa and alpha of the campaign's emotions and descriptors, over the clips with at least two counted
    judgements; ``n_items`` and ``n_annotators`` say what each coefficient rests on."""
    items = clips_with_judgements(store, campaign_row(store, campaign)["id"])
    return {"campaign": campaign, "emotion": agreement_table(emotion_ratings(items)),
            "descriptors": {name: agreement_table(r) for name, r in sorted(descriptor_ratings(items).items())}}

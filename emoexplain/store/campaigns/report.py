"""What a campaign produced: its status (per clip: judgements and consensus), the training manifest built
from the consensus, and the export of every individual judgement beside the consensus."""

from __future__ import annotations

import json
import os
from pathlib import Path

from emoexplain.errors import CampaignError
from emoexplain.store.campaigns.consensus import clips_with_judgements, consensus, counted, quality
from emoexplain.store.campaigns.create import campaign_row
from emoexplain.store.db import Store
from emoexplain.store.queries import _descriptors

CONSENSUS_METHODS = ("majority", "dawid_skene")


def what_is_kept(c: dict) -> str:
    """The campaign page's statement of what is stored, and for how long."""
    return (f"{c['consent']} For each clip you judge we keep your user name, your answers (emotion, verdicts on "
            "the descriptor words, corrected transcript, ratings, note), when you were given the clip and when "
            "you answered, and whether you skipped it. Your judgements are used, together with the other "
            "annotators', to agree on each clip's emotion and to train the model. You can see and delete your "
            "own judgements at any time; an administrator may exclude judgements from that use without "
            "deleting them.")


def status(store: Store, campaign: str) -> dict:
    """The campaign, its progress, and per clip: name, state, judgement count (of the target) and consensus."""
    c = campaign_row(store, campaign)
    counts = {r["state"]: r["n"] for r in store.read(
        "SELECT state, count(*) AS n FROM campaign_items WHERE campaign_id = ? GROUP BY state", [c["id"]])}
    items = clips_with_judgements(store, c["id"])
    agreed = consensus(store, campaign, items=items)
    clips = [{"name": item["name"], "sha256": item["clip_sha256"], "analysis_id": item["analysis_id"],
              "gold": item["gold_emotion"] is not None, "judgements": len(counted(item)),
              "judgements_excluded": len(item["judgements"]) - len(counted(item)), "target": c["per_clip"],
              "model": {"label": item["model_label"], "entropy": item["entropy"], "margin": item["margin"],
                        "descriptor_disagreement": item["descriptor_disagreement"]},
              "consensus": agreed[item["id"]]} for item in items]
    regular = [clip for clip in clips if not clip["gold"]]
    skipped = store.read("SELECT name, error AS reason FROM campaign_items WHERE campaign_id = ? AND "
                         "state = 'skipped' ORDER BY id", [c["id"]])
    return {
        "campaign": {k: c[k] for k in ("name", "label_set", "per_clip", "gold_share", "instructions", "state",
                                       "owner", "consent", "source", "created_at", "closed_at")}
                    | {"order": c["queue_order"], "lease_s": c["lease_s"]},
        "progress": {"clips": sum(counts.values()), "pending": counts.get("pending", 0),
                     "ready": counts.get("ready", 0), "skipped": counts.get("skipped", 0),
                     "complete": sum(clip["judgements"] >= c["per_clip"] for clip in regular),
                     "judgements": sum(clip["judgements"] for clip in clips)},
        "kept": what_is_kept(c),
        "clips": clips,
        "skipped": skipped,
    }


def training_examples(store: Store, campaign: str, *, min_agreement: float | None = None,
                      label_set: str | None = None, method: str = "majority") -> list[dict]:
    """Manifest rows (docs/contracts.md) of the campaign's clips, the emotion from the consensus of the
    judgements that count (excluded annotators left out).

    Each row says how many people agreed: ``n_judgements`` (emotion votes), ``n_agreed`` (votes for the row's
    emotion), ``agreement`` = ``weight`` = their ratio, and ``consensus`` (the method). A gold clip takes its
    known answer. The transcript is the latest human correction, else the source's (manifest ``transcript``),
    else the model's. The audio is the campaign owner's, kept under the campaign with the owner's consent.

    :param min_agreement: keep only clips whose ``agreement`` is at least this (0..1).
    :param method: ``majority`` or ``dawid_skene`` (which label the row takes; agreement counts people).
    :param label_set: map emotions into this label set (clips with no counterpart are left out).
    """
    from emoexplain.labels import convert

    if method not in CONSENSUS_METHODS:
        raise CampaignError(f"method must be one of {list(CONSENSUS_METHODS)}, got {method!r}.")
    c = campaign_row(store, campaign)
    items = clips_with_judgements(store, c["id"])
    agreed = consensus(store, campaign, items=items)
    root = Path(store.path).parent
    rows = []
    for item in items:
        judgements = counted(item)
        votes = [j["emotion"] for j in judgements if j["emotion"] is not None]
        emotion = item["gold_emotion"] or _label(agreed[item["id"]]["emotion"], method)
        if emotion is None or not votes:
            continue
        share = sum(v == emotion for v in votes) / len(votes)
        if min_agreement is not None and share < min_agreement:
            continue
        target = label_set or item["label_set"]
        label = emotion if target == item["label_set"] else convert(emotion, item["label_set"], target)
        if label is None:
            continue
        descriptors, sources, emphasis = _descriptors(judgements, item, {})
        corrected = [j for j in judgements if j["transcript"] and j["transcript"].strip()]
        rows.append({
            "audio": str(root / item["audio_path"]), "audio_sha256": item["clip_sha256"],
            "duration_s": item["duration_s"],
            "transcript": max(corrected, key=lambda j: j["created_at"])["transcript"] if corrected
            else item["transcript"] or item["model_transcript"],
            "emotion": label, "label_set": target, "descriptors": descriptors, "descriptor_source": sources,
            "emphasis": emphasis, "caption": None, "speaker": None, "gender": None, "split": "train",
            "source": f"campaign:{c['name']}", "weight": round(share, 6), "agreement": round(share, 6),
            "n_judgements": len(votes), "n_agreed": sum(v == emotion for v in votes),
            "consensus": "gold" if item["gold_emotion"] else method,
        })
    return rows


def _label(result: dict, method: str):
    chosen = result["dawid_skene"] if method == "dawid_skene" else result["majority"]
    return chosen["value"] if chosen else None


_EXPORT_SQL = """
SELECT j.id AS judgement_id, j.analysis_id, i.name AS clip, i.clip_sha256, (i.gold_emotion IS NOT NULL) AS gold,
       j.annotator_id, j.revision,
       (j.revision = (SELECT max(revision) FROM judgements k WHERE k.analysis_id = j.analysis_id
                      AND k.annotator_id = j.annotator_id)) AS is_latest,
       (x.annotator_id IS NOT NULL) AS excluded, j.emotion, j.agreed, j.descriptor_verdicts, j.transcript,
       j.faithfulness, j.helpfulness, j.note, j.created_at, a.label AS model_label,
       s.finished_at - s.issued_at AS seconds
FROM campaign_items i JOIN judgements j ON j.analysis_id = i.analysis_id JOIN analyses a ON a.id = i.analysis_id
LEFT JOIN campaign_exclusions x ON x.campaign_id = i.campaign_id AND x.annotator_id = j.annotator_id
LEFT JOIN campaign_assignments s ON s.judgement_id = j.id
WHERE i.campaign_id = ? ORDER BY j.id"""


def export(store: Store, campaign: str, dest) -> dict:
    """Write ``judgements.jsonl`` (every judgement, every revision, excluded ones marked), ``consensus.jsonl``
    (per clip: majority and Dawid-Skene for the emotion and each descriptor), ``quality.json`` and
    ``manifest.jsonl`` into the folder ``dest``; returns the row counts. Each file is written whole or not."""
    c = campaign_row(store, campaign)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    judgements = store.read(_EXPORT_SQL, [c["id"]])
    for row in judgements:
        row.update(gold=bool(row["gold"]), is_latest=bool(row["is_latest"]), excluded=bool(row["excluded"]),
                   descriptor_verdicts=json.loads(row["descriptor_verdicts"] or "{}"))
    state = status(store, campaign)
    agreed = [{"clip": clip["name"], "sha256": clip["sha256"], "gold": clip["gold"],
               "judgements": clip["judgements"], **clip["consensus"]} for clip in state["clips"]]
    manifest = training_examples(store, campaign)
    _write(dest / "judgements.jsonl", judgements)
    _write(dest / "consensus.jsonl", agreed)
    _write(dest / "manifest.jsonl", manifest)
    _write(dest / "quality.json", quality(store, campaign), lines=False)
    return {"dest": str(dest), "judgements": len(judgements), "clips": len(agreed), "manifest": len(manifest)}


def _write(path: Path, rows, *, lines: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        if lines:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            json.dump(rows, f, ensure_ascii=False, indent=2)
    os.replace(tmp, path)

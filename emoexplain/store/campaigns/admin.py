"""Running a campaign: list, close and reopen, exclude an annotator (judgements kept, not used), delete; and
each annotator's view of their own judgements, which they can delete (GDPR erasure)."""

from __future__ import annotations

import shutil

from emoexplain.errors import CampaignError, InvalidJudgement
from emoexplain.store.campaigns.create import campaign_row
from emoexplain.store.db import Store, now


def list_campaigns(store: Store) -> list[dict]:
    return store.read("""
        SELECT c.name, c.state, c.label_set, c.per_clip, c.owner, c.created_at,
               count(i.id) AS clips, coalesce(sum(i.state = 'ready'), 0) AS ready,
               coalesce(sum(i.state = 'ready' AND i.gold_emotion IS NULL AND i.n_judged >= c.per_clip), 0) AS complete
        FROM campaigns c LEFT JOIN campaign_items i ON i.campaign_id = c.id GROUP BY c.id ORDER BY c.id""")


def set_open(store: Store, campaign: str, is_open: bool) -> dict:
    """Close a campaign (the queue stops handing out clips; a running analysis still finishes) or open it."""
    c = campaign_row(store, campaign)
    with store.write() as db:
        if is_open:
            db.execute("UPDATE campaigns SET state = CASE WHEN EXISTS (SELECT 1 FROM campaign_items WHERE "
                       "campaign_id = ? AND state = 'pending') THEN 'importing' ELSE 'open' END, closed_at = NULL "
                       "WHERE id = ?", [c["id"], c["id"]])
        else:
            db.execute("UPDATE campaigns SET state = 'closed', closed_at = ? WHERE id = ?", [now(), c["id"]])
    return {"campaign": c["name"], "state": campaign_row(store, campaign)["state"]}


def exclude(store: Store, campaign: str, annotator: str, *, by: str | None = None, reason: str = "") -> dict:
    """Leave ``annotator``'s judgements of this campaign out of consensus, agreement and training. Nothing is
    deleted, and ``include`` undoes it."""
    c = campaign_row(store, campaign)
    if not store.read("SELECT 1 FROM annotators WHERE id = ?", [annotator]):
        raise CampaignError(f"No annotator {annotator!r} in the store; see `campaign quality {c['name']}`.")
    with store.write() as db:
        db.execute("INSERT OR REPLACE INTO campaign_exclusions (campaign_id, annotator_id, excluded_by, reason, "
                   "created_at) VALUES (?, ?, ?, ?, ?)", [c["id"], annotator, by, reason or "", now()])
    return {"campaign": c["name"], "annotator": annotator, "excluded": True}


def include(store: Store, campaign: str, annotator: str) -> dict:
    c = campaign_row(store, campaign)
    with store.write() as db:
        db.execute("DELETE FROM campaign_exclusions WHERE campaign_id = ? AND annotator_id = ?", [c["id"], annotator])
    return {"campaign": c["name"], "annotator": annotator, "excluded": False}


def delete_campaign(store: Store, campaign: str) -> dict:
    """Remove the campaign, its clips' analyses and judgements, and its kept audio."""
    c = campaign_row(store, campaign)
    with store.write() as db:
        judgements = db.execute("DELETE FROM judgements WHERE analysis_id IN (SELECT analysis_id FROM "
                                "campaign_items WHERE campaign_id = ?)", [c["id"]]).rowcount
        analyses = db.execute("DELETE FROM analyses WHERE id IN (SELECT analysis_id FROM campaign_items WHERE "
                              "campaign_id = ?)", [c["id"]]).rowcount
        items = db.execute("DELETE FROM campaign_items WHERE campaign_id = ?", [c["id"]]).rowcount
        db.execute("DELETE FROM campaigns WHERE id = ?", [c["id"]])
    shutil.rmtree(store.path.parent / c["folder"], ignore_errors=True)
    return {"campaign": c["name"], "clips": items, "analyses": analyses, "judgements": judgements}


# --- an annotator's own judgements ------------------------------------------------------------------

_MINE_SQL = """
SELECT j.id AS judgement_id, j.analysis_id, j.revision, j.emotion, j.agreed, j.descriptor_verdicts, j.transcript,
       j.faithfulness, j.helpfulness, j.note, j.created_at, a.clip_sha256, a.label AS model_label,
       c.name AS campaign, i.name AS clip
FROM judgements j JOIN analyses a ON a.id = j.analysis_id
LEFT JOIN campaign_items i ON i.analysis_id = j.analysis_id LEFT JOIN campaigns c ON c.id = i.campaign_id
WHERE j.annotator_id = ? ORDER BY j.id"""


def my_judgements(store: Store, annotator: str) -> list[dict]:
    """Every judgement ``annotator`` made (all revisions, in campaigns or not), with the clip it is about."""
    import json

    rows = store.read(_MINE_SQL, [annotator])
    for row in rows:
        row["descriptor_verdicts"] = json.loads(row["descriptor_verdicts"] or "{}")
    return rows


def delete_my_judgements(store: Store, annotator: str, judgement_ids=None) -> dict:
    """Delete ``annotator``'s judgements (``judgement_ids``: those and their other revisions of the same
    analyses; None: all of them) and the queue's record of those clips (when given, skips). Other people's
    judgements are never touched: ids that are not the annotator's are refused."""
    rows = store.read("SELECT id, analysis_id FROM judgements WHERE annotator_id = ?", [annotator])
    if judgement_ids is None:
        analyses = {r["analysis_id"] for r in rows}
    else:
        ids = _ids(judgement_ids)
        mine = {r["id"]: r["analysis_id"] for r in rows}
        foreign = sorted(ids - set(mine))
        if foreign:
            raise InvalidJudgement(f"Judgements {foreign} are not yours (or no longer exist); nothing was deleted.")
        analyses = {mine[i] for i in ids}
    marks = ",".join("?" * len(analyses))
    with store.write() as db:
        deleted = db.execute(f"DELETE FROM judgements WHERE annotator_id = ? AND analysis_id IN ({marks})",
                             [annotator, *analyses]).rowcount if analyses else 0
        assignments = db.execute(
            "DELETE FROM campaign_assignments WHERE annotator_id = ? AND (? OR item_id IN (SELECT id FROM "
            f"campaign_items WHERE analysis_id IN ({marks or 'NULL'})))",
            [annotator, judgement_ids is None, *analyses]).rowcount
    return {"annotator": annotator, "judgements": deleted, "queue_records": assignments}


def _ids(values) -> set[int]:
    try:
        ids = {int(v) for v in values}
    except (TypeError, ValueError) as e:
        raise InvalidJudgement(f"judgement_ids must be judgement numbers, got {values!r}.") from e
    if not ids:
        raise InvalidJudgement("Name the judgements to delete, or pass None to delete all of yours.")
    return ids

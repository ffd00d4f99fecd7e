"""The campaign queue: "Next clip", submit, skip; leases so that no clip collects more than its target.

``next_clip`` runs in one write transaction: it picks the annotator's next clip and leases it to them for the
campaign's ``lease_s`` (default 5 minutes). A clip is offered only while its judgements plus the other
annotators' live leases stay below the overlap target, so two people never race for its last slot. The
order: clips below the target, the model's least sure first (``campaign_items.priority``), gold clips mixed
in at the campaign's ``gold_share`` and shown like any other.

Each lease carries an ``analysis_token`` (random, only its sha256 is kept) that ``submit`` and ``skip``
require: a judgement of a campaign clip names a clip that was really handed to that annotator.
"""

from __future__ import annotations

import contextlib
import json
import time

from emoexplain.errors import CampaignError, LeaseLost
from emoexplain.store.campaigns.create import campaign_row
from emoexplain.store.db import Store, now, synchronous
from emoexplain.store.records import new_token, token_hash


@contextlib.contextmanager
def _lease_write(store: Store):
    """A write transaction without an fsync and without a WAL checkpoint. ``synchronous=NORMAL`` survives any
    crash of the process; a power loss at worst forgets a lease, which then simply expires. Leases and skips
    are the queue's bookkeeping: the judgement itself is saved by ``record_judgement`` with the store's full
    durability, and its commit also runs the checkpoints, so that handing out a clip never waits for either."""
    with store.lock:
        if store.memory:
            with store.write() as db:
                yield db
            return
        checkpoint_pages = store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        store.db.execute("PRAGMA synchronous = NORMAL")
        store.db.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            with store.write() as db:
                yield db
        finally:
            store.db.execute(f"PRAGMA synchronous = {synchronous()}")
            store.db.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")


def _one(db, sql: str, params=()) -> dict | None:
    cursor = db.execute(sql, params)
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row))


_ACTIVE_LEASES = ("SELECT count(*) FROM campaign_assignments l WHERE l.item_id = i.id AND l.state = 'leased' "
                  "AND l.expires_at > :now AND l.annotator_id != :me")
_UNSEEN = ("NOT EXISTS (SELECT 1 FROM judgements j WHERE j.analysis_id = i.analysis_id AND j.annotator_id = :me) "
           "AND NOT EXISTS (SELECT 1 FROM campaign_assignments s WHERE s.item_id = i.id AND s.annotator_id = :me "
           "AND s.state != 'leased')")
# n_judged and open are kept by triggers (db.m003); the lease count keeps a clip's last slot for whoever holds it
_PICK_REGULAR = f"""SELECT i.id FROM campaign_items i
    WHERE i.campaign_id = :campaign AND i.state = 'ready' AND i.open = 1 AND i.gold_emotion IS NULL
      AND i.n_judged < :target
      AND {_UNSEEN} AND i.n_judged + ({_ACTIVE_LEASES}) < :target
    ORDER BY i.priority DESC LIMIT 1"""
_PICK_GOLD = f"""SELECT i.id FROM campaign_items i
    WHERE i.campaign_id = :campaign AND i.state = 'ready' AND i.open = 1 AND i.gold_emotion IS NOT NULL
      AND {_UNSEEN}
    ORDER BY i.priority DESC LIMIT 1"""
_BELOW_TARGET = f"""SELECT 1 FROM campaign_items i
    WHERE i.campaign_id = :campaign AND i.state IN ('ready', 'pending') AND i.gold_emotion IS NULL
      AND i.n_judged < :target AND {_UNSEEN} LIMIT 1"""


def next_clip(store: Store, campaign: str, annotator: str, *, annotator_name: str | None = None) -> dict:
    """The annotator's next clip, leased to them: ``{"status": "clip", "clip", "analysis", "analysis_id",
    "analysis_token", "lease_expires_in_s", ...}``. When there is none: ``status`` ``"waiting"`` (the clips
    left are leased to others, or still being analysed: ask again in a few minutes), ``"done"`` or
    ``"closed"``, with a ``message`` to show.

    Asking again while holding a live lease returns the same clip with a fresh token (a reloaded page).
    """
    from emoexplain.store.records import _name

    annotator = _name(annotator, "annotator")
    display = annotator if annotator_name is None else _name(annotator_name, "annotator_name")
    campaign_row(store, campaign)  # CampaignNotFound before any write
    token, hashed = new_token()
    with _lease_write(store) as db:  # one lock wait: everything the offer needs is read inside
        c = _one(db, "SELECT * FROM campaigns WHERE name = ?", [campaign])
        if c["state"] == "closed":
            return {"status": "closed", "campaign": c["name"], "message": f"The campaign {c['name']} is closed."}
        at = time.time()
        params = {"campaign": c["id"], "target": c["per_clip"], "me": annotator, "now": at}
        db.execute("INSERT OR IGNORE INTO annotators (id, display_name, created_at) VALUES (?, ?, ?)",
                   [annotator, display, now()])
        held = db.execute("SELECT id, item_id FROM campaign_assignments WHERE campaign_id = :campaign AND "
                          "annotator_id = :me AND state = 'leased' AND expires_at > :now "
                          "ORDER BY issued_at DESC LIMIT 1", params).fetchone()
        if held:
            db.execute("UPDATE campaign_assignments SET token_hash = ?, expires_at = ? WHERE id = ?",
                       [hashed, at + c["lease_s"], held[0]])
            item_id = held[1]
        else:
            item_id = _pick(db, c, params)
            if item_id is None:
                return _nothing_left(db, c, params)
            db.execute(
                "INSERT INTO campaign_assignments (campaign_id, item_id, annotator_id, state, token_hash, issued_at,"
                " expires_at) VALUES (?, ?, ?, 'leased', ?, ?, ?) ON CONFLICT (item_id, annotator_id) DO UPDATE SET"
                " state = 'leased', token_hash = excluded.token_hash, issued_at = excluded.issued_at,"
                " expires_at = excluded.expires_at", [c["id"], item_id, annotator, hashed, at, at + c["lease_s"]])
        item = _one(db, "SELECT i.*, c.duration_s, a.expires_at FROM campaign_items i JOIN clips c ON "
                        "c.sha256 = i.clip_sha256 JOIN campaign_assignments a ON a.item_id = i.id AND "
                        "a.annotator_id = ? WHERE i.id = ?", [annotator, item_id])
        analysis = _one(db, "SELECT * FROM analyses WHERE id = ?", [item["analysis_id"]])
        mine = db.execute("SELECT count(*) FROM campaign_assignments WHERE campaign_id = ? AND annotator_id = ? "
                          "AND state = 'judged'", [c["id"], annotator]).fetchone()[0]
    return _offer(store, c, item, analysis, token, mine)


def _pick(db, c: dict, params: dict) -> int | None:
    """Gold while the annotator's share of gold is below the campaign's, else the most uncertain clip."""
    queries = [_PICK_REGULAR]
    if c["gold_share"] > 0:
        total, gold = db.execute(
            "SELECT count(*), coalesce(sum(i.gold_emotion IS NOT NULL), 0) FROM campaign_assignments a "
            "JOIN campaign_items i ON i.id = a.item_id WHERE a.campaign_id = :campaign AND a.annotator_id = :me "
            "AND a.state = 'judged'", params).fetchone()
        if gold < c["gold_share"] * (total + 1):
            queries = [_PICK_GOLD, _PICK_REGULAR]
    for sql in queries:
        row = db.execute(sql, params).fetchone()
        if row:
            return row[0]
    return None


def _nothing_left(db, c: dict, params: dict) -> dict:
    if db.execute(_BELOW_TARGET, params).fetchone():
        return {"status": "waiting", "campaign": c["name"],
                "message": "The clips left are being judged by others or are still being analysed; "
                           "ask for the next clip again in a few minutes."}
    return {"status": "done", "campaign": c["name"],
            "message": f"You have judged every clip of {c['name']} that still needs a judgement. Thank you!"}


def _offer(store: Store, c: dict, item: dict, analysis: dict, token: str, judged_by_you: int) -> dict:
    from emoexplain.labels import labels

    return {
        "status": "clip", "campaign": c["name"], "instructions": c["instructions"], "label_set": c["label_set"],
        "labels": list(labels(c["label_set"])),
        "clip": {"name": item["name"], "sha256": item["clip_sha256"], "duration_s": item["duration_s"],
                 "audio": str(store.path.parent / item["audio_path"])},
        "analysis_id": item["analysis_id"], "analysis": explanation_of(analysis), "analysis_token": token,
        "lease_expires_in_s": round(item["expires_at"] - time.time(), 1), "judged_by_you": judged_by_you,
    }


def analysis_dict(store: Store, analysis_id: int) -> dict:
    """A stored analysis in the shape of ``Explanation.to_dict()`` (acoustic frame tracks are not stored)."""
    return explanation_of(store.read("SELECT * FROM analyses WHERE id = ?", [analysis_id])[0])


def explanation_of(row: dict) -> dict:
    """An ``analyses`` row in the shape of ``Explanation.to_dict()`` (``Explanation.from_dict`` reads it back;
    the emphasised words' times are not stored)."""
    from emoexplain.pipeline import disagreements

    def loads(text, default):
        return default if text is None else json.loads(text)

    rest = loads(row["explanation"], {})
    model_words = loads(row["descriptors"], {})
    measured = loads(row["measured"], []) or []
    return {**rest, "emotion": {"label": row["label"], "probabilities": loads(row["probabilities"], {}),
                                "label_set": row["label_set"]},
            "transcript": row["transcript"], "caption": row["caption"], "acoustics": loads(row["acoustics"], {}),
            "descriptors": {"model": model_words, "measured": measured,
                            "disagreements": [d.to_dict() for d in disagreements(
                                model_words, {m["name"]: m["value"] for m in measured})],
                            "emphasis": [{"word": w, "start_s": None, "end_s": None}
                                         for w in loads(row["emphasis"], [])]}}


# --- answers ---------------------------------------------------------------------------------------

def submit(store: Store, campaign: str, annotator: str, *, analysis_id: int, analysis_token: str, emotion: str,
           descriptor_verdicts: dict | None = None, transcript: str | None = None, faithfulness: int | None = None,
           helpfulness: int | None = None, note: str = "") -> dict:
    """Save the annotator's judgement of the clip they were given (fields as in ``record_judgement``);
    returns ``{"judgement_id", "seconds"}``.

    :raises LeaseLost: the token is not this annotator's live lease of that clip, or the lease ran out and
      the clip has since collected its judgements.
    :raises UnknownLabel, InvalidJudgement: as ``record_judgement``; nothing is written.
    """
    from emoexplain.store.records import record_judgement

    c, lease = _lease(store, campaign, annotator, analysis_id, analysis_token)
    judgement_id = record_judgement(store, lease["analysis_id"], annotator=lease["annotator_id"], emotion=emotion,
                                    descriptor_verdicts=descriptor_verdicts, transcript=transcript,
                                    faithfulness=faithfulness, helpfulness=helpfulness, note=note)
    return {"judgement_id": judgement_id, "seconds": _finish(store, lease, "judged", judgement_id=judgement_id)}


def skip(store: Store, campaign: str, annotator: str, *, analysis_id: int, analysis_token: str,
         reason: str = "") -> dict:
    """Skip the clip (recorded; it is not offered to this annotator again)."""
    from emoexplain.store.records import NOTE_MAX_CHARS

    if not isinstance(reason, str) or len(reason) > NOTE_MAX_CHARS:
        raise CampaignError(f"A skip reason is text of at most {NOTE_MAX_CHARS:,} characters.")
    c, lease = _lease(store, campaign, annotator, analysis_id, analysis_token, check_room=False)
    return {"skipped": True, "seconds": _finish(store, lease, "skipped", note=reason)}


def _lease(store: Store, campaign: str, annotator: str, analysis_id, token, *, check_room: bool = True):
    c = campaign_row(store, campaign)
    if c["state"] == "closed":
        raise CampaignError(f"The campaign {c['name']} is closed; nothing was saved.")
    if not isinstance(token, str) or not token:
        raise LeaseLost("This clip has no analysis_token; ask for the next clip again.")
    try:
        analysis_id = int(analysis_id)
    except (TypeError, ValueError):
        raise LeaseLost(f"analysis_id must be the number next_clip gave, got {analysis_id!r}.") from None
    rows = store.read("SELECT a.*, i.analysis_id, i.n_judged, i.gold_emotion FROM campaign_assignments a "
                      "JOIN campaign_items i ON i.id = a.item_id WHERE a.token_hash = ?", [token_hash(token)])
    lease = rows[0] if rows else None
    if (lease is None or lease["campaign_id"] != c["id"] or lease["annotator_id"] != str(annotator).strip()
            or lease["analysis_id"] != analysis_id):
        raise LeaseLost("This clip's token is not valid for you (it was opened again in another tab, or belongs "
                        "to someone else); ask for the next clip again. Nothing was saved.")
    if lease["state"] != "leased":
        raise LeaseLost(f"You have already {lease['state']} this clip; ask for the next clip.")
    if check_room and lease["expires_at"] <= time.time() and lease["gold_emotion"] is None:
        others = store.read("SELECT count(*) AS n FROM campaign_assignments WHERE item_id = ? AND state = 'leased' "
                            "AND expires_at > ? AND annotator_id != ?",
                            [lease["item_id"], time.time(), lease["annotator_id"]])[0]["n"]
        if lease["n_judged"] + others >= c["per_clip"]:
            raise LeaseLost("Your time on this clip ran out and others have judged it meanwhile, so it needs no "
                            "more judgements; ask for the next clip. Nothing was saved.")
    return c, lease


def _finish(store: Store, lease: dict, state: str, *, judgement_id=None, note=None) -> float:
    at = time.time()
    with _lease_write(store) as db:
        db.execute("UPDATE campaign_assignments SET state = ?, finished_at = ?, judgement_id = ?, note = ? "
                   "WHERE id = ?", [state, at, judgement_id, note, lease["id"]])
    return round(at - lease["issued_at"], 3)

"""Creating a campaign: one transaction for the campaign and its clips, then a resumable background analysis.

1. ``create_campaign`` checks the source and the gold answers, copies the audio under
   ``campaigns/<folder>/`` beside the DB (the audio is the campaign owner's, with the owner's consent recorded
   on the campaign) and inserts the campaign and its clips in one transaction: nothing is half-imported.
2. ``analyse_campaign`` runs the model on each pending clip in a worker thread (``pipeline.explain`` +
   ``record_analysis``), scores how unsure the model is and marks the clip ready. Each clip commits on its
   own, so a stopped analysis resumes where it stopped (``analyse_campaign`` again, or
   ``python -m emoexplain.store campaign resume NAME``). Annotators can start on ready clips at once.
"""

from __future__ import annotations

import math
import random
import re
import secrets
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from emoexplain.errors import AudioError, CampaignError, CampaignNotFound
from emoexplain.store.db import Store, atomic_copy, now

QUEUE_ORDERS = ("entropy", "margin", "random")
DEFAULT_GOLD_SHARE = 0.1       # with gold clips: about one clip in ten that an annotator sees is gold
DEFAULT_LEASE_S = 300.0        # how long a clip stays reserved for the annotator it was given to
DESCRIPTOR_WEIGHT = 0.5        # priority = label uncertainty (0..1) + this x share of descriptor words that
                               # contradict the measurements (0..1): the label matters most, evidence breaks ties
CAMPAIGNS_DIR = "campaigns"    # beside the DB
NAME_MAX_CHARS = 100
_NAME = re.compile(r"^[\w][\w .-]*$")


def consent_statement(owner: str) -> str:
    return (f"The audio of this campaign was supplied by its owner, {owner}, who holds the rights to it and "
            "consented to its use for annotation and for training emoexplain models. It is not a visitor's upload.")


def campaign_row(store: Store, name: str) -> dict:
    rows = store.read("SELECT * FROM campaigns WHERE name = ?", [name])
    if not rows:
        names = [r["name"] for r in store.read("SELECT name FROM campaigns ORDER BY id")]
        raise CampaignNotFound(f"No campaign named {name!r}; the store has {names or 'none'}. "
                               "Create it with `python -m emoexplain.store campaign create`.")
    return rows[0]


def create_campaign(store: Store, name: str, source, *, per_clip: int, label_set: str, gold=None,
                    gold_share: float | None = None, instructions: str = "", owner: str, consent: str | None = None,
                    order: str = "entropy", lease_s: float = DEFAULT_LEASE_S) -> dict:
    """Create campaign ``name`` from ``source`` (a folder, a manifest .jsonl or a .zip); returns a summary with
    the imported and the skipped files. The clips still need ``analyse_campaign`` before they are served.

    :param per_clip: the overlap target, judgements wanted per clip (at least 1).
    :param gold: a gold file (path) or ``{clip name: label}``: clips with a known answer, served like any other.
    :param gold_share: share of each annotator's clips that are gold (default 0.1 when there is gold).
    :param owner: who supplied the audio; ``consent`` is their statement (default: ``consent_statement``).
    :param order: ``entropy`` or ``margin`` (the model's least sure clips first) or ``random``.
    :raises CampaignError: every problem of the source in one message; nothing is written.
    """
    from emoexplain.labels import labels
    from emoexplain.store.campaigns.sources import apply_gold, open_source, read_gold

    name, owner, per_clip = check_options(name, owner=owner, per_clip=per_clip, order=order, lease_s=lease_s)
    labels(label_set)  # UnknownLabel names the label sets there are
    if store.path is None:
        raise CampaignError("A campaign keeps its audio beside the DB; open a store on a file, not :memory:.")
    if store.read("SELECT 1 FROM campaigns WHERE name = ?", [name]):
        raise CampaignError(f"A campaign named {name!r} exists already; choose another name.")
    gold_answers = read_gold(gold) if isinstance(gold, (str, Path)) else gold
    with open_source(source) as src:
        apply_gold(src, gold_answers, label_set)
        n_gold = sum(c.gold is not None for c in src.clips)
        share = _gold_share(gold_share, n_gold)
        folder = f"{CAMPAIGNS_DIR}/{_slug(name)}-{secrets.token_hex(4)}"
        root = store.path.parent / folder
        try:
            kept = []
            for i, clip in enumerate(src.clips):
                relative = f"{folder}/{i:05d}{clip.path.suffix.lower()}"
                atomic_copy(clip.path, store.path.parent / relative)
                kept.append((clip, relative))
            campaign_id = _insert(store, name=name, label_set=label_set, per_clip=per_clip, gold_share=share,
                                  instructions=instructions or "", order=order, lease_s=float(lease_s),
                                  owner=owner, consent=consent or consent_statement(owner), folder=folder,
                                  source=src.description, kept=kept)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return {"campaign": name, "id": campaign_id, "source": src.description, "clips": len(kept),
                "gold": n_gold, "gold_share": share, "per_clip": per_clip, "label_set": label_set,
                "folder": folder, "skipped": src.skipped}


def check_options(name, *, owner, per_clip, order, lease_s) -> tuple[str, str, int]:
    """(name, owner, per_clip) cleaned, or a CampaignError: the checks that need neither the source nor the
    model, so that a caller can run them before loading either."""
    from emoexplain.store.records import _name

    if order not in QUEUE_ORDERS:
        raise CampaignError(f"order must be one of {list(QUEUE_ORDERS)}, got {order!r}.")
    if isinstance(lease_s, bool) or not isinstance(lease_s, (int, float)) or not lease_s > 0:
        raise CampaignError(f"lease_s must be a positive number of seconds, got {lease_s!r}.")
    return _campaign_name(name), _name(owner, "owner"), _overlap(per_clip)


def _insert(store: Store, *, kept, **campaign) -> int:
    created = now()
    try:
        with store.write() as db:
            cursor = db.execute(
                "INSERT INTO campaigns (name, label_set, per_clip, gold_share, instructions, queue_order, lease_s,"
                " state, owner, consent, folder, source, created_at) VALUES (?,?,?,?,?,?,?, 'importing', ?,?,?,?,?)",
                [campaign["name"], campaign["label_set"], campaign["per_clip"], campaign["gold_share"],
                 campaign["instructions"], campaign["order"], campaign["lease_s"], campaign["owner"],
                 campaign["consent"], campaign["folder"], campaign["source"], created])
            campaign_id = cursor.lastrowid
            db.conn.executemany(
                "INSERT INTO campaign_items (campaign_id, name, audio_path, state, gold_emotion, transcript, created_at)"
                " VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(campaign_id, clip.name, relative, clip.gold, clip.transcript, created) for clip, relative in kept])
            return campaign_id
    except sqlite3.IntegrityError as e:  # a campaign of that name was created meanwhile
        raise CampaignError(f"A campaign named {campaign['name']!r} exists already ({e}); choose another name.")


def _campaign_name(name) -> str:
    if not isinstance(name, str) or not _NAME.match(name.strip()) or len(name.strip()) > NAME_MAX_CHARS:
        raise CampaignError(f"A campaign name is 1-{NAME_MAX_CHARS} letters, digits, spaces, '.', '-' or '_', "
                            f"starting with a letter or digit; got {name!r}.")
    return name.strip()


def _overlap(per_clip) -> int:
    if isinstance(per_clip, bool) or not isinstance(per_clip, int) or per_clip < 1:
        raise CampaignError(f"The overlap (--per-clip) is the number of people who should judge each clip and "
                            f"must be at least 1; got {per_clip!r}.")
    return per_clip


def _gold_share(share, n_gold: int) -> float:
    if n_gold == 0:
        if share:
            raise CampaignError("gold_share needs gold clips; give a gold file or \"gold\" labels in the manifest.")
        return 0.0
    share = DEFAULT_GOLD_SHARE if share is None else share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise CampaignError(f"gold_share is the share of gold clips in each annotator's queue, between 0 and 1 "
                            f"(exclusive); got {share!r}.")
    return float(share)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "campaign"


# --- how unsure the model is ------------------------------------------------------------------------

def uncertainty(explanation: dict) -> dict:
    """``entropy`` of the label probabilities over log(K) (0 sure .. 1 uniform), ``margin`` between the top
    two (1 sure .. 0 torn), and ``descriptor_disagreement``: the share of the model's descriptor words that
    the measurements contradict."""
    probabilities = [p for p in ((explanation.get("emotion") or {}).get("probabilities") or {}).values()
                     if isinstance(p, (int, float)) and p == p and p >= 0]
    total = sum(probabilities)
    ps = sorted((p / total for p in probabilities), reverse=True) if total > 0 else []
    entropy = -sum(p * math.log(p) for p in ps if p > 0) / math.log(len(ps)) if len(ps) > 1 else 0.0
    margin = ps[0] - ps[1] if len(ps) > 1 else 1.0
    descriptors = explanation.get("descriptors") or {}
    measured = {d.get("name") for d in descriptors.get("measured") or [] if isinstance(d, dict)}
    compared = [n for n in (descriptors.get("model") or {}) if n in measured and n != "emphasis"]
    contradicted = len(descriptors.get("disagreements") or [])
    return {"entropy": round(entropy, 6), "margin": round(margin, 6),
            "descriptor_disagreement": round(contradicted / len(compared), 6) if compared else 0.0}


def priority(scores: dict, order: str, key) -> float:
    """The queue's sort key (highest first) for ``order``; ``random`` draws a fixed number from ``key``."""
    if order == "random":
        return random.Random(str(key)).random()
    label = scores["entropy"] if order == "entropy" else 1.0 - scores["margin"]
    return label + DESCRIPTOR_WEIGHT * scores["descriptor_disagreement"]


def in_label_set(explanation: dict, target: str) -> dict:
    """The explanation with its emotion in the campaign's label set: probabilities summed over the labels
    that map to the same target label (through SpeechCraft-7), the model's own answer kept beside."""
    from emoexplain.labels import convert

    emotion = explanation.get("emotion") or {}
    source = emotion.get("label_set") or (explanation.get("model") or {}).get("label_set")
    if source in (None, target):
        return explanation
    mapped: dict[str, float] = {}
    for label, p in (emotion.get("probabilities") or {}).items():
        counterpart = convert(label, source, target)
        if counterpart is not None and p is not None:
            mapped[counterpart] = mapped.get(counterpart, 0.0) + float(p)
    total = sum(mapped.values())
    if total <= 0:
        raise CampaignError(f"The model's labels ({source}) have no counterpart in the campaign's label set "
                            f"{target}; create the campaign with --label-set {source}.")
    mapped = {k: v / total for k, v in mapped.items()}
    return {**explanation, "emotion": {"label": max(mapped, key=mapped.get), "probabilities": mapped,
                                       "label_set": target, "model": emotion}}


# --- the background analysis -----------------------------------------------------------------------

class AnalysisJob:
    """The analysis of one campaign's pending clips in a worker thread.

    ``snapshot()`` (also passed to ``progress`` after each clip) says how far it is: ``{"campaign", "total",
    "done", "ready", "skipped", "current", "finished", "error"}``.
    """

    def __init__(self, store: Store, campaign: dict, analyse, progress=None):
        self.store, self.campaign, self.analyse, self.progress = store, campaign, analyse, progress
        self._lock = threading.Lock()
        self._state = {"campaign": campaign["name"], "total": 0, "done": 0, "ready": 0, "skipped": 0,
                       "current": None, "finished": False, "error": None}
        self.thread = threading.Thread(target=self._run, name=f"campaign-{campaign['id']}", daemon=True)

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._state)

    def wait(self, timeout: float | None = None) -> dict:
        self.thread.join(timeout)
        return self.snapshot()

    def _update(self, **changes) -> None:
        with self._lock:
            self._state.update(changes)
            state = dict(self._state)
        if self.progress is not None:
            self.progress(state)

    def _run(self) -> None:
        try:
            pending = self.store.read("SELECT * FROM campaign_items WHERE campaign_id = ? AND state = 'pending' "
                                      "ORDER BY id", [self.campaign["id"]])
            self._update(total=len(pending))
            for i, item in enumerate(pending):
                self._update(current=item["name"])
                ready = _analyse_item(self.store, self.campaign, item, self.analyse)
                with self._lock:
                    self._state["ready" if ready else "skipped"] += 1
                self._update(done=i + 1)
            with self.store.write() as db:
                db.execute("UPDATE campaigns SET state = 'open' WHERE id = ? AND state = 'importing' AND NOT EXISTS"
                           " (SELECT 1 FROM campaign_items WHERE campaign_id = ? AND state = 'pending')",
                           [self.campaign["id"], self.campaign["id"]])
            self._update(current=None, finished=True)
        except Exception as e:  # noqa: BLE001 - reported through snapshot(); the clips left stay pending
            self._update(current=None, finished=True, error=f"{type(e).__name__}: {e}")


_jobs: dict[tuple, AnalysisJob] = {}
_jobs_lock = threading.Lock()


def analyse_campaign(store: Store, name: str, *, explainer=None, generate: bool = True, analyse=None,
                     progress=None) -> AnalysisJob:
    """Start (or return the running) analysis of campaign ``name``'s pending clips in a worker thread.

    :param explainer: the model (default: the process's default model, ``model.holder.default_holder()``, loaded in the worker).
    :param generate: also write captions (what annotators judge); False gives labels and descriptors only.
    :param analyse: ``AudioClip -> Explanation dict``, replacing the model (default: ``pipeline.explain``).
    :param progress: called with ``AnalysisJob.snapshot()`` after each clip, from the worker thread.
    """
    campaign = campaign_row(store, name)
    if analyse is None:
        def analyse(clip):
            from emoexplain.pipeline import explain   # explainer None: the process's default model
            return explain(clip, explainer, generate=generate).to_dict()
    key = (str(store.path), campaign["id"])
    with _jobs_lock:
        job = _jobs.get(key)
        if job is None or not job.thread.is_alive():
            job = _jobs[key] = AnalysisJob(store, campaign, analyse, progress)
            job.thread.start()
    return job


def _analyse_item(store: Store, campaign: dict, item: dict, analyse) -> bool:
    """Analyse one clip; True when it is ready, False when it was skipped (not decodable, a duplicate)."""
    from emoexplain.audio import load_audio
    from emoexplain.store.records import record_analysis

    path = store.path.parent / item["audio_path"]
    try:
        clip = load_audio(path)
    except AudioError as e:  # the messages name the kept copy; the admin knows the clip by its source name
        return _skip_item(store, item, str(e).replace(path.name, item["name"]))
    explanation = in_label_set(analyse(clip), campaign["label_set"])
    analysis_id = record_analysis(store, explanation, audio_sha256=clip.sha256, duration_s=clip.duration_s,
                                  sample_rate=clip.sample_rate, source="campaign", label_set=campaign["label_set"])
    scores = uncertainty(explanation)
    try:
        with store.write() as db:
            updated = db.execute(
                "UPDATE campaign_items SET state = 'ready', clip_sha256 = ?, analysis_id = ?, entropy = ?, margin = ?,"
                " descriptor_disagreement = ?, priority = ?, analysed_at = ? WHERE id = ? AND state = 'pending'",
                [clip.sha256, analysis_id, scores["entropy"], scores["margin"], scores["descriptor_disagreement"],
                 priority(scores, campaign["queue_order"], f"{campaign['id']}-{item['id']}"), now(), item["id"]])
            if not updated.rowcount:  # another worker got there first
                db.execute("DELETE FROM analyses WHERE id = ?", [analysis_id])
        return True
    except sqlite3.IntegrityError:  # the same audio is already in this campaign under another name
        with store.write() as db:
            db.execute("DELETE FROM analyses WHERE id = ?", [analysis_id])
        twin = store.read("SELECT name FROM campaign_items WHERE campaign_id = ? AND clip_sha256 = ?",
                          [campaign["id"], clip.sha256])
        return _skip_item(store, item, f"the same audio as {twin[0]['name'] if twin else 'another clip'}")


def _skip_item(store: Store, item: dict, reason: str) -> bool:
    with store.write() as db:
        db.execute("UPDATE campaign_items SET state = 'skipped', error = ?, analysed_at = ? WHERE id = ?",
                   [reason, now(), item["id"]])
    return False


def wait_for(job: AnalysisJob, *, every_s: float = 1.0, report=None) -> dict:
    """Block until ``job`` ends, calling ``report(snapshot)`` at most every ``every_s`` (the CLI's progress)."""
    last = 0.0
    while job.thread.is_alive():
        job.thread.join(0.1)
        if report is not None and time.monotonic() - last >= every_s:
            report(job.snapshot())
            last = time.monotonic()
    return job.snapshot()

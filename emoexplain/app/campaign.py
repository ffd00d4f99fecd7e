"""Campaigns in the app: annotators ask for the next clip and judge it; admins create campaigns, follow their
progress and annotator quality, and exclude annotators (docs/campaigns.md). Plain functions over the Backend.

Annotators are the signed-in Hugging Face users on a Space, else the typed name. ``campaign_next_endpoint`` and
``campaign_submit_endpoint`` are the ``/campaign_next`` and ``/campaign_submit`` APIs.
"""

from __future__ import annotations

from dataclasses import dataclass

from emoexplain.app import analyze, judge, render
from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import KEEP, Update, View
from emoexplain.descriptors import ORDER as DESCRIPTOR_NAMES
from emoexplain.errors import CampaignError, InvalidJudgement
from emoexplain.store.queries import Table

NO_CAMPAIGN = "Choose a campaign first."


@dataclass(frozen=True)
class Lease:
    """The clip a page is judging: what ``submit`` and ``skip`` need."""
    campaign: str
    annotator: str
    analysis_id: int
    token: str


def _who(annotator: str | None, username: str | None) -> str:
    who = (username or annotator or "").strip()
    if not who:
        raise InvalidJudgement("Type your name (or sign in) first: your judgements are saved under it, and you "
                               "can see and delete them below.")
    return who


def _campaign(name: str | None) -> str:
    if not name:
        raise CampaignError(NO_CAMPAIGN)
    return name


# --- annotators ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignsView(View):
    campaigns: Update


def on_campaign_list(backend: Backend) -> CampaignsView:
    """The open campaigns, for the campaign picker."""
    from emoexplain.store import campaigns
    names = [c["name"] for c in campaigns.list_campaigns(backend.store) if c["state"] != "closed"]
    return CampaignsView(campaigns=Update(choices=names, value=names[0] if len(names) == 1 else KEEP))


@dataclass(frozen=True)
class ClipView(View):
    status: str
    lease: Lease | None
    audio: object
    emotion: object
    caption: str
    descriptors: Update   # the descriptor rows' panel: shown for a clip
    rows: tuple           # per descriptor, as on the Analyse tab (analyze.descriptor_row_updates)
    cards: tuple
    verdicts: tuple
    values: tuple
    choice: Update
    note: str
    kept: str


def on_next(backend: Backend, *, campaign: str | None, annotator: str | None, username: str | None = None) -> ClipView:
    """Lease the annotator's next clip and show it with the model's analysis."""
    from emoexplain.explanation import Explanation
    from emoexplain.store import campaigns
    from emoexplain.store.campaigns.create import campaign_row
    who, name = _who(annotator, username), _campaign(campaign)
    offer = campaigns.next_clip(backend.store, name, who)
    kept = campaigns.what_is_kept(campaign_row(backend.store, name))
    if offer["status"] != "clip":
        hidden = tuple(KEEP for _ in DESCRIPTOR_NAMES)
        return ClipView(status=render.escape_md(offer["message"]), lease=None, audio=None, emotion=None, caption="",
                        descriptors=Update(visible=False), rows=hidden, cards=hidden, verdicts=hidden, values=hidden,
                        choice=Update(choices=[], value=None), note="", kept=kept)
    analysis = Explanation.from_dict(offer["analysis"])
    _, rows = analyze.descriptor_row_updates(analysis)
    lease = Lease(name, who, offer["analysis_id"], offer["analysis_token"])
    instructions = f"\n\n{render.escape_md(offer['instructions'])}" if offer["instructions"] else ""
    return ClipView(
        status=f"Clip **{render.escape_md(offer['clip']['name'])}** (you have judged {offer['judged_by_you']}; "
               f"it is yours for {offer['lease_expires_in_s'] / 60:.0f} min).{instructions}",
        lease=lease, audio=offer["clip"]["audio"], emotion=render.emotion_label(analysis),
        caption=render.caption_markdown(analysis), descriptors=Update(visible=True), **rows,
        choice=Update(choices=[*offer["labels"], "unsure"], value=None), note="", kept=kept)


@dataclass(frozen=True)
class SavedView(View):
    status: str
    lease: Lease | None


def on_submit(backend: Backend, *, lease: Lease | None, emotion: str | None, note: str = "",
              verdicts: list | None = None, values: list | None = None, username: str | None = None) -> SavedView:
    """Save the emotion heard, the descriptor verdicts given in the rows (unanswered ones are not judgements)
    and the note, then the page asks for the next clip."""
    from emoexplain.store import campaigns
    lease = _own(lease, username)
    if not emotion:
        raise InvalidJudgement("Choose the emotion you hear (or unsure), then save.")
    saved = campaigns.submit(backend.store, lease.campaign, lease.annotator, analysis_id=lease.analysis_id,
                             analysis_token=lease.token, emotion=emotion, note=note or "",
                             descriptor_verdicts=judge.form_verdicts(verdicts or [], values or []))
    return SavedView(status=f"Saved (judgement {saved['judgement_id']}, {saved['seconds']:.0f} s).", lease=None,
                     info_toasts=("Saved.",))


def on_skip(backend: Backend, *, lease: Lease | None, username: str | None = None) -> SavedView:
    from emoexplain.store import campaigns
    lease = _own(lease, username)
    campaigns.skip(backend.store, lease.campaign, lease.annotator, analysis_id=lease.analysis_id,
                   analysis_token=lease.token)
    return SavedView(status="Skipped.", lease=None)


def _own(lease: Lease | None, username: str | None) -> Lease:
    if lease is None:
        raise CampaignError("Press Next clip first.")
    if username and username != lease.annotator:
        raise CampaignError("This clip was handed to another name; press Next clip.")
    return lease


@dataclass(frozen=True)
class MineView(View):
    mine: Table
    status: str


def on_mine(backend: Backend, *, annotator: str | None, username: str | None = None) -> MineView:
    """The annotator's own judgements (every revision, in campaigns or not)."""
    from emoexplain.store import campaigns
    rows = campaigns.my_judgements(backend.store, _who(annotator, username))
    columns = ("judgement_id", "campaign", "clip", "emotion", "note", "created_at")
    return MineView(mine=Table(columns, [{k: r.get(k) for k in columns} for r in rows]),
                    status=f"{len(rows)} judgement(s) saved under your name.")


def on_delete_mine(backend: Backend, *, annotator: str | None, ids: str, username: str | None = None) -> MineView:
    """Delete the annotator's judgements with these ids ("all": every one of them)."""
    from emoexplain.store import campaigns
    who = _who(annotator, username)
    text = (ids or "").strip().lower()
    if not text:
        raise InvalidJudgement("Type the judgement numbers to delete (e.g. 12, 15), or all.")
    chosen = None if text == "all" else [part for part in text.replace(",", " ").split()]
    deleted = campaigns.delete_my_judgements(backend.store, who, chosen)
    view = on_mine(backend, annotator=who)
    return MineView(mine=view.mine, status=f"Deleted {deleted['judgements']} judgement(s). {view.status}")


# --- admins ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminView(View):
    progress: str
    clips: Table
    quality: Table
    agreement: str
    campaigns: Update


def on_create(backend: Backend, *, unlocked: bool, name: str, source: str, upload: str | None, per_clip,
              gold: str | None, label_set: str | None, instructions: str, username: str | None = None) -> AdminView:
    """Create a campaign from a folder or manifest on the server, or an uploaded zip / manifest, and start its
    analysis in the background."""
    require_admin(unlocked)
    from emoexplain.store import campaigns
    path = upload or (source or "").strip()
    if not path:
        raise CampaignError("Give a folder or manifest path on the server, or upload a .zip or .jsonl.")
    try:
        per_clip = int(per_clip)
    except (TypeError, ValueError):
        raise CampaignError(f"Judgements per clip must be a whole number, got {per_clip!r}.") from None
    explainer = backend.model.get()
    summary = campaigns.create_campaign(backend.store, name, path, per_clip=per_clip,
                                        label_set=label_set or explainer.label_set, gold=gold or None,
                                        instructions=instructions or "", owner=username or "admin")
    campaigns.analyse_campaign(backend.store, summary["campaign"], explainer=explainer)
    skipped = "; ".join(f"{s['name']} ({s['reason']})" for s in summary["skipped"])
    view = on_admin_status(backend, unlocked=True, name=summary["campaign"])
    note = f"Created **{render.escape_md(summary['campaign'])}**: {summary['clips']} clips, {summary['gold']} gold." + (
        f" Skipped: {render.escape_md(skipped)}." if skipped else "")
    return AdminView(progress=f"{note}\n\n{view.progress}", clips=view.clips, quality=view.quality,
                     agreement=view.agreement, campaigns=view.campaigns)


def on_admin_status(backend: Backend, *, unlocked: bool, name: str | None) -> AdminView:
    """Progress, clips (judgements and consensus), annotator quality and agreement of one campaign."""
    require_admin(unlocked)
    from emoexplain.store import campaigns
    names = [c["name"] for c in campaigns.list_campaigns(backend.store)]
    if not name:
        return AdminView(progress="No campaign chosen.", clips=Table((), []), quality=Table((), []), agreement="",
                         campaigns=Update(choices=names))
    status = campaigns.status(backend.store, name)
    p, c = status["progress"], status["campaign"]
    progress = (f"**{render.escape_md(c['name'])}** ({c['state']}): {p['ready']} of {p['clips']} clips analysed, "
                f"{p['pending']} pending, {p['skipped']} skipped; {p['complete']} complete with {c['per_clip']} "
                f"judgements each; {p['judgements']} judgements.")
    clips = [{"clip": clip["name"], "gold": clip["gold"], "judgements": f"{clip['judgements']}/{clip['target']}",
              "model": clip["model"]["label"], "entropy": clip["model"]["entropy"],
              "majority": clip["consensus"]["emotion"]["majority"]["value"],
              "agreed": clip["consensus"]["emotion"]["majority"]["share"],
              "dawid_skene": (clip["consensus"]["emotion"]["dawid_skene"] or {}).get("value")}
             for clip in status["clips"]]
    quality = [{"annotator": q["annotator"], "judgements": q["judgements"], "skips": q["skips"],
                "s_per_clip": q["median_s_per_clip"], "gold_accuracy": q["gold"]["accuracy"], "gold_n": q["gold"]["n"],
                "leave_one_out": q["leave_one_out"]["agreement"], "loo_n": q["leave_one_out"]["n"],
                "dawid_skene_skill": q["dawid_skene_skill"], "excluded": q["excluded"]}
               for q in campaigns.quality(backend.store, name)]
    agreement = campaigns.campaign_agreement(backend.store, name)
    return AdminView(progress=progress, clips=_table(clips), quality=_table(quality),
                     agreement=agreement_markdown(agreement),
                     campaigns=Update(choices=names, value=name))


def on_exclude(backend: Backend, *, unlocked: bool, name: str | None, annotator: str, exclude: bool,
               username: str | None = None) -> AdminView:
    require_admin(unlocked)
    from emoexplain.store import campaigns
    who = (annotator or "").strip()
    if not who:
        raise CampaignError("Type the annotator to exclude or include (as in the quality table).")
    if exclude:
        campaigns.exclude(backend.store, _campaign(name), who, by=username or "admin")
    else:
        campaigns.include(backend.store, _campaign(name), who)
    return on_admin_status(backend, unlocked=True, name=name)


def agreement_markdown(agreement: dict) -> str:
    """The campaign's kappa and alpha, each with the clips and raters it rests on."""
    def number(x):
        return "–" if x is None else f"{x:.3f}"

    def row(what, t):
        return (f"| {render.escape_md(what)} | {t['n_items']} | {t['n_annotators']} | {number(t['fleiss_kappa'])} | "
                f"{number(t['krippendorff_alpha'])} | {number(t['cohen_kappa'])} |")
    lines = ["**Agreement in this campaign** (clips with 2+ counted judgements)", "",
             "| what | clips | raters | Fleiss κ | Krippendorff α | Cohen κ |", "|---|---|---|---|---|---|",
             row("emotion", agreement["emotion"])]
    lines += [row(name.replace("_", " "), t) for name, t in agreement["descriptors"].items()]
    return "\n".join(lines)


def _table(rows: list[dict]) -> Table:
    return Table(tuple(rows[0]) if rows else (), rows)


# --- the HTTP API ----------------------------------------------------------------------------------------

def campaign_next_endpoint(backend: Backend):
    def campaign_next(campaign: str, annotator: str) -> dict:
        """The annotator's next clip of the campaign, leased to them: {"status": "clip", "clip", "analysis",
        "analysis_id", "analysis_token", "labels", ...}, or {"status": "waiting" | "done" | "closed",
        "message"}."""
        from emoexplain.store import campaigns
        offer = campaigns.next_clip(backend.store, _campaign(campaign), _who(annotator, None))
        if offer["status"] == "clip":
            offer["clip"] = {k: v for k, v in offer["clip"].items() if k != "audio"}  # no server paths
        return offer
    return campaign_next


def campaign_submit_endpoint(backend: Backend):
    def campaign_submit(campaign: str, annotator: str, analysis_id: int, analysis_token: str, emotion: str,
                        descriptor_verdicts: dict | None = None, note: str = "") -> dict:
        """Save the annotator's judgement of the clip /campaign_next gave them; {"judgement_id", "seconds"}."""
        from emoexplain.store import campaigns
        return campaigns.submit(backend.store, _campaign(campaign), _who(annotator, None), analysis_id=analysis_id,
                                analysis_token=analysis_token, emotion=emotion,
                                descriptor_verdicts=descriptor_verdicts or None, note=note or "")
    return campaign_submit

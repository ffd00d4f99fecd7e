"""Review tab (admins): unlock, the store's numbers as charts and tables, recent judgements (filtered, each one
opening its analysis), export, backup."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from emoexplain.app import charts, evidence, render
from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import KEEP, Update, View
from emoexplain.errors import InvalidJudgement, TooManyAttempts
from emoexplain.store.queries import Table

EXPORT_KEEP_S = 600   # an export waits this long for its download (gradio copies it into its cache at once)
AGREEMENT_FILTERS = ("any", "agreed with the model", "disagreed")
RECENT_LIMIT = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Filters:
    """What the recent-judgements table shows (empty: everything)."""
    annotator: str | None = None
    label: str | None = None
    since: str | None = None      # YYYY-MM-DD
    until: str | None = None
    agreement: str = "any"


@dataclass(frozen=True)
class ReviewView(View):
    counts: str
    distribution: Update  # bar chart of the human labels (hidden without judgements)
    agreement: str
    confusion: Update     # model x human heatmap, every label (hidden without judgements)
    recent: Table
    annotators: Update    # the filter's choices
    labels: Update


@dataclass(frozen=True)
class UnlockView(View):
    admin: bool           # the session's admin state: other tabs react to its change
    status: str
    review_panel: Update
    review: ReviewView


def on_unlock(backend: Backend, *, token: str | None, username: str | None = None, client: str = "?") -> UnlockView:
    """Unlock the admin parts of the page for this session (admin token or an admin HF login), with what admins
    must know about the storage. A refusal is a status line, not an error (no traceback per guess in the log);
    wrong tokens are rate-limited per client and overall (emoexplain.app.auth)."""
    try:
        ok = backend.admin_gate.check(token, username, client)
    except TooManyAttempts as e:
        ok, refused = False, str(e)
    else:
        refused = "That admin token is not right (or this account is not an admin)."
    if not ok:
        return UnlockView(admin=KEEP, status=refused, review_panel=KEEP, review=KEEP)
    warnings = "".join(f"\n\n⚠️ {render.escape_md(w)}" for w in backend.storage_warnings())
    return UnlockView(admin=True, status="Unlocked." + warnings, review_panel=Update(visible=True),
                      review=on_review(backend, unlocked=True))


def on_review(backend: Backend, *, unlocked: bool, annotator: str | None = None, label: str | None = None,
              since: str | None = None, until: str | None = None, agreement: str | None = "any") -> ReviewView:
    require_admin(unlocked)
    from emoexplain import store as store_api
    from emoexplain.labels import labels as label_names
    stats, agreement_stats = store_api.stats(backend.store), store_api.agreement(backend.store)
    human = stats["human_emotions"]
    order, counts = render.confusion_counts(agreement_stats, label_names(agreement_stats["label_set"]))
    judged = agreement_stats["model_vs_human"]["n"] > 0
    return ReviewView(
        counts=render.counts_markdown(stats),
        distribution=Update(value=charts.bar_figure(human, title="Emotions people heard") if human else None,
                            visible=bool(human)),
        agreement=render.agreement_markdown(agreement_stats),
        confusion=Update(value=charts.confusion_figure(order, order, counts, rows="model said", columns="people heard",
                                                       title="Model (rows) vs people (columns)") if judged else None,
                         visible=judged),
        recent=recent_table(backend, _filters(annotator, label, since, until, agreement)),
        annotators=Update(choices=[""] + list(stats["judgements_per_annotator"])),
        labels=Update(choices=[""] + order))


def _filters(annotator, label, since, until, agreement) -> Filters:
    for name, value in (("From", since), ("To", until)):
        if value and not _DATE.match(value.strip()):
            raise InvalidJudgement(f"{name} must be a date like 2026-12-01, not {value!r}.")
    return Filters(annotator=(annotator or "").strip() or None, label=(label or "").strip() or None,
                   since=(since or "").strip() or None, until=(until or "").strip() or None,
                   agreement=agreement or "any")


def recent_table(backend: Backend, filters: Filters = Filters()) -> Table:
    """The newest judgements as people read them: times in UTC minutes, ✓/✗ for yes/no, short headers."""
    from emoexplain import store as store_api
    agreed = {"agreed with the model": True, "disagreed": False}.get(filters.agreement)
    table = store_api.recent_judgements(backend.store, RECENT_LIMIT, annotator=filters.annotator, label=filters.label,
                                        since=filters.since, until=filters.until, agreed=agreed)
    rows = [{"#": r["id"], "analysis": r["analysis_id"], "when (UTC)": render.readable_time(r["created_at"])[:16],
             "annotator": r["annotator"], "model": r["model"], "person": r["human"] or "unsure",
             "agrees": render.mark(r["agreed"]), "faithful": r["faithfulness"], "helpful": r["helpfulness"],
             "audio kept": render.mark(r["consent"]), "note": r["note"]} for r in table.rows]
    columns = ("#", "analysis", "when (UTC)", "annotator", "model", "person", "agrees", "faithful", "helpful",
               "audio kept", "note")
    return Table(columns, rows)


@dataclass(frozen=True)
class RecentView(View):
    recent: Table
    status: str = ""


def on_filter(backend: Backend, *, unlocked: bool, annotator: str | None, label: str | None, since: str | None,
              until: str | None, agreement: str | None) -> RecentView:
    require_admin(unlocked)
    filters = _filters(annotator, label, since, until, agreement)
    table = recent_table(backend, filters)
    return RecentView(recent=table, status=f"{len(table.rows)} judgements shown (newest first, at most "
                                           f"{RECENT_LIMIT}). Pick a row to open its analysis.")


@dataclass(frozen=True)
class OpenedView(View):
    opened: Update        # the panel with the analysis of the picked judgement
    summary: str          # the judgement and the analysis, the model's words beside the person's answers
    cards: str            # the descriptor cards of the analysis
    audio: Update         # the clip, when someone consented to keep it
    plot: Update          # pitch and energy, re-measured from the kept audio
    status: str = ""


_OPEN_SQL = """
SELECT a.*, j.id AS judgement_id, j.annotator_id, j.emotion AS human, j.agreed, j.descriptor_verdicts,
       j.transcript AS fixed_transcript, j.faithfulness, j.helpfulness, j.note, j.created_at AS judged_at,
       c.audio_path
FROM judgements j JOIN analyses a ON a.id = j.analysis_id JOIN clips c ON c.sha256 = a.clip_sha256 WHERE j.id = ?"""


def on_open(backend: Backend, *, unlocked: bool, judgement_id) -> OpenedView:
    """The analysis behind judgement ``judgement_id``: its result, the person's answers, and (consented audio only)
    the clip and its plot."""
    require_admin(unlocked)
    from emoexplain.explanation import Explanation
    from emoexplain.store.campaigns.queue import explanation_of
    try:
        judgement_id = int(judgement_id)
    except (TypeError, ValueError):
        return OpenedView(opened=Update(visible=False), summary="", cards="", audio=Update(), plot=Update())
    rows = backend.store.read(_OPEN_SQL, [judgement_id])
    if not rows:
        raise InvalidJudgement(f"There is no judgement #{judgement_id} (it may have been deleted).")
    row = rows[0]
    stored = explanation_of(row)
    stored["descriptors"]["emphasis"] = [{"word": w["word"], "start_s": None, "end_s": None}
                                         for w in stored["descriptors"]["emphasis"]]
    result = Explanation.from_dict({"schema": 2, "words": [], "model": {"name": row["model_name"],
                                    "version": row["model_version"]}, "warnings": [],
                                    "latency_s": {"acoustics": 0, "model": 0, "total": row["latency_s"] or 0},
                                    **stored})
    audio = _kept_audio(backend, row["audio_path"])
    plot = _plot(audio, result)
    cards = "".join(evidence.card_html(r) for r in evidence.descriptor_rows(result))
    return OpenedView(opened=Update(visible=True), summary=_opened_summary(row, result), cards=cards,
                      audio=Update(value=audio, visible=audio is not None), plot=plot)


def _opened_summary(row: dict, result) -> str:
    import json
    verdicts = json.loads(row["descriptor_verdicts"] or "{}")
    answers = ", ".join(f"{escape(name)}: {escape(v['verdict'])}" + (f" → {escape(v.get('value'))}"
                        if v.get("value") not in (None, [], "") else "") for name, v in verdicts.items()) or "–"
    kept = "the audio was kept (consent)" if row["audio_path"] else "no audio kept (no consent): no plot"
    return "\n".join([
        f"### Judgement #{row['judgement_id']} of analysis #{row['id']}",
        f"{render.readable_time(row['judged_at'])} · by **{escape(row['annotator_id'])}** · {kept}", "",
        f"- **model**: {escape(result.emotion.label)} · **person**: {escape(row['human'] or 'unsure')} "
        f"(agrees {render.mark(row['agreed'])})",
        f"- **caption**: {render.escape_md(result.caption or '–')}",
        f"- **transcript**: {render.escape_md(result.transcript or '–')}"
        + (f" · corrected: {render.escape_md(row['fixed_transcript'])}" if row["fixed_transcript"] else ""),
        f"- **descriptor verdicts**: {answers}",
        f"- **faithful** {row['faithfulness'] or '–'} · **helpful** {row['helpfulness'] or '–'} · **note**: "
        f"{render.escape_md(row['note'] or '–')}"])


def escape(value) -> str:
    return render.escape_md("" if value is None else value)


def _kept_audio(backend: Backend, audio_path: str | None) -> str | None:
    """A short-lived copy of the consented clip where the page may serve it (the store's audio/ folder is never
    served); it goes with the old exports (export_folder), so a clip deleted from the store does not linger."""
    if not audio_path or backend.data_folder is None:
        return None
    source = backend.data_folder / audio_path
    if not source.is_file():
        return None
    dest = export_folder() / f"emoexplain-clip-{time.time_ns()}{source.suffix}"
    shutil.copy(source, dest)
    return str(dest)


def _plot(audio: str | None, result) -> Update:
    if audio is None:
        return Update(value=None, visible=False)
    from emoexplain import plots
    from emoexplain.acoustics import analyze
    from emoexplain.audio import load_audio
    profile = analyze(load_audio(audio))
    figure = plots.figure({"acoustics": {**profile.to_dict(), "emphasis": [e.to_dict() for e in
                                                                          result.acoustics.emphasis]}})
    return Update(value=figure, visible=True)


@dataclass(frozen=True)
class ExportView(View):
    file: str
    status: str = ""


def on_export(backend: Backend, *, unlocked: bool, fmt: str) -> ExportView:
    """The judgements (or the training manifest) as a file to download."""
    require_admin(unlocked)
    from emoexplain import store as store_api
    stem = f"emoexplain-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
    dest = export_folder() / store_api.export_filename(fmt, stem)
    store_api.export(backend.store, fmt, dest)
    return ExportView(file=str(dest))


def export_folder(keep_s: float = EXPORT_KEEP_S) -> Path:
    """One folder for every export of this machine, emptied of exports older than ``keep_s`` (they held
    copies of judgements, including those of annotators deleted since) each time it is used."""
    folder = Path(tempfile.gettempdir()) / "emoexplain-exports"
    folder.mkdir(mode=0o700, exist_ok=True)
    cutoff = time.time() - keep_s
    for old in folder.glob("emoexplain-*"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
    return folder


@dataclass(frozen=True)
class BackupView(View):
    status: str


def on_backup(backend: Backend, *, unlocked: bool) -> BackupView:
    """A consistent snapshot of the DB now, in backups/ beside it."""
    require_admin(unlocked)
    from emoexplain import store as store_api
    return BackupView(status=f"Backup written: {render.code_span(store_api.backup(backend.store))}")


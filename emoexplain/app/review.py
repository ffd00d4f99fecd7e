"""Review tab (admins): unlock, the store's numbers, export, backup."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from emoexplain.app import render
from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import KEEP, Update, View
from emoexplain.errors import TooManyAttempts
from emoexplain.store.queries import Table

EXPORT_KEEP_S = 600   # an export waits this long for its download (gradio copies it into its cache at once)


@dataclass(frozen=True)
class ReviewView(View):
    counts: str
    distribution: str
    agreement: str
    confusion: Table
    recent: Table


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


def on_review(backend: Backend, *, unlocked: bool) -> ReviewView:
    require_admin(unlocked)
    from emoexplain import store as store_api
    stats, agreement = store_api.stats(backend.store), store_api.agreement(backend.store)
    confusion = render.confusion_rows(agreement)
    return ReviewView(counts=render.counts_markdown(stats),
                      distribution=render.distribution_markdown(stats["human_emotions"]),
                      agreement=render.agreement_markdown(agreement),
                      confusion=Table(tuple(confusion[0]) if confusion else (), confusion),
                      recent=store_api.recent_judgements(backend.store))


@dataclass(frozen=True)
class ExportView(View):
    file: str


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
    return BackupView(status=f"Backup written: `{render.escape_md(store_api.backup(backend.store))}`")

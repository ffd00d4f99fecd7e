"""Review tab (admins): unlock, the store's numbers, export, backup."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from emoexplain.app import render
from emoexplain.app.auth import is_admin, require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import Update, View
from emoexplain.errors import AdminRequired
from emoexplain.store.queries import Table


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


def on_unlock(backend: Backend, *, token: str | None, username: str | None = None) -> UnlockView:
    """Unlock the admin parts of the page for this session (admin token or an admin HF login)."""
    if not is_admin(backend.config, token, username):
        raise AdminRequired("That admin token is not right (or this account is not an admin).")
    return UnlockView(admin=True, status="Unlocked.", review_panel=Update(visible=True),
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
    stem = f"emoexplain-{time.strftime('%Y%m%d-%H%M%S')}"
    dest = Path(tempfile.mkdtemp(prefix="emoexplain-export-")) / store_api.export_filename(fmt, stem)
    store_api.export(backend.store, fmt, dest)
    return ExportView(file=str(dest))


@dataclass(frozen=True)
class BackupView(View):
    status: str


def on_backup(backend: Backend, *, unlocked: bool) -> BackupView:
    """A consistent snapshot of the DB now, in backups/ beside it."""
    require_admin(unlocked)
    from emoexplain import store as store_api
    return BackupView(status=f"Backup written: `{render.escape_md(store_api.backup(backend.store))}`")

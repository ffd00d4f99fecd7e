"""Snapshots and restores (the sqlite3 backup API). The optional Hugging Face dataset sync, a layer over
these two, is in :mod:`emoexplain.store.hub`."""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path

from emoexplain.errors import RestoreRefused, StoreError
from emoexplain.store.db import (AUDIO_DIR, SCHEMA, Store, _looks_like_sqlite, migrations, open_store,
                                 storage_failure, sweep_temp_files, temp_file)

BACKUP_DIR = "backups"
HUB_DIR = "hub"  # beside the DB: the CommitScheduler's folder (the snapshot being uploaded)
HUB_SNAPSHOT = "snapshots/emoexplain.db"  # path of the snapshot in the dataset repo


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def backup(store: Store, dest: str | os.PathLike | None = None) -> Path:
    """Write a consistent snapshot of the store to ``dest`` (default: ``backups/emoexplain-<UTC>.db``
    beside the DB) while writers keep writing; returns the path. The snapshot is a plain
    (non-WAL) SQLite file, checked with ``PRAGMA integrity_check`` before it is renamed into place."""
    if dest is None:
        if store.path is None:
            raise StoreError("An in-memory store has no folder for backups; pass dest=.")
        dest = store.path.parent / BACKUP_DIR / f"emoexplain-{_stamp()}.db"
    dest = Path(dest)
    try:
        with temp_file(dest.parent, ".db") as tmp:
            target = sqlite3.connect(tmp)
            try:
                with store.lock:
                    store.db.conn.backup(target)  # one pass: a consistent read snapshot of the source
                target.execute("PRAGMA journal_mode = DELETE")
                _check_integrity(target, dest.name)
            finally:
                target.close()
            os.replace(tmp, dest)
    except (OSError, sqlite3.OperationalError) as e:
        failure = storage_failure(e)
        if failure is None:
            raise
        raise failure from e
    sweep_temp_files(dest.parent)  # what an earlier, killed backup left here
    return dest


def _check_integrity(conn: sqlite3.Connection, name) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise RestoreRefused(f"{name} fails PRAGMA integrity_check ({'; '.join(result[:3])}); "
                             "use an older backup.")


def check_backup(src: str | os.PathLike) -> int:
    """Validate a backup file without changing anything; returns its schema version.

    :raises RestoreRefused: not SQLite, corrupt, not an emoexplain store, or from a newer emoexplain.
    """
    src = Path(src)
    if not src.is_file():
        raise RestoreRefused(f"No backup file at {src}.")
    if src.stat().st_size == 0 or not _looks_like_sqlite(src):
        raise RestoreRefused(f"{src} is not an SQLite database; pick a file made by `backup`.")
    conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        _check_integrity(conn, src)
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                                                [SCHEMA])]
        except sqlite3.DatabaseError:
            names = []
    except sqlite3.DatabaseError as e:
        raise RestoreRefused(f"{src} cannot be read as SQLite ({e}); pick a file made by `backup`.") from e
    finally:
        conn.close()
    if not names:
        raise RestoreRefused(f"{src} is not an emoexplain store (no '{SCHEMA}' migrations); refusing to restore it.")
    known = {m.name for m in migrations._migrations}
    unknown = sorted(set(names) - known)
    if unknown:
        raise RestoreRefused(f"{src} was written by a newer emoexplain (migrations {unknown}); upgrade first.")
    return len(names)


def restore(src: str | os.PathLike, db_path: str | os.PathLike) -> dict:
    """Replace the store at ``db_path`` with the backup ``src``.

    The backup is validated first (:func:`check_backup`); a live DB that holds data is itself backed up
    to ``backups/emoexplain-before-restore-<UTC>.db`` before it is overwritten, so a restore can be
    undone. The copy goes through the backup API, so other connections see either the old or the new
    content; pending migrations are applied afterwards. Returns what was done.
    """
    check_backup(src)
    db_path = Path(db_path)
    previous = None
    live = open_store(db_path)
    try:
        if any(live.read(f"SELECT 1 AS x FROM {t} LIMIT 1") for t in ("clips", "judgements", "training_runs")):
            previous = backup(live, db_path.parent / BACKUP_DIR / f"emoexplain-before-restore-{_stamp()}.db")
        source = sqlite3.connect(f"file:{Path(src)}?mode=ro", uri=True)
        try:
            with live.lock, live._process_queue():  # queue with the other writers
                source.backup(live.db.conn)
        except sqlite3.OperationalError as e:
            raise StoreError(f"Could not copy {src} into {db_path} ({e}); stop the other writers and retry.") from e
        finally:
            source.close()
        live.db.execute("PRAGMA journal_mode = WAL")
    finally:
        live.close()
    with open_store(db_path) as restored:  # applies migrations an older snapshot lacks
        _check_integrity(restored.db.conn, db_path)
        judgements = restored.read("SELECT count(*) AS n FROM judgements")[0]["n"]
    return {"restored_from": str(src), "db": str(db_path), "previous_backup": str(previous) if previous else None,
            "judgements": judgements}

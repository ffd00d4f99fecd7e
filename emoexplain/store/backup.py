"""Snapshots and restores (the sqlite3 backup API), and the optional Hugging Face dataset sync.

The hub code is a thin layer over :func:`backup` and :func:`restore`: a CommitScheduler whose
``push_to_hub`` uploads a fresh snapshot plus consented audio files, and a restore-on-start that
downloads the latest snapshot when the local store is empty. It only runs when
``EMOEXPLAIN_HUB_DATASET`` is set.
"""

from __future__ import annotations

import datetime
import logging
import os
import sqlite3
import tempfile
from pathlib import Path

from emoexplain.errors import RestoreRefused, StoreError
from emoexplain.store.db import (AUDIO_DIR, SCHEMA, Store, _looks_like_sqlite, migrations, open_store,
                                 storage_failure, sweep_temp_files, temp_file)

log = logging.getLogger(__name__)
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


# --- Hugging Face dataset sync (optional) ----------------------------------------------------------

def hub_dataset() -> str | None:
    """The dataset repo id from ``EMOEXPLAIN_HUB_DATASET`` (None: no sync)."""
    return os.environ.get("EMOEXPLAIN_HUB_DATASET") or None


def _fingerprint(store: Store) -> tuple:
    return tuple(store.read(
        "SELECT (SELECT count(*) FROM judgements) AS j, (SELECT max(id) FROM judgements) AS jm, "
        "(SELECT count(*) FROM analyses) AS a, (SELECT max(id) FROM analyses) AS am, "
        "(SELECT count(*) FROM clips WHERE audio_path IS NOT NULL) AS c, "
        "(SELECT count(*) FROM annotators) AS n, (SELECT count(*) FROM training_runs) AS t")[0].values())


def start_hub_sync(store: Store, repo_id: str | None = None, *, every_minutes: float = 10, hf_api=None,
                   private: bool = True, squash_history: bool = True):
    """Push snapshots of ``store`` (and its consented audio) to a dataset repo every few minutes.

    Returns the scheduler, or None when no repo is configured. ``squash_history`` keeps only the
    latest commit, so deleted clips and annotators also leave the repo's history.
    """
    repo_id = repo_id or hub_dataset()
    if not repo_id:
        return None
    if store.path is None:
        raise StoreError("Hub sync needs a store on a file, not ':memory:'.")
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, CommitScheduler

    class SnapshotScheduler(CommitScheduler):
        """CommitScheduler whose push is: snapshot -> upload; new audio -> upload; deleted audio -> delete."""

        def push_to_hub(self):
            fingerprint = _fingerprint(store)
            if fingerprint == getattr(self, "_pushed", None):
                return None
            with self.lock:
                snapshot = backup(store, self.folder_path / "emoexplain.db")
            local_audio = {f"{AUDIO_DIR}/{p.name}": p for p in sorted(store.audio_dir.glob("*"))
                           if p.is_file() and not p.name.startswith(".")} if store.audio_dir.exists() else {}
            remote = set(self.api.list_repo_files(self.repo_id, repo_type="dataset", revision=self.revision))
            operations = [CommitOperationAdd(path_in_repo=HUB_SNAPSHOT, path_or_fileobj=str(snapshot))]
            operations += [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path))
                           for name, path in local_audio.items() if name not in remote]
            operations += [CommitOperationDelete(path_in_repo=name) for name in sorted(remote)
                           if name.startswith(f"{AUDIO_DIR}/") and name not in local_audio]
            info = self.api.create_commit(repo_id=self.repo_id, repo_type="dataset", operations=operations,
                                          revision=self.revision,
                                          commit_message=f"emoexplain snapshot ({fingerprint[0]} judgements)")
            self._pushed = fingerprint
            return info

    return SnapshotScheduler(repo_id=repo_id, folder_path=store.path.parent / HUB_DIR, every=every_minutes,
                             repo_type="dataset", private=private, squash_history=squash_history, hf_api=hf_api)


def restore_from_hub(db_path: str | os.PathLike, repo_id: str | None = None, *, download=None) -> dict | None:
    """On start: when the local store is missing or has no judgements, restore the latest snapshot
    (and audio) from the dataset repo. A local store with data is never replaced. Returns what was
    done, or None when there is nothing to do (no repo configured, local data present, no snapshot).
    """
    repo_id = repo_id or hub_dataset()
    if not repo_id:
        return None
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if db_path.exists():
        with open_store(db_path) as local:
            if local.read("SELECT 1 AS x FROM judgements LIMIT 1"):
                return None
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError
    download = download or huggingface_hub.snapshot_download
    with tempfile.TemporaryDirectory(dir=db_path.parent) as tmp:
        try:
            folder = Path(download(repo_id=repo_id, repo_type="dataset", local_dir=tmp,
                                   allow_patterns=[HUB_SNAPSHOT, f"{AUDIO_DIR}/*"]))
        except (EntryNotFoundError, RepositoryNotFoundError) as e:
            log.info("No snapshot to restore from %s: %s", repo_id, e)
            return None
        snapshot = folder / HUB_SNAPSHOT
        if not snapshot.is_file():
            return None
        done = restore(snapshot, db_path)
        audio_dir = db_path.parent / AUDIO_DIR
        audio_dir.mkdir(parents=True, exist_ok=True)
        for path in (folder / AUDIO_DIR).glob("*") if (folder / AUDIO_DIR).is_dir() else []:
            if not (audio_dir / path.name).exists():
                os.replace(path, audio_dir / path.name)
    return done | {"hub_dataset": repo_id}

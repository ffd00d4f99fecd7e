"""The optional Hugging Face dataset sync (``EMOEXPLAIN_HUB_DATASET``), which never stands in the app's way.

A Space without persistent storage keeps its judgements by pushing a snapshot of the store (plus consented
audio) to a dataset repo every few minutes, and by restoring it on start. The hub may be down, refuse
connections or accept them and never answer, so:

- every hub call runs in a worker thread and is given up after a deadline (huggingface_hub's own requests
  have no timeout: ``repo_info`` waits forever on a silent server); while a given-up call still hangs, no
  new one is started, so a silent hub costs one thread, not one per retry;
- :func:`start_hub_sync` returns at once (the app serves within seconds) and connects in the background,
  retrying with backoff; :meth:`HubSync.status` says how it stands (the admin page and the log show it);
- nothing is pushed before the hub's snapshot has been reconciled with the local store: a store that started
  empty during an outage would otherwise overwrite (and, with squashed history, erase) the hub's judgements.
  Reconciling restores the snapshot into an empty store, or merges what was saved locally during the outage
  into the snapshot (rows matched by their natural keys, so merging twice adds nothing).
"""

from __future__ import annotations

import atexit
import datetime
import logging
import os
import sqlite3
import tempfile
import threading
from pathlib import Path

from emoexplain.errors import StoreError
from emoexplain.store.backup import (BACKUP_DIR, HUB_DIR, HUB_SNAPSHOT, _stamp, backup, check_backup, restore)
from emoexplain.store.db import AUDIO_DIR, Store, migrations, open_store

log = logging.getLogger(__name__)
CALL_TIMEOUT_S = 15.0        # one metadata call (repo info, file list, create_repo, squashing history)
DOWNLOAD_TIMEOUT_S = 600.0   # the snapshot and the audio files of a restore
START_WAIT_S = 8.0           # how long start_hub_sync waits for the first connection before the app serves
RETRY_S = (5, 15, 60, 300)   # waits between connection attempts, then every 5 minutes


class HubUnreachable(StoreError):
    """The dataset repo did not answer (in time); nothing was pushed or restored."""


def hub_dataset() -> str | None:
    """The dataset repo id from ``EMOEXPLAIN_HUB_DATASET`` (None: no sync)."""
    return os.environ.get("EMOEXPLAIN_HUB_DATASET") or None


class _Deadline:
    """Runs one hub call at a time in a daemon thread and stops waiting for it after ``timeout_s``."""

    def __init__(self):
        self._hung: threading.Thread | None = None

    def __call__(self, fn, *args, timeout_s: float = CALL_TIMEOUT_S, **kwargs):
        if self._hung is not None and self._hung.is_alive():
            raise HubUnreachable("an earlier request to the hub has still not returned")
        outcome: dict = {}

        def run():
            try:
                outcome["value"] = fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                outcome["error"] = e

        worker = threading.Thread(target=run, daemon=True, name="emoexplain-hub-call")
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            self._hung = worker
            raise HubUnreachable(f"the hub did not answer within {timeout_s:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")


def _is_unreachable(error: BaseException) -> bool:
    """Network trouble (retry later), as opposed to an answer from the hub."""
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled
    return isinstance(error, (HubUnreachable, LocalEntryNotFoundError, OfflineModeIsEnabled, OSError, TimeoutError)) \
        or type(error).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3")


def _download_snapshot(repo_id: str, folder: Path, api, download, deadline: _Deadline, *,
                       timeout_s: float = DOWNLOAD_TIMEOUT_S) -> Path | None:
    """Download the snapshot (and audio) into ``folder``; returns the snapshot's path, or None when the hub
    says there is none (no repo yet, no snapshot in it). Raises HubUnreachable when it cannot tell.

    A metadata request with a timeout comes first: the download's own first request has none."""
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError
    try:
        deadline(api.repo_info, repo_id, repo_type="dataset", timeout=min(timeout_s, CALL_TIMEOUT_S),
                 timeout_s=min(timeout_s, CALL_TIMEOUT_S))
        got = Path(deadline(download, repo_id=repo_id, repo_type="dataset", local_dir=str(folder),
                            allow_patterns=[HUB_SNAPSHOT, f"{AUDIO_DIR}/*"], timeout_s=timeout_s))
    except LocalEntryNotFoundError as e:  # (a subclass of EntryNotFoundError: "offline", not "absent")
        raise HubUnreachable(f"cannot reach the hub ({type(e).__name__})") from e
    except (EntryNotFoundError, RepositoryNotFoundError) as e:
        log.info("No snapshot in %s yet: %s", repo_id, type(e).__name__)
        return None
    except HubUnreachable:
        raise
    except Exception as e:
        if _is_unreachable(e):
            raise HubUnreachable(f"cannot reach the hub ({type(e).__name__})") from e
        raise
    snapshot = got / HUB_SNAPSHOT
    return snapshot if snapshot.is_file() else None


def _move_audio(folder: Path, db_folder: Path) -> None:
    """The audio files of a downloaded snapshot into audio/ beside the DB (files already there stay)."""
    audio_dir = db_folder / AUDIO_DIR
    audio_dir.mkdir(parents=True, exist_ok=True)
    for path in (folder / AUDIO_DIR).glob("*") if (folder / AUDIO_DIR).is_dir() else []:
        if not (audio_dir / path.name).exists():
            os.replace(path, audio_dir / path.name)


def restore_from_hub(db_path: str | os.PathLike, repo_id: str | None = None, *, download=None, hf_api=None,
                     timeout_s: float = START_WAIT_S) -> dict | None:
    """On start, before the store is opened: when the local store is missing or has no judgements, restore the
    latest snapshot (and audio) from the dataset repo. A local store with data is never replaced. Returns
    what was done, or None when there is nothing to do (no repo configured, local data present, no snapshot)
    or the hub does not answer within ``timeout_s`` (logged; :class:`HubSync` reconciles once it answers).
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
    with tempfile.TemporaryDirectory(dir=db_path.parent, prefix=".tmp-hub-") as tmp:
        try:
            snapshot = _download_snapshot(repo_id, Path(tmp), hf_api or huggingface_hub.HfApi(),
                                          download or huggingface_hub.snapshot_download, _Deadline(),
                                          timeout_s=timeout_s)
        except HubUnreachable as e:
            log.warning("Hub sync: %s is unreachable at start (%s); serving the local store, will retry.", repo_id, e)
            return None
        if snapshot is None:
            return None
        done = restore(snapshot, db_path)
        _move_audio(Path(tmp), db_path.parent)
    return done | {"hub_dataset": repo_id}


# --- merging a store into a snapshot --------------------------------------------------------------------------

def merge_into(target: sqlite3.Connection, source: sqlite3.Connection) -> dict:
    """Copy into ``target`` the rows of ``source`` it does not have yet; returns counts of rows added.

    Rows are matched by natural keys, not ids (both stores numbered their rows on their own): clips by hash,
    annotators by id, analyses by (clip, created_at, model), judgements by (analysis, annotator, created_at),
    training runs by (created_at, checkpoint). Added analyses get new ids; their judgements follow them, as
    the next revisions of their (analysis, annotator). Both stores must be at the same schema version.
    """
    source.row_factory = sqlite3.Row
    added = {"clips": 0, "annotators": 0, "analyses": 0, "judgements": 0, "training_runs": 0}
    for clip in source.execute("SELECT * FROM clips"):
        if _insert_missing(target, "clips", dict(clip), "sha256 = :sha256"):
            added["clips"] += 1
        elif clip["audio_path"]:
            target.execute("UPDATE clips SET audio_path = :audio_path, consent = 1 WHERE sha256 = :sha256 "
                           "AND audio_path IS NULL", dict(clip))
    for row in source.execute("SELECT * FROM annotators"):
        added["annotators"] += _insert_missing(target, "annotators", dict(row), "id = :id")
    ids = {}
    for row in source.execute("SELECT * FROM analyses ORDER BY id"):
        row = dict(row)
        old_id = row.pop("id")
        key = "clip_sha256 = :clip_sha256 AND created_at = :created_at AND model_name = :model_name"
        added["analyses"] += _insert_missing(target, "analyses", row, key)
        ids[old_id] = target.execute(f"SELECT id FROM analyses WHERE {key}", row).fetchone()[0]
    for row in source.execute("SELECT * FROM judgements ORDER BY id"):
        row = dict(row)
        row.pop("id")
        row["analysis_id"] = ids[row["analysis_id"]]
        key = "analysis_id = :analysis_id AND annotator_id = :annotator_id AND created_at = :created_at"
        if target.execute(f"SELECT 1 FROM judgements WHERE {key}", row).fetchone():
            continue
        row["revision"] = target.execute("SELECT coalesce(max(revision), 0) + 1 FROM judgements WHERE "
                                         "analysis_id = :analysis_id AND annotator_id = :annotator_id",
                                         row).fetchone()[0]
        columns = ", ".join(row)
        target.execute(f"INSERT INTO judgements ({columns}) VALUES ({', '.join(':' + c for c in row)}) "
                       "ON CONFLICT (analysis_id, submission_token) DO NOTHING", row)
        added["judgements"] += 1
    for row in source.execute("SELECT * FROM training_runs ORDER BY id"):
        row = dict(row)
        row.pop("id")
        added["training_runs"] += _insert_missing(target, "training_runs", row,
                                                  "created_at = :created_at AND checkpoint IS :checkpoint")
    return added


def _insert_missing(conn: sqlite3.Connection, table: str, row: dict, key: str) -> bool:
    if conn.execute(f"SELECT 1 FROM {table} WHERE {key}", row).fetchone():
        return False
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})", row)
    return True


def _has_data(conn: sqlite3.Connection) -> bool:
    return any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
               for t in ("clips", "analyses", "judgements", "training_runs"))


def reconcile(store: Store, snapshot: Path) -> dict:
    """Make the live ``store`` hold the hub's ``snapshot`` plus whatever was saved locally meanwhile.

    A store without data gets the snapshot as is; otherwise the local rows are merged into a copy of the
    snapshot (which keeps tables this code does not know, from later migrations), the live store is backed
    up to backups/emoexplain-before-hub-merge-<UTC>.db, and the merged copy replaces it. Writers of this and
    other processes wait meanwhile (the store's write lock is held throughout)."""
    check_backup(snapshot)  # refuses a corrupt snapshot or one from a newer emoexplain
    folder = store.path.parent
    with store.lock, store._process_queue():
        if not _has_data(store.db.conn):
            done = {"restored": True, "merged": None, "previous_backup": None}
            source = snapshot
        else:
            previous = backup(store, folder / BACKUP_DIR / f"emoexplain-before-hub-merge-{_stamp()}.db")
            merged = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-merge-")) / "merged.db"
            merged.write_bytes(snapshot.read_bytes())
            with open_store(merged) as target:  # applies the migrations an older snapshot lacks
                local = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
                try:
                    with target.write() as db:
                        counts = merge_into(db.conn, local)
                finally:
                    local.close()
            done = {"restored": False, "merged": counts, "previous_backup": str(previous)}
            _keep_newest(folder / BACKUP_DIR, "emoexplain-before-hub-merge-*.db", 3)
            source = merged
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            conn.backup(store.db.conn)
        finally:
            conn.close()
        store.db.execute("PRAGMA journal_mode = WAL")
        if source != snapshot:
            for path in source.parent.iterdir():
                path.unlink()
            source.parent.rmdir()
    if migrations.pending(store.db):
        with store.write() as db:
            migrations.apply(db)
    return done


def _keep_newest(folder: Path, pattern: str, n: int) -> None:
    for old in sorted(folder.glob(pattern))[:-n]:
        old.unlink(missing_ok=True)


# --- the sync ---------------------------------------------------------------------------------------------------

def _fingerprint(store: Store) -> tuple:
    return tuple(store.read(
        "SELECT (SELECT count(*) FROM judgements) AS j, (SELECT max(id) FROM judgements) AS jm, "
        "(SELECT count(*) FROM analyses) AS a, (SELECT max(id) FROM analyses) AS am, "
        "(SELECT count(*) FROM clips WHERE audio_path IS NOT NULL) AS c, "
        "(SELECT count(*) FROM annotators) AS n, (SELECT count(*) FROM training_runs) AS t")[0].values())


class HubSync:
    """Keeps ``store`` in step with the dataset repo ``repo_id`` from one background thread.

    States: ``connecting`` (first attempt running), ``offline`` (waiting to retry; ``message`` says why),
    ``ready`` (reconciled; pushing every ``every_minutes``), ``stopped``.
    """

    def __init__(self, store: Store, repo_id: str, *, every_minutes: float = 10, hf_api=None, download=None,
                 private: bool = True, squash_history: bool = True):
        if store.path is None:
            raise StoreError("Hub sync needs a store on a file, not ':memory:'.")
        import huggingface_hub
        self.store, self.repo_id = store, repo_id
        self.every_s = every_minutes * 60
        self.api = hf_api or huggingface_hub.HfApi()
        self._download = download or getattr(self.api, "snapshot_download", None) or huggingface_hub.snapshot_download
        self.private, self.squash_history = private, squash_history
        self.state, self.message, self.since = "connecting", "", _now()
        self.last_push: str | None = None
        self._pushed = None
        self._reconciled = False
        self._call = _Deadline()
        self._stop = threading.Event()
        self._attempted = threading.Event()
        self._push_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="emoexplain-hub-sync")

    def start(self, wait_s: float = 0.0) -> "HubSync":
        """Start the background thread; wait up to ``wait_s`` for the first connection attempt to finish."""
        self._thread.start()
        self._attempted.wait(wait_s)
        atexit.register(self._push_at_exit)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._set("stopped", "")

    def status(self) -> dict:
        return {"repo": self.repo_id, "state": self.state, "message": self.message, "since": self.since,
                "last_push": self.last_push}

    @property
    def warning(self) -> str | None:
        """What admins should know, or None while the sync works."""
        if self.state in ("ready", "stopped"):
            return None
        if self.state == "connecting":
            return f"Connecting to the hub dataset {self.repo_id}; judgements are saved locally meanwhile."
        return (f"The hub dataset {self.repo_id} is unreachable since {self.since} ({self.message}). Judgements are "
                "saved locally and will be merged and pushed when the hub answers; retrying in the background.")

    def push_to_hub(self):
        """Upload a snapshot and the new audio, delete audio deleted here; None when nothing changed or not
        reconciled yet. Each hub call is bounded by CALL_TIMEOUT_S (the snapshot upload by DOWNLOAD_TIMEOUT_S)."""
        if not self._reconciled:
            return None
        with self._push_lock:
            fingerprint = _fingerprint(self.store)
            if fingerprint == self._pushed:
                return None
            return self._push(fingerprint)

    def _push(self, fingerprint):
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete
        folder = self.store.path.parent / HUB_DIR
        snapshot = backup(self.store, folder / "emoexplain.db")
        audio_dir = self.store.audio_dir
        local = {f"{AUDIO_DIR}/{p.name}": p for p in sorted(audio_dir.glob("*"))
                 if p.is_file() and not p.name.startswith(".")} if audio_dir.exists() else {}
        remote = set(self._call(self.api.list_repo_files, self.repo_id, repo_type="dataset"))
        operations = [CommitOperationAdd(path_in_repo=HUB_SNAPSHOT, path_or_fileobj=str(snapshot))]
        operations += [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path))
                       for name, path in local.items() if name not in remote]
        operations += [CommitOperationDelete(path_in_repo=name) for name in sorted(remote)
                       if name.startswith(f"{AUDIO_DIR}/") and name not in local]
        info = self._call(self.api.create_commit, repo_id=self.repo_id, repo_type="dataset", operations=operations,
                          commit_message=f"emoexplain snapshot ({fingerprint[0]} judgements)",
                          timeout_s=DOWNLOAD_TIMEOUT_S)
        if self.squash_history:  # deleted clips and annotators also leave the repo's history
            self._call(self.api.super_squash_history, self.repo_id, repo_type="dataset")
        self._pushed, self.last_push = fingerprint, _now()
        return info

    # --- background -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if not self._reconciled:
                    self._connect()
                    self._reconciled = True
                self._set("ready", "")
                attempt = 0
                self.push_to_hub()
                wait = self.every_s
            except Exception as e:  # noqa: BLE001 - every failure is retried; the app never sees it
                self._set("offline", _reason(e))
                wait = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                attempt += 1
            self._attempted.set()
            self._stop.wait(wait)

    def _connect(self) -> None:
        """Reconcile with the hub's snapshot, then make sure the (private) repo exists."""
        with tempfile.TemporaryDirectory(dir=self.store.path.parent, prefix=".tmp-hub-") as tmp:
            snapshot = _download_snapshot(self.repo_id, Path(tmp), self.api, self._download, self._call)
            if snapshot is not None:
                done = reconcile(self.store, snapshot)
                _move_audio(Path(tmp), self.store.path.parent)
                log.info("Hub sync: reconciled with %s: %s", self.repo_id, done)
        self._call(self.api.create_repo, repo_id=self.repo_id, repo_type="dataset", private=self.private,
                   exist_ok=True)

    def _set(self, state: str, message: str) -> None:
        if state != self.state or message != self.message:
            if state == "offline":  # one line, no traceback: an outage is not a bug
                log.warning("Hub sync to %s: %s; retrying in the background.", self.repo_id, message)
            elif state == "ready":
                log.info("Hub sync to %s: connected.", self.repo_id)
            self.state, self.message, self.since = state, message, _now()

    def _push_at_exit(self) -> None:
        if self.state == "ready" and not self._stop.is_set():
            try:
                self.push_to_hub()
            except Exception as e:  # noqa: BLE001 - exiting anyway
                log.warning("Hub sync: the last push before exit failed (%s).", _reason(e))


def _reason(error: BaseException) -> str:
    """An error in a few words for the log and the admin page (no traceback, no token)."""
    text = str(error).splitlines()[0][:160] if str(error) else ""
    if isinstance(error, HubUnreachable) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def start_hub_sync(store: Store, repo_id: str | None = None, *, every_minutes: float = 10, hf_api=None,
                   download=None, private: bool = True, squash_history: bool = True,
                   wait_s: float = START_WAIT_S) -> HubSync | None:
    """Start syncing ``store`` with the dataset repo (default ``EMOEXPLAIN_HUB_DATASET``); None without one.

    Returns within ``wait_s`` whatever the hub does: a hub that answers is reconciled by then (usually), one
    that does not is retried in the background (``status()``, ``warning``)."""
    repo_id = repo_id or hub_dataset()
    if not repo_id:
        return None
    sync = HubSync(store, repo_id, every_minutes=every_minutes, hf_api=hf_api, download=download, private=private,
                   squash_history=squash_history)
    return sync.start(wait_s)



"""The SQLite file: where it lives, how it is opened, its schema (as sqlite-utils migrations).

Every connection runs in WAL mode with foreign keys on and a busy timeout, and every write goes
through :func:`write`, which takes the write lock up front (``BEGIN IMMEDIATE``) so that several
processes and threads queue on the lock instead of failing half-way through a transaction.

Writers of one process queue on a thread lock; writers of several processes first queue on an
``flock`` of ``emoexplain.db-lock`` beside the DB. A blocked ``flock`` sleeps in the kernel and
wakes the moment the holder releases it (a killed holder releases it too), which keeps the wait
close to the time the lock is really held; SQLite's own busy handler sleeps 1, 2, 5, ... 100 ms
between attempts. ``BEGIN IMMEDIATE`` is still taken under the flock, so writers that do not
use it (other tools, older versions) remain safe.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import logging
import random
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

try:  # POSIX only; elsewhere writers fall back to polling BEGIN IMMEDIATE
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from emoexplain.errors import StoreError, StoreFull, StoreReadOnly

log = logging.getLogger(__name__)
DB_NAME = "emoexplain.db"
AUDIO_DIR = "audio"  # beside the DB: audio/<sha256>.<ext>, only with consent
PENDING_DIR = "pending"  # beside the DB: pending/<sha256>.<ext>, an analysed upload until it is judged or expires
TEMP_PREFIX = ".tmp-"  # files being written (backups, audio copies, exports); swept when their writer is gone
TEMP_MIN_AGE_S = 60.0  # a temp file younger than this may belong to a writer that has not locked it yet
LOCK_SUFFIX = "-lock"  # emoexplain.db-lock: the cross-process writer queue (an empty file)
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for the lock before giving up
SCHEMA = "emoexplain"  # the migration set name; restore() refuses files without it

migrations = Migrations(SCHEMA)


def now() -> str:
    """UTC time as ISO 8601 with microseconds, the format of every created_at."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def synchronous() -> str:
    """``EMOEXPLAIN_STORE_SYNCHRONOUS``: ``FULL`` (default: a commit survives power loss) or ``NORMAL`` (a
    commit survives any process crash, the last commits may roll back on power loss; no fsync per commit,
    for disks where fsync is slow)."""
    value = os.environ.get("EMOEXPLAIN_STORE_SYNCHRONOUS", "FULL").strip().upper() or "FULL"
    if value not in ("FULL", "NORMAL"):
        raise StoreError(f"EMOEXPLAIN_STORE_SYNCHRONOUS must be FULL or NORMAL, got {value!r}.")
    return value


def data_dir() -> Path:
    """Where the DB and audio live: ``EMOEXPLAIN_DATA_DIR``, else ``/data`` if writable, else ``./data``.

    ``/data`` is the persistent volume of a Hugging Face Space (persistent storage or a mounted bucket).
    """
    env = os.environ.get("EMOEXPLAIN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    data = Path("/data")
    if data.is_dir() and os.access(data, os.W_OK | os.X_OK):
        return data
    return Path("data").resolve()


def pending_ttl_s() -> float:
    """``EMOEXPLAIN_PENDING_TTL_S`` (default 3600): how long an analysed upload waits on disk for its judgement.
    Without consent it is then deleted; with consent it was copied to audio/ when the judgement was saved."""
    try:
        value = float(os.environ.get("EMOEXPLAIN_PENDING_TTL_S") or 3600)
    except ValueError:
        raise StoreError("EMOEXPLAIN_PENDING_TTL_S must be a number of seconds.") from None
    if not value > 0:
        raise StoreError("EMOEXPLAIN_PENDING_TTL_S must be positive.")
    return value


def persistence_warning(folder: str | os.PathLike, env=None) -> str | None:
    """A warning when judgements saved in ``folder`` will not survive a restart: on a Hugging Face Space
    (``SPACE_ID``) the container's own disk is reset by every restart; only ``/data`` (persistent storage) or
    another mounted volume outlives one, unless ``EMOEXPLAIN_HUB_DATASET`` syncs the store to a dataset."""
    env = os.environ if env is None else env
    if not env.get("SPACE_ID") or env.get("EMOEXPLAIN_HUB_DATASET"):
        return None
    folder = Path(folder).resolve()
    if folder == Path("/data") or Path("/data") in folder.parents or _on_own_volume(folder):
        return None
    return ("This Space has no persistent storage and no hub sync: judgements are kept on its ephemeral disk "
            "and a restart erases them. Enable persistent storage (/data) in the Space settings, or set "
            "EMOEXPLAIN_HUB_DATASET to a dataset repo.")


def _on_own_volume(folder: Path) -> bool:
    """Whether ``folder`` lies on another file system than ``/`` (a mounted volume, not the container's disk)."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    try:
        return os.stat(existing).st_dev != os.stat("/").st_dev
    except OSError:
        return False


def storage_failure(error: BaseException) -> StoreError | None:
    """The named store error for a full or read-only disk (SQLite's or the OS's wording), else None."""
    if isinstance(error, OSError) and error.errno is not None:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFull(_FULL)
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreReadOnly(_READ_ONLY)
        return None
    text = str(error).lower()
    if isinstance(error, sqlite3.Error):
        if "full" in text:
            return StoreFull(_FULL)
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StoreReadOnly(_READ_ONLY)
    return None


_FULL = ("The disk that holds the annotation store is full, so nothing was saved. The server's owner must "
         "free space (or enlarge the volume); then save again.")
_READ_ONLY = ("The annotation store cannot be written (its folder is read-only), so nothing was saved. The "
              "server's owner must make EMOEXPLAIN_DATA_DIR point at a writable folder.")


class Store:
    """An open annotation store. Thread-safe: one connection, one lock; use one Store per process.

    ``store.db`` is the sqlite-utils Database for read queries; writes go through ``store.write()``.
    """

    def __init__(self, path: str | os.PathLike):
        self.memory = str(path) == ":memory:"
        self.path = Path(path) if not self.memory else None
        self.lock = threading.RLock()
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        self.db = Database(conn)
        self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._lock_fd = None if self.memory else _open_lock_file(Path(f"{path}{LOCK_SUFFIX}"))
        if not self.memory:
            _retry_locked(self.db.enable_wal)
            # WAL + NORMAL survives any process crash (SIGKILL included); FULL also survives power loss
            # at the cost of one fsync per judgement. Human judgements are precious: FULL by default.
            self.db.execute(f"PRAGMA synchronous = {synchronous()}")

    @property
    def audio_dir(self) -> Path | None:
        return None if self.path is None else self.path.parent / AUDIO_DIR

    @property
    def pending_dir(self) -> Path | None:
        return None if self.path is None else self.path.parent / PENDING_DIR

    @contextlib.contextmanager
    def write(self):
        """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.
        A full or read-only disk raises StoreFull / StoreReadOnly (nothing was written)."""
        try:
            with self._transaction() as db:
                yield db
        except sqlite3.OperationalError as e:
            failure = storage_failure(e)
            if failure is None:
                raise
            raise failure from e

    @contextlib.contextmanager
    def _transaction(self):
        with self.lock, self._process_queue() as queued:
            if queued:  # only writers outside the queue can hold the lock: SQLite's busy handler will do
                self.db.conn.execute("BEGIN IMMEDIATE")
            else:
                self._begin_immediate()
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    @contextlib.contextmanager
    def _process_queue(self):
        """Hold the cross-process flock (when the platform and file system offer one); yields whether it did."""
        fd = self._lock_fd
        if fd is None:
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # e.g. a file system without locks: BEGIN IMMEDIATE polling alone still serialises
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _begin_immediate(self) -> None:
        """Take the write lock, polling every fraction of a millisecond (used where flock is unavailable).

        SQLite's busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between attempts, so a writer that
        loses a few races waits tens of ms (the p99 under 8 writers). Polling with short random sleeps
        keeps the wait close to the time the lock is actually held.
        """
        conn = self.db.conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            pause = 0.0001
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                        raise
                time.sleep(pause * random.random())
                pause = min(pause * 1.5, 0.005)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def read(self, sql: str, params=()) -> list[dict]:
        """Rows of a read query as dicts."""
        with self.lock:
            return list(self.db.query(sql, params))

    def schema_version(self) -> int:
        return len(migrations.applied(self.db))

    def close(self) -> None:
        with self.lock:
            self.db.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<Store {self.path or ':memory:'}>"


def _open_lock_file(path: Path) -> int | None:
    """File descriptor of the writer-queue lock file, or None (no fcntl, read-only folder)."""
    if fcntl is None:
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None


def _retry_locked(fn, attempts: int = 20):
    """Run ``fn``, retrying "database is locked" (the busy timeout does not cover every case)."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def open_store(path: str | os.PathLike | None = None) -> Store:
    """Open (creating if needed) the store at ``path``; ``None`` -> ``data_dir()/emoexplain.db``.

    Pending migrations are applied under the write lock, so processes opening a fresh file at once
    are safe. ``":memory:"`` gives a throw-away store without audio. A folder or file that cannot be
    written raises StoreReadOnly here, at start, rather than at the first save. Temp files of writers that
    died (a crash mid-backup) and expired pending uploads are removed.

        store = open_store("data/emoexplain.db")
    """
    synchronous()  # a bad EMOEXPLAIN_STORE_SYNCHRONOUS fails before anything is opened
    path = Path(data_dir()) / DB_NAME if path is None else path
    if str(path) != ":memory:":
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise (storage_failure(e) or StoreError(f"Cannot create the data folder {path.parent}: {e}. "
                                                    "Set EMOEXPLAIN_DATA_DIR to a writable folder.")) from e
        if path.exists() and not _looks_like_sqlite(path):
            raise StoreError(f"{path} is not an SQLite database; move it away or pass another path.")
        _check_writable(path)
    try:
        store = Store(path)
    except sqlite3.Error as e:
        raise (storage_failure(e) or StoreError(f"Cannot open the store {path}: {e}.")) from e
    if migrations.pending(store.db):
        with store.write() as db:
            migrations.apply(db)  # nested atomic() blocks become savepoints of our transaction
    if store.path is not None:
        sweep(store)
        warning = persistence_warning(store.path.parent)
        if warning:
            log.warning(warning)
    return store


def _check_writable(path: Path) -> None:
    """Create and remove a file beside the DB (os.access is no test: root passes it on any mode bits)."""
    try:
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".probe")
        os.close(fd)
        os.unlink(probe)
        if path.exists():
            with open(path, "r+b"):
                pass
    except OSError as e:
        raise (storage_failure(e) or StoreReadOnly(_READ_ONLY)) from e


def _looks_like_sqlite(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


@contextlib.contextmanager
def temp_file(folder: Path, suffix: str = ""):
    """A new ``.tmp-*`` file in ``folder`` for writing something that is renamed into place when complete.

    The file is locked (flock) while this block runs, which is how :func:`sweep_temp_files` tells a live
    writer's file from one left by a writer that crashed; a file not renamed by the end of the block (an
    exception, an abandoned write) is removed. Yields its path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=suffix)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        os.close(fd)


def sweep_temp_files(folder: Path, *, min_age_s: float = TEMP_MIN_AGE_S) -> int:
    """Remove ``.tmp-*`` files in ``folder`` that no live writer holds (older than ``min_age_s``); returns how many."""
    removed = 0
    cutoff = time.time() - min_age_s
    for path in folder.glob(f"{TEMP_PREFIX}*") if folder.is_dir() else []:
        try:
            if path.stat().st_mtime > cutoff:
                continue
            with open(path, "rb") as f:
                if fcntl is not None:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: a writer is alive
                path.unlink()
                removed += 1
        except OSError:  # locked, vanished or not ours to remove
            continue
    return removed


def sweep(store: Store) -> dict:
    """Remove what crashed writers left beside the DB and pending uploads older than their TTL."""
    from emoexplain.store.backup import BACKUP_DIR, HUB_DIR  # (backup imports this module)
    folder = store.path.parent
    temp = sum(sweep_temp_files(folder / name) for name in (".", BACKUP_DIR, AUDIO_DIR, PENDING_DIR, HUB_DIR))
    expired = 0
    cutoff = time.time() - pending_ttl_s()
    for path in store.pending_dir.glob("*") if store.pending_dir.is_dir() else []:
        with contextlib.suppress(OSError):
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
                path.unlink()
                expired += 1
    if temp or expired:
        log.info("store %s: removed %d stale temp files and %d expired pending uploads", store.path, temp, expired)
    return {"temp_files": temp, "pending_expired": expired}


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy a file so that ``dest`` is either absent or complete (temp file + fsync + rename)."""
    try:
        with temp_file(dest.parent, dest.suffix) as tmp:
            with open(tmp, "wb") as out, open(src, "rb") as f:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
    except OSError as e:
        failure = storage_failure(e)
        if failure is None or isinstance(e, FileNotFoundError):
            raise
        raise failure from e


# --- schema ------------------------------------------------------------------------------------
# Append new migrations at the end; never edit one that has shipped.

@migrations()
def m001_initial(db: Database) -> None:
    db["clips"].create({
        "sha256": str,          # hex sha256 of the canonical 16 kHz samples (audio.AudioClip.sha256)
        "duration_s": float,
        "sample_rate": int,
        "source": str,          # upload | microphone | example | ...
        "audio_path": str,      # relative to the DB folder; NULL unless someone consented
        "consent": int,         # 1 once any judgement with consent=True kept the audio
        "created_at": str,
    }, pk="sha256", not_null={"sha256", "created_at"})
    db["analyses"].create({
        "id": int,
        "clip_sha256": str,
        "model_name": str,
        "model_version": str,   # checkpoint revision
        "label_set": str,
        "label": str,           # the model's emotion
        "probabilities": str,   # JSON {label: p}
        "transcript": str,
        "caption": str,
        "descriptors": str,     # JSON {name: word}, the model's words
        "emphasis": str,        # JSON [words], the model's emphasis
        "measured": str,        # JSON [descriptor dicts] from the acoustic engine
        "acoustics": str,       # JSON acoustic profile (without frame tracks)
        "explanation": str,     # JSON, everything else of Explanation.to_dict()
        "latency_s": float,
        "created_at": str,
    }, pk="id", foreign_keys=[("clip_sha256", "clips", "sha256")],
        not_null={"clip_sha256", "model_name", "label_set", "label", "created_at"})
    db["annotators"].create({
        "id": str,              # HF username on Spaces, typed name locally
        "display_name": str,
        "created_at": str,
    }, pk="id", not_null={"id", "created_at"})
    db["judgements"].create({
        "id": int,
        "analysis_id": int,
        "annotator_id": str,
        "revision": int,        # 1, 2, ... per (analysis, annotator); the highest is the current one
        "emotion": str,         # a label of the analysis' label set; NULL = annotator unsure
        "agreed": int,          # 1 when the annotator answered "agree"
        "descriptor_verdicts": str,  # JSON {name: {"verdict", "value"?}}
        "transcript": str,      # corrected transcript, NULL = not corrected
        "faithfulness": int,    # 1..5 or NULL
        "helpfulness": int,     # 1..5 or NULL
        "note": str,
        "consent": int,
        "created_at": str,
    }, pk="id", foreign_keys=[("analysis_id", "analyses", "id"), ("annotator_id", "annotators", "id")],
        not_null={"analysis_id", "annotator_id", "revision", "consent", "created_at"})
    db["training_runs"].create({
        "id": int,
        "created_at": str,
        "checkpoint": str,      # output folder or hub id
        "base_checkpoint": str,
        "model_name": str,
        "model_version": str,
        "n_examples": int,
        "config": str,          # JSON
        "metrics": str,         # JSON
        "extra": str,           # JSON: any other field passed to record_training_run
    }, pk="id", not_null={"created_at"})
    db["analyses"].create_index(["clip_sha256"])
    db["judgements"].create_index(["analysis_id", "annotator_id", "revision"], unique=True)
    db["judgements"].create_index(["annotator_id"])
    db.create_view("latest_judgements", """
        SELECT j.* FROM judgements j
        WHERE j.revision = (SELECT max(revision) FROM judgements k
                            WHERE k.analysis_id = j.analysis_id AND k.annotator_id = j.annotator_id)""")
    db.create_view("schema_version", f"""
        SELECT count(*) AS version, max(applied_at) AS applied_at
        FROM _sqlite_migrations WHERE migration_set = '{SCHEMA}'""")



@migrations()
def m002_tokens_and_pending_audio(db: Database) -> None:
    """Issue 10: an analysis can be judged only with its token (its sha256 is kept, never the token); the
    upload waiting for its judgement is on disk (pending/...), so a consent save survives a restart; a
    submission token is unique per analysis, so a retried save is stored once, even after a crash."""
    db["analyses"].add_column("token_sha256", str)      # hex sha256 of the analysis token; NULL = open
    db["analyses"].add_column("pending_audio", str)     # pending/<sha256>.<ext> relative to the DB folder
    db["judgements"].add_column("submission_token", str)
    db["judgements"].create_index(["analysis_id", "submission_token"], unique=True)


# distinct annotators of a campaign item's analysis, excluded annotators not counted (used by m003's triggers)
_N_JUDGED = """SELECT count(DISTINCT j.annotator_id) FROM judgements j
    WHERE j.analysis_id = campaign_items.analysis_id AND NOT EXISTS (
        SELECT 1 FROM campaign_exclusions x
        WHERE x.campaign_id = campaign_items.campaign_id AND x.annotator_id = j.annotator_id)"""

@migrations()
def m003_campaigns(db: Database) -> None:
    """Annotation campaigns (issue 13): a shared queue of clips with leases, gold clips and exclusions.

    Raw SQL because the foreign keys need ON DELETE actions (sqlite-utils' create() has none): deleting a
    clip, an analysis or an annotator (GDPR erasure) takes their campaign rows with it instead of failing.
    ``campaign_items.n_judged`` (distinct non-excluded annotators who judged the item) and ``open`` (below the
    overlap target) are kept by triggers, so every writer of ``judgements`` (campaign queue, record_judgement,
    delete_annotator) keeps them exact, and the queue seeks to open clips through an index instead of counting
    judgements per clip on each request.
    """
    # one statement at a time: executescript() would COMMIT the migration's transaction half-way
    for statement in _M003_TABLES + _M003_TRIGGERS:
        db.execute(statement)


_M003_TABLES = [
    """CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        label_set TEXT NOT NULL,
        per_clip INTEGER NOT NULL CHECK (per_clip >= 1),     -- the overlap target: judgements wanted per clip
        gold_share REAL NOT NULL DEFAULT 0,                  -- share of each annotator's clips that are gold
        instructions TEXT NOT NULL DEFAULT '',
        queue_order TEXT NOT NULL DEFAULT 'entropy',         -- entropy | margin | random
        lease_s REAL NOT NULL DEFAULT 300,
        state TEXT NOT NULL,                                 -- importing | open | closed
        owner TEXT NOT NULL,                                 -- who supplied the audio
        consent TEXT NOT NULL,                               -- the owner's consent statement, as recorded
        folder TEXT NOT NULL,                                -- the kept audio, relative to the DB folder
        source TEXT,                                         -- folder / manifest / zip it was made from
        created_at TEXT NOT NULL,
        closed_at TEXT
    )""",
    """CREATE TABLE campaign_items (
        id INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        name TEXT NOT NULL,                                  -- the clip's name in the source
        audio_path TEXT NOT NULL,                            -- the kept copy, relative to the DB folder
        state TEXT NOT NULL,                                 -- pending | ready | skipped
        error TEXT,                                          -- why it was skipped
        clip_sha256 TEXT REFERENCES clips(sha256) ON DELETE CASCADE,
        analysis_id INTEGER REFERENCES analyses(id) ON DELETE CASCADE,
        gold_emotion TEXT,                                   -- the known answer of a gold clip
        transcript TEXT,                                     -- the known words (manifest), else NULL
        entropy REAL, margin REAL, descriptor_disagreement REAL,
        priority REAL,                                       -- queue order, highest first
        n_judged INTEGER NOT NULL DEFAULT 0,                 -- maintained by the triggers below
        open INTEGER NOT NULL DEFAULT 1,                     -- 1 while below the target (gold: always), by trigger
        created_at TEXT NOT NULL,
        analysed_at TEXT,
        UNIQUE (campaign_id, name)
    )""",
    """CREATE UNIQUE INDEX campaign_items_analysis ON campaign_items(analysis_id)""",
    """CREATE UNIQUE INDEX campaign_items_clip ON campaign_items(campaign_id, clip_sha256)""",
    # the queue seeks straight to the open clips in priority order; full ones are not even scanned
    """CREATE INDEX campaign_items_queue ON campaign_items(campaign_id, state, open, priority DESC, gold_emotion)""",
    """CREATE TABLE campaign_assignments (
        id INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES campaign_items(id) ON DELETE CASCADE,
        annotator_id TEXT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
        state TEXT NOT NULL,                                 -- leased | judged | skipped
        token_hash TEXT NOT NULL,                            -- sha256 of the analysis token; the token is never kept
        issued_at REAL NOT NULL,                             -- unix seconds
        expires_at REAL NOT NULL,
        finished_at REAL,
        judgement_id INTEGER REFERENCES judgements(id) ON DELETE SET NULL,
        note TEXT,
        UNIQUE (item_id, annotator_id)
    )""",
    """CREATE INDEX campaign_assignments_lease ON campaign_assignments(item_id, state, expires_at)""",
    """CREATE INDEX campaign_assignments_annotator ON campaign_assignments(campaign_id, annotator_id, state)""",
    """CREATE UNIQUE INDEX campaign_assignments_token ON campaign_assignments(token_hash)""",
    """CREATE TABLE campaign_exclusions (
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        annotator_id TEXT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
        excluded_by TEXT,
        reason TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (campaign_id, annotator_id)
    )""",
]


def _count_trigger(name: str, event: str, row: str, where: str) -> str:
    """A trigger that recounts ``n_judged`` of the campaign items ``where`` selects after ``event``."""
    return (f"CREATE TRIGGER {name} AFTER {event} BEGIN UPDATE campaign_items SET n_judged = ({_N_JUDGED}) "
            f"WHERE {where.format(row=row)}; END")


_ITEM_OF = "analysis_id = {row}.analysis_id"
_ITEMS_OF_ANNOTATOR = ("campaign_id = {row}.campaign_id AND analysis_id IN "
                       "(SELECT analysis_id FROM judgements WHERE annotator_id = {row}.annotator_id)")
_M003_TRIGGERS = [
    """CREATE TRIGGER campaign_open_on_count AFTER UPDATE OF n_judged ON campaign_items BEGIN
        UPDATE campaign_items SET open = (NEW.gold_emotion IS NOT NULL OR NEW.n_judged <
            (SELECT per_clip FROM campaigns WHERE id = NEW.campaign_id)) WHERE id = NEW.id; END""",
    _count_trigger("campaign_count_on_judgement", "INSERT ON judgements", "NEW", _ITEM_OF),
    _count_trigger("campaign_count_on_delete", "DELETE ON judgements", "OLD", _ITEM_OF),
    _count_trigger("campaign_count_on_exclude", "INSERT ON campaign_exclusions", "NEW", _ITEMS_OF_ANNOTATOR),
    _count_trigger("campaign_count_on_include", "DELETE ON campaign_exclusions", "OLD", _ITEMS_OF_ANNOTATOR),
]

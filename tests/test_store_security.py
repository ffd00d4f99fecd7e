"""The store's side of issue 10: tokens, saves that happen once, consent that survives a restart, strict
validators, CSV formulas, temp files of crashed writers, full and read-only disks."""

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emoexplain.errors import AudioGone, InvalidJudgement, NotYourAnalysis
from emoexplain.store import backup, delete_clip, export, open_store, record_analysis, record_judgement
from emoexplain.store.db import TEMP_PREFIX, migrations, persistence_warning, temp_file
from emoexplain.store.records import record_judgement_once, token_hash

SHA_A, SHA_B = "a" * 64, "b" * 64
TOKEN_A, TOKEN_B = "A" * 43, "B" * 43
EXPLANATION = {"emotion": {"label": "happy", "probabilities": {"neutral": 0.2, "happy": 0.8}},
               "model": {"name": "tiny", "version": "r1", "label_set": "speechcraft7"}, "transcript": "hi"}
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "data" / "emoexplain.db") as s:
        yield s


@pytest.fixture
def upload(tmp_path):
    """An upload in a folder that, like gradio's cache, is gone after a restart."""
    path = tmp_path / "gradio-cache" / "clip.webm"
    path.parent.mkdir()
    path.write_bytes(b"pretend this is opus" * 100)
    return path


def analyse(store, sha=SHA_A, token=TOKEN_A, pending=None):
    return record_analysis(store, EXPLANATION, audio_sha256=sha, duration_s=2.0, sample_rate=16000, source="app",
                           analysis_token=token, pending_audio=pending)


def count(store, table="judgements") -> int:
    return store.read(f"SELECT count(*) AS n FROM {table}")[0]["n"]


# --- schema --------------------------------------------------------------------------------------------------
def test_m002_upgrades_a_store_made_before_it(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    from sqlite_utils import Database
    migrations.apply(Database(db), stop_before="m002_tokens_and_pending_audio")
    db.execute("INSERT INTO clips (sha256, consent, created_at) VALUES (?, 0, 'x')", [SHA_A])
    db.commit()
    db.close()
    with open_store(path) as upgraded:
        assert [m.name for m in migrations.applied(upgraded.db)][:2] == ["m001_initial", "m002_tokens_and_pending_audio"]
        assert {"token_sha256", "pending_audio"} <= set(upgraded.db["analyses"].columns_dict)
        assert "submission_token" in upgraded.db["judgements"].columns_dict
        assert count(upgraded, "clips") == 1


# --- analyses only their owner can judge ---------------------------------------------------------------------
def test_an_analysis_with_a_token_is_judged_only_with_it(store):
    aid = analyse(store)
    for token in (None, TOKEN_B, "", 12345):
        with pytest.raises(NotYourAnalysis):
            record_judgement(store, aid, annotator="mallory", emotion="sad", consent=True, analysis_token=token)
    assert count(store) == 0
    record_judgement(store, aid, annotator="ada", emotion="agree", analysis_token=TOKEN_A)
    assert count(store) == 1


def test_only_the_token_hash_is_stored(store):
    analyse(store)
    [row] = store.read("SELECT token_sha256 FROM analyses")
    assert row["token_sha256"] == token_hash(TOKEN_A) != TOKEN_A
    assert TOKEN_A.encode() not in store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()


def test_weak_analysis_tokens_are_refused(store):
    from emoexplain.errors import InvalidAnalysis
    with pytest.raises(InvalidAnalysis, match="16 to 200"):
        analyse(store, token="1234")


# --- saves that happen once -----------------------------------------------------------------------------------
def test_a_submission_token_is_stored_once_even_after_a_restart(tmp_path):
    path = tmp_path / "emoexplain.db"
    with open_store(path) as store:
        aid = analyse(store)
        first = record_judgement_once(store, aid, annotator="ada", emotion="happy", analysis_token=TOKEN_A,
                                      submission_token="my-form-1")
        assert first[1] is True
    with open_store(path) as restarted:                     # the process crashed; the client retries
        again = record_judgement_once(restarted, aid, annotator="ada", emotion="happy", analysis_token=TOKEN_A,
                                      submission_token="my-form-1")
        assert again == (first[0], False) and count(restarted) == 1


def test_two_visitors_with_the_same_submission_token_both_land(store):
    mine, theirs = analyse(store, SHA_A, TOKEN_A), analyse(store, SHA_B, TOKEN_B)
    a = record_judgement_once(store, mine, annotator="ana", emotion="happy", analysis_token=TOKEN_A,
                              submission_token="my-form-1")
    b = record_judgement_once(store, theirs, annotator="bo", emotion="sad", analysis_token=TOKEN_B,
                              submission_token="my-form-1")
    assert a[1] and b[1] and a[0] != b[0] and count(store) == 2


def test_concurrent_retries_of_one_submission_store_one_row(store):
    aid = analyse(store)
    results, barrier = [], threading.Barrier(8)

    def send():
        barrier.wait()
        results.append(record_judgement_once(store, aid, annotator="ada", emotion="happy", analysis_token=TOKEN_A,
                                             submission_token="double-click"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(store) == 1 and len({r[0] for r in results}) == 1 and sum(r[1] for r in results) == 1


# --- whole numbers and real booleans ---------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [("faithfulness", 3.7), ("helpfulness", "4"), ("faithfulness", True),
                                         ("faithfulness", float("nan")), ("helpfulness", 6),
                                         ("consent", "false"), ("consent", "0"), ("consent", "no"), ("consent", 1),
                                         ("consent", None)])
def test_non_whole_ratings_and_non_boolean_consent_are_refused(store, field, value):
    aid = analyse(store)
    with pytest.raises(InvalidJudgement, match="whole number|true or false"):
        record_judgement(store, aid, annotator="ada", emotion="happy", analysis_token=TOKEN_A, **{field: value})
    with pytest.raises(InvalidJudgement, match="analysis_id"):
        record_judgement(store, aid + 0.5, annotator="ada", emotion="happy", analysis_token=TOKEN_A)
    assert count(store) == 0
    record_judgement(store, aid, annotator="ada", emotion="happy", analysis_token=TOKEN_A, faithfulness=4.0,
                     consent=np.bool_(False))
    assert store.read("SELECT faithfulness, consent FROM judgements")[0] == {"faithfulness": 4, "consent": 0}


# --- consented audio survives a restart; expired audio is refused clearly ---------------------------------------
def test_consent_after_a_restart_keeps_the_pending_upload(tmp_path, upload):
    path = tmp_path / "data" / "emoexplain.db"
    with open_store(path) as store:
        aid = analyse(store, pending=upload)
    shutil.rmtree(upload.parent)                              # restart: gradio's cache is gone
    with open_store(path) as store:
        record_judgement(store, aid, annotator="ada", emotion="happy", consent=True, analysis_token=TOKEN_A)
        [clip] = store.read("SELECT audio_path, consent FROM clips")
        assert clip == {"audio_path": f"audio/{SHA_A}.webm", "consent": 1}
        assert (path.parent / clip["audio_path"]).read_bytes() == b"pretend this is opus" * 100


def test_an_expired_upload_refuses_consent_and_saves_nothing(tmp_path, upload, monkeypatch):
    path = tmp_path / "data" / "emoexplain.db"
    with open_store(path) as store:
        aid = analyse(store, pending=upload)
        pending = path.parent / store.read("SELECT pending_audio FROM analyses")[0]["pending_audio"]
    old = time.time() - 7200
    os.utime(pending, (old, old))
    with open_store(path) as store:                           # the sweep at start removes uploads past their TTL
        assert not pending.exists()
        with pytest.raises(AudioGone, match="no longer on the server.*Analyse the clip again"):
            record_judgement(store, aid, annotator="ada", emotion="happy", consent=True, analysis_token=TOKEN_A)
        assert count(store) == 0
        record_judgement(store, aid, annotator="ada", emotion="happy", consent=False, analysis_token=TOKEN_A)
        assert store.read("SELECT audio_path FROM clips")[0]["audio_path"] is None


def test_unconsented_uploads_leave_with_their_ttl_and_their_clip(store, upload):
    analyse(store, pending=upload)
    assert len(list(store.pending_dir.iterdir())) == 1
    delete_clip(store, SHA_A)
    assert list(store.pending_dir.iterdir()) == []


def test_odd_upload_names_do_not_shape_kept_file_names(store, tmp_path):
    weird = tmp_path / "clip.we bm;rm"
    weird.write_bytes(b"x" * 100)
    aid = analyse(store, pending=weird)
    record_judgement(store, aid, annotator="ada", emotion="happy", consent=True, analysis_token=TOKEN_A)
    assert store.read("SELECT audio_path FROM clips")[0]["audio_path"] == f"audio/{SHA_A}.audio"


# --- exports and temp files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("note", ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_csv_export_neutralises_formulas(store, tmp_path, note):
    aid = analyse(store)
    record_judgement(store, aid, annotator=note.strip() or "x", emotion="happy", note=note, analysis_token=TOKEN_A)
    export(store, "csv", tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert row["note"] == "'" + note and row["annotator_id"].startswith("'")
    export(store, "jsonl", tmp_path / "out.jsonl")               # JSON is data, not a spreadsheet: unchanged
    assert f'"note": {__import__("json").dumps(note)}' in (tmp_path / "out.jsonl").read_text()


_CRASH = """
import os, signal, sys
from pathlib import Path
from emoexplain.store.db import temp_file
with temp_file(Path(sys.argv[1]), ".db") as tmp:
    tmp.write_bytes(b"half a backup" * 1000)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _crash_mid_write(folder: Path) -> Path:
    subprocess.run([sys.executable, "-c", _CRASH, str(folder)], cwd=REPO, check=False)
    [left] = folder.glob(f"{TEMP_PREFIX}*")
    old = time.time() - 3600
    os.utime(left, (old, old))
    return left


def test_temp_files_of_crashed_writers_are_swept_and_live_ones_kept(tmp_path):
    path = tmp_path / "data" / "emoexplain.db"
    with open_store(path) as store:
        analyse(store)
    backups = path.parent / "backups"
    backups.mkdir()
    crashed = _crash_mid_write(backups)
    with temp_file(backups, ".db") as live:                    # a writer (another process) still at work
        old = time.time() - 3600
        os.utime(live, (old, old))
        with open_store(path):
            assert not crashed.exists() and live.exists()
    assert not live.exists()
    crashed = _crash_mid_write(backups)
    with open_store(path) as store:
        crashed2 = _crash_mid_write(backups)
        backup(store)                                          # ... and after each backup
        assert not crashed.exists() and not crashed2.exists()
        exports = tmp_path / "exports"
        exports.mkdir()
        left = _crash_mid_write(exports)
        export(store, "jsonl", exports / "out.jsonl")           # ... and after each export into that folder
        assert not left.exists() and [p.name for p in exports.iterdir()] == ["out.jsonl"]


# --- full and read-only disks --------------------------------------------------------------------------------
_SMALL_DISK = """
set -e
mount -t tmpfs -o size=2m tmpfs "$1"
"$PYTHON" - "$1" <<'PY'
import sys
from pathlib import Path
from emoexplain.errors import StoreFull, StoreReadOnly
from emoexplain.store import open_store, record_analysis, record_judgement
path = Path(sys.argv[1]) / "emoexplain.db"
explanation = {"emotion": {"label": "happy", "probabilities": {"happy": 1.0}},
               "model": {"name": "tiny", "label_set": "speechcraft7"}}
with open_store(path) as store:
    aid = record_analysis(store, explanation, audio_sha256="a" * 64, duration_s=1.0, sample_rate=16000, source="x")
    with open(Path(sys.argv[1]) / "filler", "wb", buffering=0) as f:      # fill the disk to the last byte
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError:
            pass
    saved = 0
    try:
        for _ in range(200):
            record_judgement(store, aid, annotator="ada", emotion="happy", note="n" * 4000)
            saved += 1
        print("NOT FULL")
    except StoreFull as e:
        print("FULL:", e)
    kept = store.read("SELECT count(*) AS n FROM judgements")[0]["n"]
    print("KEPT:", kept == saved)
PY
mount -o remount,ro "$1"
"$PYTHON" - "$1" <<'PY'
import sys
from emoexplain.errors import StoreReadOnly
from emoexplain.store import open_store
try:
    open_store(sys.argv[1] + "/emoexplain.db")
    print("OPENED")
except StoreReadOnly as e:
    print("READONLY:", e)
PY
"""


def test_full_and_read_only_disks_are_named(tmp_path):
    """On a real 2 MB tmpfs (a private mount namespace; needs root, as in CI's container)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a private tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "disk.sh"
    script.write_text(textwrap.dedent(_SMALL_DISK))
    done = subprocess.run(["unshare", "-m", "sh", str(script), str(disk)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}, timeout=120)
    if "mount:" in done.stderr and "permission" in done.stderr.lower():
        pytest.skip("this container may not mount a tmpfs")
    out = done.stdout
    assert "FULL: The disk that holds the annotation store is full, so nothing was saved" in out, done.stderr[-800:]
    assert "KEPT: True" in out                                   # every save that said ok is there, no partial row
    assert "READONLY: The annotation store cannot be written" in out, done.stderr[-800:]
    assert str(disk) not in out.split("READONLY:")[1]


def test_no_persistent_storage_on_a_space_is_said(tmp_path):
    space = {"SPACE_ID": "someone/emoexplain"}
    assert "restart erases them" in persistence_warning("/emoexplain-nowhere/data", space)   # on the root disk
    assert persistence_warning("/data", space) is None
    assert persistence_warning(tmp_path, {**space, "EMOEXPLAIN_HUB_DATASET": "someone/judgements"}) is None
    assert persistence_warning(tmp_path, {}) is None                     # not on a Space: the owner's disk
    assert persistence_warning("/dev/shm/emoexplain", space) is None     # a mounted volume of its own


def test_storage_warning_is_logged_at_open(tmp_path, monkeypatch, caplog):
    from emoexplain.store import db
    monkeypatch.setattr(db, "_on_own_volume", lambda folder: False)   # wherever pytest's tmp_path lies
    monkeypatch.setenv("SPACE_ID", "someone/emoexplain")
    monkeypatch.delenv("EMOEXPLAIN_HUB_DATASET", raising=False)
    import logging
    with caplog.at_level(logging.WARNING, logger="emoexplain.store.db"):
        open_store(tmp_path / "emoexplain.db").close()
    assert any("restart erases them" in r.message for r in caplog.records)

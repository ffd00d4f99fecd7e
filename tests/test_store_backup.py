"""Backups, restores and the CLI (the hub sync is in test_store_hub.py)."""

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emoexplain.errors import RestoreRefused
from emoexplain.store import backup, check_backup, open_store, record_analysis, record_judgement, restore
from emoexplain.store.__main__ import main

SHA = "e" * 64
EXPLANATION = {"emotion": {"label": "sad", "probabilities": {"sad": 0.9, "happy": 0.1}},
               "model": {"name": "tiny", "version": "r1"}, "transcript": "so it goes"}


def filled(path, n=3, *, wav=None):
    store = open_store(path)
    aid = record_analysis(store, EXPLANATION, audio_sha256=SHA, duration_s=1.0, sample_rate=16000, source="upload")
    for i in range(n):
        record_judgement(store, aid, annotator=f"a{i}", emotion="agree", consent=wav is not None, audio_path=wav)
    return store, aid


def judgements(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM judgements").fetchone()[0]
    finally:
        conn.close()


def test_backup_is_a_plain_consistent_copy_taken_during_writes(tmp_path):
    store, aid = filled(tmp_path / "live.db")
    stop = threading.Event()

    def writer():
        with open_store(tmp_path / "live.db") as other:
            while not stop.is_set():
                record_judgement(other, aid, annotator="busy", emotion="sad")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        snapshots = [backup(store, tmp_path / f"snap{i}.db") for i in range(3)]
    finally:
        stop.set()
        thread.join()
    counts = [judgements(s) for s in snapshots]
    assert counts == sorted(counts) and counts[0] >= 3
    assert all(check_backup(s) >= 1 for s in snapshots)
    assert not Path(f"{snapshots[0]}-wal").exists()
    default = backup(store)
    assert default.parent == tmp_path / "backups" and default.name.startswith("emoexplain-")


def test_restore_replaces_the_live_db_after_backing_it_up(tmp_path):
    store, aid = filled(tmp_path / "live.db", n=2)
    snap = backup(store, tmp_path / "snap.db")
    record_judgement(store, aid, annotator="late", emotion="happy")
    store.close()
    done = restore(snap, tmp_path / "live.db")
    assert 2 == done["judgements"] == judgements(tmp_path / "live.db")
    assert 3 == judgements(done["previous_backup"])  # the overwritten state is kept
    with open_store(tmp_path / "live.db") as again:
        assert record_judgement(again, aid, annotator="next", emotion="sad") > 0


def test_restore_into_a_new_path(tmp_path):
    store, _ = filled(tmp_path / "live.db")
    snap = backup(store, tmp_path / "snap.db")
    done = restore(snap, tmp_path / "new" / "emoexplain.db")
    assert (3, None) == (done["judgements"], done["previous_backup"])


def test_restore_refuses_foreign_corrupt_and_newer_files(tmp_path):
    store, _ = filled(tmp_path / "live.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE dogs (name TEXT)")
    other.commit()
    other.close()
    with pytest.raises(RestoreRefused, match="not an emoexplain store"):
        restore(tmp_path / "other.db", tmp_path / "live.db")
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(RestoreRefused, match="not an SQLite database"):
        restore(tmp_path / "text.db", tmp_path / "live.db")
    snap = backup(store, tmp_path / "snap.db")
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(snap.read_bytes())
    for page in range(4096, len(data), 4096):  # damage every b-tree page header after the first
        data[page:page + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(RestoreRefused):
        restore(corrupt, tmp_path / "live.db")
    newer = backup(store, tmp_path / "newer.db")
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('emoexplain', 'm999', '')")
    conn.commit()
    conn.close()
    with pytest.raises(RestoreRefused, match="newer emoexplain"):
        restore(newer, tmp_path / "live.db")
    assert 3 == judgements(tmp_path / "live.db")  # nothing was touched


def test_cli_stats_export_backup_restore(tmp_path, capsys):
    store, _ = filled(tmp_path / "live.db")
    store.close()
    db = str(tmp_path / "live.db")
    assert 0 == main(["stats", db])
    assert 3 == json.loads(capsys.readouterr().out)["judgements"]
    assert 0 == main(["export", db, "jsonl", str(tmp_path / "out.jsonl")])
    assert 3 == json.loads(capsys.readouterr().out)["rows"]
    assert 0 == main(["backup", db, str(tmp_path / "snap.db")])
    capsys.readouterr()
    assert 0 == main(["restore", db, str(tmp_path / "snap.db")])
    assert 3 == json.loads(capsys.readouterr().out)["judgements"]
    assert 0 == main(["agreement", db])
    assert "model_vs_human" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("argv, message", [
    (["stats", "missing.db"], "No store at missing.db"),
    (["restore", "live.db", "missing-backup.db"], "No backup file"),
    (["delete-clip", "live.db", "xyz"], "64 hex digits"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    filled(tmp_path / "live.db")[0].close()
    assert 2 == main(argv)
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_runs_as_a_module(tmp_path):
    filled(tmp_path / "live.db")[0].close()
    result = subprocess.run([sys.executable, "-m", "emoexplain.store", "stats", str(tmp_path / "live.db")],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert 0 == result.returncode and 3 == json.loads(result.stdout)["judgements"]

"""Concurrency, crashes and hostile input: no lost, duplicated or partial judgements."""

import multiprocessing
import os
import random
import signal
import threading
import time

import pytest

from emoexplain.errors import EmoExplainError, InvalidJudgement, NoteTooLong
from emoexplain.store import open_store, record_analysis, record_judgement

SHA = "d" * 64
EXPLANATION = {"emotion": {"label": "neutral", "probabilities": {"neutral": 1.0}},
               "model": {"name": "tiny", "version": "r1", "label_set": "speechcraft7"}, "transcript": "hi"}


def _fresh(path):
    store = open_store(path)
    aid = record_analysis(store, EXPLANATION, audio_sha256=SHA, duration_s=1.0, sample_rate=16000, source="upload")
    return store, aid


def _write_many(path, worker, n, analysis_id):
    """Child process: n judgements; workers 2k and 2k+1 share an annotator, so revisions race too."""
    store = open_store(path)
    for i in range(n):
        record_judgement(store, analysis_id, annotator=f"annotator-{worker // 2}", emotion="sad",
                         descriptor_verdicts={"pitch": {"verdict": "wrong", "value": "low"}},
                         note=f"worker {worker} item {i}", faithfulness=1 + i % 5, consent=True)
    store.close()


def _check(store):
    assert ["ok"] == [r[0] for r in store.db.execute("PRAGMA integrity_check")]
    assert [] == list(store.db.execute("PRAGMA foreign_key_check"))


def test_eight_processes_write_2400_judgements(tmp_path):
    path = tmp_path / "emoexplain.db"
    store, aid = _fresh(path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_many, args=(str(path), w, 300, aid)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [0] * 8 == [p.exitcode for p in workers]
    _check(store)
    assert 2400 == store.read("SELECT count(*) AS n FROM judgements")[0]["n"]
    assert 2400 == store.read("SELECT count(DISTINCT note) AS n FROM judgements")[0]["n"]  # none lost or doubled
    for who in range(4):  # each shared annotator has revisions 1..600, no gaps, no repeats
        revisions = [r["revision"] for r in store.read(
            "SELECT revision FROM judgements WHERE annotator_id = ? ORDER BY revision", [f"annotator-{who}"])]
        assert list(range(1, 601)) == revisions
    store.close()


def test_threads_share_one_store(tmp_path):
    store, aid = _fresh(tmp_path / "emoexplain.db")
    errors = []

    def work(t):
        try:
            for i in range(100):
                record_judgement(store, aid, annotator=f"t{t}", emotion="agree", note=f"{t}-{i}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [] == errors
    assert 800 == store.read("SELECT count(DISTINCT note) AS n FROM judgements")[0]["n"]
    _check(store)


def _write_forever(path, analysis_id):
    """Child process: large judgements as fast as possible until killed. The transcript holds the
    note's length, so a half-written row would show."""
    store = open_store(path)
    i = 0
    while True:
        size = random.randint(1, 9_999)
        record_judgement(store, analysis_id, annotator=f"a{i % 3}", emotion="sad", note="n" * size,
                         transcript=str(size), descriptor_verdicts={"tone": "correct"})
        i += 1


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_write_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "emoexplain.db"
    store, aid = _fresh(path)
    ctx = multiprocessing.get_context("spawn")
    before = 0
    for round_ in range(3):
        p = ctx.Process(target=_write_forever, args=(str(path), aid))
        p.start()
        deadline = time.time() + 60
        while store.read("SELECT count(*) AS n FROM judgements")[0]["n"] < before + 40 and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(random.random() * 0.05)
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        assert -signal.SIGKILL == p.exitcode
        after = open_store(path)  # a fresh connection recovers the WAL
        _check(after)
        rows = after.read("SELECT note, transcript, revision, annotator_id FROM judgements")
        assert len(rows) >= before + 40
        assert all(len(r["note"]) == int(r["transcript"]) for r in rows)
        for who in ("a0", "a1", "a2"):
            revisions = sorted(r["revision"] for r in rows if r["annotator_id"] == who)
            assert list(range(1, len(revisions) + 1)) == revisions
        before = len(rows)
        after.close()
    # the store still takes writes after three crashes
    assert record_judgement(store, aid, annotator="after", emotion="sad") > 0


@pytest.mark.parametrize("kwargs, error", [
    ({"note": "x" * 1_000_000}, NoteTooLong),
    ({"transcript": "x" * 1_000_000}, InvalidJudgement),
    ({"note": b"bytes"}, InvalidJudgement),
    ({"emotion": ["sad"]}, InvalidJudgement),
    ({"emotion": "sad'; DELETE FROM judgements; --"}, EmoExplainError),
    ({"annotator": {"id": 1}}, InvalidJudgement),
    ({"faithfulness": float("nan")}, InvalidJudgement),
    ({"descriptor_verdicts": {"pitch": {"verdict": "wrong", "value": "<script>"}}}, InvalidJudgement),
])
def test_hostile_input_is_rejected_without_writing(tmp_path, kwargs, error):
    store, aid = _fresh(tmp_path / "emoexplain.db")
    record_judgement(store, aid, annotator="ada", emotion="sad")
    with pytest.raises(error):
        record_judgement(store, aid, **(dict(annotator="bob", emotion="sad") | kwargs))
    assert (1, 1) == (store.read("SELECT count(*) AS n FROM judgements")[0]["n"],
                      store.read("SELECT count(*) AS n FROM annotators")[0]["n"])
    _check(store)


@pytest.mark.skipif(os.name != "posix", reason="the writer queue is an flock (POSIX)")
def test_writers_queue_on_the_lock_file(tmp_path):
    """A writer waits while another process holds the queue (here: this test), then writes once it is free."""
    import fcntl
    store, aid = _fresh(tmp_path / "emoexplain.db")
    fd = os.open(tmp_path / "emoexplain.db-lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done = []
    writer = threading.Thread(target=lambda: done.append(record_judgement(store, aid, annotator="q", emotion="sad")))
    writer.start()
    writer.join(timeout=0.5)
    assert writer.is_alive() and not done        # queued behind the holder, nothing written yet
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    writer.join(timeout=30)
    assert len(done) == 1 and 1 == store.read("SELECT count(*) AS n FROM judgements")[0]["n"]
    _check(store)

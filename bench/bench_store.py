"""Benchmark: record_judgement against raw sqlite3 inserts of the same rows, in the same run.

    .venv/bin/python bench/bench_store.py [--n 300] [--writers 8]

Both sides use the same schema and pragmas (WAL, synchronous=FULL or --synchronous normal, busy
timeout) and one transaction per judgement; the raw side skips validation, the annotator upsert and the revision
lookup, so it is the floor. Prints judgements/s and p50/p99 latency for 1 and N writers (processes),
and the ratios. Goals (issue 3): p99 < 20 ms with 8 writers, >= 50 % of the raw throughput.
"""

import argparse
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emoexplain.store import open_store, record_analysis, record_judgement  # noqa: E402
from emoexplain.store.db import BUSY_TIMEOUT_S, synchronous  # noqa: E402

SHA = "f" * 64
EXPLANATION = {"emotion": {"label": "neutral", "probabilities": {"neutral": 0.7, "sad": 0.3}},
               "model": {"name": "bench", "version": "0", "label_set": "speechcraft7"}, "transcript": "hello"}
VERDICTS = {"pitch": {"verdict": "wrong", "value": "low"}, "speed": {"verdict": "correct"}}
RAW_SQL = ("INSERT INTO judgements (analysis_id, annotator_id, revision, emotion, agreed, descriptor_verdicts,"
           " transcript, faithfulness, helpfulness, note, consent, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")


def fresh_db(folder: Path, name: str) -> tuple[str, int]:
    path = folder / name
    with open_store(path) as store:
        aid = record_analysis(store, EXPLANATION, audio_sha256=SHA, duration_s=1.0, sample_rate=16000,
                              source="example")
        for w in range(64):  # annotators exist for the raw side's foreign key
            store.db.execute("INSERT INTO annotators (id, display_name, created_at) VALUES (?, ?, '')",
                             [f"w{w}", f"w{w}"])
        store.db.conn.commit()
    return str(path), aid


def store_worker(path, aid, worker, n, start_at, out):
    store = open_store(path)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies = []
    for i in range(n):
        t = time.perf_counter()
        record_judgement(store, aid, annotator=f"w{worker}", emotion="sad", descriptor_verdicts=VERDICTS,
                         faithfulness=4, helpfulness=3, note=f"note {worker}-{i}", consent=True)
        latencies.append(time.perf_counter() - t)
    store.close()
    out.put(latencies)


def raw_worker(path, aid, worker, n, start_at, out):
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous()}")
    verdicts = json.dumps(VERDICTS)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies = []
    for i in range(n):
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(RAW_SQL, [aid, f"w{worker}", i + 1, "sad", 0, verdicts, None, 4, 3, f"note {worker}-{i}", 1,
                               "2026-01-01T00:00:00+00:00"])
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - t)
    conn.close()
    out.put(latencies)


def run(kind: str, writers: int, n: int, folder: Path) -> dict:
    path, aid = fresh_db(folder, f"{kind}-{writers}.db")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 1.5 + 0.3 * writers  # every process imported and connected before the clock starts
    target = store_worker if kind == "store" else raw_worker
    procs = [ctx.Process(target=target, args=(path, aid, w, n, start_at, out)) for w in range(writers)]
    for p in procs:
        p.start()
    latencies = [x for _ in procs for x in out.get()]
    end = time.time()
    for p in procs:
        p.join()
    latencies.sort()
    count = sqlite3.connect(path).execute("SELECT count(*) FROM judgements").fetchone()[0]
    assert count == writers * n, f"{kind}: expected {writers * n} rows, found {count}"
    return {"writers": writers, "judgements": count, "per_s": count / (end - start_at),
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def fsync_latency(folder: Path, n: int = 50) -> float:
    """Median seconds of write + fsync of 4 KiB, the disk's part of every synchronous=FULL commit."""
    times = []
    with tempfile.NamedTemporaryFile(dir=folder) as f:
        for _ in range(n):
            f.write(b"x" * 4096)
            f.flush()
            t = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - t)
    return sorted(times)[n // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="judgements per writer")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full",
                        help="the store's EMOEXPLAIN_STORE_SYNCHRONOUS (both sides; default full: one fsync per commit)")
    args = parser.parse_args()
    os.environ["EMOEXPLAIN_STORE_SYNCHRONOUS"] = args.synchronous  # inherited by the writer processes
    print(f"cpus={os.cpu_count()} sqlite={sqlite3.sqlite_version} n={args.n} per writer, "
          f"synchronous={synchronous()} (shared machine: numbers move with the load of other processes)")
    print(f"fsync of a small file: p50 {1000 * fsync_latency(Path(tempfile.gettempdir())):.2f} ms "
          "(the floor of one durable commit)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for writers in (1, args.writers):
            for kind in ("raw", "store"):
                r = results[kind, writers] = run(kind, writers, args.n, Path(tmp))
                print(f"{kind:5s} {writers} writer(s): {r['per_s']:8.0f} judgements/s  "
                      f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms")
    for writers in (1, args.writers):
        store, raw = results["store", writers], results["raw", writers]
        print(f"{writers} writer(s): store/raw throughput = {store['per_s'] / raw['per_s']:.2f} (goal >= 0.50), "
              f"store p99 = {store['p99_ms']:.1f} ms" + (" (goal < 20 ms)" if writers > 1 else ""))


if __name__ == "__main__":
    main()

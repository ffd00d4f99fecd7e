"""The hub sync: pushes and restores against a fake HfApi, outages that change nothing, and huggingface_hub
itself against local endpoints that refuse connections or never answer (HF_ENDPOINT)."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emoexplain.store import delete_clip, open_store, record_analysis, record_judgement, restore_from_hub
from emoexplain.store import hub as hub_module
from emoexplain.store.hub import HUB_SNAPSHOT, merge_into, reconcile, start_hub_sync

SHA, SHA2 = "e" * 64, "f" * 64
EXPLANATION = {"emotion": {"label": "sad", "probabilities": {"sad": 0.9, "happy": 0.1}},
               "model": {"name": "tiny", "version": "r1"}, "transcript": "so it goes"}
REPO = Path(__file__).resolve().parent.parent


class FakeHub:
    """Stands in for HfApi: records commits, serves the files of the last one; ``online = False`` makes every
    call fail the way an unreachable hub does."""

    def __init__(self):
        self.files, self.commits, self.squashed, self.online = {}, [], 0, True

    def _reach(self):
        if not self.online:
            raise ConnectionError("[Errno 111] Connection refused")

    def repo_info(self, repo_id, **kwargs):
        self._reach()
        if not self.files:
            raise _not_found()
        return {"id": repo_id}

    def create_repo(self, repo_id, **kwargs):
        self._reach()

    def list_repo_files(self, repo_id, **kwargs):
        self._reach()
        return sorted(self.files)

    def create_commit(self, *, operations, **kwargs):
        self._reach()
        self.commits.append(operations)
        for op in operations:
            if hasattr(op, "path_or_fileobj"):
                self.files[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
            else:
                self.files.pop(op.path_in_repo)
        return "commit"

    def super_squash_history(self, repo_id, **kwargs):
        self._reach()
        self.squashed += 1

    def download(self, *, local_dir, **kwargs):
        self._reach()
        for name, data in self.files.items():
            (Path(local_dir) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(local_dir) / name).write_bytes(data)
        return local_dir


def _not_found():
    """The error huggingface_hub raises for a repo that does not exist."""
    import httpx2
    from huggingface_hub.errors import RepositoryNotFoundError
    request = httpx2.Request("GET", "https://huggingface.co/api/datasets/me/annotations")
    return RepositoryNotFoundError("Repository Not Found", response=httpx2.Response(404, request=request))


def filled(path, n=3, *, wav=None, sha=SHA, who="a"):
    store = open_store(path)
    aid = record_analysis(store, EXPLANATION, audio_sha256=sha, duration_s=1.0, sample_rate=16000, source="upload")
    for i in range(n):
        record_judgement(store, aid, annotator=f"{who}{i}", emotion="agree", consent=wav is not None, audio_path=wav)
    return store


def judgements(path_or_bytes) -> list[str]:
    if isinstance(path_or_bytes, bytes):
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"snap-{os.getpid()}-{time.monotonic_ns()}.db"
        tmp.write_bytes(path_or_bytes)
        path_or_bytes = tmp
    conn = sqlite3.connect(path_or_bytes)
    try:
        return sorted(r[0] for r in conn.execute("SELECT annotator_id FROM judgements"))
    finally:
        conn.close()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(hub_module, "RETRY_S", (0.05,))


def test_no_repo_no_sync(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOEXPLAIN_HUB_DATASET", raising=False)
    with open_store(tmp_path / "emoexplain.db") as store:
        assert start_hub_sync(store) is None and restore_from_hub(tmp_path / "emoexplain.db") is None


def test_sync_pushes_snapshots_and_audio_and_restores_on_start(tmp_path):
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"RIFF")
    store = filled(tmp_path / "space" / "emoexplain.db", wav=wav)
    hub = FakeHub()
    sync = start_hub_sync(store, "me/annotations", hf_api=hub, download=hub.download, wait_s=5)
    assert wait_for(lambda: len(hub.commits) == 1) and sync.state == "ready" and sync.warning is None
    sync.stop()
    assert {HUB_SNAPSHOT, f"audio/{SHA}.wav"} == set(hub.files) and hub.squashed == 1
    assert sync.push_to_hub() is None and 1 == len(hub.commits)  # unchanged: no commit
    # a restarted Space with an empty disk restores from the hub
    fresh = tmp_path / "restarted" / "emoexplain.db"
    done = restore_from_hub(fresh, "me/annotations", download=hub.download, hf_api=hub)
    assert done["judgements"] == 3 == len(judgements(fresh))
    assert b"RIFF" == (fresh.parent / "audio" / f"{SHA}.wav").read_bytes()
    assert restore_from_hub(fresh, "me/annotations", download=hub.download, hf_api=hub) is None  # local data wins
    # deleting the clip deletes its audio on the next push
    delete_clip(store, SHA)
    sync.push_to_hub()
    assert {HUB_SNAPSHOT} == set(hub.files)


def test_an_outage_at_start_loses_nothing_on_either_side(tmp_path, fast_retries):
    hub = FakeHub()
    first = filled(tmp_path / "before" / "emoexplain.db", who="old")          # the Space before its restart
    sync = start_hub_sync(first, "me/annotations", hf_api=hub, download=hub.download, wait_s=5)
    assert wait_for(lambda: hub.commits)
    sync.stop()
    first.close()
    on_hub = judgements(hub.files[HUB_SNAPSHOT])

    hub.online = False                                                    # restart during an outage
    restarted = open_store(tmp_path / "after" / "emoexplain.db")
    started = time.monotonic()
    sync = start_hub_sync(restarted, "me/annotations", hf_api=hub, download=hub.download, wait_s=0.5)
    assert time.monotonic() - started < 2                                  # the app serves
    assert wait_for(lambda: sync.state == "offline") and "unreachable" in sync.warning
    aid = record_analysis(restarted, EXPLANATION, audio_sha256=SHA2, duration_s=1.0, sample_rate=16000,
                          source="app")
    record_judgement(restarted, aid, annotator="during-outage", emotion="happy")
    assert judgements(hub.files[HUB_SNAPSHOT]) == on_hub and len(hub.commits) == 1   # nothing pushed over it

    hub.online = True
    assert wait_for(lambda: len(hub.commits) == 2), sync.status()
    sync.stop()
    both = sorted(on_hub + ["during-outage"])
    assert judgements(restarted.path) == both == judgements(hub.files[HUB_SNAPSHOT])
    assert sync.warning is None


def test_merging_twice_adds_nothing(tmp_path):
    local = filled(tmp_path / "local" / "emoexplain.db", who="local", sha=SHA2)
    remote = filled(tmp_path / "remote" / "emoexplain.db", who="remote")
    record_judgement(local, 1, annotator="local0", emotion="happy")          # a second revision
    remote.close()
    done = reconcile(local, tmp_path / "remote" / "emoexplain.db")
    assert done["merged"]["judgements"] == 4 and Path(done["previous_backup"]).is_file()
    assert judgements(local.path) == sorted(["local0", "local0", "local1", "local2", "remote0", "remote1", "remote2"])
    again = sqlite3.connect(tmp_path / "remote" / "emoexplain.db")
    with local.write() as db:
        assert merge_into(db.conn, again) == {"clips": 0, "annotators": 0, "analyses": 0, "judgements": 0,
                                               "training_runs": 0}
    revisions = local.read("SELECT revision FROM judgements WHERE annotator_id = 'local0' ORDER BY id")
    assert [r["revision"] for r in revisions] == [1, 2]


def test_a_failed_push_is_retried_without_pushing_twice(tmp_path, fast_retries):
    hub = FakeHub()
    store = filled(tmp_path / "emoexplain.db")
    sync = start_hub_sync(store, "me/annotations", hf_api=hub, download=hub.download, every_minutes=0.001, wait_s=5)
    assert wait_for(lambda: hub.commits)
    hub.online = False
    record_judgement(store, 1, annotator="later", emotion="happy")
    assert wait_for(lambda: sync.state == "offline")
    hub.online = True
    assert wait_for(lambda: "later" in judgements(hub.files[HUB_SNAPSHOT]))
    sync.stop()
    assert len(hub.commits) == 2


# --- huggingface_hub against endpoints that fail --------------------------------------------------------------
_PROBE = r"""
import json, os, sys, time
from emoexplain.store import hub, open_store, restore_from_hub, start_hub_sync
hub.START_WAIT_S, hub.CALL_TIMEOUT_S = 2.0, 2.0
path = sys.argv[1]
started = time.monotonic()
restored = restore_from_hub(path, timeout_s=2.0)
store = open_store(path)
sync = start_hub_sync(store, wait_s=2.0)
ready_in = time.monotonic() - started
time.sleep(3)
print(json.dumps({"restored": restored, "ready_in": ready_in, "state": sync.state, "warning": sync.warning}))
"""


def _endpoint(kind: str):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if kind == "silent":
        sock.listen(16)                      # accepts connections, never answers
    else:
        sock.close()                         # refuses connections
    return sock, url


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_an_unreachable_hub_never_blocks_the_start(tmp_path, kind):
    sock, url = _endpoint(kind)
    env = {**os.environ, "HF_ENDPOINT": url, "EMOEXPLAIN_HUB_DATASET": "me/annotations", "HF_TOKEN": "hf_" + "x" * 30,
           "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "emoexplain.db")], capture_output=True,
                              text=True, env=env, cwd=REPO, timeout=60)
    finally:
        sock.close()
    assert done.returncode == 0, done.stderr[-1500:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["restored"] is None and result["ready_in"] < 6
    assert result["state"] == "offline" and "unreachable" in result["warning"]
    assert "Traceback" not in done.stderr

"""Issue 10's attacks, replayed from outside against ``python app.py`` in a subprocess (gradio_client, and raw
HTTP where that is how the attack came): each must be refused or harmless, and change no stored data."""

import json
import socket
import sqlite3
import struct
import time
import urllib.request
import uuid

import numpy as np
import pytest
import soundfile as sf

from helpers import AppProcess, checkpoint_env

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

ADMIN_TOKEN = "admin-" + "k" * 30


@pytest.fixture(scope="module")
def ckpt_env(tmp_path_factory) -> dict:
    return checkpoint_env(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def app(tmp_path_factory, ckpt_env):
    with AppProcess(tmp_path_factory.mktemp("sec-data"), env={**ckpt_env, "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN}) as s:
        yield s


@pytest.fixture(scope="module")
def visitor_a(app):
    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def visitor_b(app):
    return Client(app.url, verbose=False)


def rows(data_dir, sql: str, params=()) -> list[dict]:
    con = sqlite3.connect(data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def judgements(app) -> int:
    return rows(app.data_dir, "SELECT count(*) AS n FROM judgements")[0]["n"]


def analyse(client, clip) -> dict:
    return client.predict(handle_file(str(clip)), api_name="/analyze")


def save(client, result, **fields) -> dict:
    fields = {"analysis_id": result["analysis_id"], "analysis_token": result["analysis_token"], "emotion": "agree",
              "annotator": "tester", **fields}
    return client.predict(**fields, api_name="/save_judgement")


def clip_of(app, analysis_id) -> dict:
    return rows(app.data_dir, "SELECT c.* FROM clips c JOIN analyses a ON a.clip_sha256 = c.sha256 WHERE a.id = ?",
                (analysis_id,))[0]


# --- consent and ownership ----------------------------------------------------------------------------------
def test_analyze_returns_an_unguessable_token_that_is_stored_only_hashed(app, visitor_a, speech_wav):
    one, two = analyse(visitor_a, speech_wav), analyse(visitor_a, speech_wav)
    assert one["analysis_id"] != two["analysis_id"] and one["analysis_token"] != two["analysis_token"]
    assert len(one["analysis_token"]) >= 32
    db = (app.data_dir / "emoexplain.db").read_bytes() + (app.data_dir / "emoexplain.db-wal").read_bytes()
    assert one["analysis_token"].encode() not in db


@pytest.mark.parametrize("consent", ["false", "0", "no", "true", 1, 0])
def test_consent_must_be_a_real_boolean(app, visitor_a, synth_speech, consent):
    result = analyse(visitor_a, synth_speech("Please do not keep my voice."))
    before = judgements(app)
    with pytest.raises(Exception, match="(?i)true or false"):
        save(visitor_a, result, consent=consent)
    assert judgements(app) == before and clip_of(app, result["analysis_id"])["audio_path"] is None


def test_visitor_b_cannot_judge_or_keep_visitor_a_s_analysis(app, visitor_a, visitor_b, synth_speech):
    mine = analyse(visitor_a, synth_speech("This is my private recording."))
    theirs = analyse(visitor_b, synth_speech("Somebody else speaking here."))
    before = judgements(app)
    for token in (None, "", theirs["analysis_token"], "x" * 43):
        fields = {"analysis_token": token} if token is not None else {}
        with pytest.raises(Exception, match="(?i)analysis_token|only whoever"):
            visitor_b.predict(analysis_id=mine["analysis_id"], emotion="agree", annotator="mallory", consent=True,
                              api_name="/save_judgement", **fields)
    assert judgements(app) == before and clip_of(app, mine["analysis_id"])["audio_path"] is None
    assert save(visitor_a, mine, consent=True)["created"]                  # the owner still can
    assert clip_of(app, mine["analysis_id"])["audio_path"]


# --- saves that happen once ----------------------------------------------------------------------------------
def test_the_same_submission_token_from_two_visitors_stores_both(app, visitor_a, visitor_b, synth_speech):
    a = analyse(visitor_a, synth_speech("First visitor's clip."))
    b = analyse(visitor_b, synth_speech("Second visitor's clip."))
    first = save(visitor_a, a, submission_token="my-form-1")
    second = save(visitor_b, b, submission_token="my-form-1")                # the README's example token
    assert first["created"] and second["created"] and first["judgement_id"] != second["judgement_id"]
    assert save(visitor_a, a, submission_token="my-form-1") == {**first, "created": False}


@pytest.mark.parametrize("field,value", [("faithfulness", 3.7), ("helpfulness", 4.5), ("analysis_id", None)])
def test_numbers_that_are_not_whole_are_refused(app, visitor_a, speech_wav, field, value):
    result = analyse(visitor_a, speech_wav)
    value = result["analysis_id"] + 0.5 if field == "analysis_id" else value
    before = judgements(app)
    with pytest.raises(Exception, match="(?i)whole number|must be an int|number /analyze returned"):
        save(visitor_a, result, **{field: value})
    assert judgements(app) == before


# --- hostile audio ---------------------------------------------------------------------------------------------
def test_a_one_hz_header_is_refused_at_once(app, visitor_a, tmp_path):
    bomb = tmp_path / "bomb.wav"
    sf.write(bomb, (0.3 * np.random.default_rng(0).standard_normal(20_000)).astype(np.float32), 1, subtype="PCM_16")
    started = time.monotonic()
    with pytest.raises(Exception, match="sample rate is 1 Hz"):
        analyse(visitor_a, bomb)
    assert time.monotonic() - started < 5


def test_a_playlist_upload_reads_no_server_file_and_names_no_path(app, visitor_a, tmp_path, speech_wav):
    playlist = tmp_path / "clip.webm"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{speech_wav}\n#EXT-X-ENDLIST\n")
    with pytest.raises(Exception) as info:
        analyse(visitor_a, playlist)
    message = str(info.value)
    assert "hls" in message and "/tmp" not in message and "gradio" not in message


# --- admin unlock ------------------------------------------------------------------------------------------------
def _fn_index(app, api_name: str) -> int:
    config = json.load(urllib.request.urlopen(app.url + "config", timeout=30))
    return next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == api_name)


def queue_call(app, fn_index: int, data: list) -> dict:
    """One event the way the page sends it (the queue), as a script would: join, then read the stream."""
    session = uuid.uuid4().hex[:11]
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
                       "trigger_id": None}).encode()
    request = urllib.request.Request(app.url + "gradio_api/queue/join", data=body,
                                     headers={"Content-Type": "application/json"})
    event_id = json.load(urllib.request.urlopen(request, timeout=30))["event_id"]
    with urllib.request.urlopen(app.url + f"gradio_api/queue/data?session_hash={session}", timeout=60) as stream:
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                    return message
    raise AssertionError("no answer")


def test_admin_guessing_is_rate_limited_and_logged_without_tracebacks(app):
    unlock = _fn_index(app, "on_unlock")
    started, answers = time.monotonic(), []
    while time.monotonic() - started < 3:
        answers.append(json.dumps(queue_call(app, unlock, [f"guess-{len(answers)}"])))
    refused = [a for a in answers if "wait" in a and "Too many" in a]
    compared = [a for a in answers if "not right" in a]
    assert len(compared) <= 5 + 2 and refused, (len(answers), answers[-1][:300])   # 5 free, then 1 s, 2 s waits
    log = app.log()
    assert "admin unlock refused" in log and "guess-" not in log and "Traceback" not in log.split("admin unlock")[-1]


def test_callers_cannot_choose_the_signed_in_name(visitor_a):
    parameters = visitor_a.view_api(return_format="dict", print_info=False)["named_endpoints"]["/save_judgement"]
    names = [p["parameter_name"] for p in parameters["parameters"]]
    assert "analysis_token" in names and "username" not in names and "profile" not in names


# --- restarts, storage and the hub -----------------------------------------------------------------------------
def unlock_status(app) -> str:
    answer = queue_call(app, _fn_index(app, "on_unlock"), [ADMIN_TOKEN])
    return answer["output"]["data"][1]


def test_a_restart_keeps_saves_once_and_consent_working(tmp_path, ckpt_env, speech_wav, synth_speech):
    data = tmp_path / "data"
    with AppProcess(data, env={**ckpt_env, "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN}) as first:
        client = Client(first.url, verbose=False)
        saved_once = analyse(client, speech_wav)
        saved = save(client, saved_once, submission_token="retry-1")
        pending = analyse(client, synth_speech("Judged only after the restart."))
    # the restarted server is a Space without persistent storage: its admins are told
    env = {**ckpt_env, "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN, "SPACE_ID": "someone/emoexplain"}
    with AppProcess(data, env=env) as second:
        client = Client(second.url, verbose=False)
        assert save(client, saved_once, submission_token="retry-1") == {**saved, "created": False}
        assert save(client, pending, consent=True)["created"]            # the upload waited in pending/
        kept = clip_of(second, pending["analysis_id"])["audio_path"]
        assert kept and (data / kept).is_file()
        assert rows(data, "SELECT count(*) AS n FROM judgements")[0]["n"] == 2
        assert "restart erases them" in unlock_status(second)
        assert "restart erases them" in second.log()


def test_an_unreachable_hub_does_not_hold_the_page(tmp_path, ckpt_env, speech_wav):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)                                                  # accepts, never answers
    env = {**ckpt_env, "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN, "EMOEXPLAIN_HUB_DATASET": "someone/judgements",
           "HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}", "HF_TOKEN": "hf_" + "x" * 30}
    try:
        # before the fix the page never came (snapshot_download waits forever on a silent hub)
        with AppProcess(tmp_path / "data", env=env, timeout_s=150) as server:
            client = Client(server.url, verbose=False)
            status = unlock_status(server)
            assert "hub dataset someone/judgements" in status
            assert save(client, analyse(client, speech_wav))["created"]       # judgements are saved meanwhile
    finally:
        silent.close()


def test_the_readme_api_example_works(app, speech_wav):
    from emoexplain.paths import ROOT
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### HTTP API (gradio_client)\n```python\n", 1)[1].split("```", 1)[0]
    code = block.replace('"http://127.0.0.1:7860/"', repr(app.url)).replace('"clip.wav"', repr(str(speech_wav)))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)   # noqa: S102 - our own README, run as a user would
    assert scope["saved"]["created"] is True and scope["result"]["analysis_token"]

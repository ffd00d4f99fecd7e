"""The app as HTTP API users see it: ``python app.py`` in a subprocess, driven by gradio_client.

Analyse -> save -> the row is in the store; every bad input gives a clear error and adds no rows; a double
submission is stored once; 20 concurrent sessions all land.
"""

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from helpers import AppProcess, checkpoint_env

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

MAX_FILE_SIZE = "1mb"  # small, so the size-limit test uploads little; every other test clip is < 400 kB


@pytest.fixture(scope="module")
def demo_checkpoint_env(tmp_path_factory) -> dict:
    return checkpoint_env(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_checkpoint_env):
    env = {**demo_checkpoint_env, "EMOEXPLAIN_MAX_FILE_SIZE": MAX_FILE_SIZE}
    with AppProcess(tmp_path_factory.mktemp("app-data"), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def client(app):
    return Client(app.url, verbose=False)


def rows(app, table: str, where: str = "1=1", params=()) -> list[dict]:
    con = sqlite3.connect(app.data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f"SELECT * FROM {table} WHERE {where}", params)]
    finally:
        con.close()


def counts(app) -> dict:
    return {t: len(rows(app, t)) for t in ("clips", "analyses", "judgements")}


def test_analyse_then_save_lands_in_the_store(app, client, speech_wav):
    result = client.predict(handle_file(str(speech_wav)), api_name="/analyze")
    assert result["analysis_id"] >= 1 and result["schema"] == 2   # the typed result's version
    probs = result["emotion"]["probabilities"]
    assert result["emotion"]["label"] in probs and sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
    names = {d["name"] for d in result["descriptors"]["measured"]}
    assert {"pitch", "volume", "speed"} <= names
    assert result["acoustics"]["duration_s"] > 3
    [analysis] = rows(app, "analyses", "id = ?", (result["analysis_id"],))
    assert analysis["label"] == result["emotion"]["label"]

    fields = dict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"], emotion="agree",
                  annotator="tester",
                  descriptor_verdicts={"pitch": {"verdict": "correct"}, "speed": {"verdict": "wrong", "value": "fast"}},
                  transcript="the quick brown fox", faithfulness=4, helpfulness=3, note="<b>not html</b>",
                  consent=False, submission_token="form-1")
    saved = client.predict(**fields, api_name="/save_judgement")
    assert saved["created"] is True
    again = client.predict(**fields, api_name="/save_judgement")  # double-click / retried request
    assert again == {"judgement_id": saved["judgement_id"], "created": False}

    [judgement] = rows(app, "judgements", "analysis_id = ?", (result["analysis_id"],))
    assert judgement["id"] == saved["judgement_id"] and judgement["annotator_id"] == "tester"
    assert judgement["agreed"] == 1 and (judgement["faithfulness"], judgement["helpfulness"]) == (4, 3)
    verdicts = json.loads(judgement["descriptor_verdicts"])
    assert verdicts["speed"] == {"verdict": "wrong", "value": "fast"} and verdicts["pitch"]["verdict"] == "correct"
    [clip] = rows(app, "clips", "sha256 = ?", (analysis["clip_sha256"],))
    assert clip["audio_path"] is None  # no consent: only the hash and the measurements are kept


def test_consent_keeps_the_audio(app, client, synth_speech):
    result = client.predict(handle_file(str(synth_speech("I agree to keep this recording."))), api_name="/analyze")
    saved = client.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"],
                           emotion=list(result["emotion"]["probabilities"])[0],
                           annotator="consenter", consent=True, api_name="/save_judgement")
    assert saved["created"]
    [analysis] = rows(app, "analyses", "id = ?", (result["analysis_id"],))
    [clip] = rows(app, "clips", "sha256 = ?", (analysis["clip_sha256"],))
    assert clip["audio_path"] and (app.data_dir / clip["audio_path"]).is_file()


def _bad_inputs(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n" * 50)
    short = tmp_path / "short.wav"
    t = np.arange(int(0.2 * 16000)) / 16000
    sf.write(short, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * 16000, dtype=np.float32), 16000)
    return {"text file": (text, "audio"), "0.2 s clip": (short, "short"), "silence": (silent, "silen")}


def test_bad_audio_gives_clear_errors_and_adds_no_rows(app, client, tmp_path):
    before = counts(app)
    for what, (path, word) in _bad_inputs(tmp_path).items():
        with pytest.raises(Exception) as err:
            client.predict(handle_file(str(path)), api_name="/analyze")
        assert word in str(err.value).lower(), f"{what}: unclear message {err.value!r}"
    with pytest.raises(Exception, match="(?i)no audio"):
        client.predict(None, api_name="/analyze")
    assert counts(app) == before


def test_uploads_over_the_size_limit_are_refused_and_add_no_rows(app, client, speech_wav, tmp_path):
    x, sr = sf.read(speech_wav, dtype="float32")
    big = tmp_path / "big.wav"
    sf.write(big, np.tile(x, int(np.ceil(1.2e6 / (2 * len(x))))), sr, subtype="PCM_16")  # about 1.2 MB
    assert big.stat().st_size > 1_000_000
    before = counts(app)
    with pytest.raises(Exception, match="(?i)size|large|limit"):
        client.predict(handle_file(str(big)), api_name="/analyze")
    assert counts(app) == before
    result = client.predict(handle_file(str(speech_wav)), api_name="/analyze")  # the app still works
    assert result["analysis_id"] >= 1 and result["schema"] == 2   # the typed result's version


def test_bad_judgements_are_refused_and_add_no_rows(app, client, speech_wav):
    result = client.predict(handle_file(str(speech_wav)), api_name="/analyze")
    before = counts(app)
    with pytest.raises(Exception, match="analyse a clip first"):
        client.predict(analysis_id=0, emotion="agree", api_name="/save_judgement")
    with pytest.raises(Exception, match="(?i)analysis"):
        client.predict(analysis_id=10**6, emotion="agree", api_name="/save_judgement")
    with pytest.raises(Exception, match="(?i)label|emotion"):
        client.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"], emotion="ecstatic",
                       api_name="/save_judgement")
    with pytest.raises(Exception, match="1 to 5"):
        client.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"], emotion="agree",
                       faithfulness=7, api_name="/save_judgement")
    with pytest.raises(Exception, match="pick the right value"):
        client.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"], emotion="agree",
                       descriptor_verdicts={"pitch": {"verdict": "wrong"}}, api_name="/save_judgement")
    assert counts(app) == before


def test_twenty_concurrent_sessions_analyse_and_save(app, speech_wav, synth_speech):
    clips = [speech_wav, synth_speech("Short and quick.", rate=220), synth_speech("Slow and low.", pitch=20, rate=110)]
    before = counts(app)
    errors, lock = [], threading.Lock()

    def session(i: int):
        try:
            c = Client(app.url, verbose=False)
            result = c.predict(handle_file(str(clips[i % len(clips)])), api_name="/analyze")
            saved = c.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"],
                              emotion="agree", annotator=f"user{i}", submission_token=f"load-{i}",
                              api_name="/save_judgement")
            return result["analysis_id"], saved["judgement_id"]
        except Exception as e:  # collected and reported below
            with lock:
                errors.append(f"session {i}: {e!r}")

    with ThreadPoolExecutor(20) as pool:
        done = [r for r in pool.map(session, range(20)) if r]
    assert not errors, errors
    assert len({a for a, _ in done}) == 20 and len({j for _, j in done}) == 20
    after = counts(app)
    assert after["analyses"] - before["analyses"] == 20 and after["judgements"] - before["judgements"] == 20
    annotators = {r["annotator_id"] for r in rows(app, "judgements", "annotator_id LIKE 'user%'")}
    assert annotators == {f"user{i}" for i in range(20)}

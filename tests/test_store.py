"""The annotation store: schema, recording, validation, consent, training examples, stats, export."""

import json
import sqlite3

import pytest

from emoexplain.errors import (AnalysisNotFound, InvalidAnalysis, InvalidJudgement, NoteTooLong, StoreError,
                               UnknownLabel)
from emoexplain.store import (NOTE_MAX_CHARS, agreement, data_dir, delete_annotator, delete_clip, export,
                              open_store, record_analysis, record_judgement, record_training_run, stats,
                              training_examples)

SHA_A, SHA_B = "a" * 64, "b" * 64


def explanation(label="happy", *, pitch="high", transcript="hello there", model_version="r1"):
    return {
        "emotion": {"label": label, "probabilities": {"neutral": 0.1, "happy": 0.6, "angry": 0.2, "sad": 0.1}},
        "transcript": transcript, "caption": f"Emotion: {label}.",
        "descriptors": {"model": {"pitch": pitch, "speed": "fast", "emphasis": "there"},
                        "measured": [{"name": "pitch", "value": "normal"}, {"name": "volume", "value": "low"}],
                        "disagreements": []},
        "model": {"name": "tiny", "version": model_version},
        "acoustics": {"duration_s": 2.0, "pitch": {"mean_hz": float("nan")}, "frames": {"f0_hz": [1.0] * 10}},
        "latency_s": {"total": 0.25},
    }


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "emoexplain.db")
    yield s
    s.close()


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(b"RIFF....WAVE")
    return path


def analyse(store, sha=SHA_A, **kwargs):
    return record_analysis(store, explanation(**kwargs), audio_sha256=sha, duration_s=2.0, sample_rate=16000,
                           source="upload")


def count(store, table):
    return store.read(f"SELECT count(*) AS n FROM {table}")[0]["n"]


def test_open_store_applies_schema_with_wal_and_foreign_keys(store):
    assert {"clips", "analyses", "judgements", "annotators", "training_runs"} <= set(store.db.table_names())
    assert {"latest_judgements", "schema_version"} <= set(store.db.view_names())
    assert store.db.journal_mode == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.read("SELECT version FROM schema_version")[0]["version"] == store.schema_version() >= 1


def test_reopen_keeps_rows_and_does_not_migrate_twice(tmp_path):
    with open_store(tmp_path / "x.db") as s:
        analyse(s)
        version = s.schema_version()
    with open_store(tmp_path / "x.db") as s:
        assert (1, version) == (count(s, "analyses"), s.schema_version())


def test_open_store_refuses_a_file_that_is_not_sqlite(tmp_path):
    (tmp_path / "notes.db").write_text("just text")
    with pytest.raises(StoreError, match="not an SQLite database"):
        open_store(tmp_path / "notes.db")


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOEXPLAIN_DATA_DIR", str(tmp_path / "d"))
    assert tmp_path / "d" == data_dir()
    monkeypatch.delenv("EMOEXPLAIN_DATA_DIR")
    assert data_dir().name in ("data",)


def test_record_analysis_keeps_provenance_and_drops_frames(store):
    aid = analyse(store)
    row = store.read("SELECT * FROM analyses WHERE id = ?", [aid])[0]
    assert ("tiny", "r1", "iemocap4", "happy") == (row["model_name"], row["model_version"], row["label_set"],
                                                   row["label"])
    assert ["there"] == json.loads(row["emphasis"])
    assert {"pitch": "high", "speed": "fast"} == json.loads(row["descriptors"])
    acoustics = json.loads(row["acoustics"])
    assert "frames" not in acoustics and acoustics["pitch"]["mean_hz"] is None
    clip = store.read("SELECT * FROM clips")[0]
    assert (SHA_A, None, 0) == (clip["sha256"], clip["audio_path"], clip["consent"])


@pytest.mark.parametrize("kwargs, message", [
    ({"audio_sha256": "not-a-hash"}, "64 hex digits"),
    ({"duration_s": "2 s"}, "duration_s must be a number"),
    ({"sample_rate": 16000.5}, "sample_rate"),
    ({"source": ""}, "source"),
])
def test_record_analysis_rejects_bad_fields(store, kwargs, message):
    args = dict(audio_sha256=SHA_A, duration_s=2.0, sample_rate=16000, source="upload") | kwargs
    with pytest.raises(InvalidAnalysis, match=message):
        record_analysis(store, explanation(), **args)
    assert 0 == count(store, "analyses") == count(store, "clips")


def test_record_analysis_needs_the_model_name(store):
    bad = explanation()
    del bad["model"]
    with pytest.raises(InvalidAnalysis, match="which model"):
        record_analysis(store, bad, audio_sha256=SHA_A, duration_s=1.0, sample_rate=16000, source="upload")


def test_revisions_are_kept_and_latest_wins(store):
    aid = analyse(store)
    first = record_judgement(store, aid, annotator="ada", emotion="sad")
    second = record_judgement(store, aid, annotator="ada", emotion="agree")
    assert [1, 2] == [r["revision"] for r in store.read("SELECT revision FROM judgements ORDER BY id")]
    latest = store.read("SELECT id, emotion, agreed FROM latest_judgements")
    assert [{"id": second, "emotion": "happy", "agreed": 1}] == latest and first < second


def test_emotion_aliases_and_unsure(store):
    aid = analyse(store)
    record_judgement(store, aid, annotator="ada", emotion="Excited!")
    record_judgement(store, aid, annotator="bob", emotion="unsure")
    assert ["happy", None] == [r["emotion"] for r in store.read("SELECT emotion FROM judgements ORDER BY id")]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"emotion": "joyous"}, UnknownLabel, "not a label of iemocap4"),
    ({"emotion": 3}, InvalidJudgement, "emotion must be"),
    ({"faithfulness": 6}, InvalidJudgement, "1 to 5"),
    ({"helpfulness": 0}, InvalidJudgement, "1 to 5"),
    ({"helpfulness": True}, InvalidJudgement, "1 to 5"),
    ({"faithfulness": "5"}, InvalidJudgement, "1 to 5"),
    ({"note": "x" * (NOTE_MAX_CHARS + 1)}, NoteTooLong, "limit is 10,000"),
    ({"note": 42}, InvalidJudgement, "note must be a string"),
    ({"annotator": ""}, InvalidJudgement, "annotator"),
    ({"annotator": None}, InvalidJudgement, "annotator"),
    ({"consent": "yes"}, InvalidJudgement, "consent"),
    ({"descriptor_verdicts": ["pitch"]}, InvalidJudgement, "must be a dict"),
    ({"descriptor_verdicts": {"timbre": "correct"}}, UnknownLabel, "Unknown descriptor"),
    ({"descriptor_verdicts": {"pitch": "maybe"}}, InvalidJudgement, "correct"),
    ({"descriptor_verdicts": {"pitch": {"verdict": "wrong"}}}, UnknownLabel, "corrected value"),
    ({"descriptor_verdicts": {"pitch": {"verdict": "wrong", "value": "squeaky"}}}, UnknownLabel, "low"),
    ({"descriptor_verdicts": {"emphasis": {"verdict": "wrong", "value": 7}}}, InvalidJudgement, "words"),
    ({"audio_path": "/nonexistent/clip.wav", "consent": True}, InvalidJudgement, "not a file"),
])
def test_bad_judgements_are_rejected_and_write_nothing(store, kwargs, error, message):
    aid = analyse(store)
    args = dict(annotator="ada", emotion="happy") | kwargs
    with pytest.raises(error, match=message):
        record_judgement(store, aid, **args)
    assert 0 == count(store, "judgements") == count(store, "annotators")


def test_missing_analysis(store):
    with pytest.raises(AnalysisNotFound, match="record the analysis first"):
        record_judgement(store, 999, annotator="ada", emotion="happy")
    with pytest.raises(InvalidJudgement, match="analysis_id must be an int"):
        record_judgement(store, "1; DROP TABLE judgements", annotator="ada", emotion="happy")


@pytest.mark.parametrize("text", [
    "'); DROP TABLE judgements; --",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "Ünïcødé 😀 中文 עברית \u202e\x00 null byte",
    "x" * NOTE_MAX_CHARS,
])
def test_text_is_stored_verbatim(store, text):
    aid = analyse(store)
    jid = record_judgement(store, aid, annotator=text[:200].strip() or "ada", emotion="sad", note=text,
                           transcript=text)
    row = store.read("SELECT note, transcript FROM judgements WHERE id = ?", [jid])[0]
    assert (text, text) == (row["note"], row["transcript"])
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert "judgements" in store.db.table_names()


def test_wrong_verdict_values_are_normalised(store):
    aid = analyse(store)
    jid = record_judgement(store, aid, annotator="ada", emotion="agree", descriptor_verdicts={
        "pitch": {"verdict": "wrong", "value": " LOW "}, "speed": "correct", "tone": {"verdict": "unsure"},
        "emphasis": {"verdict": "wrong", "value": "hello, there"}})
    verdicts = json.loads(store.read("SELECT descriptor_verdicts FROM judgements WHERE id = ?", [jid])[0][
        "descriptor_verdicts"])
    assert {"pitch": {"verdict": "wrong", "value": "low"}, "speed": {"verdict": "correct"},
            "tone": {"verdict": "unsure"}, "emphasis": {"verdict": "wrong", "value": ["hello", "there"]}} == verdicts


def test_audio_is_kept_only_with_consent(store, wav):
    aid = analyse(store)
    record_judgement(store, aid, annotator="ada", emotion="sad", consent=False, audio_path=wav)
    assert not (store.path.parent / "audio").exists()
    record_judgement(store, aid, annotator="bob", emotion="sad", consent=True, audio_path=wav)
    kept = store.path.parent / "audio" / f"{SHA_A}.wav"
    assert kept.read_bytes() == wav.read_bytes()
    assert (f"audio/{SHA_A}.wav", 1) == tuple(store.read("SELECT audio_path, consent FROM clips")[0].values())


def test_delete_clip_removes_rows_and_audio(store, wav):
    aid = analyse(store)
    analyse(store, sha=SHA_B)
    record_judgement(store, aid, annotator="ada", emotion="sad", consent=True, audio_path=wav)
    deleted = delete_clip(store, SHA_A)
    assert (1, 1, 1, 1) == (deleted["clips"], deleted["analyses"], deleted["judgements"], deleted["audio_files"])
    assert not list((store.path.parent / "audio").iterdir())
    assert (1, 1, 0) == (count(store, "clips"), count(store, "analyses"), count(store, "judgements"))


def test_delete_annotator_removes_their_judgements_only(store):
    aid = analyse(store)
    for who in ("ada", "ada", "bob"):
        record_judgement(store, aid, annotator=who, emotion="sad")
    assert {"annotators": 1, "judgements": 2} == delete_annotator(store, "ada")
    assert ["bob"] == [r["annotator_id"] for r in store.read("SELECT annotator_id FROM judgements")]


def test_record_training_run_keeps_known_and_extra_fields(store):
    rid = record_training_run(store, checkpoint="runs/x", n_examples=12, metrics={"ua": 0.5}, seed=3)
    row = store.read("SELECT * FROM training_runs WHERE id = ?", [rid])[0]
    assert ("runs/x", 12, {"ua": 0.5}, {"seed": 3}) == (row["checkpoint"], row["n_examples"],
                                                       json.loads(row["metrics"]), json.loads(row["extra"]))


# --- training examples -------------------------------------------------------------------------

def judged_store(store, wav):
    """Clip A: ada+bob say sad, cy says angry (pitch wrong->low twice); clip B: a 1-1 tie; clip C: no consent."""
    a = analyse(store)
    b = analyse(store, sha=SHA_B)
    c = analyse(store, sha="c" * 64)
    wrong_low = {"pitch": {"verdict": "wrong", "value": "low"}, "speed": "correct"}
    record_judgement(store, a, annotator="ada", emotion="happy", consent=True, audio_path=wav)  # revised below
    record_judgement(store, a, annotator="ada", emotion="sad", descriptor_verdicts=wrong_low, consent=True,
                     transcript="hello their", audio_path=wav)
    record_judgement(store, a, annotator="bob", emotion="sad", descriptor_verdicts=wrong_low, consent=True)
    record_judgement(store, a, annotator="cy", emotion="angry", descriptor_verdicts={"pitch": "correct"},
                     consent=True)
    record_judgement(store, b, annotator="ada", emotion="sad", consent=True, audio_path=wav)
    record_judgement(store, b, annotator="bob", emotion="angry", consent=True)
    record_judgement(store, c, annotator="ada", emotion="sad", consent=False, audio_path=wav)
    return a, b, c


def test_training_examples_majority_human_descriptors_and_latest_revision(store, wav):
    judged_store(store, wav)
    [row] = training_examples(store)
    assert (SHA_A, "sad", "iemocap4", 0.666667) == (row["audio_sha256"], row["emotion"], row["label_set"],
                                                    row["weight"])
    assert {"pitch": "low", "speed": "fast", "volume": "low"} == row["descriptors"]
    assert {"pitch": "human", "speed": "human", "volume": "automatic"} == row["descriptor_source"]
    assert "hello their" == row["transcript"]
    assert row["audio"].endswith(f"audio/{SHA_A}.wav")
    expected_keys = {"audio", "audio_sha256", "duration_s", "transcript", "emotion", "label_set", "descriptors",
                     "descriptor_source", "emphasis", "caption", "speaker", "gender", "split", "source", "weight"}
    assert expected_keys == set(row)


def test_training_examples_filters(store, wav):
    judged_store(store, wav)
    assert [] == training_examples(store, min_agreement=0.7)
    assert ["sadness"] == [r["emotion"] for r in training_examples(store, label_set="meld7")]
    # cy counts four times: angry wins clip A; bob's weight breaks clip B's tie
    weighted = training_examples(store, annotator_weights={"cy": 4.0, "bob": 2.0})
    assert [("angry", 0.571429), ("angry", 0.666667)] == [(r["emotion"], r["weight"]) for r in weighted]
    # without the consent filter clip C (no consent, so no audio) needs require_audio=False
    assert 1 == len(training_examples(store, consent_only=False))
    assert {SHA_A, "c" * 64} == {r["audio_sha256"] for r in training_examples(store, consent_only=False,
                                                                               require_audio=False)}


def test_training_examples_deduplicate_clips_analysed_twice(store, wav):
    first = analyse(store)
    second = analyse(store, model_version="r2")
    record_judgement(store, first, annotator="ada", emotion="sad", consent=True, audio_path=wav)
    record_judgement(store, second, annotator="ada", emotion="angry", consent=True)
    assert [(SHA_A, "angry")] == [(r["audio_sha256"], r["emotion"]) for r in training_examples(store)]


# --- stats, agreement, export --------------------------------------------------------------------

def test_stats_counts(store, wav):
    judged_store(store, wav)
    s = stats(store)
    assert (3, 2, 3, 7, 6, 3) == (s["clips"], s["clips_with_audio"], s["analyses"], s["judgements"],
                                  s["latest_judgements"], s["annotators"])
    assert {"sad": 4, "angry": 2} == s["human_emotions"]
    assert {"correct": 1, "wrong": 2} == s["descriptor_verdicts"]["pitch"]


def test_agreement_report(store, wav):
    judged_store(store, wav)
    report = agreement(store)
    assert {"happy": {"sad": 4, "angry": 2}} == report["model_vs_human"]["confusion"]
    assert 0.0 == report["model_vs_human"]["accuracy"]
    assert {"correct": 1, "wrong": 2, "unsure": 0, "accuracy": 0.333333} == report["descriptor_accuracy"]["pitch"]
    assert 2 == report["emotion"]["n_items"]
    assert report["descriptors"]["pitch"]["n_items"] == 1


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "manifest"])
def test_export_formats(store, wav, tmp_path, fmt):
    judged_store(store, wav)
    dest = tmp_path / f"out.{fmt}"
    n = export(store, fmt, dest)
    text = dest.read_text(encoding="utf-8")
    if fmt == "csv":
        assert n == 7 and text.count("\n") >= 8 and text.startswith("judgement_id,")
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        assert n == len(rows) == (1 if fmt == "manifest" else 7)
        if fmt == "jsonl":
            assert [False, True] == [r["is_latest"] for r in rows[:2]]
            assert {"pitch": {"verdict": "wrong", "value": "low"}, "speed": {"verdict": "correct"}} == \
                rows[1]["descriptor_verdicts"]


def test_export_parquet(store, wav, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    judged_store(store, wav)
    assert 7 == export(store, "parquet", tmp_path / "out.parquet") == pq.read_table(tmp_path / "out.parquet").num_rows


def test_export_unknown_format(store, tmp_path):
    with pytest.raises(StoreError, match="use one of"):
        export(store, "xlsx", tmp_path / "x.xlsx")


def test_store_is_sqlite_readable_by_anyone(store, wav):
    judged_store(store, wav)
    store.close()
    conn = sqlite3.connect(store.path)
    assert 7 == conn.execute("SELECT count(*) FROM judgements").fetchone()[0]


def test_synchronous_level_follows_the_environment(tmp_path, monkeypatch):
    with open_store(tmp_path / "full.db") as s:
        assert 2 == s.db.execute("PRAGMA synchronous").fetchone()[0]          # FULL by default
    monkeypatch.setenv("EMOEXPLAIN_STORE_SYNCHRONOUS", "normal")
    with open_store(tmp_path / "normal.db") as s:
        assert 1 == s.db.execute("PRAGMA synchronous").fetchone()[0]
    monkeypatch.setenv("EMOEXPLAIN_STORE_SYNCHRONOUS", "off")
    with pytest.raises(StoreError, match="FULL or NORMAL"):
        open_store(tmp_path / "off.db")

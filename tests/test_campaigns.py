"""Annotation campaigns (issue 13): creation and bad input, the leased queue, gold, quality, consensus, the
training manifest, GDPR erasure, the CLI. Clips are short tones; most tests stand in for the model with a
fixed table of label probabilities (the queue, not the model, is under test); one test runs the real model."""

import json
import threading
import time
import zipfile

import numpy as np
import pytest

from emoexplain.errors import CampaignError, InvalidJudgement, LeaseLost, UnknownLabel
from emoexplain.store import campaigns as C
from emoexplain.store import open_store

LABELS = ("neutral", "happy", "angry", "sad")


def _tones(folder, n, *, start=1.0):
    """n tone clips whose durations (1.0, 1.1, ... s) tell them apart; returns their names."""
    import soundfile as sf
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        t = np.arange(int(round((start + 0.1 * i) * 16000))) / 16000
        sf.write(folder / f"clip{i}.wav", 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t), 16000)
        names.append(f"clip{i}.wav")
    return names


def _model(probabilities_by_index, *, words=None):
    """An analyser standing in for the model: clip i (by duration) gets probabilities_by_index[i]."""
    def analyse(clip):
        i = int(round((clip.duration_s - 1.0) * 10))
        p = probabilities_by_index[i]
        model_words, measured = (words or {}).get(i, ({}, []))
        disagree = [{"name": n, "model": w, "measured": m["value"]} for n, w in model_words.items()
                    for m in measured if m["name"] == n and m["value"] != w]
        return {"emotion": {"label": LABELS[int(np.argmax(p))], "probabilities": dict(zip(LABELS, p)),
                            "label_set": "iemocap4"},
                "transcript": f"clip {i}", "caption": f"Emotion: {LABELS[int(np.argmax(p))]}.",
                "descriptors": {"model": model_words, "measured": measured, "disagreements": disagree},
                "model": {"name": "stand-in", "version": "1"}}
    return analyse


SURE, TORN, HALF = (0.97, 0.01, 0.01, 0.01), (0.25, 0.25, 0.25, 0.25), (0.5, 0.4, 0.05, 0.05)


def _campaign(tmp_path, n=4, *, per_clip=2, probabilities=None, name="pilot", **options):
    _tones(tmp_path / "src", n)
    store = open_store(tmp_path / "data" / "emoexplain.db")
    C.create_campaign(store, name, tmp_path / "src", per_clip=per_clip, label_set="iemocap4", owner="lab",
                      **options)
    job = C.analyse_campaign(store, name, analyse=_model(probabilities or [SURE, TORN, HALF, SURE, TORN][:n]))
    assert job.wait(30)["error"] is None
    return store


def _judge(store, who, emotion="sad", campaign="pilot", **fields):
    offer = C.next_clip(store, campaign, who)
    if offer["status"] != "clip":
        return offer
    C.submit(store, campaign, who, analysis_id=offer["analysis_id"], analysis_token=offer["analysis_token"],
             emotion=emotion(offer) if callable(emotion) else emotion, **fields)
    return offer


# --- creation and bad input -----------------------------------------------------------------------

def test_folder_import_lists_non_audio_skips_undecodable_and_keeps_the_owners_audio(tmp_path):
    _tones(tmp_path / "src", 3)
    (tmp_path / "src" / "notes.txt").write_text("not audio")
    (tmp_path / "src" / "broken.wav").write_bytes(b"RIFF-but-not-really" * 50)
    store = open_store(tmp_path / "data" / "emoexplain.db")
    summary = C.create_campaign(store, "pilot", tmp_path / "src", per_clip=2, label_set="iemocap4", owner="lab")
    assert summary["clips"] == 4 and [s["name"] for s in summary["skipped"]] == ["notes.txt"]
    seen = []
    job = C.analyse_campaign(store, "pilot", analyse=_model([SURE, TORN, HALF]), progress=seen.append)
    state = job.wait(30)
    assert (state["done"], state["ready"], state["skipped"], state["error"]) == (4, 3, 1, None)
    assert [s["done"] for s in seen if s["done"]] == sorted(s["done"] for s in seen if s["done"])
    report = C.status(store, "pilot")
    assert report["campaign"]["state"] == "open" and report["progress"]["ready"] == 3
    [skipped] = report["skipped"]
    assert skipped["name"] == "broken.wav" and "broken.wav" in skipped["reason"]
    assert "lab" in report["campaign"]["consent"] and "lab" in report["kept"]
    for clip in report["clips"]:  # the audio lives under the campaign, not in the visitors' audio folder
        offer_path = store.read("SELECT audio_path FROM campaign_items WHERE name = ?", [clip["name"]])[0]
        assert offer_path["audio_path"].startswith("campaigns/")
        assert (store.path.parent / offer_path["audio_path"]).is_file()
    assert store.read("SELECT count(*) AS n FROM clips WHERE audio_path IS NOT NULL")[0]["n"] == 0


def _nothing_written(store, tmp_path):
    assert store.read("SELECT count(*) AS n FROM campaigns")[0]["n"] == 0
    assert store.read("SELECT count(*) AS n FROM campaign_items")[0]["n"] == 0
    assert not list((tmp_path / "data" / "campaigns").glob("*/*")) if (tmp_path / "data" / "campaigns").exists() \
        else True


@pytest.mark.parametrize("case, message", [
    ("overlap0", "at least 1"),
    ("manifest_without_audio", "line 2: no \"audio\" path"),
    ("manifest_missing_file", "line 1: no audio file at gone.wav"),
    ("gold_missing_clip", "not in the folder src: nowhere.wav"),
    ("gold_outside_label_set", "outside iemocap4"),
    ("empty_folder", "holds no audio files"),
    ("not_a_source", "neither a folder"),
])
def test_bad_input_gets_a_clear_message_and_nothing_is_imported(tmp_path, case, message):
    names = _tones(tmp_path / "src", 2)
    store = open_store(tmp_path / "data" / "emoexplain.db")
    source, options = tmp_path / "src", {}
    if case == "overlap0":
        options["per_clip"] = 0
    elif case.startswith("manifest"):
        source = tmp_path / "src" / "m.jsonl"
        rows = [{"audio": names[0]}, {"name": "x"}] if case == "manifest_without_audio" else [{"audio": "gone.wav"}]
        source.write_text("\n".join(json.dumps(r) for r in rows))
    elif case == "gold_missing_clip":
        options["gold"] = {names[0]: "sad", "nowhere.wav": "happy"}
    elif case == "gold_outside_label_set":
        gold = tmp_path / "gold.csv"
        gold.write_text(f"clip,emotion\n{names[0]},bored\n")
        options["gold"] = gold
    elif case == "empty_folder":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "readme.md").write_text("x")
        source = tmp_path / "empty"
    else:
        source = tmp_path / "notes.txt"
        source.write_text("x")
    with pytest.raises(CampaignError, match=message.replace("(", r"\(")):
        C.create_campaign(store, "pilot", source, label_set="iemocap4", owner="lab",
                          **{"per_clip": 2, **options})
    _nothing_written(store, tmp_path)


def test_manifest_and_zip_sources_with_gold(tmp_path):
    names = _tones(tmp_path / "src", 3)
    manifest = tmp_path / "src" / "clips.jsonl"
    manifest.write_text("\n".join(json.dumps({"audio": n, "gold": "Excited" if i == 0 else None,
                                              "transcript": "the known words" if i == 1 else None})
                                  for i, n in enumerate(names)))
    store = open_store(tmp_path / "data" / "emoexplain.db")
    summary = C.create_campaign(store, "from-manifest", manifest, per_clip=1, label_set="iemocap4", owner="lab")
    assert (summary["clips"], summary["gold"], summary["gold_share"]) == (3, 1, 0.1)
    assert store.read("SELECT gold_emotion FROM campaign_items WHERE name = ?", [names[0]])[0]["gold_emotion"] \
        == "happy"  # the alias is resolved into the label set
    C.analyse_campaign(store, "from-manifest", analyse=_model([SURE, TORN, HALF])).wait(30)
    for who in ("ada", "ada", "ada"):
        _judge(store, who, "sad", campaign="from-manifest")
    transcripts = {r["audio_sha256"]: r["transcript"] for r in C.training_examples(store, "from-manifest")}
    assert sorted(transcripts.values()) == ["clip 0", "clip 2", "the known words"]  # else the model's words
    archive = tmp_path / "clips.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for n in names:
            zf.write(tmp_path / "src" / n, f"batch/{n}")
        zf.writestr("../escape.wav", b"x")
        zf.writestr("batch/info.txt", b"x")
    summary = C.create_campaign(store, "from-zip", archive, per_clip=1, label_set="iemocap4", owner="lab")
    assert summary["clips"] == 3
    assert {s["name"]: s["reason"] for s in summary["skipped"]} == {
        "../escape.wav": "unsafe path inside the zip", "batch/info.txt": "not an audio file (.txt)"}
    assert not (tmp_path / "escape.wav").exists()
    with pytest.raises(CampaignError, match="not a readable zip"):
        (tmp_path / "bad.zip").write_bytes(b"PK-nope")
        C.create_campaign(store, "bad", tmp_path / "bad.zip", per_clip=1, label_set="iemocap4", owner="lab")
    with pytest.raises(CampaignError, match="exists already"):
        C.create_campaign(store, "from-zip", archive, per_clip=1, label_set="iemocap4", owner="lab")


def test_an_interrupted_analysis_resumes_where_it_stopped(tmp_path):
    _tones(tmp_path / "src", 3)
    store = open_store(tmp_path / "data" / "emoexplain.db")
    C.create_campaign(store, "pilot", tmp_path / "src", per_clip=1, label_set="iemocap4", owner="lab")
    good = _model([SURE, TORN, HALF])
    calls = []

    def failing(clip):
        calls.append(clip.sha256)
        if len(calls) == 2:
            raise RuntimeError("model crashed")
        return good(clip)

    state = C.analyse_campaign(store, "pilot", analyse=failing).wait(30)
    assert "model crashed" in state["error"] and state["done"] == 1
    assert C.status(store, "pilot")["campaign"]["state"] == "importing"
    state = C.analyse_campaign(store, "pilot", analyse=good).wait(30)
    assert (state["total"], state["ready"], state["error"]) == (2, 2, None)
    assert C.status(store, "pilot")["progress"] == {"clips": 3, "pending": 0, "ready": 3, "skipped": 0,
                                                    "complete": 0, "judgements": 0}


# --- the queue --------------------------------------------------------------------------------------

def test_least_sure_clips_come_first_and_descriptor_contradictions_break_ties(tmp_path):
    _tones(tmp_path / "src", 4)
    store = open_store(tmp_path / "data" / "emoexplain.db")
    C.create_campaign(store, "pilot", tmp_path / "src", per_clip=1, label_set="iemocap4", owner="lab")
    pitch = ({"pitch": "high"}, [{"name": "pitch", "value": "low"}])
    C.analyse_campaign(store, "pilot", analyse=_model([SURE, HALF, TORN, SURE], words={3: pitch})).wait(30)
    order = [_judge(store, "ada")["clip"]["name"] for _ in range(4)]
    # TORN (entropy 1) > HALF (0.68) > SURE with a contradicted pitch word (0.12 + 0.5) > SURE (0.12)
    assert order == ["clip2.wav", "clip1.wav", "clip3.wav", "clip0.wav"]
    assert C.next_clip(store, "pilot", "ada")["status"] == "done"


def test_two_annotators_with_overlap_two_each_clip_ends_with_two_judgements_and_a_consensus(tmp_path):
    store = _campaign(tmp_path, 4, per_clip=2)
    for _ in range(4):
        for who in ("ada", "bob"):
            assert _judge(store, who, "sad" if who == "ada" else "angry")["status"] == "clip"
    assert C.next_clip(store, "pilot", "ada")["status"] == "done"
    assert C.next_clip(store, "pilot", "cy")["status"] == "done"  # every clip has its two judgements
    report = C.status(store, "pilot")
    assert [c["judgements"] for c in report["clips"]] == [2, 2, 2, 2] and report["progress"]["complete"] == 4
    for clip in report["clips"]:  # a 1:1 tie has no majority
        assert clip["consensus"]["emotion"]["majority"] == {"value": None, "share": None, "n_votes": 2,
                                                           "n_agreed": 0}


def test_the_last_slot_is_leased_never_raced_and_a_lapsed_lease_is_refused_once_the_clip_is_full(tmp_path):
    store = _campaign(tmp_path, 1, per_clip=1, probabilities=[TORN], lease_s=0.3)
    offer = C.next_clip(store, "pilot", "ada")
    assert offer["status"] == "clip"
    assert C.next_clip(store, "pilot", "bob")["status"] == "waiting"   # ada holds the only slot
    again = C.next_clip(store, "pilot", "ada")                           # a reload: same clip, new token
    assert again["analysis_id"] == offer["analysis_id"] and again["analysis_token"] != offer["analysis_token"]
    with pytest.raises(LeaseLost, match="another tab"):
        C.submit(store, "pilot", "ada", analysis_id=offer["analysis_id"], analysis_token=offer["analysis_token"],
                 emotion="sad")
    time.sleep(0.35)
    bobs = C.next_clip(store, "pilot", "bob")                            # the lease ran out: bob may take it
    assert bobs["status"] == "clip"
    C.submit(store, "pilot", "bob", analysis_id=bobs["analysis_id"], analysis_token=bobs["analysis_token"],
             emotion="happy")
    with pytest.raises(LeaseLost, match="ran out"):
        C.submit(store, "pilot", "ada", analysis_id=again["analysis_id"], analysis_token=again["analysis_token"],
                 emotion="sad")
    assert store.read("SELECT count(*) AS n FROM judgements")[0]["n"] == 1


def test_tokens_are_checked_and_only_their_hash_is_kept(tmp_path):
    store = _campaign(tmp_path, 2, per_clip=2)
    offer = C.next_clip(store, "pilot", "ada")
    base = {"analysis_id": offer["analysis_id"], "emotion": "sad"}
    for who, token in (("ada", "forged"), ("bob", offer["analysis_token"]), ("ada", "")):
        with pytest.raises(LeaseLost):
            C.submit(store, "pilot", who, analysis_token=token, **base)
    with pytest.raises(LeaseLost):  # the token is bound to its clip
        C.submit(store, "pilot", "ada", analysis_token=offer["analysis_token"],
                 **{**base, "analysis_id": offer["analysis_id"] + 1})
    with pytest.raises(UnknownLabel):  # a label outside the campaign's set: nothing saved, the lease stays
        C.submit(store, "pilot", "ada", analysis_token=offer["analysis_token"], **{**base, "emotion": "bored"})
    assert store.read("SELECT count(*) AS n FROM judgements")[0]["n"] == 0
    saved = C.submit(store, "pilot", "ada", analysis_token=offer["analysis_token"], **base)
    assert saved["seconds"] >= 0
    with pytest.raises(LeaseLost, match="already judged"):
        C.submit(store, "pilot", "ada", analysis_token=offer["analysis_token"], **base)
    stored = store.read("SELECT token_hash FROM campaign_assignments")[0]["token_hash"]
    assert offer["analysis_token"] not in json.dumps(store.read("SELECT * FROM campaign_assignments"))
    assert len(stored) == 64


def test_skips_are_recorded_and_the_clip_is_not_offered_again(tmp_path):
    store = _campaign(tmp_path, 2, per_clip=1)
    offer = C.next_clip(store, "pilot", "ada")
    C.skip(store, "pilot", "ada", analysis_id=offer["analysis_id"], analysis_token=offer["analysis_token"],
           reason="too noisy")
    other = C.next_clip(store, "pilot", "ada")
    assert other["analysis_id"] != offer["analysis_id"]
    assert C.next_clip(store, "pilot", "bob")["analysis_id"] == offer["analysis_id"]  # others still get it
    [row] = C.quality(store, "pilot")
    assert (row["annotator"], row["skips"], row["judgements"]) == ("ada", 1, 0)
    assert store.read("SELECT note FROM campaign_assignments WHERE state = 'skipped'")[0]["note"] == "too noisy"


def test_concurrent_annotators_never_exceed_the_target(tmp_path):
    store = _campaign(tmp_path, 5, per_clip=2)
    errors = []

    def annotate(who):
        try:
            while _judge(store, who)["status"] == "clip":
                pass
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=annotate, args=(f"a{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    counts = [r["n"] for r in store.read("SELECT count(*) AS n FROM judgements GROUP BY analysis_id")]
    assert counts == [2] * 5


def test_closed_campaigns_hand_out_nothing(tmp_path):
    store = _campaign(tmp_path, 1, per_clip=1)
    offer = C.next_clip(store, "pilot", "ada")
    C.set_open(store, "pilot", False)
    assert C.next_clip(store, "pilot", "bob")["status"] == "closed"
    with pytest.raises(CampaignError, match="closed"):
        C.submit(store, "pilot", "ada", analysis_id=offer["analysis_id"], analysis_token=offer["analysis_token"],
                 emotion="sad")
    assert C.set_open(store, "pilot", True)["state"] == "open"


# --- gold, quality, exclusion, consensus --------------------------------------------------------------

def _truth(offer):
    return {"clip0.wav": "happy", "clip1.wav": "sad", "clip2.wav": "angry", "clip3.wav": "sad",
            "clip4.wav": "neutral"}[offer["clip"]["name"]]


def test_gold_accuracy_leave_one_out_and_exclusion_without_deletion(tmp_path):
    store = _campaign(tmp_path, 5, per_clip=3, gold={"clip0.wav": "happy"}, gold_share=0.2)
    wrong = {"happy": "sad", "sad": "angry", "angry": "neutral", "neutral": "happy"}
    for _ in range(5):
        for who in ("ada", "bob", "eve"):
            _judge(store, who, _truth if who != "eve" else (lambda o: wrong[_truth(o)]))
    quality = {q["annotator"]: q for q in C.quality(store, "pilot")}
    assert quality["ada"]["gold"] == {"n": 1, "correct": 1, "accuracy": 1.0}
    assert quality["eve"]["gold"] == {"n": 1, "correct": 0, "accuracy": 0.0}
    # 5 clips each (the gold clip included): without ada, bob and eve tie (ada is one of the two leaders: 1/2);
    # without eve, ada and bob agree and eve does not
    assert quality["ada"]["leave_one_out"] == {"n": 5, "agree": 2.5, "agreement": 0.5}
    assert quality["eve"]["leave_one_out"] == {"n": 5, "agree": 0.0, "agreement": 0.0}
    assert quality["eve"]["dawid_skene_skill"] < quality["ada"]["dawid_skene_skill"]
    assert quality["ada"]["median_s_per_clip"] is not None
    before = C.status(store, "pilot")
    assert {c["consensus"]["emotion"]["majority"]["share"] for c in before["clips"]} == {round(2 / 3, 6)}
    C.exclude(store, "pilot", "eve", by="admin", reason="random answers")
    after = C.status(store, "pilot")
    assert {c["consensus"]["emotion"]["majority"]["share"] for c in after["clips"]} == {1.0}
    assert [c["judgements"] for c in after["clips"]] == [2] * 5 and {c["judgements_excluded"] for c in after["clips"]} \
        == {1}
    assert store.read("SELECT count(*) AS n FROM judgements WHERE annotator_id = 'eve'")[0]["n"] == 5  # kept
    offer = C.next_clip(store, "pilot", "cy")  # the clips are below target again without eve
    assert offer["status"] == "clip"
    rows = C.training_examples(store, "pilot")
    assert {r["n_agreed"] for r in rows} == {2} and {r["agreement"] for r in rows} == {1.0}
    C.include(store, "pilot", "eve")
    assert {r["agreement"] for r in C.training_examples(store, "pilot")} == {round(2 / 3, 6)}


def test_dawid_skene_follows_the_reliable_annotators_where_the_majority_cannot(tmp_path):
    ratings = {}
    truth = ["sad", "happy", "angry", "neutral"] * 3
    for i, label in enumerate(truth):  # ada and bob are always right; cy, dan, eve guess in lockstep
        ratings[i] = {"ada": label, "bob": label, "cy": "happy", "dan": "happy", "eve": "happy"}
    ratings[99] = {"ada": "sad", "cy": "happy"}  # one reliable vote against one unreliable one: a tie
    estimates, skills = C.dawid_skene(ratings)
    assert estimates[99]["value"] == "sad"
    assert skills["ada"] > skills["cy"]
    assert C.dawid_skene({1: {"ada": "sad", "bob": "sad"}}) == ({}, {})  # one value: nothing to estimate


def test_the_manifest_says_how_many_agreed_and_applies_the_minimum(tmp_path):
    store = _campaign(tmp_path, 3, per_clip=3)
    answers = {"ada": "sad", "bob": "sad", "cy": "angry"}
    for _ in range(3):
        for who, label in answers.items():
            _judge(store, who, label)
    rows = C.training_examples(store, "pilot")
    assert len(rows) == 3 and {(r["emotion"], r["n_judgements"], r["n_agreed"]) for r in rows} == {("sad", 3, 2)}
    assert rows[0]["weight"] == rows[0]["agreement"] == round(2 / 3, 6)
    assert all(r["audio"].endswith(".wav") and r["source"] == "campaign:pilot" for r in rows)
    assert C.training_examples(store, "pilot", min_agreement=0.7) == []
    assert {r["emotion"] for r in C.training_examples(store, "pilot", label_set="speechcraft7")} == {"sad"}
    from emoexplain.store import training_examples
    assert training_examples(store, campaign="pilot") == rows
    store.close()
    from train.data.store import build
    built, counts = build(tmp_path / "data" / "emoexplain.db", campaign="pilot", min_agreement=0.5)
    assert counts["rows"] == 3 and counts["no_audio"] == 0


def test_agreement_per_campaign_rests_on_clips_with_two_judgements(tmp_path):
    store = _campaign(tmp_path, 4, per_clip=2)
    plan = {"ada": ["sad", "sad", "happy", "angry"], "bob": ["sad", "happy", "happy"]}
    seen = {}
    for who, labels in plan.items():
        for label in labels:
            seen.setdefault(who, []).append(_judge(store, who, label)["clip"]["name"])
    assert seen["ada"][:3] == seen["bob"]  # the queue gives bob the clips ada started, most uncertain first
    report = C.campaign_agreement(store, "pilot")["emotion"]
    assert (report["n_items"], report["n_annotators"], report["n_ratings"]) == (3, 2, 6)
    # pairs (sad,sad) (sad,happy) (happy,happy): p_o 2/3; ada 2 sad 1 happy, bob 1 sad 2 happy: p_e 4/9 -> 0.4
    assert report["cohen_kappa"] == pytest.approx(0.4, abs=1e-6)
    # coincidences: o_ss 2, o_hh 2, o_sh = o_hs 1; n_s = n_h = 3, n = 6 -> 1 - 5 * 2 / 18
    assert report["krippendorff_alpha"] == pytest.approx(1 - 5 * 2 / 18, abs=1e-6)


# --- annotators' own judgements ---------------------------------------------------------------------

def test_annotators_see_and_delete_their_own_judgements_only(tmp_path):
    store = _campaign(tmp_path, 2, per_clip=2)
    for who in ("ada", "bob", "ada"):
        _judge(store, who)
    mine = C.my_judgements(store, "ada")
    assert [m["campaign"] for m in mine] == ["pilot", "pilot"] and all(m["clip"] for m in mine)
    bobs = C.my_judgements(store, "bob")[0]["judgement_id"]
    with pytest.raises(InvalidJudgement, match="not yours"):
        C.delete_my_judgements(store, "ada", [bobs])
    first = mine[0]
    result = C.delete_my_judgements(store, "ada", [first["judgement_id"]])
    assert (result["judgements"], result["queue_records"]) == (1, 1)
    assert [m["judgement_id"] for m in C.my_judgements(store, "ada")] == [mine[1]["judgement_id"]]
    clip = next(c for c in C.status(store, "pilot")["clips"] if c["analysis_id"] == first["analysis_id"])
    assert clip["judgements"] == 1  # bob's stays
    assert C.next_clip(store, "pilot", "ada")["analysis_id"] == first["analysis_id"]  # needed again
    C.delete_my_judgements(store, "ada")
    assert C.my_judgements(store, "ada") == []
    from emoexplain.store import delete_annotator
    assert delete_annotator(store, "bob")["judgements"] == 1  # erasure through the store API still works
    assert store.read("SELECT count(*) AS n FROM campaign_assignments WHERE annotator_id = 'bob'")[0]["n"] == 0


def test_export_keeps_every_individual_judgement_beside_the_consensus(tmp_path):
    store = _campaign(tmp_path, 2, per_clip=2)
    for who, label in (("ada", "sad"), ("bob", "sad"), ("ada", "happy"), ("bob", "angry")):
        _judge(store, who, label)
    C.exclude(store, "pilot", "bob")
    counts = C.export(store, "pilot", tmp_path / "out")
    assert (counts["judgements"], counts["clips"]) == (4, 2)
    judgements = [json.loads(line) for line in (tmp_path / "out" / "judgements.jsonl").read_text().splitlines()]
    assert sorted(j["emotion"] for j in judgements) == ["angry", "happy", "sad", "sad"]
    assert {j["annotator_id"]: j["excluded"] for j in judgements} == {"ada": False, "bob": True}
    assert all(j["seconds"] is not None for j in judgements)
    consensus = [json.loads(line) for line in (tmp_path / "out" / "consensus.jsonl").read_text().splitlines()]
    assert {c["emotion"]["majority"]["value"] for c in consensus} == {"sad", "happy"}
    assert json.loads((tmp_path / "out" / "quality.json").read_text())[1]["excluded"] is True


# --- the CLI, with the real model ---------------------------------------------------------------------

def test_cli_create_status_and_errors(tmp_path, synth_speech, capsys):
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.store.__main__ import main

    src = tmp_path / "src"
    src.mkdir()
    for i, pitch in enumerate((20, 80)):
        (src / f"s{i}.wav").write_bytes(synth_speech("the farmer sold the red door", pitch=pitch).read_bytes())
    (src / "readme.txt").write_text("x")
    db = str(tmp_path / "data" / "emoexplain.db")
    assert main(["campaign", "create", "pilot", "--from", str(src), "--per-clip", "2", "--db", db,
                 "--checkpoint", "assets/demo_checkpoint", "--no-captions", "--owner", "lab"]) == 0
    out = capsys.readouterr()
    created = json.loads(out.out)
    assert created["clips"] == 2 and created["skipped"][0]["name"] == "readme.txt"
    assert created["analysis"]["ready"] == 2 and "analysed 2/2" in out.err
    assert main(["campaign", "status", "pilot", "--db", db]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [(c["judgements"], c["consensus"]["emotion"]["majority"]["value"]) for c in status["clips"]] == \
        [(0, None), (0, None)]
    assert all(c["model"]["entropy"] is not None and c["model"]["label"] in LABELS for c in status["clips"])
    assert main(["campaign", "create", "other", "--from", str(src), "--per-clip", "0", "--db", db]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert main(["campaign", "status", "missing", "--db", db]) == 2
    assert "No campaign named 'missing'" in capsys.readouterr().err

"""Corpus builders on small fake folders that mimic the official layouts; manifest round trip; augmentation."""

import json
import random
import subprocess

import numpy as np
import pytest
import soundfile as sf

from emoexplain.audio import samples_sha256
from train.data import emosec, folder, iemocap, manifest, meld, speechcraft
from helpers import synthetic_corpus


def _wav(path, seconds=1.0, f0=150.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), 16000)
    return path


def test_iemocap_layout_four_classes_excited_merged_and_session_folds(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    labels = {"Ses01F_impro01_F000": "neu", "Ses01F_impro01_M001": "exc", "Ses01F_impro01_F002": "fru",
              "Ses01F_impro01_M003": "ang"}
    for s in (1, 2):
        dialog = f"Ses0{s}F_impro01"
        evals, trans = [], []
        for utt, lab in labels.items():
            utt = utt.replace("Ses01", f"Ses0{s}")
            _wav(root / f"Session{s}" / "sentences" / "wav" / dialog / f"{utt}.wav")
            evals.append(f"[6.2901 - 8.2357]\t{utt}\t{lab}\t[2.5000, 2.5000, 2.5000]")
            evals.append("C-E1:\tNeutral;\t()")  # annotator lines in between are ignored
            trans.append(f"{utt} [006.2901-008.2357]: Excuse me, {lab}.")
        (root / f"Session{s}/dialog/EmoEvaluation").mkdir(parents=True)
        (root / f"Session{s}/dialog/EmoEvaluation/{dialog}.txt").write_text("% header\n\n" + "\n".join(evals))
        (root / f"Session{s}/dialog/transcriptions").mkdir(parents=True)
        (root / f"Session{s}/dialog/transcriptions/{dialog}.txt").write_text("\n".join(trans))
    rows = iemocap.build(root, sessions=(1, 2))
    assert [r["emotion"] for r in rows] == ["neutral", "happy", "angry"] * 2  # fru dropped, exc -> happy
    assert {r["split"] for r in rows} == {"Session1", "Session2"}
    assert rows[1]["gender"] == "male" and rows[0]["gender"] == "female"
    assert rows[0]["transcript"] == "Excuse me, neu." and rows[0]["duration_s"] == pytest.approx(1.9456, abs=1e-3)
    path = manifest.write_manifest(rows, tmp_path / "m.jsonl")
    fold = manifest.read_manifest(path, split="*", exclude_split="Session2")
    assert {r["split"] for r in fold} == {"Session1"} and len(fold) == 3
    assert iemocap.folds()[4] == {"eval_split": "Session5", "train_split": "*"}
    with pytest.raises(manifest.ManifestError, match="IEMOCAP_full_release"):
        iemocap.build(tmp_path / "nowhere")


def _meld_csv(path, rows):
    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
    lines = [header] + [f'{i},"{u}",{s},{e},neutral,{d},{k},1,1,00:00:01,00:00:02'
                        for i, (u, s, e, d, k) in enumerate(rows, 1)]
    path.write_text("\n".join(lines) + "\n")


def test_meld_csvs_with_audio_folder_and_video_extraction(tmp_path):
    root = tmp_path / "MELD.Raw"
    root.mkdir()
    _meld_csv(root / "train_sent_emo.csv", [("Oh, my God!", "Monica", "surprise", 0, 0),
                                            ("Fine, thanks.", "Ross", "joy", 0, 1),
                                            ("Missing clip", "Joey", "anger", 0, 2)])
    _meld_csv(root / "test_sent_emo.csv", [("What?", "Rachel", "anger", 3, 0)])
    audio = tmp_path / "audio"
    _wav(audio / "train" / "dia0_utt0.wav")
    _wav(audio / "dia0_utt1.flac".replace(".flac", ".wav"))
    # the test clip only exists as video: ffmpeg extracts it
    video_dir = root / "output_repeated_splits_test"
    video_dir.mkdir()
    src = _wav(tmp_path / "src.wav")
    if subprocess.run(["which", "ffmpeg"], capture_output=True).returncode != 0:
        pytest.skip("ffmpeg missing")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1",
                    "-i", str(src), "-shortest", "-c:v", "libx264", "-c:a", "aac", str(video_dir / "dia3_utt0.mp4")],
                   check=True)
    rows, counts = meld.build(root, audio_dir=audio, cache_dir=tmp_path / "cache", splits=("train", "test"))
    assert [(r["split"], r["emotion"]) for r in rows] == [("train", "surprise"), ("train", "joy"), ("test", "anger")]
    assert counts == {"missing": 1}
    extracted = rows[-1]["audio"]
    info = sf.info(extracted)
    assert info.samplerate == 16000 and info.channels == 1 and info.duration == pytest.approx(1.0, abs=0.1)
    assert rows[0]["label_set"] == "meld7" and rows[0]["transcript"] == "Oh, my God!"


def test_speechcraft_json_and_jsonl(tmp_path):
    _wav(tmp_path / "audio" / "POD0000" / "POD0000_0001.wav")
    _wav(tmp_path / "audio" / "YOU0001_0002.flac".replace(".flac", ".wav"))
    data = {"POD0000_0001": {"pitch": "High", "speed": "normal", "energy": "low", "gender": "Female",
                             "emotion": "Happy", "emphasis": "wonderful", "transcript": "what a wonderful day",
                             "instruction": "A woman with high pitch says \"what a wonderful day\" happily."},
            "YOU0001_0002": {"pitch": "low", "emotion": "Bored", "transcript": "ok"},
            "GONE_0003": {"pitch": "low", "emotion": "Sad"}}
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    rows, skipped = speechcraft.build(path, tmp_path / "audio")
    assert skipped == {"no_audio": 1, "unknown_emotion": 1}
    [row] = rows
    assert row["descriptors"] == {"pitch": "high", "speed": "normal", "volume": "low"}
    assert row["descriptor_source"]["volume"] == "corpus" and row["emphasis"] == ["wonderful"]
    assert row["emotion"] == "happy" and row["gender"] == "female" and row["caption"].startswith("A woman")
    assert manifest.compose_caption(row).startswith("Emotion: happy. A woman")
    assert manifest.compose_caption(row, ("trans", "emo")).startswith("Emotion: happy.")  # composed, no descriptors
    jl = tmp_path / "labels.jsonl"
    jl.write_text(json.dumps({"key": "POD0000_0001", "emotion": "sad", "text": "hi"}) + "\n")
    rows, _ = speechcraft.build(jl, tmp_path / "audio")
    assert rows[0]["transcript"] == "hi" and rows[0]["emotion"] == "sad"


def test_emosec_reads_the_secap_release_layout(tmp_path, capsys):
    # SECap's dataset/: Kaldi wav.scp + text.txt (space or tab after the id) + fid2captions.json, wav paths
    # relative to the repository root
    data = tmp_path / "SECap" / "dataset"
    _wav(data / "wav" / "tx_emotion_00201000015.wav")
    _wav(data / "wav" / "tx_emulate_00_060_0001_000030.wav")
    (data / "wav.scp").write_text("tx_emotion_00201000015 dataset/wav/tx_emotion_00201000015.wav\n"
                                  "tx_emulate_00_060_0001_000030 dataset/wav/tx_emulate_00_060_0001_000030.wav\n"
                                  "tx_gone dataset/wav/tx_gone.wav\n")
    (data / "text.txt").write_text("tx_emotion_00201000015 一年又一年,一日复一日。 \n"
                                   "tx_emulate_00_060_0001_000030\t太正确了，训练有素。\n")
    (data / "fid2captions.json").write_text(json.dumps({"tx_emotion_00201000015": "悲伤逆流成河",
                                                        "tx_emulate_00_060_0001_000030": ["心情畅快", "语气坚定"],
                                                        "tx_gone": "x"}, ensure_ascii=False))
    rows, counts = emosec.build(data)
    assert counts == {"no_audio": 1, "no_caption": 0} and len(rows) == 2
    first, second = rows
    assert first["caption"] == "悲伤逆流成河" and first["emotion"] is None and first["split"] == "test"
    assert first["meta"]["transcript"] == "一年又一年,一日复一日。" and first["transcript"] is None
    assert second["meta"]["captions"] == ["心情畅快", "语气坚定"] and second["meta"]["id"].startswith("tx_emulate")
    english = tmp_path / "en.json"
    english.write_text(json.dumps({"tx_emotion_00201000015": "Sorrow flows like a river."}))
    rows, counts = emosec.build(data, captions=english)
    assert [r["caption"] for r in rows] == ["Sorrow flows like a river."] and counts["no_caption"] == 2
    with pytest.raises(manifest.ManifestError, match="dataset/"):
        emosec.build(tmp_path)
    from train.__main__ import main
    assert main(["prepare", "emosec", "--root", str(data), "--out-dir", str(tmp_path / "m"), "--no-measure"]) == 0
    assert len(manifest.read_manifest(tmp_path / "m" / "manifest.jsonl")) == 2


def test_folder_layouts(tmp_path):
    _wav(tmp_path / "a" / "Excited" / "one.wav")
    (tmp_path / "a" / "Excited" / "one.txt").write_text("great news")
    _wav(tmp_path / "a" / "sad" / "two.wav")
    rows = folder.build(tmp_path / "a")
    assert sorted((r["emotion"], r["transcript"]) for r in rows) == [("happy", "great news"), ("sad", None)]
    _wav(tmp_path / "b" / "x.wav")
    (tmp_path / "b" / "labels.csv").write_text("file,emotion,split\nx.wav,anger,test\n")
    [row] = folder.build(tmp_path / "b", label_set="meld7")
    assert (row["emotion"], row["split"]) == ("anger", "test")
    with pytest.raises(manifest.ManifestError):
        folder.build(tmp_path / "empty_does_not_exist")


def test_manifest_round_trip_dedup_and_caption_targets(tmp_path):
    row = manifest.make_row(audio="clip.wav", transcript="hello there", emotion="angry", label_set="iemocap4",
                            split="train", source="x", descriptors={"pitch": "high", "speed": "fast"},
                            emphasis=["there"], gender="male", audio_sha256="a" * 64)
    path = manifest.write_manifest([row, dict(row, split="test")], tmp_path / "m.jsonl")
    back = manifest.read_manifest(path)
    assert back[0]["audio"] == str((tmp_path / "clip.wav").resolve()) and back[0]["weight"] == 1.0
    assert len(manifest.dedup_by_hash(back)) == 1
    assert [r["split"] for r in manifest.read_manifest(path, split="test")] == ["test"]
    rng = random.Random(0)
    full = manifest.compose_caption(row, rng=rng)
    assert full.startswith("Emotion: angry.") and '"hello there"' in full and "high pitch" in full
    no_trans = manifest.compose_caption(row, ("des", "emo"), rng=rng)
    assert "hello there" not in no_trans and "high pitch" in no_trans
    no_des = manifest.compose_caption(row, ("trans", "emo"), rng=rng)
    assert "hello there" in no_des and "pitch" not in no_des
    (tmp_path / "bad.jsonl").write_text('{"audio": "x"}\n')
    with pytest.raises(manifest.ManifestError, match="bad.jsonl:1"):
        manifest.read_manifest(tmp_path / "bad.jsonl")


def test_synthetic_generator_splits_are_disjoint(tmp_path):
    path = synthetic_corpus(tmp_path, n_train=12, n_test=8, n_test_voices=4, n_test_sentences=8)
    rows = manifest.read_manifest(path)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    assert len(train) == 12 and len(test) == 8
    assert not {r["transcript"] for r in train} & {r["transcript"] for r in test}  # held-out sentences
    assert not {r["speaker"] for r in train} & {r["speaker"] for r in test}        # held-out voices
    assert {r["emotion"] for r in test} == {"neutral", "happy", "angry", "sad"}
    assert all(r["meta"]["synthetic"] and r["source"] == "synthetic-espeak-ng" for r in rows)
    assert "NOT real emotional speech" in (tmp_path / "README.md").read_text()
    # the prosody profiles are audible: sad clips are slower (longer per word) than angry clips
    dur = {e: np.mean([r["duration_s"] / len(r["transcript"].split()) for r in rows if r["emotion"] == e])
           for e in ("sad", "angry")}
    assert dur["sad"] > 1.2 * dur["angry"]
    samples, sr = sf.read(train[0]["audio"], dtype="float32")
    assert sr == 16000 and samples_sha256(samples) == train[0]["audio_sha256"]


def test_augment_tempo_speeds_up_keeping_pitch_and_rebins_speed():
    from emoexplain.acoustics import frame_track
    from emoexplain.probes import tempo_ratio
    from train import augment as A

    t = np.arange(32000) / 16000
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)                    # a voiced contour with syllable-rate energy
    samples = (0.3 * np.sin(2 * np.pi * np.cumsum(f0) / 16000) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
               ).astype(np.float32)
    row = {"descriptors": {"speed": "normal", "pitch": "normal", "volume": "normal"},
           "descriptor_source": {}, "gender": None,
           "meta": {"measured": {"rate.syllables_per_s": 4.8, "pitch.median_hz": 150.0, "energy.mean_db": -20.0}}}
    out, new_row = A.augment(samples, row, {"p_tempo": 1.0, "tempo_range": [1.25, 1.25]}, random.Random(0))
    assert len(out) == pytest.approx(len(samples) / 1.25, rel=0.02)
    before, after = frame_track(samples), frame_track(out)
    assert tempo_ratio(before, after) == pytest.approx(1.25, rel=0.05)
    assert np.nanmedian(after.f0_hz) == pytest.approx(np.nanmedian(before.f0_hz), rel=0.02)   # pitch kept
    assert new_row["descriptors"]["speed"] == "fast"       # 4.8 * 1.25 = 6.0 syllables/s
    from emoexplain.descriptors import bin_value
    assert new_row["descriptors"]["pitch"] == bin_value("pitch", 150.0, gender=None).word    # its number unchanged


def test_augment_speed_changes_duration_and_rebins_speed():
    from train import augment as A

    samples = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    row = {"descriptors": {"speed": "normal", "pitch": "normal", "volume": "normal"},
           "descriptor_source": {"speed": "automatic", "pitch": "human"}, "gender": None,
           "meta": {"measured": {"rate.syllables_per_s": 4.8, "pitch.median_hz": 150.0, "energy.mean_db": -20.0}}}
    out, new_row = A.augment(samples, row, {"p_speed": 1.0, "speed_range": [1.1, 1.1]}, random.Random(0))
    factor = A.quantize_speed(1.1)                         # 16000 / 14500: the resampling rate is a multiple of 100 Hz
    assert factor == pytest.approx(16000 / 14500) and abs(factor - 1.1) < 0.004 * 1.1
    assert len(out) == pytest.approx(16000 / factor, abs=2)
    assert new_row["descriptors"]["speed"] == "fast"       # 4.8 * 1.1 = 5.28 syllables/s (bins: 3.2, 5.0)
    assert new_row["descriptors"]["pitch"] == "normal"     # a human word is never overwritten
    assert row["descriptors"]["speed"] == "normal"         # the input row is untouched
    noisy, same = A.augment(samples, row, {"p_noise": 1.0, "snr_db": [10.0, 10.0]}, random.Random(0))
    snr = 10 * np.log10(np.mean(samples ** 2) / np.mean((noisy - samples) ** 2))
    assert snr == pytest.approx(10.0, abs=0.5) and same is row
    louder, r2 = A.augment(samples, row, {"p_gain": 1.0, "gain_db": 0.0}, random.Random(0))
    np.testing.assert_allclose(louder, samples, atol=1e-6)


def test_quantize_speed_keeps_rates_on_a_100_hz_grid():
    from train.augment import quantize_speed
    for f in (0.93, 0.97, 1.0, 1.0123, 1.07):
        q = quantize_speed(f)
        assert abs(q - f) <= 0.004 * f
        assert round(16000 / q) % 100 == 0


def test_augment_pitch_shift_keeps_length():
    from train.augment import shift_pitch
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    up = shift_pitch(tone, 12.0)
    assert len(up) == len(tone)
    spectrum = np.abs(np.fft.rfft(up[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert peak_hz == pytest.approx(400, rel=0.05)

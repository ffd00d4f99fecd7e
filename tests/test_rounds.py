"""Rounds of learning from people (issue 9): the schedule follows the data, the split never shares a clip, the
gate, every bad store, and a real round on 3 corrections that moves the model toward what people said."""

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from emoexplain.errors import ConfigError, RoundError
from train import schedule as sched
from train.config import TrainConfig
from train.rounds.config import RoundConfig
from train.rounds.plan import planned_steps, round_schedule, ser_epochs, steps_per_epoch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "assets" / "demo_checkpoint"
FROM_STORE = REPO / "train" / "configs" / "from_store.json"


# --- schedule ------------------------------------------------------------------------------------------------
def test_every_count_from_1_to_10000_reaches_the_ser_sed_asr_loss_epochs_per_stage_times():
    base = TrainConfig.from_file(FROM_STORE)
    assert planned_steps(base, 8)[sched.SER] == 0  # the old step blocks: 8 rows never left the ASR block
    for n in range(1, 10_001):
        cfg = round_schedule(base, n)
        steps = planned_steps(cfg, n)
        per_epoch = steps_per_epoch(cfg, n)
        assert steps[sched.SER] == steps[sched.ASR] == cfg.epochs_per_stage * per_epoch
        assert ser_epochs(cfg, n) == cfg.epochs_per_stage
        # the loop's own stage function: the last epoch is SER-SED+ASR, so the round ends on the corrections
        last = sched.total_epochs(cfg.schedule, cfg.epochs_per_stage) - 1
        assert sched.stage_at(cfg.schedule, last, 0, epochs_per_stage=cfg.epochs_per_stage,
                              alternate_by=cfg.alternate_by) == sched.SER


def test_a_schedule_that_never_reaches_ser_sed_asr_is_refused():
    with pytest.raises(ConfigError, match="never reaches ser_sed_asr"):
        round_schedule(TrainConfig.from_file(FROM_STORE, ["--schedule=one-stage"]), 10)
    with pytest.raises(ConfigError, match="never\\s+reach the ser_sed_asr"):
        round_schedule(TrainConfig.from_file(FROM_STORE, ["--max_steps=1"]), 40)
    with pytest.raises(ConfigError, match="SER-SED\\+ASR epochs"):
        round_schedule(TrainConfig.from_file(FROM_STORE, ["--max_steps=7"]), 40)  # 5 steps/epoch: 1 of 2
    two = round_schedule(TrainConfig.from_file(FROM_STORE, ["--schedule=two-stage"]), 3)
    assert planned_steps(two, 3) == {sched.ASR: 2, sched.SER: 2}


def test_round_settings_are_checked_like_training_settings():
    cfg = RoundConfig.from_overrides(["--lr_ser=1e-3", "--round.min_gain=0.2", "--round.gate_rule=significant"])
    assert (cfg.min_gain, cfg.gate_rule) == (0.2, "significant")
    with pytest.raises(ConfigError, match="min_gian"):
        RoundConfig.from_overrides(["--round.min_gian=0.2"])
    with pytest.raises(ConfigError, match="gate_rule"):
        RoundConfig.from_overrides(["--round.gate_rule=vibes"])


# --- split ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 5, 17, 40, 99, 100, 250])
def test_the_split_never_puts_one_clip_on_both_sides(n):
    from train.rounds.split import split_corrections

    rng = random.Random(n)
    # duplicates on purpose: some clips appear in several rows (e.g. judged twice)
    rows = [{"audio_sha256": f"clip{rng.randrange(max(2, n - n // 4))}", "emotion": rng.choice("nhs"), "audio": ""}
            for _ in range(n)]
    cfg = RoundConfig()
    clips = len({r["audio_sha256"] for r in rows})
    for seed in range(3):
        split = split_corrections(rows, cfg, seed=seed)
        if clips == 1:
            assert split.mode == "none"
            continue
        for train, held in split.folds:
            assert not {r["audio_sha256"] for r in train} & {r["audio_sha256"] for r in held}
            assert held and len(train) + len(held) == len(rows)
        if clips < cfg.kfold_below:  # k-fold: every correction judged exactly once
            assert split.mode == "kfold" and len(split.folds) == min(cfg.folds, clips)
            assert sorted(id(r) for _, h in split.folds for r in h) == sorted(id(r) for r in rows)
        else:
            assert split.mode == "holdout" and abs(split.n_eval / len(rows) - cfg.holdout_fraction) < 0.1


def test_a_single_correction_cannot_be_held_out():
    from train.rounds.split import split_corrections
    assert split_corrections([{"audio_sha256": "a", "emotion": "sad", "audio": ""}], RoundConfig()).folds == ()


def test_replay_fills_the_classes_people_did_not_correct():
    from train.rounds.recipes import balanced_order

    order = balanced_order({"neutral": 100, "happy": 100, "angry": 100, "sad": 100},
                           {"neutral": 13, "happy": 14, "sad": 13}, 40)
    assert Counter(order) == {"angry": 20, "neutral": 7, "sad": 7, "happy": 6}
    assert balanced_order({"angry": 2, "sad": 100}, {"sad": 60}, 10).count("angry") == 2  # never more than the pool


def test_a_holdout_split_of_fewer_clips_than_parts_still_splits():
    from train.rounds.split import split_corrections

    rows = [{"audio_sha256": f"clip{i}", "emotion": "nhs"[i], "audio": ""} for i in range(3)]
    split = split_corrections(rows, RoundConfig(kfold_below=2, holdout_fraction=0.1))  # 10 parts, 3 clips
    assert split.mode == "holdout" and len(split.folds) == 1 and len(split.folds[0][1]) == 1


# --- scoring and gate ----------------------------------------------------------------------------------------
LABELS = ["neutral", "happy", "angry", "sad"]


def _heldout(n_right_before, n_right_after, n=40):
    from train.rounds.scoring import compare
    refs = [LABELS[[0, 1, 3][i % 3]] for i in range(n)]
    wrong = lambda r: "angry"  # noqa: E731
    before = [r if i < n_right_before else wrong(r) for i, r in enumerate(refs)]
    after = [r if i < n_right_after else wrong(r) for i, r in enumerate(refs)]
    return compare(refs, before, after, LABELS, n_resamples=500)


def _test(before_ua, after_ua):
    return {"measured": True, "before": {"ua": before_ua}, "after": {"ua": after_ua}}


def test_agreement_difference_comes_with_mcnemar_and_a_bootstrap_interval():
    h = _heldout(10, 30)
    assert h["before"]["accuracy"] == 0.25 and h["after"]["accuracy"] == 0.75
    assert (h["mcnemar"]["b"], h["mcnemar"]["c"]) == (20, 0) and h["mcnemar"]["p"] < 1e-4
    low, high = h["bootstrap_95"]["accuracy"]
    assert 0.3 < low < 0.5 < high < 0.7
    assert set(h["after"]["per_class_recall"]) == {"neutral", "happy", "sad"}  # the classes people used


def test_the_gate_promotes_only_a_real_improvement_without_forgetting():
    from train.rounds.gate import PROMOTED, REJECTED, decide

    cfg = RoundConfig()
    assert decide(_heldout(10, 30), _test(0.66, 0.65), cfg)[0] == PROMOTED
    status, reasons = decide(_heldout(10, 13), _test(0.66, 0.66), cfg)  # +7.5 points < 10
    assert status == REJECTED and "fails" in reasons[0]
    status, reasons = decide(_heldout(10, 30), _test(0.66, 0.63), cfg)  # forgot 3 points > 2
    assert status == REJECTED and "fails" in reasons[1]
    status, reasons = decide(_heldout(10, 30), {"measured": False, "reason": "manifest gone"}, cfg)
    assert status == REJECTED and "unmeasured" in reasons[1] and "manifest gone" in reasons[1]
    status, reasons = decide(_heldout(1, 3, n=3), _test(0.66, 0.66), cfg)  # too few held-out corrections
    assert status == REJECTED and "at least 10" in reasons[0]
    recall = lambda angry: {"neutral": 0.6, "happy": 0.3, "angry": angry, "sad": 0.9}  # noqa: E731
    held_class = {"measured": True, "before": {"ua": 0.66, "per_class_recall": recall(0.79)},
                  "after": {"ua": 0.65, "per_class_recall": recall(0.53)}}  # UA -1 point hides angry -26
    status, reasons = decide(_heldout(10, 30), held_class, RoundConfig(max_class_drop=0.10))
    assert status == REJECTED and "recall of angry -26.0 points" in reasons[2] and "fails" in reasons[2]
    assert decide(_heldout(10, 30), held_class, RoundConfig(max_class_drop=0.3))[0] == PROMOTED
    status, reasons = decide(_heldout(10, 30), held_class, cfg)  # the default: said, not gated
    assert status == PROMOTED and "angry -26.0 points" in reasons[2] and "not gated" in reasons[2]
    significant = RoundConfig(gate_rule="significant", min_gain=0.5)
    assert decide(_heldout(10, 30), _test(0.66, 0.66), significant)[0] == PROMOTED
    assert decide(_heldout(10, 14), _test(0.66, 0.66), RoundConfig(gate_rule="significant"))[0] == REJECTED


# --- bad input: a clear message, nothing written --------------------------------------------------------------
def _explanation(label, label_set="iemocap4"):
    probs = {"neutral": 0.4, "happy": 0.2, "angry": 0.2, "sad": 0.2} if label_set == "iemocap4" else {label: 1.0}
    return {"emotion": {"label": label, "probabilities": probs}, "transcript": "a clip", "caption": f"Emotion: {label}.",
            "descriptors": {"model": {}, "measured": [], "disagreements": []},
            "model": {"name": "emoexplain-tiny", "version": "parent", "label_set": label_set},
            "acoustics": {"duration_s": 2.0}, "latency_s": {"total": 0.1}}


def _store(path, clips, *, consent=True, label_set="iemocap4", emotion="sad"):
    from emoexplain.audio import load_audio
    from emoexplain.store import open_store, record_analysis, record_judgement

    store = open_store(path)
    for clip in clips:
        audio = load_audio(str(clip))
        aid = record_analysis(store, _explanation("neutral" if label_set == "iemocap4" else "joy", label_set),
                              audio_sha256=audio.sha256, duration_s=audio.duration_s, sample_rate=16000,
                              source="upload", label_set=label_set)
        record_judgement(store, aid, annotator="ada", emotion=emotion, consent=consent,
                         audio_path=str(clip) if consent else None, transcript="the farmer sold the red door")
    store.close()
    return path


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _refused(tmp_path, capsys, db) -> tuple[int, str, bool]:
    """Run a round on ``db``: (exit code, stderr, whether nothing was written: no round folder, store unchanged)."""
    from train.__main__ import main

    before = _digest(db) if Path(db).exists() else None
    out = tmp_path / "round"
    code = main(["from-store", "--db", str(db), "--checkpoint", str(DEMO), "--out", str(out)])
    err = capsys.readouterr().err
    untouched = not out.exists() and (_digest(db) if Path(db).exists() else None) == before
    return code, err, untouched


@pytest.fixture
def clips(corrected_clips):
    return corrected_clips


def test_a_missing_or_empty_store_says_to_collect_corrections(tmp_path, capsys):
    from emoexplain.store import open_store

    code, err, untouched = _refused(tmp_path, capsys, tmp_path / "nowhere.db")
    assert code == 2 and "no annotation store" in err and "Traceback" not in err and untouched, err
    open_store(tmp_path / "empty.db").close()
    code, err, untouched = _refused(tmp_path, capsys, tmp_path / "empty.db")
    assert code == 2 and "no corrections yet" in err and "Traceback" not in err and untouched, err


def test_judgements_without_consent_say_that_audio_is_needed(tmp_path, capsys, clips):
    db = _store(tmp_path / "app" / "emoexplain.db", clips, consent=False)
    code, err, untouched = _refused(tmp_path, capsys, db)
    assert code == 2 and "tick consent" in err and "Traceback" not in err and untouched, err


def test_corrections_whose_audio_is_gone_say_to_restore_it(tmp_path, capsys, clips):
    db = _store(tmp_path / "app" / "emoexplain.db", clips)
    for f in (tmp_path / "app" / "audio").iterdir():
        f.unlink()
    code, err, untouched = _refused(tmp_path, capsys, db)
    assert code == 2 and "audio files are gone" in err and "Traceback" not in err and untouched, err


def test_a_parent_with_another_label_set_is_refused(tmp_path, capsys, clips):
    db = _store(tmp_path / "app" / "emoexplain.db", clips, label_set="meld7", emotion="sadness")
    code, err, untouched = _refused(tmp_path, capsys, db)
    assert code == 2 and "label set meld7, but this checkpoint predicts iemocap4" in err, err
    assert "Traceback" not in err and untouched


# --- a real round --------------------------------------------------------------------------------------------
def test_a_round_on_3_corrections_trains_ser_sed_and_moves_them_toward_people(tmp_path, clips):
    import numpy as np
    import torch

    from emoexplain.model import load_explainer
    from emoexplain.store import open_store
    from train.data.manifest import load_samples
    from train.__main__ import main

    torch.set_num_threads(1)
    parent = load_explainer(str(DEMO), device="cpu")
    samples = [load_samples({"audio": str(c)}) for c in clips]
    p_before = parent.score_labels(samples)[:, parent.labels.index("sad")]
    db = _store(tmp_path / "app" / "emoexplain.db", clips, emotion="sad")  # people: all three are sad
    out = tmp_path / "round"
    assert main(["from-store", "--db", str(db), "--checkpoint", str(DEMO), "--out", str(out),
                 "--epochs_per_stage=4", "--progress=false", "--tensorboard=false", "--round.parent_test_max=8",
                 f"--round.cache_dir={tmp_path / 'cache'}", "--round.min_eval=3"]) == 0
    ckpt = out / "checkpoint"
    report = json.loads((ckpt / "round.json").read_text())
    assert {"status", "reasons", "heldout_human", "parent_test", "steps", "n_train", "n_eval", "seconds"} <= set(report)
    assert report["status"] in ("promoted", "rejected") and report["reasons"]
    # 3 corrections + 3 replay rows, batch 8: one step per epoch, 4 epochs in each stage
    assert (report["steps"]["asr"], report["steps"]["ser_sed_asr"]) == (4, 4)
    assert report["n_train"] == 3 and report["n_replay"] == 3 and report["n_eval"] == 3  # k-fold: each judged once
    assert report["split"]["mode"] == "kfold" and report["parent_test"]["measured"] and report["parent_test"]["n"] == 8
    candidate = load_explainer(str(ckpt), device="cpu")
    p_after = candidate.score_labels(samples)[:, candidate.labels.index("sad")]
    # every corrected clip: the people's label at least twice as likely as under the parent (measured 2.5-4.2x
    # with the session-6 demo, ~20x with the earlier one; a round whose SER-SED stage never ran moves it ~1x)
    assert np.all(np.log(p_after) - np.log(p_before) > np.log(2)), (p_before, p_after)
    card = (ckpt / "README.md").read_text()
    assert "This is not a real emotion recognizer" in card and report["status"] in card
    info = json.loads((ckpt / "config.json").read_text())
    assert info["data"] == json.loads((DEMO / "config.json").read_text())["data"]  # judged on the same test set
    store = open_store(db)
    [row] = store.read("SELECT * FROM training_runs")
    store.close()
    assert json.loads(row["metrics"])["steps_ser_sed_asr"] == 4 and row["checkpoint"] == str(ckpt)
    assert json.loads(row["extra"])["round"]["status"] == report["status"]

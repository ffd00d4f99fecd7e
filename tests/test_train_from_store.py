"""from-store on a checkpoint made by ``python -m train fit``: its manifest is the replay pool and its test split
the forgetting set; when that manifest is gone the round says so loudly and cannot promote."""

import json
import shutil

import pytest

from helpers import synthetic_corpus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _explanation(label):
    return {"emotion": {"label": label, "probabilities": {"neutral": 0.4, "happy": 0.2, "angry": 0.2, "sad": 0.2}},
            "transcript": "the farmer sold the red door", "caption": f"Emotion: {label}.",
            "descriptors": {"model": {"pitch": "normal"}, "measured": [{"name": "volume", "value": "low"}],
                            "disagreements": []},
            "model": {"name": "emoexplain-tiny", "version": "parent"}, "acoustics": {"duration_s": 2.0},
            "latency_s": {"total": 0.1}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_train=8, n_test=4, n_test_voices=2,
                            n_test_sentences=4)


@pytest.fixture(scope="module")
def parent(tmp_path_factory, corpus):
    import torch

    from train.__main__ import main

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("parent")
    assert main(["fit", "--config", "train/configs/debug_cpu.json", f"--train_manifest={corpus}",
                 f"--out_dir={out}/{{name}}"]) == 0
    return out / "debug_cpu" / "checkpoint"


def _store(tmp_path, corpus):
    from emoexplain.store import open_store, record_analysis, record_judgement
    from train.data.manifest import read_manifest

    db = tmp_path / "app" / "emoexplain.db"
    store = open_store(db)
    rows = read_manifest(corpus, split="train")
    for i, row in enumerate(rows[:4]):  # three with consent (audio kept), one without (not trainable)
        aid = record_analysis(store, _explanation("neutral"), audio_sha256=row["audio_sha256"],
                              duration_s=row["duration_s"], sample_rate=16000, source="upload")
        record_judgement(store, aid, annotator="ada", emotion="sad", consent=i < 3,
                         audio_path=row["audio"] if i < 3 else None)
    store.close()
    return db


ARGS = ["--epochs_per_stage=1", "--batch_size=2", "--progress=false", "--tensorboard=false"]


def test_a_round_from_a_corpus_checkpoint_replays_its_manifest_and_tests_on_its_split(tmp_path, corpus, parent):
    from emoexplain.model import load_explainer
    from emoexplain.store import open_store
    from train.__main__ import main

    db = _store(tmp_path, corpus)
    out = tmp_path / "round1"
    assert main(["from-store", "--db", str(db), "--checkpoint", str(parent), "--out", str(out), *ARGS]) == 0
    ckpt = out / "checkpoint"
    report = json.loads((ckpt / "round.json").read_text())
    assert report["n_corrections"] == 3 and report["n_replay"] == 3 and report["filters"]["rows"] == 3
    assert report["parent_test"]["measured"] and report["parent_test"]["n"] == 4  # the manifest's test split
    assert str(corpus) in report["replay_source"] and report["parent"]["checkpoint"] == str(parent)
    assert "+store." in json.loads((ckpt / "config.json").read_text())["version"]
    store = open_store(db)
    [rec] = store.read("SELECT * FROM training_runs")
    store.close()
    assert rec["base_checkpoint"] == str(parent) and rec["checkpoint"] == str(ckpt) and rec["n_examples"] == 6
    assert json.loads(rec["metrics"])["status"] == report["status"]
    load_explainer(str(ckpt), device="cpu")  # the new checkpoint loads


def test_without_the_parents_data_forgetting_is_unmeasured_and_the_round_cannot_promote(tmp_path, corpus, parent,
                                                                                        capsys):
    from train.__main__ import main

    moved = tmp_path / "parent"
    shutil.copytree(parent, moved)
    info = json.loads((moved / "config.json").read_text())
    info["train_config"]["train_manifest"] = str(tmp_path / "gone" / "manifest.jsonl")  # a fresh clone lacks it
    (moved / "config.json").write_text(json.dumps(info))
    db = _store(tmp_path, corpus)
    out = tmp_path / "round"
    assert main(["from-store", "--db", str(db), "--checkpoint", str(moved), "--out", str(out), *ARGS,
                 "--round.min_eval=1", "--round.min_gain=0"]) == 0
    err = capsys.readouterr().err
    assert "FORGETTING WILL NOT BE MEASURED" in err and "NO REPLAY" in err
    report = json.loads((out / "checkpoint" / "round.json").read_text())
    assert report["status"] == "rejected" and report["n_replay"] == 0
    assert report["parent_test"]["measured"] is False and report["parent_test"]["after"] is None
    assert any("forgetting unmeasured" in r for r in report["reasons"])
    assert len(report["warnings"]) == 2

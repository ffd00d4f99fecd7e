"""from-store: a store filled through the store API -> a further training round -> a recorded run."""

import json

import pytest

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
    from train.data.synthetic import SyntheticSpec, check_tools, generate
    try:
        check_tools()
    except Exception as e:  # noqa: BLE001
        pytest.skip(str(e))
    return generate(tmp_path_factory.mktemp("corpus"), SyntheticSpec(n_train=8, n_test=4, n_test_voices=2,
                                                                     n_test_sentences=4),
                    measure=False, workers=1, progress=False)


def test_from_store_trains_and_records_the_run(tmp_path, corpus):
    import torch

    from emoexplain.model import load_explainer
    from emoexplain.store import open_store, record_analysis, record_judgement
    from train.__main__ import main
    from train.data.manifest import read_manifest

    torch.set_num_threads(1)
    # parent checkpoint: the debug config trained on the synthetic corpus (its manifest is the replay pool)
    assert main(["fit", "--config", "train/configs/debug_cpu.json", f"--train_manifest={corpus}",
                 f"--out_dir={tmp_path}/{{name}}"]) == 0
    parent = tmp_path / "debug_cpu" / "checkpoint"
    # the store: three clips judged with consent (audio kept), one without consent (no audio: not trainable)
    db = tmp_path / "app" / "emoexplain.db"
    store = open_store(db)
    rows = read_manifest(corpus, split="train")
    for i, row in enumerate(rows[:4]):
        aid = record_analysis(store, _explanation("neutral"), audio_sha256=row["audio_sha256"],
                              duration_s=row["duration_s"], sample_rate=16000, source="upload")
        record_judgement(store, aid, annotator="ada", emotion="sad", consent=i < 3,
                         audio_path=row["audio"] if i < 3 else None)
    store.close()

    out = tmp_path / "round1"
    assert main(["from-store", "--db", str(db), "--checkpoint", str(parent), "--out", str(out),
                 "--max_steps=3", "--batch_size=2", "--progress=false", "--tensorboard=false",
                 "--max_eval_examples=2"]) == 0
    ckpt = out / "checkpoint"
    info = json.loads((ckpt / "config.json").read_text())
    assert "+store." in info["version"]
    run = json.loads((ckpt / "training_run.json").read_text())
    assert run["data_counts"]["corrections"] == 3 and run["data_counts"]["replay"] == 3
    assert run["parent"] == str(parent)
    store = open_store(db)
    [rec] = store.read("SELECT * FROM training_runs")
    store.close()
    assert rec["base_checkpoint"] == str(parent) and rec["checkpoint"] == str(ckpt)
    assert rec["n_examples"] == 6
    assert 0.0 <= json.loads(rec["metrics"])["ua"] <= 1.0
    assert json.loads(rec["extra"])["data_counts"]["filters"]["rows"] == 3
    load_explainer(str(ckpt), device="cpu")  # the new checkpoint loads


def test_from_store_with_no_corrections_says_what_to_do(tmp_path, corpus, capsys):
    from emoexplain.store import open_store
    from train.__main__ import main

    db = tmp_path / "empty.db"
    open_store(db).close()
    code = main(["from-store", "--db", str(db), "--checkpoint", "assets/demo_checkpoint", "--out", str(tmp_path / "x")])
    assert code == 2 and "no usable corrections" in capsys.readouterr().err

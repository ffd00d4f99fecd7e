"""A campaign's consensus feeds `python -m train from-store --campaign NAME` (tiny model, a few steps)."""

import json

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_from_store_trains_on_a_campaigns_consensus(tmp_path, synth_speech, capsys):
    pytest.importorskip("emoexplain.acoustics")
    import torch

    from emoexplain.model import load_explainer
    from emoexplain.store import campaigns as C
    from emoexplain.store import open_store
    from train.__main__ import main

    torch.set_num_threads(1)
    src = tmp_path / "src"
    src.mkdir()
    for i, (pitch, rate) in enumerate(((20, 120), (80, 200), (50, 160))):
        (src / f"s{i}.wav").write_bytes(synth_speech("the farmer sold the red door", pitch=pitch,
                                                     rate=rate).read_bytes())
    db = tmp_path / "data" / "emoexplain.db"
    store = open_store(db)
    explainer = load_explainer("assets/demo_checkpoint")
    C.create_campaign(store, "pilot", src, per_clip=2, label_set="iemocap4", owner="lab")
    assert C.analyse_campaign(store, "pilot", explainer=explainer, generate=False).wait(120)["error"] is None
    answers = {"ada": ["sad", "angry", "happy"], "bob": ["sad", "angry", "sad"]}
    for who, labels in answers.items():
        for label in labels:
            offer = C.next_clip(store, "pilot", who)
            C.submit(store, "pilot", who, analysis_id=offer["analysis_id"], analysis_token=offer["analysis_token"],
                     emotion=label)
    assert len(C.training_examples(store, "pilot")) == 2  # the 1:1 tie has no consensus
    store.close()

    out = tmp_path / "round"
    assert main(["from-store", "--db", str(db), "--checkpoint", "assets/demo_checkpoint", "--campaign", "pilot",
                 "--out", str(out), "--batch_size=2", "--progress=false", "--tensorboard=false",
                 "--round.parent_test_max=4", "--round.bootstrap=100",
                 f"--round.cache_dir={tmp_path / 'cache'}"]) == 0
    report = json.loads((out / "checkpoint" / "round.json").read_text())
    assert report["n_corrections"] == 2 and report["filters"]["rows"] == 2
    assert main(["from-store", "--db", str(db), "--checkpoint", "assets/demo_checkpoint", "--campaign", "nope",
                 "--out", str(tmp_path / "x")]) == 2
    assert "No campaign named 'nope'" in capsys.readouterr().err

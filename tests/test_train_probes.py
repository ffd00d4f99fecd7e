"""``python -m train eval --probe``: probes and faithfulness over a manifest (train/evaluate/probes.py)."""

import json

from train.data.manifest import write_manifest


def _manifest(tmp_path, synth_speech):
    rows = []
    for i, (emotion, pitch, rate) in enumerate((("sad", 20, 120), ("happy", 80, 190), ("sad", 25, 125),
                                                ("happy", 85, 200))):
        audio = synth_speech(f"The driver fixed the red door number {i}.", pitch=pitch, rate=rate)
        rows.append({"audio": str(audio), "transcript": None, "emotion": emotion, "label_set": "iemocap4",
                     "split": "test" if i < 2 else "train", "source": "test",
                     "descriptors": {"pitch": "low" if pitch < 50 else "high", "speed": "slow"}})
    return write_manifest(rows, tmp_path / "manifest.jsonl")


def test_eval_probe_writes_pooled_scores(tmp_path, synth_speech, capsys):
    from train.__main__ import main
    manifest = _manifest(tmp_path, synth_speech)
    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", "assets/demo_checkpoint", "--manifest", str(manifest), "--probe",
                 "--probe-clips", "2", "--out", str(out)]) == 0
    result = json.loads((out / "probes.json").read_text())
    assert result["corpus"]["n_clips"] == 2 and len(result["clips"]) == 2
    assert result["associations"].endswith("descriptor_associations.json")   # the checkpoint's table
    s = result["corpus"]["descriptor_sensitivity"]
    assert s["n"] == sum(c["descriptor_sensitivity"]["n"] for c in result["clips"])
    assert "(a) descriptor sensitivity" in (out / "probes.md").read_text()


def test_associations_from_a_manifest_count_its_train_split(tmp_path, synth_speech):
    from emoexplain.model import load_explainer
    from train.evaluate.probes import resolve_associations
    manifest = _manifest(tmp_path, synth_speech)
    table, source = resolve_associations(load_explainer("assets/demo_checkpoint"), None, str(manifest))
    assert source.endswith("[train]") and table["n_rows"] == 2          # the two train rows
    assert table["labels"]["sad"]["pitch"]["low"] > table["labels"]["sad"]["pitch"]["high"]


def test_the_demo_writes_its_association_table_where_the_probes_look(tmp_path):
    from emoexplain.probe_score import load_associations
    from train.data.synthetic import SyntheticSpec
    from train.demo import write_associations
    rows = [{"emotion": "sad", "descriptors": {"pitch": "low"}}, {"emotion": "happy", "descriptors": {"pitch": "high"}}]
    write_associations(tmp_path, rows, ["sad", "happy"], SyntheticSpec(seed=3))
    table = load_associations(tmp_path)
    assert table["n_rows"] == 2 and "seed 3" in table["source"]
    assert table["labels"]["sad"]["pitch"]["low"] > 0 > table["labels"]["sad"]["pitch"]["high"]

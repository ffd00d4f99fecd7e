"""Every shipped training config parses into TrainConfig, and its model overrides into ModelConfig."""

import json
from pathlib import Path

import pytest

from emoexplain.errors import ConfigError
from train.config import TrainConfig, apply_overrides

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "train" / "configs").glob("*.json"))


def test_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {"demo_tiny", "debug_cpu", "from_store"} <= names
    # Table 3: 8 rows (schedules, beta sweep, target combinations)
    assert len([n for n in names if n.startswith("paper_t3_r")]) == 8


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses(path):
    from train import systems

    cfg = TrainConfig.from_file(path)
    assert cfg.to_dict()["name"]
    systems.model_config(cfg)  # raises on an unknown model key or a bad value
    raw = json.loads(path.read_text())
    assert set(raw) - {"_comment"} <= set(cfg.to_dict())  # values only: every key is a TrainConfig field


def test_table3_rows_match_the_paper():
    rows = {p.stem: TrainConfig.from_file(p) for p in CONFIGS if p.stem.startswith("paper_t3_r")}
    by_row = {name.split("_")[2]: cfg for name, cfg in rows.items()}
    assert by_row["r1"].schedule == "one-stage" and by_row["r1"].targets == ("des", "emo")
    assert by_row["r2"].schedule == "two-stage"
    assert by_row["r3"].targets == ("trans", "emo")
    betas = {r: by_row[r].model["beta"] for r in ("r4", "r5", "r6", "r7", "r8")}
    assert betas == {"r4": 1e-2, "r5": 1.0, "r6": 1e-1, "r7": 1e-3, "r8": 1e-4}
    assert all(c.model_preset == "paper" and c.lr_asr == 2e-4 and c.lr_ser == 2e-5 and c.batch_size == 8
               for c in rows.values())


def test_table3_rows_share_one_caption_source():
    # rows 1 and 3 drop a caption part, which only a template can do: every row must then use templates, or the
    # ablation would compare SpeechCraft captions (rows 2, 4-8) with template captions (rows 1, 3)
    rows = [TrainConfig.from_file(p) for p in CONFIGS if p.stem.startswith(("paper_t3_r", "paper_t2_s"))]
    llm = [c for c in rows if c.model_kind == "explainer"]
    assert len(llm) == 8 + 8 and {c.caption_source for c in llm} == {"template"}
    assert {c.train_manifest for c in llm} == {"data/speechcraft_gigaspeech_m/manifest.jsonl"}


def test_table2_systems_match_the_paper():
    t2 = {p.stem: TrainConfig.from_file(p) for p in CONFIGS if p.stem.startswith("paper_t2_s")}
    assert sorted(t2) == sorted(f"paper_t2_s{s}_{c}" for s in range(1, 8) for c in ("iemocap", "meld"))
    t3 = {p.stem.split("_")[2]: TrainConfig.from_file(p) for p in CONFIGS if p.stem.startswith("paper_t3_r")}
    for corpus, label_set, split in (("iemocap", "iemocap4", "Session5"), ("meld", "meld7", "test")):
        ssl = [t2[f"paper_t2_s{s}_{corpus}"] for s in (1, 2, 3)]
        assert [c.model_preset for c in ssl] == ["hubert-large", "wavlm-large", "wav2vec2-large"]
        assert all(c.model_kind == "ssl_baseline" and c.label_set == label_set and c.eval_split == split
                   for c in ssl)
        s4, s5, s6, s7 = (t2[f"paper_t2_s{s}_{corpus}"] for s in (4, 5, 6, 7))
        assert s4.model == {"beta": 0.01, "disentangle": False} and s7.model == {"beta": 0.01}
        # 5-7 are Table 3 rows 3, 1 and 4; 4 is row 4 without the disentanglement
        for system, row in ((s4, t3["r4"]), (s5, t3["r3"]), (s6, t3["r1"]), (s7, t3["r4"])):
            assert (system.schedule, system.targets, system.caption_source) == (row.schedule, row.targets,
                                                                                row.caption_source)
        assert s7.eval_split == split and s7.eval_manifest == f"data/{corpus}/manifest.jsonl"


def test_model_kind_and_caption_source_are_checked():
    with pytest.raises(ConfigError, match="one-stage"):
        TrainConfig(model_kind="ssl_baseline", schedule="alternating")
    with pytest.raises(ConfigError, match="model_kind"):
        TrainConfig(model_kind="whisper")
    with pytest.raises(ConfigError, match="caption_source"):
        TrainConfig(caption_source="speechcraft")


def test_overrides_are_type_checked(tmp_path):
    cfg = TrainConfig.from_file(None, ["--batch_size=4", "--lr_asr=1e-3", "--model.beta=0.1", "--name=123",
                                       "--targets=[\"trans\",\"emo\"]", "--cpu=true"])
    assert (cfg.batch_size, cfg.lr_asr, cfg.model, cfg.name, cfg.targets, cfg.cpu) == \
        (4, 1e-3, {"beta": 0.1}, "123", ("trans", "emo"), True)
    with pytest.raises(ConfigError, match="batch_siz"):
        TrainConfig.from_file(None, ["--batch_siz=4"])
    with pytest.raises(ConfigError, match="integer"):
        TrainConfig.from_file(None, ["--batch_size=four"])
    with pytest.raises(ConfigError, match="true or false"):
        TrainConfig.from_file(None, ["--cpu=1"])
    with pytest.raises(ConfigError, match=r"\['bta'\]; valid keys: .*'beta'"):  # not a TypeError traceback
        TrainConfig.from_file(None, ["--model.bta=0.1"])
    with pytest.raises(ConfigError, match="valid keys"):
        from emoexplain.model import ModelConfig
        ModelConfig.preset("tiny", bta=0.1)
    with pytest.raises(ConfigError, match="schedule"):
        TrainConfig.from_file(None, ["--schedule=zigzag"])
    with pytest.raises(ConfigError, match="emo"):
        TrainConfig.from_file(None, ["--targets=[\"trans\"]"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"learning_rate": 1}')
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_file(bad)


def test_dict_overrides_merge():
    data = apply_overrides({"model": {"beta": 0.01, "use_prosody": True}}, ["--model.beta=1e-3"])
    assert data["model"] == {"beta": 1e-3, "use_prosody": True}
    with pytest.raises(ConfigError):
        apply_overrides({}, ["--batch_size.x=1"])

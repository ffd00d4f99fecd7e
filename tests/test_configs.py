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
    from emoexplain.model import ModelConfig

    cfg = TrainConfig.from_file(path)
    assert cfg.to_dict()["name"]
    ModelConfig.preset(cfg.model_preset, **cfg.model)  # raises on an unknown model key or a bad value
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

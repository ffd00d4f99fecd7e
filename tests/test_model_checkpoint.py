"""Checkpoint folders: save -> load gives identical outputs; wrong backbones raise CheckpointMismatch."""

import json
import shutil

import numpy as np
import pytest
import torch

import helpers
from emoexplain.errors import CheckpointError, CheckpointMismatch
from emoexplain.model import DEFAULT_CHECKPOINT, ModelConfig, TrainExample, build_explainer, load_explainer, \
    save_checkpoint, tiny

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny explainer after a few steps (so weights differ from a fresh build), saved to a folder."""
    torch.manual_seed(1)
    explainer = build_explainer(ModelConfig.preset("tiny"))
    clip = 0.1 * np.random.default_rng(3).standard_normal(20000).astype(np.float32)
    helpers.overfit(explainer, [TrainExample(clip, "Emotion: sad. A woman speaks at a slow pace.", "caption")], steps=3)
    folder = tmp_path_factory.mktemp("ckpt") / "run"
    save_checkpoint(explainer, folder, metrics={"ua": 0.25}, train_config={"steps": 3}, version="test-1")
    return explainer, folder, clip


def test_folder_layout_and_config(trained):
    _, folder, _ = trained
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"config.json", "speech_modules.safetensors", "lora/adapter_config.json",
            "lora/adapter_model.safetensors", "metrics.json", "README.md"} <= names
    info = json.loads((folder / "config.json").read_text())
    assert info["version"] == "test-1" and info["labels"] == ["neutral", "happy", "angry", "sad"]
    assert info["model"]["encoder"] == "assets/tiny_backbones/hubert"   # repo-relative, not this machine's path
    assert {"torch", "transformers", "peft"} <= set(info["packages"]) and info["train_config"] == {"steps": 3}
    lora = json.loads((folder / "lora/adapter_config.json").read_text())
    assert lora["peft_type"] == "LORA" and lora["base_model_name_or_path"] == "assets/tiny_backbones/llm"
    assert "ua" in (folder / "README.md").read_text()


def test_save_then_load_gives_identical_outputs(trained):
    explainer, folder, clip = trained
    loaded = load_explainer(str(folder))
    assert loaded.version == "test-1" and loaded.labels == explainer.labels
    np.testing.assert_array_equal(loaded.score_labels([clip]), explainer.score_labels([clip]))
    a, b = explainer.predict(clip, max_new_tokens=12), loaded.predict(clip, max_new_tokens=12)
    assert a.caption == b.caption and a.probabilities == b.probabilities
    fresh = build_explainer(ModelConfig.preset("tiny"))  # and the weights really came from the folder
    assert not np.array_equal(fresh.score_labels([clip]), loaded.score_labels([clip]))


def test_mismatched_backbone_raises(trained, tmp_path):
    _, folder, _ = trained
    other = tmp_path / "bigger_hubert"
    model = tiny.build_hubert()
    cfg = model.config
    cfg.hidden_size, cfg.num_hidden_layers = 96, 3
    type(model)(cfg).save_pretrained(other)
    with pytest.raises(CheckpointMismatch, match="encoder"):
        load_explainer(str(folder), encoder=str(other))


def test_tampered_weights_raise_mismatch(trained, tmp_path):
    _, folder, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    info = json.loads((copy / "config.json").read_text())
    info["model"]["latent_dim"] = 8          # config no longer matches the stored tensors
    (copy / "config.json").write_text(json.dumps(info))
    with pytest.raises(CheckpointMismatch):
        load_explainer(str(copy))


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint folder"):
        load_explainer(str(tmp_path / "nope"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="not an emoexplain checkpoint"):
        load_explainer(str(tmp_path))


def test_default_checkpoint_loads(monkeypatch):
    monkeypatch.delenv("EMOEXPLAIN_CHECKPOINT", raising=False)
    explainer = load_explainer()
    assert DEFAULT_CHECKPOINT.exists() and explainer.labels
    if explainer.version == "untrained":
        assert "UNTRAINED" in explainer.card_markdown


def test_hub_push_and_load_share_the_local_code_path(trained, tmp_path, monkeypatch):
    """push_to_hub = save_checkpoint + upload_folder; a hub id = snapshot_download + the local load."""
    import huggingface_hub

    from emoexplain.model import push_to_hub
    explainer, _, clip = trained
    uploaded = tmp_path / "hub" / "owner" / "emo"
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=True, exist_ok=False):
            calls.append(("create", repo_id, private))

        def upload_folder(self, repo_id, folder_path, commit_message=""):
            calls.append(("upload", repo_id))
            shutil.copytree(folder_path, uploaded)

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert push_to_hub(explainer, "owner/emo").endswith("owner/emo")
    assert [("create", "owner/emo", True), ("upload", "owner/emo")] == calls
    assert (uploaded / "lora" / "adapter_model.safetensors").exists()

    def fake_download(repo_id, **kwargs):
        assert repo_id == "owner/emo"
        return str(uploaded)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    monkeypatch.chdir(tmp_path)  # "owner/emo" must not exist as a local folder
    loaded = load_explainer("owner/emo")
    np.testing.assert_array_equal(loaded.score_labels([clip]), explainer.score_labels([clip]))

    def failing_download(repo_id, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", failing_download)
    with pytest.raises(CheckpointError, match="from the hub"):
        load_explainer("owner/other")


def test_loading_prints_no_progress_bar_and_keeps_the_setting(capfd):
    from transformers.utils import logging as hf_logging
    was = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()
    try:
        capfd.readouterr()
        load_explainer("assets/demo_checkpoint")
        assert "Loading weights" not in capfd.readouterr().err
        assert hf_logging.is_progress_bar_enabled()  # the caller's setting is back
    finally:
        if not was:
            hf_logging.disable_progress_bar()

"""Table 2's extra systems at tiny size: the SSL baselines (systems 1-3) and the explainer without feature
disentanglement (system 4); one caption source for ablations; check-configs over every shipped config."""

import json
import random

import numpy as np
import pytest
import torch

from emoexplain.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _clip(seconds, f0, seed):
    t = np.arange(int(16000 * seconds)) / 16000
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * noise).astype(np.float32)


def test_ctc_characters_round_trip():
    from emoexplain.model.ssl_baseline import CTC_VOCAB, ctc_targets, greedy_ctc

    ids = ctc_targets("It's 9 o'clock, Tom!")        # digits and punctuation other than ' are not characters
    assert "".join(CTC_VOCAB[i] for i in ids) == "IT'S|O'CLOCK|TOM"
    # repeats collapse unless a blank separates them; "|" is a space
    frames = [0, ids[0], ids[0], 0, ids[1]] + ids[2:]
    assert greedy_ctc(frames) == "it's o'clock tom"
    assert greedy_ctc([CTC_VOCAB.index("L"), 0, CTC_VOCAB.index("L")]) == "ll" and ctc_targets(None) == []


@pytest.mark.parametrize("preset", ["tiny-hubert", "tiny-wavlm", "tiny-wav2vec2"])
def test_ssl_baseline_learns_labels_and_characters_and_round_trips(preset, tmp_path):
    from emoexplain.model.ssl_baseline import (LabelledClip, SSLBaselineConfig, build_ssl_baseline,
                                               load_ssl_baseline, save_ssl_baseline)

    torch.set_num_threads(1)
    model = build_ssl_baseline(SSLBaselineConfig.preset(preset, label_set="iemocap4"))
    clips = [LabelledClip(_clip(0.5, 120, 0), "sad", "iemocap4", "hi"),
             LabelledClip(_clip(0.6, 260, 1), "joy", "meld7", None),          # joy -> happy; no transcript
             LabelledClip(_clip(0.4, 180, 2), None, None, "ok")]               # no label: CTC only
    batch = model.collate(clips)
    assert batch.label_ids.tolist() == [model.labels.index("sad"), model.labels.index("happy"), -100]
    with pytest.raises(ConfigError, match="one stage"):
        model.unfreeze(["asr"])
    optim = torch.optim.AdamW(model.unfreeze(["joint"]), lr=1e-2)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    losses = []
    for _ in range(40):
        optim.zero_grad()
        loss = model(batch, "joint").loss
        loss.backward()
        optim.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    model.freeze()
    probs = model.score_labels([c.samples for c in clips[:2]])
    assert [model.labels[i] for i in probs.argmax(1)] == ["sad", "happy"]
    out = model.predict(clips[0].samples)
    assert out.caption is None and isinstance(out.transcript, str) and out.label == "sad"
    folder = save_ssl_baseline(model, tmp_path / "ckpt", metrics={"ua": 1.0})
    assert json.loads((folder / "config.json").read_text())["model"]["encoder"].endswith(preset.split("-")[1])
    assert (folder / "heads.safetensors").stat().st_size < 1_000_000  # heads only, not the encoder
    np.testing.assert_allclose(load_ssl_baseline(folder).score_labels([clips[0].samples]),
                               model.score_labels([clips[0].samples]), rtol=1e-5, atol=1e-6)


def test_no_disentanglement_is_one_deterministic_path_in_every_stage(tmp_path):
    from emoexplain.model import ModelConfig, TrainExample, build_explainer, load_explainer, save_checkpoint
    from emoexplain.model.bottleneck import LayerSum

    torch.set_num_threads(1)
    with pytest.raises(ConfigError, match="descriptor branch"):
        ModelConfig.preset("tiny", disentangle=False, use_prosody=True)
    model = build_explainer(ModelConfig.preset("tiny", disentangle=False))
    assert isinstance(model.content_branch, LayerSum)
    clips = [TrainExample(_clip(0.6, 150, 0), "Emotion: sad. A man speaks.", "caption")]
    for stage in ("asr", "ser_sed_asr", "joint"):
        model.unfreeze([stage])
        trained = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad and "llm" not in n}
        assert trained == {"content_branch", "content_adapter"}, stage
        out = model(model.collate(clips, stage=stage), stage)
        out.loss.backward()
        assert model.content_branch.layer_logits.grad is not None, stage  # the one path trains in every stage
        model.zero_grad()
        assert float(out.kl_content) == 0.0 and float(out.kl_descriptor) == 0.0
        assert float(out.loss) == pytest.approx(float(out.llm_loss))
    speech = model._speech_for([clips[0].samples])
    assert torch.count_nonzero(speech.descriptor) == 0 and torch.count_nonzero(speech.content) > 0
    model.freeze()
    folder = save_checkpoint(model, tmp_path / "ckpt")
    again = load_explainer(str(folder), device="cpu")
    assert again.config.disentangle is False
    np.testing.assert_allclose(again.score_labels([clips[0].samples]), model.score_labels([clips[0].samples]),
                               rtol=1e-5, atol=1e-6)


def test_caption_source_template_ignores_the_corpus_caption():
    from train.data.manifest import ManifestError, compose_caption

    row = {"emotion": "sad", "transcript": "leave me alone", "descriptors": {"pitch": "low"}, "gender": "male",
           "audio": "x.wav", "caption": "A man with a low voice says \"leave me alone\" sadly."}
    assert "low voice" in compose_caption(row)                                  # auto: the corpus caption
    templated = [compose_caption(row, rng=random.Random(k), source="template") for k in range(5)]
    assert all(c.startswith("Emotion: sad.") and "low voice" not in c and "low pitch" in c for c in templated)
    assert "leave me alone" not in compose_caption(row, ("des", "emo"), random.Random(0), "template")
    with pytest.raises(ManifestError, match="template"):
        compose_caption(row, ("trans", "emo"), source="corpus")


def test_eval_of_caption_only_rows_gives_caption_metrics_and_no_ua(tmp_path):
    import soundfile as sf

    from emoexplain.model import ModelConfig, build_explainer
    from train.evaluate.runner import evaluate_explainer

    torch.set_num_threads(1)
    rows = []
    for i in range(2):  # EMOSEC-like: a reference caption, no emotion label, no transcript
        path = tmp_path / f"c{i}.wav"
        sf.write(path, _clip(0.6, 150 + 50 * i, i), 16000)
        rows.append({"audio": str(path), "emotion": None, "label_set": "speechcraft7", "transcript": None,
                     "caption": "心情快乐舒畅", "split": "test", "meta": {"id": f"tx_{i}", "captions": ["心情快乐"]}})
    model = build_explainer(ModelConfig.preset("tiny", label_set="speechcraft7"))
    m = evaluate_explainer(model, rows, java=False, keep_predictions=True)
    assert "ua" not in m and m["n"] == 0 and m["n_generated"] == 2 and "wer" not in m
    assert 0.0 <= m["cider"] and m["caption_tokenizer"] == "normalize_words"
    assert [p["id"] for p in m["predictions"]] == ["tx_0", "tx_1"]


def test_check_configs_runs_every_shipped_config_and_reports_a_broken_one(tmp_path, capsys):
    from train.__main__ import main
    from train.check_configs import CONFIG_DIR

    configs = sorted(CONFIG_DIR.glob("*.json"))
    assert main(["check-configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [l.split()[1] for l in lines[:-1]] == [p.stem for p in configs]
    assert all(l.startswith("ok ") for l in lines[:-1]) and lines[-1] == f"{len(configs)}/{len(configs)} configs ok"
    assert any("ssl_baseline:wavlm-large -> tiny; stages joint" in l for l in lines)
    assert any("paper_t2_s7_meld" in l and "stages asr+ser_sed_asr" in l for l in lines)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "model": {"disentangle": False, "use_prosody": True}}))
    assert main(["check-configs", str(bad), str(configs[0])]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL bad") and "descriptor branch" in out[0] and out[1].startswith("ok ")

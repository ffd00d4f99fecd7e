"""The training loop on CPU: every schedule runs a few steps with finite, decreasing loss on a tiny overfit
set; a resumed run ends in exactly the state of an uninterrupted one; the CLI trains from a config."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from train import schedule as sched
from train.config import TrainConfig
from helpers import synthetic_corpus

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_train=8, n_test=4, n_test_voices=2,
                            n_test_sentences=4)


def _rows(manifest, split):
    from train.data.manifest import read_manifest
    return read_manifest(manifest, split=split)


def _cfg(tmp_path, **kw):
    base = dict(name="t", out_dir=str(tmp_path / "{name}"), batch_size=4, epochs_per_stage=3, lr_asr=3e-3,
                lr_ser=3e-3, warmup_frac=0.0, log_every=1, progress=False, tensorboard=False, cpu=True,
                eval_every_epoch=False, max_seconds=4.0)
    base.update(kw)
    return TrainConfig(**base)


def _losses(run_dir):
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [l for l in lines if l["kind"] == "train"]


@pytest.mark.parametrize("schedule,by", [("one-stage", "epoch"), ("two-stage", "epoch"), ("alternating", "epoch"),
                                         ("alternating", "steps")])
def test_schedule_smoke_loss_decreases(tmp_path, corpus, schedule, by):
    from train.loop import fit

    torch.set_num_threads(1)
    rows = _rows(corpus, "train")[:4]  # one batch, seen again and again: an overfit set
    cfg = _cfg(tmp_path, schedule=schedule, alternate_by=by, alternate_steps=2)
    result = fit(cfg, train_rows=rows, eval_rows=[], save_final=False)
    logged = _losses(cfg.run_dir)
    assert len(logged) == result.progress.step == sched.total_epochs(schedule, 3)
    assert all(np.isfinite(l["loss"]) for l in logged)
    stages = {l["stage"] for l in logged}
    assert stages == set(sched.stages_of(schedule))
    for stage in stages:  # each stage's own loss goes down over its steps
        mine = [l["loss"] for l in logged if l["stage"] == stage]
        assert mine[-1] < mine[0], (stage, mine)
    if schedule == "alternating":
        order = [l["stage"] for l in logged]
        assert order[0] == "asr" and order[1] == ("asr" if by == "steps" else "ser_sed_asr")


def _trainable_state(explainer):
    return {n: p.detach().clone() for n, p in explainer.named_parameters() if "lora_" in n or "branch" in n
            or "adapter" in n or "modules_to_save" in n}


def test_resume_gives_the_same_state(tmp_path, corpus):
    from train.loop import fit

    torch.set_num_threads(1)
    rows = _rows(corpus, "train")
    common = dict(schedule="alternating", alternate_by="steps", alternate_steps=1, epochs_per_stage=1,
                  batch_size=2, augment={"p_noise": 1.0})
    full = fit(_cfg(tmp_path, name="full", max_steps=5, **common), train_rows=rows, eval_rows=[], save_final=False)
    first = _cfg(tmp_path, name="part", max_steps=2, **common)
    fit(first, train_rows=rows, eval_rows=[], save_final=False)
    resumed = fit(dataclasses.replace(first, max_steps=5), train_rows=rows, eval_rows=[], save_final=False,
                  resume=first.run_dir / "state")
    assert resumed.progress.step == full.progress.step == 5
    assert resumed.progress.stage_steps == full.progress.stage_steps
    a, b = _trainable_state(full.explainer), _trainable_state(resumed.explainer)
    assert a.keys() == b.keys() and a
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    # optimizer state (Adam moments and step counts) matches too: compare the saved states
    fit(dataclasses.replace(first, name="full2", max_steps=5), train_rows=rows, eval_rows=[], save_final=False)
    from safetensors.torch import load_file
    # the state holds only what trains (LoRA, branches, adapters): never the frozen HuBERT or LLM weights
    saved = load_file(str(first.run_dir / "state" / "model.safetensors"))
    trained = {id(p) for stage in ("asr", "ser_sed_asr") for p in full.explainer.stage_parameters(stage)}
    assert set(saved) == {n for n, p in full.explainer.named_parameters() if id(p) in trained}
    assert not any(k.startswith("encoder.") or ("lora_" not in k and "modules_to_save" not in k and
                                                k.startswith("llm.")) for k in saved)
    opt_full = torch.load(tmp_path / "full2" / "state" / "optimizer.bin", weights_only=False)
    opt_res = torch.load(first.run_dir / "state" / "optimizer.bin", weights_only=False)
    assert opt_full["state"].keys() == opt_res["state"].keys()
    for k in opt_full["state"]:
        for field in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(opt_full["state"][k][field], opt_res["state"][k][field], rtol=0, atol=1e-6)


def test_cli_fit_debug_config_writes_a_loadable_checkpoint(tmp_path, corpus):
    from emoexplain.model import load_explainer
    from train.__main__ import main

    code = main(["fit", "--config", "train/configs/debug_cpu.json", f"--train_manifest={corpus}",
                 f"--out_dir={tmp_path}/{{name}}", "--eval_split=test"])
    assert code == 0
    ckpt = tmp_path / "debug_cpu" / "checkpoint"
    cfg = json.loads((ckpt / "config.json").read_text())
    assert cfg["train_config"]["max_steps"] == 2
    metrics = json.loads((ckpt / "metrics.json").read_text())
    assert 0.0 <= metrics["ua"] <= 1.0 and metrics["n"] == 4
    explainer = load_explainer(str(ckpt), device="cpu")
    assert explainer.score_labels([np.zeros(16000, dtype=np.float32) + 0.01]).shape == (1, 4)
    assert main(["fit", "--config", "train/configs/debug_cpu.json", "--no_such_key=1"]) == 2


def test_cli_eval_writes_report_and_compare_tests_two_systems(tmp_path, corpus, capsys):
    from train.__main__ import main

    assert main(["fit", "--config", "train/configs/debug_cpu.json", f"--train_manifest={corpus}",
                 f"--out_dir={tmp_path}/{{name}}", "--eval_split=test"]) == 0
    ckpt = tmp_path / "debug_cpu" / "checkpoint"
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(ckpt), "--manifest", str(corpus), "--limit", "3",
                 "--out", str(tmp_path / "eval")]) == 0
    report = (tmp_path / "eval" / "report.md").read_text()
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    # the whole split unless --limit: here the first 3 of the 4 test rows, and the report says so
    assert (metrics["n"], metrics["n_rows"], metrics["limit"], metrics["n_generated"]) == (3, 4, 3, 3)
    assert "wer" in metrics and "cider" in metrics and "the first 3 of 4 rows (--limit 3)" in report
    assert "Confusion matrix" in report and (tmp_path / "eval" / "confusion.json").is_file()
    confusion = json.loads((tmp_path / "eval" / "confusion.json").read_text())
    assert sum(map(sum, confusion["matrix"])) == 3
    preds = json.loads((tmp_path / "eval" / "predictions.json").read_text())["predictions"]
    assert len(preds) == 3 and {"id", "reference", "predicted", "caption"} <= set(preds[0])
    # system A: every prediction right (listed in reverse: pairing is by clip id); B: the model
    oracle = {"predictions": [{**p, "predicted": p["reference"]} for p in reversed(preds)]}
    (tmp_path / "oracle.json").write_text(json.dumps(oracle))
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "oracle.json"), str(tmp_path / "eval" / "predictions.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    wrong = sum(p["reference"] != p["predicted"] for p in preds)
    assert out["mcnemar_wa"]["b"] == wrong and out["mcnemar_wa"]["c"] == 0
    assert out["t_test_wa"]["mean_diff"] == pytest.approx(wrong / 3) and out["ua_a"] == 1.0
    (tmp_path / "fewer.json").write_text(json.dumps({"predictions": preds[:2]}))
    assert main(["compare", str(tmp_path / "oracle.json"), str(tmp_path / "fewer.json")]) == 2
    assert "same clips" in capsys.readouterr().err


def test_synthetic_manifest_paths_are_relative_to_its_folder(corpus, tmp_path):
    import shutil
    from train.data.manifest import read_manifest

    first = json.loads(corpus.read_text().splitlines()[0])
    assert not first["audio"].startswith("/") and first["audio"].startswith("clips/")
    moved = tmp_path / "moved"
    shutil.copytree(corpus.parent, moved)
    rows = read_manifest(moved / "manifest.jsonl")
    assert all(r["audio"].startswith(str(moved.resolve())) for r in rows)


def test_schedule_function():
    kw = dict(epochs_per_stage=2)
    assert [sched.stage_at("two-stage", e, 0, **kw) for e in range(4)] == ["asr", "asr", "ser_sed_asr", "ser_sed_asr"]
    assert [sched.stage_at("alternating", e, 0, **kw) for e in range(4)] == ["asr", "ser_sed_asr"] * 2
    assert [sched.stage_at("alternating", 0, s, alternate_by="steps", alternate_steps=3, **kw)
            for s in range(7)] == ["asr"] * 3 + ["ser_sed_asr"] * 3 + ["asr"]
    assert sched.stage_at("one-stage", 5, 9, **kw) == "joint"
    assert sched.total_epochs("one-stage", 4) == 4 and sched.total_epochs("alternating", 4) == 8
    lr = dict(lr_asr=2e-4, lr_ser=2e-5, warmup_frac=0.1)
    assert sched.lr_at("asr", 50, 100, **lr) == 2e-4
    assert sched.lr_at("asr", 0, 100, **lr) < 2e-4  # warm-up
    assert sched.lr_at("ser_sed_asr", 10, 100, **lr) == pytest.approx(2e-5)  # cosine starts at the peak
    assert sched.lr_at("ser_sed_asr", 100, 100, **lr) == pytest.approx(0.0, abs=1e-12)
    assert sched.lr_at("ser_sed_asr", 55, 100, **lr) == pytest.approx(1e-5)


def test_demo_examples_are_small_held_out_wavs_the_model_labels_correctly(corpus, tmp_path):
    import soundfile as sf
    from train.demo import write_examples

    rows = _rows(corpus, "test")
    preds = [{"reference": r["emotion"], "predicted": r["emotion"], "probabilities": {r["emotion"]: 0.9}} for r in rows]
    preds[0] = {**preds[0], "predicted": "sad" if rows[0]["emotion"] != "sad" else "happy"}  # wrong: never chosen
    rejected = rows[1]["emotion"]                       # the check says the written clip is no longer right
    from pathlib import Path
    entries = write_examples(rows, tmp_path, predictions=preds,
                             check=lambda path: "wrong" if rejected in path else Path(path).stem.split("_")[1])
    emotions = {e["emotion"] for e in entries}
    assert emotions == {r["emotion"] for r in rows} - {rows[0]["emotion"], rejected}
    meta = json.loads((tmp_path / "examples.json").read_text())
    assert meta["synthetic"] is True and "correctly" in meta["selection"] and len(meta["examples"]) == len(entries)
    for e in entries:
        path = tmp_path / e["file"]
        assert path.suffix == ".wav" and path.stat().st_size < 100 * 1024
        info = sf.info(str(path))
        assert info.samplerate == 16000 and info.duration <= 3.1 + 1e-3


def test_evaluation_does_not_depend_on_the_last_training_stage(tmp_path, corpus):
    """Issue 9 item 1: a run that ends in an ASR block and one that ends in a SER-SED block evaluate the same
    weights (lr 0) to identical metrics and probabilities, equal to evaluating the untouched model."""
    from emoexplain.model import ModelConfig, build_explainer
    from train.evaluate.runner import evaluate_explainer
    from train.loop import fit

    torch.set_num_threads(1)
    rows, eval_rows = _rows(corpus, "train")[:2], _rows(corpus, "test")[:2]
    evaluate = lambda m, r: evaluate_explainer(m, r, generate_max=2, keep_predictions=True)  # noqa: E731
    reference = evaluate(build_explainer(ModelConfig.preset("tiny")), eval_rows)
    for steps, last in ((1, "asr"), (2, "ser_sed_asr")):  # alternate_steps=1: asr, ser_sed_asr, asr, ...
        cfg = _cfg(tmp_path, name=f"ends_{last}", schedule="alternating", alternate_by="steps", alternate_steps=1,
                   max_steps=steps, lr_asr=0.0, lr_ser=0.0, batch_size=2)
        result = fit(cfg, train_rows=rows, eval_rows=eval_rows, evaluate_fn=evaluate, save_final=False)
        assert _losses(cfg.run_dir)[-1]["stage"] == last
        got = {k: v for k, v in result.metrics.items() if k not in ("step", "epoch", "eval_s")}
        assert got == reference, last


def test_gradient_checkpointing_trains_the_same(tmp_path, corpus):
    """The config switch reaches the LLM, and recomputing activations in backward changes no number."""
    from train.loop import fit

    torch.set_num_threads(1)
    rows = _rows(corpus, "train")[:2]
    runs = {}
    for flag in (False, True):
        cfg = _cfg(tmp_path, name=f"ckpt_{flag}", schedule="alternating", alternate_by="steps", alternate_steps=1,
                   max_steps=3, batch_size=2, gradient_checkpointing=flag)
        result = fit(cfg, train_rows=rows, eval_rows=[], save_final=False)
        assert result.explainer.llm.is_gradient_checkpointing == flag
        runs[flag] = [l["loss"] for l in _losses(cfg.run_dir)]
    assert runs[True] == pytest.approx(runs[False], rel=1e-5)

"""``python -m train check-configs``: every shipped config, built at tiny size, trains one step of each of its
stages, evaluates once and saves + reloads its checkpoint; one line per config; exit 1 when any fails.

What is kept from each config: model kind, schedule (its stages in order), targets, caption source, label set
and the ``model`` overrides (beta, disentangle, use_prosody, ...). What is swapped: the preset for the tiny one
of the same kind and encoder family (random weights, offline), the data for a few short synthetic clips with
every field a manifest row can carry, and the sizes (batch 2, one batch per epoch, one epoch per stage).
Caption metrics skip Java here (METEOR/SPICE are not what this checks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time
import traceback
from pathlib import Path

import numpy as np

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
BATCH = 2


def synthetic_rows(folder: Path, label_set: str, *, n_train: int = BATCH, n_test: int = 2,
                   seconds: float = 0.6) -> list[dict]:
    """Short harmonic clips with a label of ``label_set``, transcript, descriptors, caption, gender, emphasis."""
    import soundfile as sf

    from emoexplain.audio import SAMPLE_RATE
    from emoexplain.labels import labels

    folder.mkdir(parents=True, exist_ok=True)
    names, rng, rows = labels(label_set), np.random.default_rng(0), []
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    for i in range(n_train + n_test):
        f0 = 110.0 + 40.0 * i
        wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3)) * 0.2 + 0.01 * rng.standard_normal(t.size)
        path = folder / f"clip{i}.wav"
        sf.write(path, wave.astype(np.float32), SAMPLE_RATE)
        emotion = names[i % len(names)]
        rows.append({"audio": str(path), "transcript": "the birch canoe slid", "emotion": emotion,
                     "label_set": label_set, "descriptors": {"pitch": "high", "volume": "normal", "speed": "slow"},
                     "emphasis": ["canoe"], "gender": ("male", "female")[i % 2], "split": "train" if i < n_train
                     else "test", "caption": f"A speaker says \"the birch canoe slid\", sounding {emotion}.",
                     "source": "check-configs", "meta": {"id": f"clip{i}"}})
    return rows


def tiny_version(cfg, work: Path):
    """``cfg`` at tiny size on the synthetic rows: one batch per epoch, one epoch per stage, every stage once."""
    return dataclasses.replace(cfg, name=cfg.name, out_dir=str(work / "{name}"), init_checkpoint="",
                               train_manifest="", eval_manifest="", batch_size=BATCH, grad_accum=1,
                               epochs_per_stage=1, alternate_steps=1, max_steps=0, max_train_examples=0,
                               max_eval_examples=0, max_seconds=2.0, mixed_precision="no", cpu=True,
                               num_workers=0, torch_threads=1, log_every=1, eval_every_epoch=False, save_every=0,
                               tensorboard=False, progress=False)


def check(path: Path, work: Path) -> dict:
    """Run one config; returns {"config", "ok", "stages", "seconds", ...} (never raises)."""
    from train import schedule as sched
    from train import systems
    from train.config import TrainConfig
    from train.evaluate.runner import evaluate_explainer
    from train.loop import fit

    t0, out = time.perf_counter(), {"config": path.stem, "ok": False}
    try:
        cfg = TrainConfig.from_file(path)
        small = tiny_version(cfg, work / path.stem)
        rows = synthetic_rows(work / path.stem / "clips", cfg.label_set)
        model = systems.build(small, tiny=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the loop's own progress lines
            result = fit(small, train_rows=[r for r in rows if r["split"] == "train"], explainer=model,
                         eval_rows=[r for r in rows if r["split"] == "test"],
                         evaluate_fn=lambda m, eval_rows: evaluate_explainer(m, eval_rows, java=False))
        logged = [json.loads(line) for line in (small.run_dir / "metrics.jsonl").read_text().splitlines()]
        stages = [r["stage"] for r in logged if r["kind"] == "train"]
        expected = list(sched.stages_of(cfg.schedule))
        if sorted(set(stages)) != sorted(expected) or not all(np.isfinite(r["loss"]) for r in logged
                                                               if r["kind"] == "train"):
            raise AssertionError(f"stages run {stages}, expected each of {expected} with a finite loss")
        reloaded = systems.load(result.checkpoint)
        probs = reloaded.score_labels([np.zeros(8000, dtype=np.float32) + 0.01])
        if probs.shape != (1, len(reloaded.labels)):
            raise AssertionError(f"reloaded checkpoint scores {probs.shape}, expected (1, {len(reloaded.labels)})")
        metrics = result.metrics
        out.update(ok=True, kind=cfg.model_kind, preset=cfg.model_preset, stages=stages,
                   ua=metrics.get("ua"), wer=metrics.get("wer"), bleu4=metrics.get("bleu4"))
    except Exception as e:  # noqa: BLE001 - a report of every failure, one line each, is the point
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc(limit=6)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def line(r: dict) -> str:
    if not r["ok"]:
        return f"FAIL {r['config']:<40} {r['seconds']:5.1f} s  {r['error']}"
    scores = "  ".join(f"{k}={r[k]:.2f}" for k in ("ua", "wer", "bleu4") if r.get(k) is not None)
    return (f"ok   {r['config']:<40} {r['seconds']:5.1f} s  {r['kind']}:{r['preset']} -> tiny; "
            f"stages {'+'.join(r['stages'])}; eval {scores}")


def run(paths=None, work: Path | None = None, verbose: bool = False) -> int:
    import tempfile

    import torch

    torch.set_num_threads(1)
    paths = list(paths) if paths else sorted(CONFIG_DIR.glob("*.json"))  # given paths keep their order
    results = []
    with tempfile.TemporaryDirectory(prefix="check-configs-") as tmp:
        for p in paths:
            results.append(check(Path(p), Path(work or tmp)))
            print(line(results[-1]), flush=True)
            if verbose and not results[-1]["ok"]:
                print(results[-1]["traceback"])
    failed = sum(not r["ok"] for r in results)
    print(f"{len(results) - failed}/{len(results)} configs ok")
    return 1 if failed else 0

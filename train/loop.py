"""The training loop: accelerate, the stage schedule, beta * KL through the model's loss, resumable state.

Reads top to bottom: ``fit(cfg)`` -> ``setup`` (accelerator, seed, model, data, optimizer) -> ``run_epochs``
(one optimizer step at a time: stage from train/schedule.py, lr from the stage's own step counter) ->
``evaluate`` at epoch ends -> ``save_checkpoint`` (the model's format) + ``state/`` (accelerate state, to resume).

    torchrun --nproc_per_node 8 -m train fit --config train/configs/paper_iemocap.json   # DDP (docs/training.md)

Logs: ``<run>/metrics.jsonl`` (one JSON object per log step / eval), TensorBoard under ``<run>/tb`` when
``tensorboard`` is installed, and a tqdm bar on the main process.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from train import schedule as sched
from train import systems
from train.augment import augment
from train.config import TrainConfig
from train.data.manifest import compose_caption, load_samples, read_manifest


# --- data ------------------------------------------------------------------------------------------------
class ClipDataset:
    """Manifest rows -> (samples, row) with on-the-fly augmentation, deterministic per (seed, epoch, index)."""

    def __init__(self, rows: list[dict], cfg: TrainConfig, *, train: bool):
        self.rows, self.cfg, self.train, self.epoch = rows, cfg, train, 0

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        row = self.rows[i]
        samples = load_samples(row, self.cfg.max_seconds)
        if self.train and self.cfg.augment:
            rng = random.Random(f"{self.cfg.seed}-{self.epoch}-{i}")
            samples, row = augment(samples, row, self.cfg.augment, rng)
        return samples, row


def examples_for(stage: str, items, cfg: TrainConfig, rng: random.Random):
    """TrainExamples for a stage: transcripts in the ASR stage, composed captions otherwise.

    The SER-SED stage is "joint SER-SED + ASR" (paper 3.5): its caption target quotes the transcript (when
    ``trans`` is a target), so ASR keeps being trained. Rows without a transcript are skipped in the ASR stage.
    """
    from emoexplain.model import TrainExample
    from emoexplain.captions import render_transcript_target

    if cfg.model_kind == systems.SSL:  # Table 2 systems 1-3 learn the label and the transcript, no caption
        return systems.ssl_examples(items)
    out = []
    for samples, row in items:
        if stage == sched.ASR:
            if row.get("transcript"):
                out.append(TrainExample(samples, render_transcript_target(row["transcript"]), "asr"))
        else:
            out.append(TrainExample(samples, compose_caption(row, cfg.targets, rng, cfg.caption_source), "caption"))
    return out


def load_rows(cfg: TrainConfig) -> tuple[list[dict], list[dict]]:
    """(train rows, eval rows) from the config's manifests and splits."""
    if not cfg.train_manifest:
        from emoexplain.errors import ConfigError
        raise ConfigError("train_manifest is empty: set it in the config or pass --train_manifest=PATH.")
    exclude = cfg.eval_split if cfg.train_split == "*" else None
    train_rows = read_manifest(cfg.train_manifest, split=cfg.train_split, exclude_split=exclude)
    eval_rows = read_manifest(cfg.eval_manifest or cfg.train_manifest, split=cfg.eval_split)
    if cfg.max_train_examples:
        train_rows = train_rows[: cfg.max_train_examples]
    if cfg.max_eval_examples:
        eval_rows = eval_rows[: cfg.max_eval_examples]
    return train_rows, eval_rows


def _sampler(rows, cfg: TrainConfig, epoch: int):
    """Shuffled order for an epoch; rows with a weight != 1 (store corrections) are drawn in proportion."""
    import torch
    from torch.utils.data import RandomSampler, WeightedRandomSampler

    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    weights = [float(r.get("weight") or 1.0) for r in rows]
    if any(w != 1.0 for w in weights):
        return WeightedRandomSampler(weights, num_samples=len(rows), replacement=True, generator=g)
    return RandomSampler(rows, generator=g)


# --- state -----------------------------------------------------------------------------------------------
@dataclass
class Progress:
    """Where the run is; saved beside the accelerate state so that a resumed run continues exactly."""
    epoch: int = 0                 # current epoch (from 0)
    batches_done: int = 0          # dataloader batches consumed in this epoch
    step: int = 0                  # optimizer steps taken
    stage_steps: dict = field(default_factory=dict)   # optimizer steps taken per stage (drives each lr schedule)
    best: dict = field(default_factory=dict)          # last eval metrics


@dataclass
class FitResult:
    run_dir: Path
    checkpoint: Path
    progress: Progress
    metrics: dict
    explainer: object


def setup_accelerator(cfg: TrainConfig):
    """Under DDP (torchrun / ``accelerate launch``) the wrapper holds every parameter any stage trains
    (``Explainer.unfreeze``); in a stage, the branch it does not train is not run (asr) or runs under no_grad
    (ser_sed_asr), so its parameters get no gradient: ``find_unused_parameters`` lets the reduction finish
    without them, and leaves their .grad None on every rank (they are unused on all ranks alike), so AdamW skips
    them: no update, no weight decay, no moment change. Re-wrapping per stage would rebuild the buckets at each
    switch; dropping gradients after backward would still all-reduce the frozen branch. The timeout covers an
    epoch-end evaluation that only the main process runs while the others wait at the next collective."""
    from datetime import timedelta

    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, InitProcessGroupKwargs

    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True),
                InitProcessGroupKwargs(timeout=timedelta(minutes=cfg.dist_timeout_minutes))]
    return Accelerator(cpu=cfg.cpu, mixed_precision=cfg.mixed_precision, gradient_accumulation_steps=cfg.grad_accum,
                       kwargs_handlers=handlers)


def build_model(cfg: TrainConfig, explainer=None, *, device=None):
    """A fresh explainer from the preset (+ overrides), or one loaded from ``init_checkpoint``, built straight
    on ``device`` (this process's accelerator device; bfloat16 backbones on CUDA)."""
    from emoexplain.model import ModelConfig, build_explainer, load_explainer

    if explainer is not None:
        return explainer
    if cfg.model_kind == systems.SSL:
        return systems.build(cfg, device=device)
    if cfg.init_checkpoint:
        return load_explainer(cfg.init_checkpoint, device=device)
    overrides = dict(cfg.model)
    overrides.setdefault("label_set", cfg.label_set)
    return build_explainer(ModelConfig.preset(cfg.model_preset, **overrides), device=device)


def count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "frozen": total - trainable}


def keep_only_trained_weights(accelerator):
    """Make ``save_state`` / ``load_state`` hold only the weights that train (LoRA, branches, adapters) beside
    the optimizer, RNG and sampler states accelerate writes: the frozen backbones come from their ids, and
    saving them (accelerate's default) cost ~16.7 GB per save at paper size. Loading refuses a state whose
    weights are not exactly this run's trained ones."""
    from accelerate.utils import SAFE_WEIGHTS_NAME
    from safetensors.torch import load_file

    from emoexplain.errors import ConfigError

    def trained(model) -> set[str]:
        return {name for name, p in model.named_parameters() if p.requires_grad}

    def before_save(models, weights, output_dir):
        for i, model in enumerate(models):
            keep = trained(model)
            weights[i] = {k: v for k, v in weights[i].items() if k in keep}

    def before_load(models, input_dir):
        for i, model in enumerate(models):
            name = SAFE_WEIGHTS_NAME if i == 0 else SAFE_WEIGHTS_NAME.replace(".safetensors", f"_{i}.safetensors")
            state = load_file(str(Path(input_dir) / name))
            if set(state) != trained(model):
                raise ConfigError(f"{input_dir} holds the state of another run (its weights are not the ones "
                                  "this config trains); resume with the config that wrote it.")
            model.load_state_dict(state, strict=False)
        models.clear()  # loaded here: accelerate must not load them again (strictly, as a whole model)

    accelerator.register_save_state_pre_hook(before_save)
    accelerator.register_load_state_pre_hook(before_load)


def save_state(accelerator, run_dir: Path, progress: Progress) -> Path:
    state = run_dir / "state"
    accelerator.save_state(str(state))
    if accelerator.is_main_process:
        (state / "progress.json").write_text(json.dumps(progress.__dict__, indent=2))
    return state


def load_state(accelerator, state: Path) -> Progress:
    accelerator.load_state(str(state))
    return Progress(**json.loads((Path(state) / "progress.json").read_text()))


class MetricLog:
    """JSONL (always) + TensorBoard (when installed and wanted), main process only."""

    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(run_dir / "tb"))
            except ImportError:
                self.tb = None

    def log(self, record: dict):
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step":
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{k}", v, record.get("step", 0))

    def close(self):
        if self.tb is not None:
            self.tb.close()


# --- the loop --------------------------------------------------------------------------------------------
def fit(cfg: TrainConfig, *, train_rows=None, eval_rows=None, explainer=None, resume: str | Path | None = None,
        evaluate_fn=None, card: str | None = None, save_final: bool = True,
        version: str | None = None, on_step=None) -> FitResult:
    """Train as ``cfg`` says; returns where the checkpoint went, the final progress and eval metrics.

    ``train_rows``/``eval_rows`` replace the manifests (from-store and tests); ``resume`` continues from a
    ``<run>/state`` folder; ``evaluate_fn(explainer, rows) -> dict`` replaces the default evaluation;
    ``on_step(explainer, progress, stage)`` runs on every process after each optimizer step (progress, tests).
    """
    import torch

    from accelerate.utils import set_seed

    from train.evaluate.runner import evaluate_explainer

    # A. preparation
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    accelerator = setup_accelerator(cfg)
    set_seed(cfg.seed, device_specific=True)  # + process index: each replica draws its own VIB noise
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    if train_rows is None:
        train_rows, eval_rows = load_rows(cfg)
    eval_rows = eval_rows or []
    if not train_rows:
        from emoexplain.errors import ConfigError
        raise ConfigError(f"No training rows (split {cfg.train_split!r}); check the manifest and train_split.")
    model = build_model(cfg, explainer, device=str(accelerator.device))
    if cfg.gradient_checkpointing:  # recompute the LLM's activations in backward: less memory, ~30 % more time
        model.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    # the union of what every stage trains (frozen ones get no gradient, so AdamW leaves them and their moments
    # untouched in the other stage); the stage itself is an argument of each forward
    params = model.unfreeze(sched.stages_of(cfg.schedule))
    optimizer = torch.optim.AdamW(params, lr=cfg.lr_asr, weight_decay=cfg.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)
    keep_only_trained_weights(accelerator)
    explainer = accelerator.unwrap_model(model)
    log = MetricLog(run_dir, accelerator.is_main_process, cfg.tensorboard)
    if accelerator.is_main_process:
        (run_dir / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        print(f"[train] {cfg.name}: {len(train_rows)} train / {len(eval_rows)} eval rows; params {count_params(explainer)}"
              f" (union trainable over stages: {sum(p.numel() for p in params)})")
    progress = load_state(accelerator, Path(resume)) if resume else Progress()

    # B. epochs
    dataset = ClipDataset(train_rows, cfg, train=True)
    batches_per_epoch = math.ceil(len(dataset) / cfg.batch_size)
    steps_per_epoch = max(1, batches_per_epoch // cfg.grad_accum)
    stage_total = steps_per_epoch * cfg.epochs_per_stage
    n_epochs = sched.total_epochs(cfg.schedule, cfg.epochs_per_stage)
    evaluate_fn = evaluate_fn or evaluate_explainer  # every eval row (max_eval_examples caps them)
    metrics: dict = dict(progress.best)
    bar = _progress_bar(cfg, accelerator, n_epochs * steps_per_epoch, progress.step)
    done = False
    while progress.epoch < n_epochs and not done:
        done = _run_epoch(cfg, accelerator, model, explainer, optimizer, dataset, progress, stage_total, log, bar,
                          on_step)
        if done:
            break
        progress.epoch += 1
        progress.batches_done = 0
        if cfg.eval_every_epoch and eval_rows and accelerator.is_main_process:
            metrics = _evaluate(evaluate_fn, explainer, eval_rows, progress, log)
        if cfg.save_every == 0:
            save_state(accelerator, run_dir, progress)
    if done:
        save_state(accelerator, run_dir, progress)
    if bar is not None:
        bar.close()

    # C. final evaluation and checkpoint
    checkpoint = run_dir / "checkpoint"
    if accelerator.is_main_process:
        if eval_rows and (not metrics or metrics.get("step") != progress.step):
            metrics = _evaluate(evaluate_fn, explainer, eval_rows, progress, log)
        progress.best = metrics
        if save_final:
            systems.save(explainer, checkpoint, metrics=metrics, train_config=cfg.to_dict(), card=card,
                         version=version)
    accelerator.wait_for_everyone()
    log.close()
    explainer.freeze()
    return FitResult(run_dir, checkpoint, progress, metrics, explainer)


def _run_epoch(cfg, accelerator, model, explainer, optimizer, dataset, progress, stage_total, log, bar,
               on_step) -> bool:
    """One pass over the data from ``progress.batches_done``; True when max_steps was reached."""
    import torch
    from torch.utils.data import DataLoader

    dataset.epoch = progress.epoch
    # the loader's own generator keeps it off the global RNG (which the VIB noise uses and resume restores)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=_sampler(dataset.rows, cfg, progress.epoch),
                        collate_fn=list, num_workers=cfg.num_workers, drop_last=False,
                        generator=torch.Generator().manual_seed(cfg.seed + progress.epoch))
    if accelerator.num_processes > 1:
        loader = accelerator.prepare_data_loader(loader)
    t0, window = time.perf_counter(), []
    for i, items in enumerate(loader):
        if i < progress.batches_done:  # resume: skip what the interrupted run already consumed
            continue
        stage = sched.stage_at(cfg.schedule, progress.epoch, progress.step, epochs_per_stage=cfg.epochs_per_stage,
                               alternate_by=cfg.alternate_by, alternate_steps=cfg.alternate_steps)
        # template choice seeded per batch, so a resumed run composes the same captions
        examples = examples_for(stage, items, cfg, random.Random(f"{cfg.seed}-captions-{progress.epoch}-{i}"))
        progress.batches_done = i + 1
        if not _every_rank_has(accelerator, examples):
            continue
        batch = explainer.collate(examples, stage=stage)  # skips the prosody track in the ASR stage
        with accelerator.accumulate(model):
            out = model(batch, stage=stage)
            accelerator.backward(out.loss)
            if accelerator.sync_gradients:
                if cfg.grad_clip:
                    accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
                lr = sched.lr_at(stage, progress.stage_steps.get(stage, 0), stage_total, lr_asr=cfg.lr_asr,
                                 lr_ser=cfg.lr_ser, warmup_frac=cfg.warmup_frac, min_lr_ratio=cfg.min_lr_ratio)
                for group in optimizer.param_groups:
                    group["lr"] = lr
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        window.append([float(t.detach()) for t in (out.loss, out.llm_loss, out.kl_content, out.kl_descriptor)])
        if not accelerator.sync_gradients:
            continue
        progress.step += 1
        progress.stage_steps[stage] = progress.stage_steps.get(stage, 0) + 1
        if on_step is not None:
            on_step(explainer, progress, stage)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(stage=stage, loss=f"{window[-1][0]:.3f}")
        if progress.step % cfg.log_every == 0:
            mean = np.mean(window, axis=0)
            log.log({"kind": "train", "step": progress.step, "epoch": progress.epoch, "stage": stage,
                     "loss": float(mean[0]), "llm_loss": float(mean[1]), "kl_content": float(mean[2]),
                     "kl_descriptor": float(mean[3]), "lr": lr,
                     "s_per_step": (time.perf_counter() - t0) / len(window) * cfg.grad_accum})
            window, t0 = [], time.perf_counter()
        if cfg.save_every and progress.step % cfg.save_every == 0:
            save_state(accelerator, cfg.run_dir, progress)
        if cfg.max_steps and progress.step >= cfg.max_steps:
            return True
    return False


def _every_rank_has(accelerator, examples) -> bool:
    """False when this process, or under DDP any process, has nothing to train on in this batch (the ASR stage
    skips rows without a transcript): every replica then skips the step together, or the others would wait in
    backward's all-reduce forever."""
    if accelerator.num_processes == 1:
        return bool(examples)
    import torch
    count = torch.tensor([len(examples)], device=accelerator.device)
    return bool(accelerator.gather(count).min() > 0)


def _evaluate(evaluate_fn, explainer, rows, progress, log) -> dict:
    t0 = time.perf_counter()
    metrics = evaluate_fn(explainer, rows)
    metrics = {**metrics, "step": progress.step, "epoch": progress.epoch, "eval_s": round(time.perf_counter() - t0, 1)}
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    log.log({"kind": "eval", **flat})
    print(f"[eval] step {progress.step}: " + ", ".join(f"{k}={v:.3f}" for k, v in flat.items()
                                                       if isinstance(v, float)))
    return metrics


def _progress_bar(cfg, accelerator, total, initial):
    if not (cfg.progress and accelerator.is_main_process):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc=cfg.name, mininterval=10)

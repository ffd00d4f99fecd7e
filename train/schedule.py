"""Which training stage runs when: one small pure function (paper section 3.5, Table 3 "Strategy").

Stages are the model's (emoexplain/model/config.py, the one list of their names):

- ``"asr"``          stage 1: content branch + adapter + LoRA train, descriptor tokens are zero, target = transcript
- ``"ser_sed_asr"``  stage 2: content branch frozen; descriptor branch + adapter + LoRA train, target = caption
- ``"joint"``        one-stage: both branches train on the caption at once

Schedules:

- ``one-stage``    joint for ``epochs_per_stage`` epochs (Table 3 row 1)
- ``two-stage``    asr for ``epochs_per_stage`` epochs, then ser_sed_asr for as many (row 2)
- ``alternating``  asr / ser_sed_asr interleaved, epoch by epoch (``alternate_by="epoch"``) or in blocks of
                   ``alternate_steps`` optimizer steps (``"steps"``); each stage still totals
                   ``epochs_per_stage`` epochs of data (rows 3-8). The paper does not say which interleaving it
                   used (paper.md section 5), so both are here.
"""

from __future__ import annotations

from emoexplain.model.config import ASR, JOINT, SER_SED_ASR as SER


def total_epochs(schedule: str, epochs_per_stage: int) -> int:
    """Epochs over the training data that the whole schedule takes."""
    return epochs_per_stage if schedule == "one-stage" else 2 * epochs_per_stage


def stage_at(schedule: str, epoch: int, step: int, *, epochs_per_stage: int, alternate_by: str = "epoch",
             alternate_steps: int = 1) -> str:
    """The stage for optimizer step ``step`` (global, from 0) taken during ``epoch`` (from 0)."""
    if schedule == "one-stage":
        return JOINT
    if schedule == "two-stage":
        return ASR if epoch < epochs_per_stage else SER
    if schedule == "alternating":
        block = epoch if alternate_by == "epoch" else step // alternate_steps
        return ASR if block % 2 == 0 else SER
    raise ValueError(f"unknown schedule {schedule!r}")


def stages_of(schedule: str) -> tuple[str, ...]:
    """Every stage a schedule visits (the optimizer must hold the parameters of all of them)."""
    return (JOINT,) if schedule == "one-stage" else (ASR, SER)


def lr_at(stage: str, stage_step: int, stage_total: int, *, lr_asr: float, lr_ser: float,
          warmup_frac: float = 0.03, min_lr_ratio: float = 0.0) -> float:
    """Learning rate for the ``stage_step``-th step (from 0) of a stage that takes ``stage_total`` steps.

    Paper 4.4: stage 1 constant 2e-4, stage 2 cosine from a 2e-5 peak, both after a linear warm-up over the
    first 3 % of the stage's steps. Alternating blocks count steps per stage, so the cosine runs across blocks.
    """
    import math

    peak = lr_asr if stage == ASR else lr_ser
    warmup = int(warmup_frac * stage_total)
    # 1) linear warm-up
    if stage_step < warmup:
        return peak * (stage_step + 1) / (warmup + 1)
    # 2) stage 1 stays constant
    if stage == ASR:
        return peak
    # 3) cosine decay to min_lr_ratio * peak over the remaining steps
    progress = min(1.0, (stage_step - warmup) / max(1, stage_total - warmup))
    floor = min_lr_ratio * peak
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))

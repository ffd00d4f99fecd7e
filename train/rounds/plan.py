"""The schedule of a round depends on its data (issue 9, item 2).

A block of ``alternate_steps`` optimizer steps means nothing when a round holds 3 corrections (1 step per
epoch) or 10,000 (2,500): in the first case every step fell in the ASR block, whose targets are transcripts,
and the corrected emotions never reached a loss. A round therefore alternates stages by *epoch*: each
SER-SED+ASR epoch is one pass over every row, so every correction reaches the SER-SED+ASR loss exactly
``epochs_per_stage`` times, whatever the count, and the round ends on a SER-SED+ASR epoch.
"""

from __future__ import annotations

import dataclasses
import math

from emoexplain.errors import ConfigError
from train import schedule as sched
from train.config import TrainConfig


def steps_per_epoch(cfg: TrainConfig, n_rows: int) -> int:
    return max(1, math.ceil(n_rows / cfg.batch_size) // cfg.grad_accum)


def planned_steps(cfg: TrainConfig, n_rows: int) -> dict[str, int]:
    """Optimizer steps per stage that ``cfg`` takes over ``n_rows`` rows (``max_steps`` included)."""
    per_epoch = steps_per_epoch(cfg, n_rows)
    steps = {sched.ASR: 0, sched.SER: 0, sched.JOINT: 0}
    budget = cfg.max_steps or math.inf
    for epoch in range(sched.total_epochs(cfg.schedule, cfg.epochs_per_stage)):
        if cfg.alternate_by == "epoch" or cfg.schedule != "alternating":
            stage = sched.stage_at(cfg.schedule, epoch, epoch * per_epoch, epochs_per_stage=cfg.epochs_per_stage)
            take = int(min(per_epoch, budget))
            steps[stage] += take
            budget -= take
            continue
        for step in range(epoch * per_epoch, (epoch + 1) * per_epoch):  # blocks of steps (never used by rounds)
            if budget <= 0:
                break
            steps[sched.stage_at(cfg.schedule, epoch, step, epochs_per_stage=cfg.epochs_per_stage,
                                 alternate_by="steps", alternate_steps=cfg.alternate_steps)] += 1
            budget -= 1
    return {k: v for k, v in steps.items() if v or k != sched.JOINT}


def ser_epochs(cfg: TrainConfig, n_rows: int) -> int:
    """Complete SER-SED+ASR passes over the data: how often every row reaches that loss."""
    return planned_steps(cfg, n_rows)[sched.SER] // steps_per_epoch(cfg, n_rows)


def round_schedule(cfg: TrainConfig, n_rows: int) -> TrainConfig:
    """``cfg`` with stage blocks of one epoch over ``n_rows`` rows; refuses a schedule that would not give every
    row ``epochs_per_stage`` SER-SED+ASR epochs."""
    if n_rows < 1:
        raise ConfigError("A round needs at least one training row.")
    if cfg.schedule == "one-stage":
        raise ConfigError("schedule='one-stage' trains the joint stage only and never reaches ser_sed_asr, which "
                          "is the stage that learns the corrected emotions: use 'alternating' or 'two-stage'.")
    cfg = dataclasses.replace(cfg, alternate_by="epoch")
    steps = planned_steps(cfg, n_rows)
    if steps[sched.SER] == 0:
        raise ConfigError(f"max_steps={cfg.max_steps} ends the round inside its first ASR epoch "
                          f"({steps_per_epoch(cfg, n_rows)} steps over {n_rows} rows): the corrections would never "
                          "reach the ser_sed_asr loss. Remove max_steps or raise it.")
    got = ser_epochs(cfg, n_rows)
    if got < cfg.epochs_per_stage:
        raise ConfigError(f"max_steps={cfg.max_steps} stops the round after {got} of its {cfg.epochs_per_stage} "
                          f"SER-SED+ASR epochs over {n_rows} rows; remove max_steps (a round's length follows its "
                          "data) or lower epochs_per_stage.")
    return cfg

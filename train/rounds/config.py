"""RoundConfig: the knobs of a from-store round that are not training knobs (split, gate, parent test set).

The training knobs stay in TrainConfig (train/configs/from_store.json); these take ``--round.KEY=VALUE``
overrides on the command line, checked like TrainConfig's (unknown key or wrong type: a ConfigError naming it).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

from emoexplain.errors import ConfigError

GATE_METRICS = ("accuracy", "ua")
GATE_RULES = ("gain", "significant", "gain_or_significant")
REPLAY_LABELS = ("truth", "parent")


@dataclass(frozen=True)
class RoundConfig:
    # --- held-out corrections (train/rounds/split.py) --------------------------------------------------
    kfold_below: int = 100          # fewer corrections than this: k-fold, every correction judged once
    folds: int = 5                  # k (at most the number of corrections)
    holdout_fraction: float = 0.25  # from kfold_below corrections on: one held-out part of this size
    # --- promotion gate (train/rounds/gate.py) ---------------------------------------------------------
    gate_metric: str = "accuracy"   # agreement with people on held-out corrections: accuracy | ua
    gate_rule: str = "gain"         # gain: after - before >= min_gain; significant: McNemar p < alpha and up
    min_gain: float = 0.10          # 10 points
    alpha: float = 0.05
    max_forgetting: float = 0.02    # parent-test UA may drop by at most 2 points
    max_class_drop: float = 1.0     # < 1: also reject when one class's recall falls by more than this; 1: the
                                    # largest class drop is reported beside the decision, not gated (the issue's
                                    # gate is UA; corrections from 3 classes move recall between classes)
    min_eval: int = 10              # fewer held-out corrections than this cannot promote (too few to judge)
    # --- parent test set and replay (train/rounds/recipes.py) -------------------------------------------
    replay_balance: bool = True     # replay fills the classes the corrections lack (else a uniform sample)
    replay_labels: str = "truth"    # truth: the corpus' labels | parent: the parent's own (distillation)
    anchor: float = 0.0             # per step, pull trained weights this fraction back to the parent's (L2-SP)
    parent_test_max: int = 0        # 0 = the whole parent test set
    cache_dir: str = "runs/cache"   # regenerated synthetic clips (demo test split, replay sample)
    bootstrap: int = 2000           # resamples for the 95 % interval of the difference
    workers: int = 2                # models trained at once, one process and one torch thread each (the app: 1)

    def __post_init__(self):
        if self.gate_metric not in GATE_METRICS:
            raise ConfigError(f"round.gate_metric={self.gate_metric!r}; choose one of {GATE_METRICS}.")
        if self.gate_rule not in GATE_RULES:
            raise ConfigError(f"round.gate_rule={self.gate_rule!r}; choose one of {GATE_RULES}.")
        if self.folds < 2:
            raise ConfigError(f"round.folds must be >= 2 (got {self.folds}).")
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ConfigError(f"round.holdout_fraction must be in (0, 1) (got {self.holdout_fraction}).")
        for key in ("min_gain", "max_forgetting", "max_class_drop", "alpha"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"round.{key} is a fraction in [0, 1] (got {getattr(self, key)}).")
        if self.replay_labels not in REPLAY_LABELS:
            raise ConfigError(f"round.replay_labels={self.replay_labels!r}; choose one of {REPLAY_LABELS}.")
        if not 0.0 <= self.anchor < 1.0:
            raise ConfigError(f"round.anchor must be in [0, 1) (got {self.anchor}).")
        if self.workers < 1 or self.bootstrap < 100:
            raise ConfigError("round.workers must be >= 1 and round.bootstrap >= 100.")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_overrides(cls, overrides=()) -> "RoundConfig":
        """``["--round.min_gain=0.2", ...]`` -> RoundConfig (other items are ignored: they are TrainConfig's)."""
        from train.config import _check_type, _parse_value

        hints = typing.get_type_hints(cls)
        values = {}
        for item in split_overrides(overrides)[1]:
            key, raw = item[len("--round."):].split("=", 1)
            if key not in hints:
                raise ConfigError(f"Unknown round setting {key!r} in {item!r}; known: {sorted(hints)}.")
            value = _parse_value(raw)
            values[key] = raw if hints[key] is str and not isinstance(value, str) else _check_type(key, value, hints[key])
        return cls(**values)


def split_overrides(overrides) -> tuple[list[str], list[str]]:
    """(TrainConfig overrides, ``--round.*`` overrides)."""
    train, rounds = [], []
    for item in overrides:
        (rounds if item.startswith("--round.") and "=" in item else train).append(item)
    return train, rounds

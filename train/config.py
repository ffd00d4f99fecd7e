"""TrainConfig: every training knob as a plain value, read from JSON plus ``--key=value`` overrides.

Configs hold values only (no class paths, no code): Python decides what to build from them. Unknown keys and
values of the wrong type are refused with a message that names the key, so a typo never silently trains the
wrong thing (nanoGPT's configurator checks, without ``exec``).

    cfg = TrainConfig.from_file("train/configs/demo_tiny.json", ["--lr_asr=1e-3", "--model.beta=0.1"])

Dict-valued fields (``model``, ``augment``) take dotted overrides: ``--model.use_prosody=true``.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from emoexplain.errors import ConfigError
from emoexplain.model.config import ModelConfig
from train.augment import DEFAULTS as AUGMENT_DEFAULTS

SCHEDULES = ("one-stage", "two-stage", "alternating")
ALTERNATE_BY = ("epoch", "steps")
TARGETS = ("trans", "des", "emo")
PRECISIONS = ("no", "fp16", "bf16")
MODEL_KINDS = ("explainer", "ssl_baseline")   # train/systems.py: what model_preset names
CAPTION_SOURCES = ("auto", "template", "corpus")  # train.data.manifest.compose_caption


@dataclass(frozen=True)
class TrainConfig:
    # --- run -------------------------------------------------------------------------------------------
    name: str = "run"                     # run name; checkpoints go to out_dir
    out_dir: str = "runs/{name}"          # "{name}" is filled in
    seed: int = 0                         # seeds data order, augmentation and the VIB noise
    # --- model -----------------------------------------------------------------------------------------
    model_kind: str = "explainer"         # explainer (Table 2 systems 4-7, Table 3) | ssl_baseline (systems 1-3)
    model_preset: str = "tiny"            # explainer: tiny | base | paper; ssl_baseline: SSLBaselineConfig presets
    model: dict = field(default_factory=dict)  # ModelConfig overrides, e.g. {"beta": 0.01, "use_prosody": true}
    init_checkpoint: str = ""             # start from this checkpoint folder instead of a fresh model
    # --- data ------------------------------------------------------------------------------------------
    train_manifest: str = ""              # manifest JSONL (train/data/manifest.py); rows of split train_split
    eval_manifest: str = ""               # "" -> the train manifest's eval_split rows
    train_split: str = "train"            # "*" = every row whose split is not eval_split (IEMOCAP folds)
    eval_split: str = "test"              # e.g. "Session5" for the 5th leave-one-session-out fold
    label_set: str = "iemocap4"           # emotion vocabulary the model scores
    targets: tuple = ("trans", "des", "emo")  # caption parts in the SER-SED target (paper Table 3 columns)
    caption_source: str = "auto"          # auto: corpus caption when all targets, else template; template | corpus
    max_seconds: float = 15.0             # longer clips are cut (the model sees at most this much)
    max_train_examples: int = 0           # 0 = all
    max_eval_examples: int = 0            # 0 = all
    # --- schedule (train/schedule.py) ------------------------------------------------------------------
    schedule: str = "alternating"         # one-stage | two-stage | alternating
    alternate_by: str = "epoch"           # alternating: switch stage every epoch, or every alternate_steps
    alternate_steps: int = 50             # optimizer steps per block when alternate_by == "steps"
    epochs_per_stage: int = 4             # paper 4.4: 4 epochs for each stage
    max_steps: int = 0                    # stop after this many optimizer steps (0 = no cap; smoke runs)
    # --- optimisation (paper 4.4) ----------------------------------------------------------------------
    batch_size: int = 8
    grad_accum: int = 1                   # gradient accumulation steps
    lr_asr: float = 2e-4                  # stage 1 (ASR): constant after warm-up
    lr_ser: float = 2e-5                  # stage 2 (SER-SED+ASR) and one-stage: cosine from this peak
    min_lr_ratio: float = 0.0             # cosine floor as a fraction of the peak
    warmup_frac: float = 0.03             # first 3 % of each stage's steps
    weight_decay: float = 0.0
    grad_clip: float = 1.0                # 0 = no clipping
    gradient_checkpointing: bool = False  # recompute the LLM's activations in backward (long clips, big batches)
    mixed_precision: str = "no"           # no | fp16 | bf16 (accelerate)
    cpu: bool = False                     # force CPU even where a GPU is present
    num_workers: int = 0                  # DataLoader workers
    torch_threads: int = 0                # torch intra-op threads (0 = torch's default; 1 on a busy small CPU)
    dist_timeout_minutes: int = 120       # multi-process: how long replicas wait (e.g. for the main process's eval)
    # --- augmentation (train/augment.py), applied on the fly to training clips --------------------------
    augment: dict = field(default_factory=dict)  # keys: train/augment.py DEFAULTS (speed, tempo, pitch, noise, gain)
    # --- logging / checkpoints -------------------------------------------------------------------------
    log_every: int = 10                   # optimizer steps between metric lines
    eval_every_epoch: bool = True         # evaluate at the end of each epoch
    save_every: int = 0                   # optimizer steps between resumable states (0 = at epoch ends)
    tensorboard: bool = True              # also log to TensorBoard when it is installed
    progress: bool = True                 # tqdm progress bars
    # --- from-store (train/__main__.py from-store) ------------------------------------------------------
    replay_fraction: float = 1.0          # replay rows drawn from the original corpus per corrected row
    min_agreement: float = 0.0            # store filter: minimum inter-annotator agreement
    consent_only: bool = True             # store filter: only clips whose audio was shared with consent

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule={self.schedule!r}; choose one of {SCHEDULES}.")
        if self.alternate_by not in ALTERNATE_BY:
            raise ConfigError(f"alternate_by={self.alternate_by!r}; choose one of {ALTERNATE_BY}.")
        if self.model_kind not in MODEL_KINDS:
            raise ConfigError(f"model_kind={self.model_kind!r}; choose one of {MODEL_KINDS}.")
        if self.model_kind == "ssl_baseline" and self.schedule != "one-stage":
            raise ConfigError("An SSL baseline trains its heads in one stage: set schedule to 'one-stage'.")
        if self.caption_source not in CAPTION_SOURCES:
            raise ConfigError(f"caption_source={self.caption_source!r}; choose one of {CAPTION_SOURCES}.")
        if self.mixed_precision not in PRECISIONS:
            raise ConfigError(f"mixed_precision={self.mixed_precision!r}; choose one of {PRECISIONS}.")
        targets = tuple(self.targets)
        if not targets or any(t not in TARGETS for t in targets) or "emo" not in targets:
            raise ConfigError(f"targets={list(targets)}: a subset of {list(TARGETS)} that includes 'emo'.")
        object.__setattr__(self, "targets", targets)
        for key in ("batch_size", "grad_accum", "epochs_per_stage", "alternate_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1 (got {getattr(self, key)}).")
        if not 0.0 <= self.warmup_frac < 1.0:
            raise ConfigError(f"warmup_frac must be in [0, 1) (got {self.warmup_frac}).")
        unknown = set(self.augment) - set(AUGMENT_KEYS)
        if unknown:
            raise ConfigError(f"Unknown augment keys {sorted(unknown)}; known: {sorted(AUGMENT_KEYS)}.")
        ModelConfig.check_keys(self.model)  # a --model.key typo: the valid keys, not a TypeError traceback

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir.format(name=self.name))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["targets"] = list(self.targets)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        hints = typing.get_type_hints(cls)
        unknown = set(data) - set(hints)
        if unknown:
            raise ConfigError(f"Unknown config keys {sorted(unknown)}; known keys: {sorted(hints)}.")
        values = {k: _check_type(k, v, hints[k]) for k, v in data.items()}
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path | None = None, overrides: list[str] | tuple = ()) -> "TrainConfig":
        """Read a JSON config (or the defaults when ``path`` is None) and apply ``--key=value`` overrides."""
        data: dict = {}
        if path:
            path = Path(path)
            if not path.is_file():
                raise ConfigError(f"No config file at {path}; see train/configs/ for the shipped ones.")
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path} is not valid JSON: {e}") from None
            data.pop("_comment", None)  # configs may carry one comment string
        return cls.from_dict(apply_overrides(data, overrides))


AUGMENT_KEYS = tuple(AUGMENT_DEFAULTS)  # the knobs train/augment.py reads


def apply_overrides(data: dict, overrides) -> dict:
    """Return ``data`` with ``--key=value`` strings applied; values parse as JSON, else stay strings."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    hints = typing.get_type_hints(TrainConfig)
    for item in overrides:
        if not item.startswith("--") or "=" not in item:
            raise ConfigError(f"Override {item!r} must look like --key=value.")
        key, raw = item[2:].split("=", 1)
        top, _, sub = key.partition(".")
        if top not in hints:
            raise ConfigError(f"Unknown config key {top!r} in {item!r}; known keys: {sorted(hints)}.")
        value = _parse_value(raw)
        if sub:
            if hints[top] is not dict:
                raise ConfigError(f"{top!r} is not a dict; write --{top}=VALUE.")
            data.setdefault(top, {})
            data[top] = {**data[top], sub: value}
        else:
            if hints[top] is str and not isinstance(value, str):
                value = raw  # --name=123 stays the string "123"
            data[top] = value
    return data


def _parse_value(raw: str):
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _check_type(key: str, value, hint):
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is tuple and isinstance(value, list):
        return tuple(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false (got {value!r}).")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} must be an integer (got {value!r}).")
    if not isinstance(value, hint):
        raise ConfigError(f"{key} must be of type {hint.__name__} (got {type(value).__name__}: {value!r}).")
    return value

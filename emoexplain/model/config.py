"""ModelConfig: every number and string that defines an Explainer, frozen and serialised into each checkpoint.

The three presets differ only here (same code path for tests, CPU demos and the paper-size GPU model):

    tiny   random backbones built by ``emoexplain.model.tiny`` and committed under assets/tiny_backbones/
    base   facebook/hubert-base-ls960 + meta-llama/Llama-3.2-1B-Instruct       (CPU-friendly)
    paper  facebook/hubert-large-ls960-ft + meta-llama/Llama-3.1-8B-Instruct   (Chen et al., Interspeech 2025)
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from emoexplain.errors import ConfigError
from emoexplain.paths import ROOT

TINY_BACKBONES = "assets/tiny_backbones"
ATTENTION = ("sdpa", "eager", "flash_attention_2")  # transformers' attn_implementation values we support

# Training stages (paper.md 5) and the speech branches each one trains; LoRA trains in every stage but eval.
# The one list of stage names: train/schedule.py and the Explainer read it from here.
ASR, SER_SED_ASR, JOINT, EVAL = "asr", "ser_sed_asr", "joint", "eval"
STAGE_BRANCHES = {ASR: ("content",), SER_SED_ASR: ("descriptor",), JOINT: ("content", "descriptor"), EVAL: ()}
STAGES = tuple(STAGE_BRANCHES)

# paper.md 2.5, verbatim from Figure 1.
SYSTEM_PROMPT = "You are a helpful language and speech assistant."
CAPTION_INSTRUCTION = ("Please caption the input audio according to content and speech "
                       "descriptor-related information.")
# The paper shows one instruction only (paper.md 11.5); the ASR stage needs its own so that the LLM can tell
# the two tasks apart when they alternate.
ASR_INSTRUCTION = "Please transcribe the speech content of the input audio."
# Llama-3.x chat templates write "Today Date: <day of rendering>" into the system turn; the prompt must not
# change with the calendar, so it is rendered with this date (the one Llama-3.1's template falls back to).
PROMPT_DATE = "26 Jul 2024"


@dataclass(frozen=True)
class ModelConfig:
    name: str = "tiny"                       # preset name, shown in the model card and the app
    encoder: str = f"{TINY_BACKBONES}/hubert"  # HuBERT hub id or folder (relative folders: from the repo root)
    llm: str = f"{TINY_BACKBONES}/llm"         # LLaMA-style causal LM + tokenizer + chat template
    label_set: str = "iemocap4"              # active label set of emoexplain.labels
    # information bottleneck (paper.md 2.2); width None = the encoder's hidden size, as in Mohebbi et al.
    latent_dim: int = 128                    # paper silent; Mohebbi et al. use 128
    bottleneck_hidden: int | None = None
    beta: float = 1e-2                       # best value of the paper's sweep (Table 3)
    use_prosody: bool = False                # beyond the paper: log-F0/voicing/energy into the descriptor branch
    # False = Table 2 system 4 (no feature disentanglement): one layer-weighted sum straight into the content
    # adapter, trained in every stage; no VIB, no KL, the descriptor slot stays zeros as in the ASR stage
    disentangle: bool = True
    # adapters (paper.md 2.3, LLaMA-Omni): concatenate k frames (50 Hz -> 10 Hz), Linear-ReLU-Linear
    adapter_k: int = 5
    adapter_hidden: int = 2048
    # LoRA (paper silent, paper.md 11.1): r=16/alpha=32 on all attention projections is the common speech-LLM
    # choice (SALMONN, WavLLM use r=8..16 on q,k,v,o); alpha = 2r keeps the update scale at 2.
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    lora_modules_to_save: tuple[str, ...] = ()   # tiny: the random LM must learn its embeddings too
    # prompt (paper.md 2.5)
    system_prompt: str = SYSTEM_PROMPT
    caption_instruction: str = CAPTION_INSTRUCTION
    asr_instruction: str = ASR_INSTRUCTION
    answer_prefix: str = "Emotion:"          # label scoring reads the label right after this slot
    prompt_date: str = PROMPT_DATE           # "Today Date" of Llama-3.x chat templates, pinned (llm.prompt_ids)
    max_new_tokens: int = 96                 # a SpeechCraft caption is 40-70 Llama-3 tokens
    normalize_audio: bool = True             # zero-mean unit-variance per clip, as Wav2Vec2FeatureExtractor
    attn_implementation: str = "sdpa"        # encoder + LLM attention: sdpa | eager | flash_attention_2
    seed: int = 0                            # initialises branches, adapters and LoRA
    extra: dict = field(default_factory=dict, compare=False, hash=False)  # free notes, kept in config.json

    def __post_init__(self):
        if self.latent_dim < 1 or self.adapter_k < 1 or self.adapter_hidden < 1 or self.lora_r < 1:
            raise ConfigError("latent_dim, adapter_k, adapter_hidden and lora_r must be positive integers.")
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}.")
        if self.attn_implementation not in ATTENTION:
            raise ConfigError(f"attn_implementation={self.attn_implementation!r}; choose one of {ATTENTION}.")
        if self.use_prosody and not self.disentangle:
            raise ConfigError("use_prosody feeds the descriptor branch, which disentangle=false bypasses.")
        from emoexplain.labels import labels
        labels(self.label_set)  # raises UnknownLabel with the allowed names

    @staticmethod
    def preset(name: str, **overrides) -> "ModelConfig":
        """A named preset (``tiny`` | ``base`` | ``paper``), optionally with field overrides."""
        if name not in PRESETS:
            raise ConfigError(f"Unknown model preset {name!r}; choose one of {sorted(PRESETS)}.")
        return PRESETS[name].replace(**overrides)

    def replace(self, **overrides) -> "ModelConfig":
        ModelConfig.check_keys(overrides)
        return dataclasses.replace(self, **overrides)

    @classmethod
    def check_keys(cls, keys) -> None:
        """ConfigError naming the unknown keys and listing the valid ones (e.g. a ``--model.key`` typo)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(keys) - known)
        if unknown:
            raise ConfigError(f"Unknown ModelConfig keys {unknown}; valid keys: {sorted(known)}.")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["lora_targets"] = list(self.lora_targets)
        d["lora_modules_to_save"] = list(self.lora_modules_to_save)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        cls.check_keys(d)
        d = dict(d)
        for key in ("lora_targets", "lora_modules_to_save"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block on torch's global RNG seeded with ``seed``, then give the caller's RNG state back.

    Module initialisers (nn.Linear, peft's LoRA) draw from the global generator only; this keeps every build
    deterministic per ``ModelConfig.seed`` without reseeding the process on each load or checkpoint switch.
    """
    import torch
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def resolve_backbone(id_or_path: str) -> str:
    """A repo-relative folder becomes absolute; a hub id (or an absolute path) is returned unchanged."""
    local = ROOT / id_or_path
    if not Path(id_or_path).is_absolute() and local.exists():
        return str(local)
    return id_or_path


PRESETS = {
    # Widths shrink with the random backbones; LoRA also trains the random embeddings/head (modules_to_save).
    "tiny": ModelConfig(name="tiny", latent_dim=16, adapter_hidden=64, lora_r=4, lora_alpha=8, lora_dropout=0.0,
                        lora_modules_to_save=("embed_tokens", "lm_head"), max_new_tokens=48),
    # Llama-3.2-1B-Instruct shares the Llama-3 tokenizer and chat template with the paper's Llama-3.1-8B, so the
    # prompt and the "Emotion:" slot tokenise identically across base and paper (TinyLlama would not).
    "base": ModelConfig(name="base", encoder="facebook/hubert-base-ls960", llm="meta-llama/Llama-3.2-1B-Instruct",
                        adapter_hidden=2048),
    "paper": ModelConfig(name="paper", encoder="facebook/hubert-large-ls960-ft",
                         llm="meta-llama/Llama-3.1-8B-Instruct", adapter_hidden=2048),
}

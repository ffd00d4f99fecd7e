"""SSL baseline (paper Table 2 systems 1-3): a frozen SSL encoder, layer-weighted sums, an SER and a CTC head.

The paper names the encoders (HuBERT-large, WavLM-large, wav2vec2-large) but not the heads; these follow
SUPERB's emotion-recognition and ASR downstreams (Yang et al. 2021), each head with its own layer weights
(SER and ASR prefer different layers):

    samples (B, S) --frozen encoder--> layers (B, L, F, D)
        --LayerSum--> (B, F, D) --Linear-ReLU--> (B, F, H) --mean over real frames--> (B, H) --Linear--> (B, C)
        --LayerSum--> (B, F, D) --BiLSTM x n--> (B, F, 2 H') --Linear--> CTC logits (B, F, V)

Loss = cross-entropy (emotion) + ``ctc_weight`` * CTC (characters, the hubert-large-ls960-ft vocabulary).
It trains in one stage (``joint``) through the same loop as the explainer (the same ``unfreeze`` / ``collate`` /
``forward(batch, stage)`` / ``freeze`` protocol), with the same evaluator: label
probabilities from ``score_labels``, the greedy CTC transcript for WER, no caption. A checkpoint is a folder
with config.json and heads.safetensors (layer weights and heads only: the encoder stays the hub's).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emoexplain.errors import CheckpointError, ConfigError
from emoexplain.model.bottleneck import LayerSum
from emoexplain.model.config import EVAL, JOINT, TINY_BACKBONES, resolve_backbone
from emoexplain.model.data import ModelLoss, ModelOutput
from emoexplain.model.encoder import SpeechEncoder, normalize
from emoexplain.model.tiny import CTC_VOCAB

FORMAT = "emoexplain-ssl-baseline"
HEADS_FILE = "heads.safetensors"
BLANK, WORD_SEP = 0, CTC_VOCAB.index("|")


@dataclass(frozen=True)
class SSLBaselineConfig:
    name: str = "tiny-hubert"
    encoder: str = f"{TINY_BACKBONES}/hubert"   # any HF HuBERT / WavLM / wav2vec2 id or folder
    label_set: str = "iemocap4"
    ser_hidden: int = 256                        # SUPERB ER projector width
    ctc_hidden: int = 1024                       # SUPERB ASR: 2-layer BiLSTM, 1024 units per direction
    ctc_layers: int = 2
    ctc_weight: float = 1.0
    normalize_audio: bool = True
    seed: int = 0
    tiny: str = "tiny-hubert"                    # the tiny preset of the same encoder family (check-configs)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if min(self.ser_hidden, self.ctc_hidden, self.ctc_layers) < 1 or self.ctc_weight < 0:
            raise ConfigError("ser_hidden, ctc_hidden and ctc_layers must be positive and ctc_weight >= 0.")
        from emoexplain.labels import labels
        labels(self.label_set)

    @staticmethod
    def preset(name: str, **overrides) -> "SSLBaselineConfig":
        if name not in PRESETS:
            raise ConfigError(f"Unknown SSL baseline preset {name!r}; choose one of {sorted(PRESETS)}.")
        known = {f.name for f in dataclasses.fields(SSLBaselineConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"Unknown SSL baseline keys {unknown}; known: {sorted(known)}.")
        return dataclasses.replace(PRESETS[name], **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _preset(name: str, encoder: str, tiny: str, **sizes) -> SSLBaselineConfig:
    return SSLBaselineConfig(name=name, encoder=encoder, tiny=tiny, **sizes)


_TINY = {"ser_hidden": 16, "ctc_hidden": 16, "ctc_layers": 1}
PRESETS = {
    # the same CTC-fine-tuned HuBERT the explainer uses, so system 1 differs from 4-7 only in what follows it
    "hubert-large": _preset("hubert-large", "facebook/hubert-large-ls960-ft", "tiny-hubert"),
    "wavlm-large": _preset("wavlm-large", "microsoft/wavlm-large", "tiny-wavlm"),
    "wav2vec2-large": _preset("wav2vec2-large", "facebook/wav2vec2-large-lv60", "tiny-wav2vec2"),
    "tiny-hubert": _preset("tiny-hubert", f"{TINY_BACKBONES}/hubert", "tiny-hubert", **_TINY),
    "tiny-wavlm": _preset("tiny-wavlm", f"{TINY_BACKBONES}/wavlm", "tiny-wavlm", **_TINY),
    "tiny-wav2vec2": _preset("tiny-wav2vec2", f"{TINY_BACKBONES}/wav2vec2", "tiny-wav2vec2", **_TINY),
}


@dataclass(frozen=True)
class LabelledClip:
    """One training example: audio with its emotion (in ``label_set``) and transcript, either may be None."""
    samples: np.ndarray
    emotion: str | None
    label_set: str | None
    transcript: str | None


@dataclass
class ClipBatch:
    samples: torch.Tensor        # (B, S) zero-padded
    sample_mask: torch.Tensor    # (B, S) bool
    label_ids: torch.Tensor      # (B,) long, -100 where the clip has no label of this model's set
    targets: list[list[int]]     # CTC character ids per clip ([] = no transcript)


class SSLBaseline(nn.Module):
    def __init__(self, config: SSLBaselineConfig, encoder: SpeechEncoder):
        super().__init__()
        from emoexplain.labels import labels

        self.config, self.encoder = config, encoder
        self.name, self.version, self.card_markdown = f"ssl-baseline-{config.name}", "untrained", ""
        self.label_set, self.labels = config.label_set, labels(config.label_set)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(config.seed)  # the heads' initialisation, without reseeding the caller's stream
        d = encoder.hidden_size
        self.ser_sum, self.ctc_sum = LayerSum(encoder.num_layers), LayerSum(encoder.num_layers)
        self.ser_proj = nn.Sequential(nn.Linear(d, config.ser_hidden), nn.ReLU())
        self.ser_out = nn.Linear(config.ser_hidden, len(self.labels))
        self.ctc_rnn = nn.LSTM(d, config.ctc_hidden, num_layers=config.ctc_layers, batch_first=True,
                               bidirectional=True)
        self.ctc_out = nn.Linear(2 * config.ctc_hidden, len(CTC_VOCAB))
        torch.random.set_rng_state(generator_state)
        self.freeze()

    @property
    def device(self) -> torch.device:
        return self.ser_sum.layer_logits.device

    def heads(self) -> dict[str, nn.Module]:
        """What trains and what a checkpoint stores."""
        return {"ser_sum": self.ser_sum, "ser_proj": self.ser_proj, "ser_out": self.ser_out,
                "ctc_sum": self.ctc_sum, "ctc_rnn": self.ctc_rnn, "ctc_out": self.ctc_out}

    @staticmethod
    def _check(stage: str):
        if stage not in (JOINT, EVAL):
            raise ConfigError(f"An SSL baseline trains in one stage ('joint', schedule one-stage), not {stage!r}.")

    def unfreeze(self, stages=(JOINT,)) -> list[nn.Parameter]:
        """Layer weights and both heads train (the encoder never does); returns them (for the optimizer)."""
        for stage in stages:
            self._check(stage)
        self.requires_grad_(False)
        params = [p for module in self.heads().values() for p in module.parameters()] if JOINT in stages else []
        for p in params:
            p.requires_grad_(True)
        self.train(bool(params))
        return params

    def freeze(self) -> "SSLBaseline":
        self.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.train(False)
        return self

    # --- batches ---------------------------------------------------------------------------------------------
    def collate(self, examples: list[LabelledClip], *, stage: str = EVAL) -> ClipBatch:
        from emoexplain.labels import convert

        lengths = [len(ex.samples) for ex in examples]
        samples = torch.zeros(len(examples), max(lengths))
        for i, ex in enumerate(examples):
            samples[i, : lengths[i]] = torch.as_tensor(np.asarray(ex.samples, dtype=np.float32))
        mask = torch.arange(samples.shape[1])[None] < torch.tensor(lengths)[:, None]
        label_ids = []
        for ex in examples:
            label = ex.emotion
            if label is not None and ex.label_set not in (None, self.label_set):
                label = convert(label, ex.label_set, self.label_set)
            label_ids.append(self.labels.index(label) if label in self.labels else -100)
        return ClipBatch(samples, mask, torch.tensor(label_ids), [ctc_targets(ex.transcript) for ex in examples])

    # --- forward ---------------------------------------------------------------------------------------------
    def _heads(self, samples: torch.Tensor, sample_mask: torch.Tensor):
        """(emotion logits (B, C), CTC log-probs (B, F, V), frame counts (B,))."""
        samples, sample_mask = samples.to(self.device), sample_mask.to(self.device)
        if self.config.normalize_audio:
            samples = normalize(samples, sample_mask)
        enc = self.encoder(samples, sample_mask)                                    # layers (B, L, F, D)
        mask = enc.frame_mask
        h = self.ser_proj(self.ser_sum(enc.layers, mask).z)                         # (B, F, H)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)   # (B, H)
        packed = nn.utils.rnn.pack_padded_sequence(self.ctc_sum(enc.layers, mask).z, mask.sum(1).cpu(),
                                                    batch_first=True, enforce_sorted=False)
        rnn, _ = nn.utils.rnn.pad_packed_sequence(self.ctc_rnn(packed)[0], batch_first=True,
                                                  total_length=mask.shape[1])      # (B, F, 2 H')
        log_probs = torch.log_softmax(self.ctc_out(rnn).float(), -1)                # (B, F, V)
        return self.ser_out(pooled), log_probs, mask.sum(1)

    def forward(self, batch: ClipBatch, stage: str = JOINT) -> ModelLoss:
        """Cross-entropy + ctc_weight * CTC; ModelLoss.llm_loss carries that task loss (there is no KL)."""
        self._check(stage)
        logits, log_probs, frames = self._heads(batch.samples, batch.sample_mask)
        labels = batch.label_ids.to(self.device)
        zero = logits.new_zeros(())
        ce = nn.functional.cross_entropy(logits, labels, ignore_index=-100) if (labels >= 0).any() else zero
        has_text = [i for i, t in enumerate(batch.targets) if t]
        ctc = zero
        if has_text:
            targets = torch.tensor([c for i in has_text for c in batch.targets[i]], device=self.device)
            ctc = nn.functional.ctc_loss(log_probs[has_text].transpose(0, 1), targets, frames[has_text],
                                         torch.tensor([len(batch.targets[i]) for i in has_text], device=self.device),
                                         blank=BLANK, zero_infinity=True)
        task = ce + self.config.ctc_weight * ctc
        return ModelLoss(task, task, zero, zero)

    # --- inference -------------------------------------------------------------------------------------------
    def _batch(self, samples_list):
        return self.collate([LabelledClip(s, None, None, None) for s in samples_list])

    @torch.no_grad()
    def score_labels(self, samples_batch: list[np.ndarray]) -> np.ndarray:
        """(B, n_labels) probabilities over ``self.labels``."""
        was = self.training
        self.train(False)
        batch = self._batch(samples_batch)
        logits, _, _ = self._heads(batch.samples, batch.sample_mask)
        self.train(was)
        return torch.softmax(logits.float(), -1).cpu().numpy()

    @torch.no_grad()
    def predict(self, samples: np.ndarray, *, generate: bool = True, **_) -> ModelOutput:
        """Label probabilities and (with ``generate``) the greedy CTC transcript; no caption or descriptors."""
        start, was = time.perf_counter(), self.training
        self.train(False)
        batch = self._batch([samples])
        logits, log_probs, frames = self._heads(batch.samples, batch.sample_mask)
        self.train(was)
        probs = torch.softmax(logits[0].float(), -1).cpu()
        transcript = greedy_ctc(log_probs[0, : int(frames[0])].argmax(-1).tolist()) if generate else None
        return ModelOutput(self.labels[int(probs.argmax())], {l: float(p) for l, p in zip(self.labels, probs)},
                           None, transcript, {}, (), (), time.perf_counter() - start)


# --- characters ---------------------------------------------------------------------------------------------
def ctc_targets(transcript: str | None) -> list[int]:
    """Character ids of ``transcript`` in the CTC vocabulary (upper case, "|" between words, others dropped)."""
    index = {c: i for i, c in enumerate(CTC_VOCAB)}
    words = ["".join(c for c in w.upper() if c in index and c != "|") for w in (transcript or "").split()]
    return [index[c] for c in "|".join(w for w in words if w)]


def greedy_ctc(ids: list[int]) -> str:
    """Collapse repeats, drop blanks, "|" -> space, lower case."""
    out, prev = [], None
    for i in ids:
        if i != prev and i != BLANK:
            out.append(" " if i == WORD_SEP else CTC_VOCAB[i])
        prev = i
    text = "".join(c for c in out if len(c) == 1)
    return " ".join(text.split()).lower()


# --- build, save, load -----------------------------------------------------------------------------------------
def load_encoder(id_or_path: str, *, device=None, dtype=None) -> SpeechEncoder:
    """Any HuBERT / WavLM / wav2vec2 checkpoint as a frozen SpeechEncoder (its base model; a CTC head is unused)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a CTC checkpoint's unused lm_head is expected, not worth a load report
    try:
        model = AutoModel.from_pretrained(resolve_backbone(id_or_path), dtype=dtype or torch.float32)
    except OSError as exc:
        raise CheckpointError(f"Could not load the SSL encoder {id_or_path!r}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    return SpeechEncoder(model.to(device or "cpu"))


def build_ssl_baseline(config: SSLBaselineConfig, *, device=None, dtype=None) -> SSLBaseline:
    model = SSLBaseline(config, load_encoder(config.encoder, device=device, dtype=dtype))
    for module in model.heads().values():
        module.to(device or "cpu")
    return model


def save_ssl_baseline(model: SSLBaseline, folder, *, metrics: dict | None = None, train_config: dict | None = None,
                      card: str | None = None, version: str | None = None) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.version = version or model.version
    state = {f"{name}.{k}": v.detach().float().cpu().contiguous()
             for name, module in model.heads().items() for k, v in module.state_dict().items()}
    save_file(state, str(folder / HEADS_FILE), metadata={"format": FORMAT})
    info = {"format": FORMAT, "name": model.name, "version": model.version, "model": model.config.to_dict(),
            "label_set": model.label_set, "labels": list(model.labels), "train_config": train_config,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (folder / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    model.card_markdown = card or f"# {model.name}\n\nSSL baseline (paper Table 2 systems 1-3), {model.config.encoder}.\n"
    (folder / "README.md").write_text(model.card_markdown)
    return folder


def is_ssl_checkpoint(folder) -> bool:
    try:
        return json.loads((Path(folder) / "config.json").read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def load_ssl_baseline(folder, *, device=None, dtype=None) -> SSLBaseline:
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / "config.json").read_text())
    model = build_ssl_baseline(SSLBaselineConfig(**info["model"]), device=device, dtype=dtype)
    state = load_file(str(folder / HEADS_FILE))
    try:
        for name, module in model.heads().items():
            module.load_state_dict({k[len(name) + 1:]: v for k, v in state.items() if k.startswith(f"{name}.")})
    except RuntimeError as exc:
        raise CheckpointError(f"The weights in {folder} do not fit the model its config.json describes: {exc}")
    model.name, model.version = info.get("name", model.name), info.get("version", "unknown")
    return model.freeze()

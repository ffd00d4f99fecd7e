"""Frozen HuBERT speech encoder returning every transformer layer (paper.md 2.1).

Any HuBERT checkpoint id or folder works. When the checkpoint carries a CTC head (hubert-large-ls960-ft, and the
tiny backbone) the same forward also returns CTC logits, which alignment.py uses for word timings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class EncoderOutput:
    layers: torch.Tensor              # (B, L, F, D) transformer layers, hidden_states[1:]
    frame_mask: torch.Tensor          # (B, F) bool, True on frames computed from real (unpadded) samples
    ctc_logits: torch.Tensor | None   # (B, F, V) when the checkpoint has a CTC head


class SpeechEncoder(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.model.eval()
        self.model.requires_grad_(False)
        cfg = model.config
        self.num_layers = cfg.num_hidden_layers
        self.hidden_size = cfg.hidden_size
        self.has_ctc = hasattr(model, "lm_head")
        stride = 1
        for s in cfg.conv_stride:
            stride *= s
        self.samples_per_frame = stride                     # 320 -> 50 Hz at 16 kHz
        # HF convention: only layer-norm feature extractors were trained with attention masks
        self._uses_mask = cfg.feat_extract_norm == "layer"

    @staticmethod
    def load(id_or_path: str, *, device=None, dtype=None, attn_implementation: str = "sdpa") -> "SpeechEncoder":
        """Weights go straight to ``device`` in ``dtype`` (transformers 5 builds on the meta device and fills
        each tensor from the checkpoint, so host memory holds no float32 or second copy)."""
        from transformers import AutoConfig, HubertForCTC, HubertModel
        config = AutoConfig.from_pretrained(id_or_path)
        is_ctc = any("ForCTC" in a for a in (config.architectures or []))
        cls = HubertForCTC if is_ctc else HubertModel
        model = cls.from_pretrained(id_or_path, dtype=dtype or torch.float32, device_map=str(device or "cpu"),
                                    attn_implementation=attn_implementation)
        return SpeechEncoder(model)

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.eval()  # frozen: never dropout, never SpecAugment masking
        return self

    def num_frames(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Frames the CNN front end makes from ``num_samples`` samples (any int tensor shape)."""
        base = self.model.hubert if self.has_ctc else self.model
        return base._get_feat_extract_output_lengths(num_samples).clamp_min(0)

    @torch.no_grad()
    def forward(self, samples: torch.Tensor, sample_mask: torch.Tensor) -> EncoderOutput:
        """samples (B, S) float @16 kHz, sample_mask (B, S) bool -> EncoderOutput with F = frames at 50 Hz."""
        dtype = next(self.model.parameters()).dtype
        out = self.model(samples.to(dtype), attention_mask=sample_mask.long() if self._uses_mask else None,
                         output_hidden_states=True)
        layers = torch.stack(out.hidden_states[1:], dim=1)           # (B, L, F, D)
        frames = self.num_frames(sample_mask.sum(-1))                # (B,)
        frame_mask = torch.arange(layers.shape[2], device=layers.device)[None] < frames[:, None]
        return EncoderOutput(layers, frame_mask, out.logits if self.has_ctc else None)


def normalize(samples: torch.Tensor, sample_mask: torch.Tensor) -> torch.Tensor:
    """Zero-mean unit-variance per clip over its real samples (what Wav2Vec2FeatureExtractor does)."""
    n = sample_mask.sum(-1, keepdim=True).clamp_min(1)
    mean = (samples * sample_mask).sum(-1, keepdim=True) / n
    var = (((samples - mean) * sample_mask) ** 2).sum(-1, keepdim=True) / n
    return (samples - mean) / torch.sqrt(var + 1e-7) * sample_mask

"""Adapter (paper.md 2.3, LLaMA-Omni's EncoderProjectorConcat): stack k frames, Linear-ReLU-Linear to the LLM.

    z (B, F, Z) --drop F mod k, concat k frames--> (B, F // k, k * Z) --Linear-ReLU-Linear--> (B, F // k, H_llm)
"""

from __future__ import annotations

import torch
from torch import nn


class Adapter(nn.Module):
    def __init__(self, latent: int, hidden: int, llm_hidden: int, k: int = 5):
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(nn.Linear(k * latent, hidden), nn.ReLU(), nn.Linear(hidden, llm_hidden))

    def forward(self, z: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, F, Z), frame_mask (B, F) -> tokens (B, T, H_llm), token_mask (B, T) with T = F // k."""
        b, f, d = z.shape
        t = f // self.k
        stacked = z[:, : t * self.k].reshape(b, t, self.k * d)                  # (B, T, k * Z)
        # a token is real when all k of its frames are: per clip, T_i = F_i // k
        token_mask = frame_mask[:, : t * self.k].reshape(b, t, self.k).all(-1)  # (B, T)
        return self.mlp(stacked), token_mask

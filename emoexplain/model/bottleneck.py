"""Variational information bottleneck branch (paper.md 2.2; Mohebbi et al.'s VariationalEncoder).

    layers (B, L, F, D) --softmax layer weights--> (B, F, D) [++ prosody (B, F, 3)]
        --Linear-GELU-Linear-GELU--> (B, F, H) --> mu (B, F, Z), var = softplus(.) (B, F, Z)
    z = mu + sqrt(var) * eps when sampling (training this branch), else z = mu; KL(N(mu, var) || N(0, I)) per frame, averaged over
    real frames.

``LayerSum`` is the same layer-weighted sum with no bottleneck after it: the branch of Table 2 system 4 (no
feature disentanglement) and the input of the SSL baselines' heads (systems 1-3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BottleneckOutput:
    z: torch.Tensor     # (B, F, Z)
    mu: torch.Tensor    # (B, F, Z)
    var: torch.Tensor   # (B, F, Z)
    kl: torch.Tensor    # () mean over real frames of the per-frame KL summed over latent dims


def gaussian_kl(mu: torch.Tensor, var: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, var) || N(0, I)) summed over the last dim, averaged over frames where frame_mask is True."""
    mu, var = mu.float(), var.float()
    per_frame = -0.5 * (1 + torch.log(var.clamp_min(1e-8)) - mu.pow(2) - var).sum(-1)   # (B, F)
    mask = frame_mask.to(per_frame.dtype)
    return (per_frame * mask).sum() / mask.sum().clamp_min(1)


def layer_weighted_sum(layer_logits: torch.Tensor, layers: torch.Tensor) -> torch.Tensor:
    """softmax(layer_logits) (L,) . layers (B, L, F, D) -> (B, F, D)."""
    weights = torch.softmax(layer_logits, dim=0).to(layers.dtype)
    return torch.einsum("l,blfd->bfd", weights, layers)


class LayerSum(nn.Module):
    """layers (B, L, F, D) -> z = softmax-weighted sum (B, F, D); deterministic, KL 0 (nothing to compress)."""

    def __init__(self, num_layers: int):
        super().__init__()
        self.layer_logits = nn.Parameter(torch.zeros(num_layers))  # uniform average at start

    def forward(self, layers: torch.Tensor, frame_mask: torch.Tensor, extra=None, *,
                sample: bool | None = None) -> BottleneckOutput:
        x = layer_weighted_sum(self.layer_logits, layers).float()                     # (B, F, D)
        return BottleneckOutput(x, x, torch.zeros_like(x), x.new_zeros(()))


class Bottleneck(nn.Module):
    def __init__(self, num_layers: int, d_in: int, hidden: int, latent: int, extra_dim: int = 0):
        super().__init__()
        # softmax(0) = uniform average of the layers at start, as in Mohebbi et al.
        self.layer_logits = nn.Parameter(torch.zeros(num_layers))
        self.extra_dim = extra_dim
        self.mlp = nn.Sequential(nn.Linear(d_in + extra_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU())
        self.mu = nn.Linear(hidden, latent)
        self.var = nn.Linear(hidden, latent)

    def forward(self, layers: torch.Tensor, frame_mask: torch.Tensor,
                extra: torch.Tensor | None = None, *, sample: bool | None = None) -> BottleneckOutput:
        """layers (B, L, F, D), frame_mask (B, F), extra (B, F, E) or None -> BottleneckOutput.

        ``sample``: draw z = mu + sigma * eps (None: when in training mode); the Explainer decides per stage.
        """
        x = layer_weighted_sum(self.layer_logits, layers).to(self.mu.weight.dtype)   # (B, F, D)
        if self.extra_dim:
            x = torch.cat([x, extra.to(x.dtype)], dim=-1)                             # (B, F, D + E)
        h = self.mlp(x)                                                               # (B, F, H)
        mu, var = self.mu(h), F.softplus(self.var(h))                                 # (B, F, Z) each
        sample = self.training if sample is None else sample
        z = mu + torch.sqrt(var) * torch.randn_like(mu) if sample else mu
        return BottleneckOutput(z, mu, var, gaussian_kl(mu, var, frame_mask))

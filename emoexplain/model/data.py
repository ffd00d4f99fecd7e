"""Plain data passed in and out of the Explainer (frozen dataclasses with to_dict, per contracts.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from emoexplain.explanation import WordTiming  # one timed-word type for the model and the result

TASKS = ("asr", "caption")


@dataclass(frozen=True)
class TrainExample:
    samples: np.ndarray    # (S,) float32 mono @16 kHz
    target_text: str       # a caption (task "caption") or a transcript (task "asr")
    task: str              # "asr" | "caption": picks the instruction of the prompt


@dataclass
class SpeechBatch:
    samples: torch.Tensor            # (B, S) float32, zero-padded on the right
    sample_mask: torch.Tensor        # (B, S) bool
    prosody: torch.Tensor | None     # (B, F, 3) when config.use_prosody, F = encoder frames of S samples
    tasks: tuple[str, ...]           # per example
    target_ids: torch.Tensor         # (B, Lt) long, the answer tokens + end-of-turn, right-padded
    target_mask: torch.Tensor        # (B, Lt) bool

    def to(self, device) -> "SpeechBatch":
        move = (lambda t: None if t is None else t.to(device))
        return SpeechBatch(move(self.samples), move(self.sample_mask), move(self.prosody), self.tasks,
                           move(self.target_ids), move(self.target_mask))

    def __len__(self) -> int:
        return self.samples.shape[0]


@dataclass
class ModelLoss:
    loss: torch.Tensor            # () llm_loss + beta * KL of the branch(es) being trained
    llm_loss: torch.Tensor        # () mean token cross-entropy over the answer tokens
    kl_content: torch.Tensor      # () per-frame KL of the content branch (0 when it did not run)
    kl_descriptor: torch.Tensor   # () per-frame KL of the descriptor branch (0 in the ASR stage)


@dataclass(frozen=True)
class ModelOutput:
    label: str                            # argmax of probabilities (active label set)
    probabilities: dict[str, float]       # label -> p, sums to 1 (label scoring, not caption parsing)
    caption: str | None                   # generated caption (None with generate=False)
    transcript: str | None                # parsed from the caption
    descriptors: dict[str, str]           # parsed from the caption: {pitch, volume, speed, tone, ...}
    emphasis: tuple[str, ...]             # parsed from the caption
    words: tuple[WordTiming, ...]         # CTC forced alignment of the transcript (empty without a CTC head)
    latency_s: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["emphasis"] = list(self.emphasis)
        d["words"] = [w.to_dict() for w in self.words]
        return d

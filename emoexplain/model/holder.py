"""The one model cache of a process: an explainer loaded lazily (once, under a lock) and swappable.

    holder = ModelHolder("assets/demo_checkpoint")   # None: $EMOEXPLAIN_CHECKPOINT, else the demo
    explainer = holder.get()                         # loads on first use
    holder.switch("owner/trained-checkpoint")        # the old model stays if loading fails

``explain(audio)`` without an explainer uses :func:`default_holder`; the app keeps its own holder (its
checkpoint comes from the app's config) and never loads a second copy through the default.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from emoexplain.errors import CheckpointError, EmoExplainError
from emoexplain.paths import DEFAULT_CHECKPOINT


@dataclass(frozen=True)
class ModelInfo:
    """What a page shows about the loaded checkpoint."""
    name: str
    version: str
    label_set: str
    labels: tuple[str, ...]
    checkpoint: str          # where it was loaded from (folder or hub id)
    card: str                # the model card without its YAML header
    metrics: dict
    is_demo: bool


class ModelHolder:
    """One explainer, loaded on first :meth:`get` and replaced by :meth:`switch`."""

    def __init__(self, checkpoint: str | None = None, explainer=None):
        self.checkpoint = checkpoint
        self._explainer = explainer
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def get(self):
        if self._explainer is None:
            with self._lock:
                if self._explainer is None:
                    self._explainer = self._load(self.checkpoint)
        return self._explainer

    @property
    def loaded(self) -> bool:
        return self._explainer is not None

    @property
    def source(self) -> str:
        """The folder or hub id this holder loads: its checkpoint, else $EMOEXPLAIN_CHECKPOINT, else the demo."""
        return self.checkpoint or os.environ.get("EMOEXPLAIN_CHECKPOINT") or str(DEFAULT_CHECKPOINT)

    def _load(self, checkpoint):
        from emoexplain.model.checkpoint import load_explainer
        start = time.perf_counter()
        try:
            explainer = load_explainer(checkpoint)
        except EmoExplainError:
            raise
        except Exception as e:  # a broken folder or hub id: say which one
            raise CheckpointError(f"Cannot load the checkpoint {checkpoint or self.source}: {e}") from e
        self.load_seconds = time.perf_counter() - start
        return explainer

    def warm_up(self, *, run: bool = True) -> None:
        """Load the model and (with ``run``) predict once on a second of noise, so the first real request is
        fast. ZeroGPU passes ``run=False``: there is no GPU outside a ``spaces.GPU`` call."""
        import numpy as np

        from emoexplain.audio import SAMPLE_RATE
        explainer = self.get()
        if run:
            explainer.predict(np.random.default_rng(0).normal(0, 0.05, SAMPLE_RATE).astype(np.float32))

    def switch(self, checkpoint: str):
        """Load ``checkpoint`` and make it the held model; the old one stays if loading fails."""
        explainer = self._load(checkpoint)
        with self._lock:
            self._explainer, self.checkpoint = explainer, checkpoint
        return explainer

    def info(self) -> ModelInfo:
        from emoexplain.model.checkpoint import card_body, checkpoint_metrics, is_demo_checkpoint
        explainer = self.get()
        card = getattr(explainer, "card_markdown", "") or ""
        return ModelInfo(name=str(getattr(explainer, "name", "?")), version=str(getattr(explainer, "version", "?")),
                         label_set=str(getattr(explainer, "label_set", "?")),
                         labels=tuple(map(str, getattr(explainer, "labels", ()))), checkpoint=self.source,
                         card=card_body(card), metrics=checkpoint_metrics(explainer, self.source),
                         is_demo=is_demo_checkpoint(self.source, card))


_DEFAULT: ModelHolder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_holder() -> ModelHolder:
    """The process-wide holder of the default model ($EMOEXPLAIN_CHECKPOINT, else the demo checkpoint)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = ModelHolder()
        return _DEFAULT

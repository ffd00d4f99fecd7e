"""The explainable SER model (issue 4): see docs/model.md.

    explainer = load_explainer("assets/demo_checkpoint")          # or a hub id, or None for the default
    out = explainer.predict(samples)                              # ModelOutput: label, probabilities, caption...

Heavy imports (torch, transformers, peft) happen on first use of a name, so ``import emoexplain.model`` is cheap.
"""

from importlib import import_module

_EXPORTS = {
    "ModelConfig": "emoexplain.model.config",
    "build_explainer": "emoexplain.model.checkpoint",
    "load_explainer": "emoexplain.model.checkpoint",
    "save_checkpoint": "emoexplain.model.checkpoint",
    "push_to_hub": "emoexplain.model.checkpoint",
    "DEFAULT_CHECKPOINT": "emoexplain.paths",
    "Explainer": "emoexplain.model.explainer",
    "TrainExample": "emoexplain.model.data",
    "SpeechBatch": "emoexplain.model.data",
    "ModelLoss": "emoexplain.model.data",
    "ModelOutput": "emoexplain.model.data",
    "WordTiming": "emoexplain.model.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emoexplain.model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

"""emoexplain: explainable speech emotion recognition with checkable acoustic evidence.

Public API (imported lazily, so ``import emoexplain`` stays cheap):

    profile = emoexplain.analyze("clip.wav")            # numbers + descriptors with evidence
    explainer = emoexplain.load_explainer("assets/demo_checkpoint")
    result = emoexplain.explain("clip.wav", explainer)  # model output + acoustic profile
    report = emoexplain.probe("clip.wav", explainer)    # counterfactual probes + faithfulness (docs/probes.md)
    store = emoexplain.open_store("data/emoexplain.db")
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "analyze": "emoexplain.acoustics",
    "AcousticProfile": "emoexplain.acoustics",
    "load_audio": "emoexplain.audio",
    "describe": "emoexplain.descriptors",
    "explain": "emoexplain.pipeline",
    "Explanation": "emoexplain.explanation",
    "probe": "emoexplain.probes",
    "ProbeReport": "emoexplain.probes",
    "load_explainer": "emoexplain.model",
    "open_store": "emoexplain.store",
    "EmoExplainError": "emoexplain.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emoexplain' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

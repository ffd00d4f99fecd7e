"""Which model a TrainConfig trains, in one place: the explainer (Table 2 systems 4-7, Table 3) or an SSL
baseline (Table 2 systems 1-3, emoexplain.model.ssl_baseline), chosen by ``model_kind``.

The loop asks this module for the model's config, its training examples (SSL baselines learn from the label
and the transcript, not a caption), how to save it; ``train eval`` asks it how to load a checkpoint folder.
``tiny=True`` swaps the preset for the tiny one of the same kind and family (``train check-configs``).
"""

from __future__ import annotations

SSL = "ssl_baseline"


def model_config(cfg, *, tiny: bool = False):
    """The ModelConfig / SSLBaselineConfig that ``cfg`` describes (preset + ``cfg.model`` overrides)."""
    overrides = dict(cfg.model)
    overrides.setdefault("label_set", cfg.label_set)
    if cfg.model_kind == SSL:
        from emoexplain.model.ssl_baseline import SSLBaselineConfig

        preset = SSLBaselineConfig.preset(cfg.model_preset).tiny if tiny else cfg.model_preset
        return SSLBaselineConfig.preset(preset, **overrides)
    from emoexplain.model import ModelConfig

    return ModelConfig.preset("tiny" if tiny else cfg.model_preset, **overrides)


def build(cfg, *, tiny: bool = False, device=None):
    """A fresh model with random heads / branches for ``cfg`` (an SSL baseline: its ``init_checkpoint`` if set)."""
    config = model_config(cfg, tiny=tiny)
    if cfg.model_kind == SSL:
        from emoexplain.model.ssl_baseline import build_ssl_baseline

        if cfg.init_checkpoint and not tiny:
            return load(cfg.init_checkpoint, device=device)
        return build_ssl_baseline(config, device=device)
    from emoexplain.model import build_explainer

    return build_explainer(config, device=device)


def ssl_examples(items) -> list:
    """(samples, row) pairs -> the SSL baseline's examples (emotion and transcript, either may be missing)."""
    from emoexplain.model.ssl_baseline import LabelledClip

    return [LabelledClip(samples, row.get("emotion"), row.get("label_set"), row.get("transcript"))
            for samples, row in items]


def save(model, folder, **kwargs):
    """The model's own checkpoint format (``save_checkpoint`` keywords: metrics, train_config, card, version)."""
    from emoexplain.model.ssl_baseline import SSLBaseline, save_ssl_baseline

    if isinstance(model, SSLBaseline):
        return save_ssl_baseline(model, folder, **kwargs)
    from emoexplain.model import save_checkpoint

    return save_checkpoint(model, folder, **kwargs)


def load(folder, *, device=None):
    """An explainer or SSL-baseline checkpoint folder (its config.json says which); device None: the model's
    default (the GPU in bfloat16 when there is one)."""
    from emoexplain.model.ssl_baseline import is_ssl_checkpoint, load_ssl_baseline

    if is_ssl_checkpoint(folder):
        import torch

        return load_ssl_baseline(folder, device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    from emoexplain.model import load_explainer

    return load_explainer(folder, device=device)

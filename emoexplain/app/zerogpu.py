"""ZeroGPU (Hugging Face Spaces): a GPU exists only inside functions wrapped with ``spaces.GPU``.

The GPU function gets a small key, never the model itself: on ZeroGPU its arguments may be pickled to a
worker, which finds the model holder it inherited from this process under that key. ``spaces`` must be
imported before torch, so :func:`gpu_explain` is built when the backend is created, before any model loads.
"""

from __future__ import annotations

import os

from emoexplain.model.holder import ModelHolder

GPU_SECONDS = 60  # the longest one analysis may hold the GPU

_HOLDERS: dict[int, ModelHolder] = {}


def on_zero_gpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def _explain(path: str, holder_key: int, max_seconds: float):
    from emoexplain.pipeline import explain
    return explain(path, _HOLDERS[holder_key].get(), max_seconds=max_seconds)


def gpu_explain(holder: ModelHolder):
    """``explain(path, key, max_seconds)`` for ``holder``: wrapped in ``spaces.GPU`` when the package is
    installed (ZeroGPU Spaces), plain elsewhere. Call it as ``fn(path, id(holder), max_seconds)``."""
    _HOLDERS[id(holder)] = holder
    try:
        import spaces
    except ImportError:
        return _explain
    return spaces.GPU(duration=GPU_SECONDS)(_explain)

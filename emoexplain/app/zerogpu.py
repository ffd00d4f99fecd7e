"""ZeroGPU (Hugging Face Spaces): a GPU exists only inside functions wrapped with ``spaces.GPU``.

The GPU function gets a small key, never the model itself: on ZeroGPU its arguments may be pickled to a
worker, which finds the model holder it inherited from this process under that key. ``spaces`` must be
imported before torch, so :func:`gpu_explain` is built when the backend is created, before any model loads.
"""

from __future__ import annotations

import os

from emoexplain.model.holder import ModelHolder

GPU_SECONDS = 60         # the longest one analysis may hold the GPU
PROBE_GPU_SECONDS = 120  # ... and one run of every probe of a clip

_HOLDERS: dict[int, ModelHolder] = {}


def on_zero_gpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def _explain(path: str, holder_key: int, max_seconds: float):
    from emoexplain.pipeline import explain
    return explain(path, _HOLDERS[holder_key].get(), max_seconds=max_seconds)


def _probe(path: str, holder_key: int, options: dict):
    from emoexplain.probes import probe
    return probe(path, _HOLDERS[holder_key].get(), **options)


def gpu_explain(holder: ModelHolder):
    """``explain(path, key, max_seconds)`` for ``holder``: wrapped in ``spaces.GPU`` when the package is
    installed (ZeroGPU Spaces), plain elsewhere. Call it as ``fn(path, id(holder), max_seconds)``."""
    return _on_gpu(_explain, holder, GPU_SECONDS)


def gpu_probe(holder: ModelHolder):
    """``probe(path, key, options)`` (emoexplain.probes.probe keyword arguments), wrapped like gpu_explain:
    the probes run the model about a dozen times, so they get a longer GPU allowance."""
    return _on_gpu(_probe, holder, PROBE_GPU_SECONDS)


def _on_gpu(fn, holder: ModelHolder, seconds: int):
    _HOLDERS[id(holder)] = holder
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=seconds)(fn)

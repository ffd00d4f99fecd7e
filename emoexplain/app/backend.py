"""The app's one backend per process: its config, the held model, the store, and the saves it has seen.

Handlers (emoexplain.app.analyze, judge, review, model_tab) are module-level functions that take this
backend and plain values. Nothing here imports gradio; torch and the model load on first use.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path

from emoexplain.app import zerogpu
from emoexplain.app.config import AppConfig
from emoexplain.model.holder import ModelHolder

KEEP_AUDIO_PATHS = 2000   # analyses whose upload path is remembered (for consent at save time)


class Submissions:
    """What idempotent saves need: submission token -> judgement id, analysis id -> uploaded file."""

    def __init__(self):
        self.lock = threading.Lock()
        self.saved: dict[str, int] = {}
        self.audio: collections.OrderedDict[int, str] = collections.OrderedDict()

    def remember_audio(self, analysis_id: int, path: str) -> None:
        with self.lock:
            self.audio[analysis_id] = path
            while len(self.audio) > KEEP_AUDIO_PATHS:
                self.audio.popitem(last=False)


class Backend:
    def __init__(self, config: AppConfig, explainer=None, store=None):
        self.config = config
        from emoexplain.app.rounds import resolve_checkpoint   # a folder of rounds: its latest promoted one
        self.model = ModelHolder(resolve_checkpoint(config.checkpoint), explainer)
        self.submissions = Submissions()
        self.explain = zerogpu.gpu_explain(self.model)   # before torch is imported (ZeroGPU's rule)
        self._store = store
        self._store_lock = threading.Lock()
        self.hub_sync = None

    @property
    def store(self):
        """The store, opened on first use. With EMOEXPLAIN_HUB_DATASET set it is restored from the dataset
        when empty and synced back every few minutes (how a Space without persistent storage keeps data)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    from emoexplain import store as store_api
                    folder = Path(self.config.data_dir) if self.config.data_dir else store_api.data_dir()
                    path = folder / store_api.DB_NAME
                    store_api.restore_from_hub(path)              # no-op without EMOEXPLAIN_HUB_DATASET
                    self._store = store_api.open_store(path)
                    self.hub_sync = store_api.start_hub_sync(self._store)   # None without it
        return self._store

    @property
    def data_folder(self) -> Path | None:
        path = getattr(self.store, "path", None)
        return Path(path).parent if path is not None else None

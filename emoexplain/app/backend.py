"""The app's one backend per process: its config, the held model, the store, the admin gate.

Handlers (emoexplain.app.analyze, judge, review, model_tab) are module-level functions that take this
backend and plain values. Nothing here imports gradio; torch and the model load on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path

from emoexplain.app import zerogpu
from emoexplain.app.auth import admin_gate
from emoexplain.app.config import AppConfig
from emoexplain.model.holder import ModelHolder


class Backend:
    """Saves are made once by the store itself (submission tokens are unique per analysis, in the DB) and the
    upload waiting for its judgement is on disk (``pending/``): nothing here is lost by a restart."""

    def __init__(self, config: AppConfig, explainer=None, store=None):
        self.config = config
        from emoexplain.app.rounds import resolve_checkpoint   # a folder of rounds: its latest promoted one
        self.model = ModelHolder(resolve_checkpoint(config.checkpoint), explainer)
        self.admin_gate = admin_gate(config)   # remembers wrong tokens per client (rate limit)
        self.explain = zerogpu.gpu_explain(self.model)   # before torch is imported (ZeroGPU's rule)
        self.probe = zerogpu.gpu_probe(self.model)
        self._store = store
        self._store_lock = threading.Lock()
        self.hub_sync = None

    @property
    def store(self):
        """The store, opened on first use. With EMOEXPLAIN_HUB_DATASET set it is restored from the dataset
        when empty and synced back every few minutes (how a Space without persistent storage keeps data); an
        unreachable hub delays the start by a few seconds at most (the sync retries in the background)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    from emoexplain import store as store_api
                    folder = Path(self.config.data_dir) if self.config.data_dir else store_api.data_dir()
                    self._store = store_api.open_store(folder / store_api.DB_NAME)
                    self.hub_sync = store_api.start_hub_sync(self._store)   # None without it
        return self._store

    def storage_warnings(self) -> list[str]:
        """What admins must know about where judgements go: a store that a restart erases, a hub that is down."""
        from emoexplain.store import persistence_warning
        folder = self.data_folder
        found = [persistence_warning(folder)] if folder is not None else []
        found.append(self.hub_sync.warning if self.hub_sync is not None else None)
        return [w for w in found if w]

    @property
    def data_folder(self) -> Path | None:
        path = getattr(self.store, "path", None)
        return Path(path).parent if path is not None else None

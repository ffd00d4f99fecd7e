"""Model tab: the loaded checkpoint, its card and metrics, the training runs; admins switch checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from emoexplain.app import render
from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import Update, View
from emoexplain.errors import CheckpointError
from emoexplain.paths import RUNS_DIR
from emoexplain.store.queries import Table


@dataclass(frozen=True)
class ModelView(View):
    info: str
    runs: Table
    card: str
    notice: Update   # the demo notice at the top of the page: shown while the demo checkpoint is loaded


def on_model_tab(backend: Backend) -> ModelView:
    from emoexplain import store as store_api
    info = backend.model.info()
    return ModelView(info=render.model_markdown(info), runs=store_api.training_runs(backend.store),
                     card=info.card or "_This checkpoint has no card._", notice=Update(visible=info.is_demo))


@dataclass(frozen=True)
class SwitcherView(View):
    switch_panel: Update
    checkpoints: Update   # the switcher's choices, the loaded checkpoint picked


def on_admin(backend: Backend, *, unlocked: bool) -> SwitcherView:
    """Show admins the checkpoint switcher: the demo, the configured one, runs/ and <data>/checkpoints/."""
    if not unlocked:
        return SwitcherView(switch_panel=Update(visible=False), checkpoints=Update())
    from emoexplain.model.checkpoint import discover_checkpoints
    roots = [RUNS_DIR] + ([backend.data_folder / "checkpoints"] if backend.data_folder is not None else [])
    return SwitcherView(switch_panel=Update(visible=True),
                        checkpoints=Update(choices=discover_checkpoints(roots, configured=backend.model.checkpoint),
                                           value=backend.model.source))


def on_switch(backend: Backend, *, unlocked: bool, checkpoint: str | None) -> ModelView:
    """Load ``checkpoint`` and make it everyone's model (the old one stays if it fails to load)."""
    require_admin(unlocked, "Only admins can switch checkpoints: unlock in the Review tab.")
    if not checkpoint:
        raise CheckpointError("Pick a checkpoint folder or type a hub id.")
    backend.model.switch(checkpoint)
    return dataclasses.replace(on_model_tab(backend), info_toasts=(f"Switched to {checkpoint}.",))

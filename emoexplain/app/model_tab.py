"""Model tab: the loaded checkpoint's card summary, key metrics and confusion first, the details folded, the training
runs; admins switch checkpoints (at the top of the tab)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from emoexplain.app import charts, render
from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import Update, View
from emoexplain.errors import CheckpointError
from emoexplain.paths import RUNS_DIR
from emoexplain.store.queries import Table


@dataclass(frozen=True)
class ModelView(View):
    info: str             # name, version, the card's summary, labels, where it was loaded from
    metrics: str          # the key metrics with what each means
    confusion: Update     # the held-out confusion heatmap (hidden when the metrics have none)
    details: str          # every other metric, for the folded details
    runs: Table
    card: str             # the whole model card, folded
    notice: Update        # the demo notice at the top of the page: shown while the demo checkpoint is loaded
    switch_status: str = ""


def on_model_tab(backend: Backend) -> ModelView:
    from emoexplain import store as store_api
    info = backend.model.info()
    return ModelView(info=render.model_card_markdown(info), metrics=render.key_metrics_markdown(info.metrics),
                     confusion=_confusion(info.metrics), details=render.metrics_details_markdown(info.metrics),
                     runs=_runs(store_api.training_runs(backend.store)), card=info.card or "_This checkpoint has no card._",
                     notice=Update(visible=info.is_demo))


def _confusion(metrics: dict) -> Update:
    labels, counts = metrics.get("labels"), metrics.get("confusion")
    if not labels or not isinstance(counts, list) or len(counts) != len(labels):
        return Update(value=None, visible=False)
    figure = charts.confusion_figure(labels, labels, counts, rows="true emotion", columns="predicted",
                                     title="Held-out confusion (each row: one true emotion)")
    return Update(value=figure, visible=True)


def _runs(table: Table) -> Table:
    """The runs with readable times and their headline metrics in one column."""
    return Table(table.columns, [{**row, "created_at": render.readable_time(row.get("created_at")),
                                  "metrics": render.metrics_line(row.get("metrics"))} for row in table.rows])


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
    if not checkpoint or not checkpoint.strip():
        raise CheckpointError("Pick a checkpoint folder or type a hub id (owner/name).")
    checkpoint = checkpoint.strip()
    try:
        backend.model.switch(checkpoint)
    except CheckpointError as e:
        raise CheckpointError(switch_failure(checkpoint, e, backend.model.source)) from e
    return dataclasses.replace(on_model_tab(backend), switch_status=f"Switched to {render.code_span(checkpoint)}.",
                               info_toasts=(f"Switched to {checkpoint}.",))


# what a hub error means for someone switching checkpoints (by class name: huggingface_hub is imported lazily)
_HUB_REASONS = {
    "RepositoryNotFoundError": "there is no such model on the Hugging Face Hub (or it is private: the server's "
                               "HF_TOKEN needs read access)",
    "GatedRepoError": "the model is gated on the Hugging Face Hub: accept its terms and give the server an HF_TOKEN",
    "RevisionNotFoundError": "the Hugging Face Hub has no such revision of it",
    "EntryNotFoundError": "it has no config.json: it is not an emoexplain checkpoint",
    "LocalEntryNotFoundError": "the Hugging Face Hub cannot be reached from this server and it is not in the "
                               "server's download cache",
    "OfflineModeIsEnabled": "the server runs offline (HF_HUB_OFFLINE) and it is not in the download cache",
    "HFValidationError": "that is not a hub id (owner/name) nor a folder on the server",
}


def switch_failure(checkpoint: str, error: CheckpointError, current: str) -> str:
    """One sentence on why ``checkpoint`` did not load (never a raw library message), and what stays."""
    cause, reason = error.__cause__, None
    while cause is not None and reason is None:
        reason = _HUB_REASONS.get(type(cause).__name__)
        cause = cause.__cause__
    if reason is None:
        reason = str(error).splitlines()[0][:240]
    return f"Could not switch to {checkpoint}: {reason}. The model in use stays {current}."

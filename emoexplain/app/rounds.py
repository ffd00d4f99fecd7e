"""Model tab, admins: a round of learning from the store's corrections, started from the page.

The round runs as a child process (train/rounds/jobs.py: ``python -m train from-store``, nice 10, one torch
thread), so visitors' analyses keep their model and their core; the page polls its progress with a timer, then
shows the before/after table and the gate's decision, and offers to switch to a promoted checkpoint. Round
checkpoints go to ``<data>/checkpoints/round-<time>/checkpoint`` (the switcher lists them too).
``EMOEXPLAIN_ROUND_ARGS`` (e.g. ``"--round.min_gain=0.2 --epochs_per_stage=3"``) overrides the round's settings.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from emoexplain.app.auth import require_admin
from emoexplain.app.backend import Backend
from emoexplain.app.views import KEEP, Update, View
from emoexplain.errors import CheckpointError, RoundError

POLL_S = 2.0


@dataclass(frozen=True)
class RoundView(View):
    round_status: str
    round_table: str
    round_switch: Update   # "Switch to the promoted checkpoint": visible once a round promoted one
    round_timer: Update    # polls while a round runs


def resolve_checkpoint(checkpoint: str | None) -> str | None:
    """A folder of rounds (no config.json of its own) -> its latest promoted round checkpoint; else as given."""
    if not checkpoint or not Path(checkpoint).is_dir() or (Path(checkpoint) / "config.json").is_file():
        return checkpoint
    from train.rounds.jobs import latest_promoted
    found = latest_promoted(checkpoint)
    if found is None:
        raise CheckpointError(f"{checkpoint} holds no checkpoint and no promoted round: point the app at a "
                              "checkpoint folder, or at a folder of rounds one of which was promoted.")
    return str(found)


def _rounds_folder(backend: Backend) -> Path:
    if backend.data_folder is None:
        raise RoundError("This app's store is in memory: a round needs a store on disk (set EMOEXPLAIN_DATA_DIR).")
    return backend.data_folder / "checkpoints"


def on_start_round(backend: Backend, *, unlocked: bool) -> RoundView:
    """Check the store (a clear error, nothing written, when it cannot feed a round), then start the round."""
    require_admin(unlocked, "Only admins can start a round: unlock in the Review tab.")
    from train.data.store import corrections_for_round
    from train.rounds.jobs import RoundJob

    running = RoundJob.current()
    if running is not None and running.alive():
        raise RoundError("A round is already running; its progress is shown below.")
    explainer = backend.model.get()
    rows, _ = corrections_for_round(backend.store, explainer.label_set)   # the app's own Store, not a 2nd
    out = _rounds_folder(backend) / time.strftime("round-%Y%m%d-%H%M%S")
    overrides = shlex.split(os.environ.get("EMOEXPLAIN_ROUND_ARGS", ""))
    RoundJob(backend.store.path, backend.model.source, out, overrides).start()
    view = on_round_status(backend, unlocked=True)
    return dataclasses.replace(view, info_toasts=(f"Round started on {len(rows)} corrections from "
                                                  f"{getattr(explainer, 'version', 'the current model')}.",))


def on_round_status(backend: Backend, *, unlocked: bool) -> RoundView:
    """What the round is doing (the timer's tick); nothing changes for visitors or without a round."""
    from train.rounds.jobs import RoundJob

    job = RoundJob.current()
    if not unlocked or job is None:
        return RoundView(round_status=KEEP, round_table=KEEP, round_switch=KEEP, round_timer=Update(active=False))
    status = job.status()
    if status["state"] == "running":
        recent = "\n".join(f"- {line}" for line in status.get("log", [])[-5:])
        return RoundView(round_status=f"**Round running: {100 * status.get('fraction', 0):.0f} %** — "
                                      f"{status.get('message', '')}\n\n{recent}",
                         round_table="", round_switch=Update(visible=False), round_timer=Update(active=True))
    if status["state"] == "failed":
        return RoundView(round_status=f"**The round stopped:** {status['error']}", round_table="",
                         round_switch=Update(visible=False), round_timer=Update(active=False))
    from train.rounds.report import table
    report = status["round"]
    promoted = report["status"] == "promoted"
    note = ("Switch to it below to serve it to everyone." if promoted else
            "The current model stays; the rejected checkpoint is kept for inspection (Checkpoint list).")
    return RoundView(round_status=f"**Round finished: {report['status']}** ({report['version']}). {note}",
                     round_table=table(report), round_switch=Update(visible=promoted),
                     round_timer=Update(active=False))


def on_switch_to_round(backend: Backend, *, unlocked: bool):
    """Serve the promoted checkpoint of the last round (model_tab's view of the new model)."""
    require_admin(unlocked, "Only admins can switch checkpoints: unlock in the Review tab.")
    from emoexplain.app import model_tab
    from train.rounds.jobs import RoundJob

    job = RoundJob.current()
    status = job.status() if job is not None else {}
    if status.get("state") != "done" or status["round"]["status"] != "promoted":
        raise RoundError("There is no promoted round checkpoint to switch to yet.")
    return model_tab.on_switch(backend, unlocked=True, checkpoint=status["checkpoint"])

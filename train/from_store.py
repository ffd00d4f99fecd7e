"""``python -m train from-store``: one round of learning from people (train/rounds does the work).

    python -m train from-store --db data/emoexplain.db --checkpoint assets/demo_checkpoint [--out runs/round1]
        [--key=value ...] [--round.key=value ...]

The round trains a candidate on the app's corrections mixed with replay of the parent's own training data
(stage blocks of one epoch, so every correction reaches the SER-SED+ASR loss ``epochs_per_stage`` times), judges
it on corrections it did not train on (split by clip, k-fold when there are few) and on the parent's own test
set, and promotes it only when people's agreement improves without forgetting. It writes
``<out>/checkpoint`` (with ``round.json`` and a card that keeps the parent's warnings) and a ``training_runs``
row in the store. Training knobs: train/configs/from_store.json; split and gate: train/rounds/config.py.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "from_store.json"


def from_store(db: str, checkpoint: str, *, replay_manifest: str | None = None, parent_test: str | None = None,
               config_path: str | None = None, overrides=(), out_dir: str | None = None, progress=None,
               campaign: str | None = None) -> dict:
    """Run one round; returns {"checkpoint", "run_id", "round"} (train/rounds/run.py)."""
    from train.rounds.run import run_round

    return run_round(db, checkpoint, out_dir=out_dir, config_path=config_path or DEFAULT_CONFIG,
                     overrides=overrides, replay_manifest=replay_manifest, parent_test_manifest=parent_test,
                     progress=progress, campaign=campaign)

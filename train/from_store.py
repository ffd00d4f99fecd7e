"""One round of learning from people: fine-tune the current checkpoint on the app's corrections.

    python -m train from-store --db data/emoexplain.db --checkpoint assets/demo_checkpoint

1. rows from the store (train/data/store.py: consent only, minimum agreement, annotator weights, dedup by hash);
2. mixed with a replay sample of the original corpus (``replay_fraction`` replay rows per corrected row, drawn
   from the parent's training manifest or ``--replay``) so the model does not forget what it knew;
3. a further alternating round (train/configs/from_store.json) starting from the parent checkpoint;
4. a new checkpoint folder whose version is the parent's with a ``+store.<run id>`` suffix, and a
   ``training_runs`` row in the store: parent checkpoint, data counts, metrics, config.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

from emoexplain.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "from_store.json"


def from_store(db: str, checkpoint: str, *, replay_manifest: str | None = None, config_path: str | None = None,
               overrides=(), out_dir: str | None = None, campaign: str | None = None) -> dict:
    from emoexplain.model import load_explainer
    from emoexplain.store import open_store, record_training_run

    from train.config import TrainConfig
    from train.data.manifest import read_manifest, summary
    from train.data.store import build as store_rows
    from train.loop import fit

    stamp = time.strftime("%Y%m%d-%H%M%S")
    cfg = TrainConfig.from_file(config_path or DEFAULT_CONFIG, overrides)
    if out_dir:
        cfg = dataclasses.replace(cfg, out_dir=str(out_dir))
    elif "{name}" in cfg.out_dir:
        cfg = dataclasses.replace(cfg, name=f"{cfg.name}-{stamp}")
    explainer = load_explainer(checkpoint, device="cpu")
    corrected, counts = store_rows(db, min_agreement=cfg.min_agreement, consent_only=cfg.consent_only,
                                   label_set=explainer.config.label_set, campaign=campaign)
    if not corrected:
        raise ConfigError(f"The store at {db} holds no usable corrections (consented audio with a human emotion): "
                          f"{counts}. Collect judgements in the app first.")
    replay_path = replay_manifest or _parent_manifest(checkpoint)
    replay = []
    if replay_path:
        pool = read_manifest(replay_path, split="train")
        k = min(len(pool), int(round(cfg.replay_fraction * len(corrected))))
        replay = random.Random(cfg.seed).sample(pool, k)
    eval_rows = read_manifest(replay_path, split=cfg.eval_split)[:cfg.max_eval_examples or None] \
        if replay_path else []
    train_rows = corrected + replay
    parent_version = getattr(explainer, "version", "unknown")
    result = fit(cfg, train_rows=train_rows, eval_rows=eval_rows or corrected, explainer=explainer,
                 card=_card(parent_version, checkpoint, counts, len(replay)),
                 version=f"{parent_version}+store.{stamp}")
    metrics = _scalars(result.metrics)
    data_counts = {"corrections": len(corrected), "replay": len(replay), "filters": counts,
                   "train": summary(train_rows)}
    store = open_store(db)
    try:
        run_id = record_training_run(store, checkpoint=str(result.checkpoint), base_checkpoint=str(checkpoint),
                                     model_name=getattr(result.explainer, "name", None),
                                     model_version=getattr(result.explainer, "version", None),
                                     n_examples=len(train_rows), config=cfg.to_dict(),
                                     metrics=metrics, parent_version=parent_version,
                                     data_counts=data_counts)
    finally:
        store.close()
    (result.checkpoint / "training_run.json").write_text(json.dumps(
        {"store_run_id": run_id, "parent": str(checkpoint), "parent_version": parent_version,
         "data_counts": data_counts}, indent=2))
    return {"run_id": run_id, "checkpoint": str(result.checkpoint), "data_counts": data_counts,
            "metrics": metrics}


def _scalars(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _parent_manifest(checkpoint: str) -> str | None:
    """The training manifest recorded in the parent's config.json, when it still exists."""
    for name in ("config.json", "train_config.json"):
        path = Path(checkpoint) / name
        if path.is_file():
            data = json.loads(path.read_text())
            manifest = (data.get("train_config") or data).get("train_manifest")
            if manifest and Path(manifest).is_file():
                return manifest
    return None


def _card(parent_version, checkpoint, counts, n_replay) -> str:
    return (f"# emoexplain checkpoint fine-tuned on app corrections\n\nParent: `{checkpoint}` (version "
            f"{parent_version}). Corrections used: {counts.get('rows')} (store filters: {counts}); replay rows "
            f"from the original corpus: {n_replay}. See metrics.json for its evaluation.\n")

"""Corrections split by clip, so a round is judged on clips it did not train on (issue 9, item 3).

Groups are audio hashes: two rows of the same clip are always on the same side. With fewer than
``kfold_below`` corrections the split is k-fold (stratified by the people's label where the counts allow):
every correction is judged once by a model that never saw it, and the candidate itself trains on all of them.
With more, one stratified held-out part of ``holdout_fraction``, and the candidate trains on the rest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from train.rounds.config import RoundConfig


@dataclass(frozen=True)
class Split:
    mode: str                                   # "kfold" | "holdout" | "none" (a single correction)
    folds: tuple[tuple[list, list], ...]        # (train rows, held-out rows) per fold

    @property
    def n_eval(self) -> int:
        return sum(len(held) for _, held in self.folds)

    def describe(self) -> dict:
        return {"mode": self.mode, "folds": len(self.folds), "held_out_per_fold": [len(h) for _, h in self.folds]}


def clip_key(row: dict) -> str:
    return row.get("audio_sha256") or row["audio"]


def split_corrections(rows: list[dict], cfg: RoundConfig, seed: int = 0) -> Split:
    from collections import Counter

    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = [clip_key(r) for r in rows]
    n_clips = len(set(groups))
    if n_clips < 2:
        return Split("none", ())
    kfold = n_clips < cfg.kfold_below
    # never more parts than clips (sklearn refuses that with a message about n_splits, not about corrections)
    k = min(cfg.folds if kfold else max(2, round(1 / cfg.holdout_fraction)), n_clips)
    labels = [r["emotion"] for r in rows]
    # stratified where some class has k members; with fewer (e.g. 3 corrections) plain group folds
    splitter = StratifiedGroupKFold if max(Counter(labels).values()) >= k else GroupKFold
    with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits": expected
        warnings.simplefilter("ignore", UserWarning)
        parts = list(splitter(n_splits=k, shuffle=True, random_state=seed).split(rows, labels, groups))
    folds = tuple(([rows[i] for i in train], [rows[i] for i in held]) for train, held in parts)
    return Split("kfold", folds) if kfold else Split("holdout", folds[:1])

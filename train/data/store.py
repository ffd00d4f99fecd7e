"""The app's annotation store -> manifest rows (human-corrected emotion, judged descriptors, transcripts).

Rows come from ``emoexplain.store.training_examples`` (the store owns the SQL); this module applies the training
side's policy on top, so that it holds even if the store returns more than asked:

- consent only: a row without kept audio (no consent) cannot be trained on and is dropped;
- minimum agreement: rows whose inter-annotator ``agreement`` is below ``min_agreement`` are dropped;
- per-annotator weights: ``weights={"alice": 1.0, "bob": 0.5}`` weight each annotator's vote (store side); the
  row ``weight`` (the winning label's vote share) makes the loop draw that clip in proportion;
- deduplicated by audio hash (the first row of each clip is kept, its weight the maximum over duplicates).
"""

from __future__ import annotations

from pathlib import Path


def build(db_path: str | Path, *, min_agreement: float = 0.0, consent_only: bool = True,
          weights: dict[str, float] | None = None, label_set: str | None = None,
          campaign: str | None = None) -> tuple[list[dict], dict]:
    """(rows, counts): the store's rows after the filters, and how many rows each filter removed.
    ``campaign``: the consensus rows of that annotation campaign (docs/campaigns.md)."""
    from emoexplain.store import open_store, training_examples

    store = open_store(str(db_path))
    try:
        raw = list(training_examples(store, min_agreement=min_agreement or None, consent_only=consent_only,
                                     annotator_weights=weights, label_set=label_set, require_audio=True,
                                     campaign=campaign))
    finally:
        store.close()
    counts = {"store_rows": len(raw), "no_audio": 0, "low_agreement": 0, "duplicates": 0}
    rows, seen = [], {}
    for row in raw:
        row = dict(row)
        if not row.get("audio") or not Path(row["audio"]).is_file():
            counts["no_audio"] += 1  # consent withdrawn or file deleted since: nothing to train on
            continue
        agreement = row.get("agreement")
        if agreement is not None and agreement < min_agreement:
            counts["low_agreement"] += 1
            continue
        row["weight"] = float(row.get("weight") or 1.0)
        for key, default in (("split", "train"), ("source", "store"), ("transcript", None)):
            row.setdefault(key, default)
        sha = row.get("audio_sha256")
        if sha and sha in seen:
            counts["duplicates"] += 1
            seen[sha]["weight"] = max(seen[sha]["weight"], row["weight"])
            continue
        if sha:
            seen[sha] = row
        rows.append(row)
    counts["rows"] = len(rows)
    return rows, counts

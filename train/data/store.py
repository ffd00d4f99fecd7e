"""The app's annotation store -> manifest rows (human-corrected emotion, judged descriptors, transcripts).

Rows come from ``emoexplain.store.training_examples`` (the store owns the SQL); this module applies the training
side's policy on top, so that it holds even if the store returns more than asked:

- consent only: a row without kept audio (no consent) cannot be trained on and is dropped;
- minimum agreement: rows whose inter-annotator ``agreement`` is below ``min_agreement`` are dropped;
- per-annotator weights: ``weights={"alice": 1.0, "bob": 0.5}`` weight each annotator's vote (store side); the
  row ``weight`` (the winning label's vote share) makes the loop draw that clip in proportion;
- deduplicated by audio hash (the first row of each clip is kept, its weight the maximum over duplicates).

``corrections_for_round`` is what a from-store round reads: the same rows, after checks that turn each way a
store can be unusable (empty, no consented audio, audio gone, another label set) into a RoundError that says
what to do. It never creates or migrates a store.
"""

from __future__ import annotations

from pathlib import Path

from emoexplain.errors import RoundError


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
    return _filter(raw, min_agreement)


def _filter(raw: list[dict], min_agreement: float) -> tuple[list[dict], dict]:
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


def corrections_for_round(db, label_set: str, *, min_agreement: float = 0.0, consent_only: bool = True,
                          weights: dict[str, float] | None = None, campaign: str | None = None) -> tuple[list[dict], dict]:
    """(rows in the parent's ``label_set``, counts), or a RoundError saying why the store cannot feed a round.

    ``db``: the store's path, or a Store this process already holds (the app: a second Store on the same file
    in one process is not safe, see emoexplain/store/db.py).
    """
    from emoexplain.errors import StoreError
    from emoexplain.store import Store, open_store, training_examples

    owned = not isinstance(db, Store)
    if owned:
        path = Path(db)
        if not path.is_file():
            raise RoundError("There is no annotation store at the path given: start the app, analyse clips and "
                             "save corrections there (or pass --db with the app's data/emoexplain.db).")
        try:
            store = open_store(path)
        except StoreError as exc:
            raise RoundError(f"The annotation store cannot be read ({exc}); pass the app's emoexplain.db.") from None
    else:
        store = db
    try:
        n_judgements = store.read("SELECT count(*) AS n FROM judgements")[0]["n"]
        everything = training_examples(store, consent_only=False, require_audio=False)
        kept = training_examples(store, min_agreement=min_agreement or None, consent_only=consent_only,
                                 annotator_weights=weights, require_audio=True, campaign=campaign)
    finally:
        if owned:
            store.close()
    if n_judgements == 0:
        raise RoundError("The store holds no corrections yet: analyse clips in the app, correct the emotion and "
                         "save with consent (so the audio is kept), then start the round.")
    if not everything:
        raise RoundError(f"The store holds {n_judgements} judgement(s), but none names an emotion (unsure or tied): "
                         "a round learns from the emotion people chose.")
    if not kept:
        raise RoundError(f"The store holds {len(everything)} judged clip(s), but none was saved with consent, so no "
                         "audio was kept and there is nothing to train on: ask annotators to tick consent when "
                         "they save a correction.")
    rows, counts = _filter(kept, min_agreement)
    if not rows:
        raise RoundError(f"{counts['no_audio']} corrected clip(s) were saved with consent, but their audio files are "
                         "gone from the store's audio folder (deleted, or a store restored without its audio): "
                         "restore the audio folder from a backup, or collect new corrections.")
    same = [r for r in rows if r["label_set"] == label_set]
    if not same:
        found = sorted({r["label_set"] for r in rows})
        raise RoundError(f"The corrections use the label set {', '.join(found)}, but this checkpoint predicts "
                         f"{label_set}: start the round from a checkpoint trained on {found[0]}, or let people "
                         f"correct analyses of a {label_set} model.")
    counts["other_label_set"] = len(rows) - len(same)
    counts["rows"] = len(same)
    return same, counts

"""The annotation store: human judgements of explanations in one SQLite file (sqlite-utils).

    from emoexplain.store import open_store, record_analysis, record_judgement, training_examples
    store = open_store()                                  # data_dir()/emoexplain.db, migrations applied
    aid = record_analysis(store, explanation.to_dict(), audio_sha256=clip.sha256, duration_s=clip.duration_s,
                          sample_rate=clip.original_sample_rate, source="upload")
    record_judgement(store, aid, annotator="ada", emotion="agree",
                     descriptor_verdicts={"pitch": {"verdict": "wrong", "value": "high"}})
    rows = training_examples(store, min_agreement=0.5)   # manifest rows for train/

See docs/store.md for the schema, the CLI (``python -m emoexplain.store``) and backups.
"""

from emoexplain.store.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha_nominal
from emoexplain.store.backup import backup, check_backup, restore
from emoexplain.store.db import DB_NAME, Store, data_dir, open_store, persistence_warning
from emoexplain.store.hub import HubSync, restore_from_hub, start_hub_sync
from emoexplain.store.queries import (EXPORT_FORMATS, Table, agreement, export, export_filename, export_formats,
                                      recent_judgements, stats, training_examples, training_runs)
from emoexplain.store.records import (NOTE_MAX_CHARS, delete_annotator, delete_clip, new_token, record_analysis,
                                      record_judgement, record_judgement_once, record_training_run, vocabulary)

__all__ = [
    "DB_NAME", "EXPORT_FORMATS", "NOTE_MAX_CHARS", "Store", "agreement", "backup", "check_backup", "cohen_kappa",
    "data_dir", "restore", "restore_from_hub", "start_hub_sync", "HubSync", "persistence_warning",
    "delete_annotator", "delete_clip", "export", "new_token", "fleiss_kappa", "krippendorff_alpha_nominal", "open_store",
    "record_analysis", "record_judgement", "record_judgement_once", "record_training_run", "stats",
    "training_examples", "vocabulary", "Table", "export_filename", "export_formats", "recent_judgements",
    "training_runs",
]

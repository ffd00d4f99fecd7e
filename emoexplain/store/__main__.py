"""``emoexplain store`` (or ``python -m emoexplain.store``) ``stats|agreement|export|backup|restore|delete-clip|delete-annotator DB ...``
and ``emoexplain store campaign ...`` (emoexplain/store/campaigns/cli.py).

A thin client of the library: every command prints JSON (or writes a file); any error exits with
status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from emoexplain.errors import EmoExplainError, StoreError


def _existing(db: str):
    from emoexplain.store import open_store
    if not Path(db).is_file():
        raise StoreError(f"No store at {db}; check the path (the app keeps it in $EMOEXPLAIN_DATA_DIR/emoexplain.db).")
    return open_store(db)


def _stats(args):
    from emoexplain.store import stats
    with _existing(args.db) as store:
        return stats(store)


def _agreement(args):
    from emoexplain.store import agreement
    with _existing(args.db) as store:
        return agreement(store)


def _export(args):
    from emoexplain.store import export
    options = {}
    if args.format == "manifest":
        options = dict(min_agreement=args.min_agreement, consent_only=not args.include_unconsented,
                       label_set=args.label_set, require_audio=not args.no_audio)
    with _existing(args.db) as store:
        return {"format": args.format, "dest": args.dest, "rows": export(store, args.format, args.dest, **options)}


def _backup(args):
    from emoexplain.store import backup
    with _existing(args.db) as store:
        return {"backup": str(backup(store, args.dest))}


def _restore(args):
    from emoexplain.store import restore
    return restore(args.src, args.db)


def _delete_clip(args):
    from emoexplain.store import delete_clip
    with _existing(args.db) as store:
        return delete_clip(store, args.sha256)


def _delete_annotator(args):
    from emoexplain.store import delete_annotator
    with _existing(args.db) as store:
        return delete_annotator(store, args.annotator)


def build_parser() -> argparse.ArgumentParser:
    from emoexplain.store.queries import EXPORT_FORMATS
    parser = argparse.ArgumentParser(prog="emoexplain store", description="The emoexplain annotation store.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, fn, help):
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("db", help="the store file, e.g. data/emoexplain.db")
        p.set_defaults(fn=fn)
        return p

    command("stats", _stats, "Row counts, annotators, emotions and verdicts as JSON.")
    command("agreement", _agreement, "Inter-annotator agreement and model-vs-human accuracy as JSON.")
    p = command("export", _export, "Write judgements (jsonl/csv/parquet) or the training manifest.")
    p.add_argument("format", choices=EXPORT_FORMATS)
    p.add_argument("dest", help="output file")
    p.add_argument("--min-agreement", type=float, default=None, help="manifest: minimum emotion vote share (0..1)")
    p.add_argument("--label-set", default=None, help="manifest: map emotions into this label set")
    p.add_argument("--include-unconsented", action="store_true", help="manifest: also use judgements without consent")
    p.add_argument("--no-audio", action="store_true", help="manifest: keep clips whose audio was not kept")
    p = command("backup", _backup, "Consistent snapshot (SQLite backup API) to DEST or DB's backups/ folder.")
    p.add_argument("dest", nargs="?", default=None)
    p = command("restore", _restore, "Replace DB with the backup SRC (the current DB is backed up first).")
    p.add_argument("src", help="a file made by `backup`")
    p = command("delete-clip", _delete_clip, "Remove a clip, its analyses, judgements and audio.")
    p.add_argument("sha256")
    p = command("delete-annotator", _delete_annotator, "Remove an annotator and all their judgements.")
    p.add_argument("annotator")
    from emoexplain.store.campaigns.cli import add_parser as add_campaign_parser
    add_campaign_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.fn(args)
    except (EmoExplainError, sqlite3.Error, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

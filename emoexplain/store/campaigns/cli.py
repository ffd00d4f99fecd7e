"""``python -m emoexplain.store campaign {create,resume,status,list,quality,agreement,export,exclude,include,
close,open,delete} ...``: every command prints JSON; progress goes to stderr."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from emoexplain.errors import StoreError


def _store(args, *, create: bool = False):
    from emoexplain.store import open_store
    from emoexplain.store.db import DB_NAME, data_dir

    path = Path(args.db) if args.db else Path(data_dir()) / DB_NAME
    if not create and not path.is_file():
        raise StoreError(f"No store at {path}; pass --db or set EMOEXPLAIN_DATA_DIR.")
    return open_store(path)


def _progress(state: dict) -> None:
    current = f" ({state['current']})" if state.get("current") else ""
    print(f"analysed {state['done']}/{state['total']}: {state['ready']} ready, {state['skipped']} skipped{current}",
          file=sys.stderr, flush=True)


def _explainer(args):
    if args.checkpoint:
        from emoexplain.model import load_explainer
        return load_explainer(args.checkpoint)
    from emoexplain.model.holder import default_holder
    return default_holder().get()


def _analyse(store, name, args, explainer=None) -> dict:
    from emoexplain.store import campaigns

    job = campaigns.analyse_campaign(store, name, explainer=explainer or _explainer(args),
                                     generate=not args.no_captions)
    state = campaigns.wait_for(job, every_s=args.progress_every, report=_progress)
    _progress(state)
    if state["error"]:
        raise StoreError(f"The analysis stopped: {state['error']}. Fix the cause and run "
                         f"`python -m emoexplain.store campaign resume {name}`; analysed clips are kept.")
    return state


def _create(args):
    from emoexplain.store import campaigns
    from emoexplain.store.campaigns.create import check_options

    check_options(args.name, owner=args.owner, per_clip=args.per_clip, order=args.order,
                                   lease_s=args.lease_s)  # before the model is loaded
    if not Path(args.source).exists():
        raise StoreError(f"Nothing at {args.source}; give a folder of audio, a manifest (.jsonl) or a .zip.")
    explainer = _explainer(args)
    with _store(args, create=True) as store:
        summary = campaigns.create_campaign(
            store, args.name, args.source, per_clip=args.per_clip, label_set=args.label_set or explainer.label_set,
            gold=args.gold, gold_share=args.gold_share, instructions=args.instructions, owner=args.owner,
            order=args.order, lease_s=args.lease_s)
        summary["analysis"] = _analyse(store, args.name, args, explainer)
        return summary


def _resume(args):
    with _store(args) as store:
        return _analyse(store, args.name, args)


def _simple(fn_name, fixed=None, **from_args):
    """A command that calls ``campaigns.<fn_name>(store, [name], **fixed, **{k: args.<v>})``."""
    def run(args):
        from emoexplain.store import campaigns
        with _store(args) as store:
            return getattr(campaigns, fn_name)(store, *([args.name] if hasattr(args, "name") else []),
                                               **(fixed or {}), **{k: getattr(args, v) for k, v in from_args.items()})
    return run


def _manifest(args):
    from emoexplain.store import campaigns
    from emoexplain.store.campaigns.report import _write
    with _store(args) as store:
        rows = campaigns.training_examples(store, args.name, min_agreement=args.min_agreement,
                                           label_set=args.label_set, method=args.method)
    Path(args.dest).parent.mkdir(parents=True, exist_ok=True)
    _write(Path(args.dest), rows)
    return {"campaign": args.name, "dest": args.dest, "rows": len(rows)}


def add_parser(sub) -> None:
    """The ``campaign`` command and its sub-commands on the store CLI's sub-parsers."""
    from emoexplain.store.campaigns import CONSENSUS_METHODS, QUEUE_ORDERS

    parser = sub.add_parser("campaign", help="Annotation campaigns: queue, overlap, gold, quality, consensus.",
                            description="Annotation campaigns (docs/campaigns.md).")
    commands = parser.add_subparsers(dest="campaign_command", required=True)

    def command(name, fn, help, *, named=True):
        p = commands.add_parser(name, help=help, description=help)
        if named:
            p.add_argument("name", help="the campaign's name")
        p.add_argument("--db", default=None, help="the store (default $EMOEXPLAIN_DATA_DIR/emoexplain.db)")
        p.set_defaults(fn=fn)
        return p

    def analysis_options(p):
        p.add_argument("--checkpoint", default=None, help="the model that analyses the clips (default: the app's)")
        p.add_argument("--no-captions", action="store_true", help="labels and descriptors only (faster)")
        p.add_argument("--progress-every", type=float, default=2.0, help="seconds between progress lines")

    p = command("create", _create, "Create a campaign from a folder, a manifest .jsonl or a .zip, and analyse it.")
    p.add_argument("--from", dest="source", required=True, help="folder of audio, manifest .jsonl or .zip")
    p.add_argument("--per-clip", type=int, required=True, help="judgements wanted per clip (overlap)")
    p.add_argument("--gold", default=None, help="gold answers: .json {clip: emotion}, .jsonl or .csv (clip,emotion)")
    p.add_argument("--gold-share", type=float, default=None, help="share of each annotator's clips that are gold")
    p.add_argument("--label-set", default=None, help="the labels annotators choose from (default: the model's)")
    p.add_argument("--instructions", default="", help="shown to annotators")
    p.add_argument("--owner", default=getpass.getuser(), help="who supplied the audio and consents to its use")
    p.add_argument("--order", choices=QUEUE_ORDERS, default="entropy", help="queue order (default entropy)")
    p.add_argument("--lease-s", type=float, default=300.0, help="seconds a clip stays reserved for an annotator")
    analysis_options(p)
    analysis_options(command("resume", _resume, "Continue analysing a campaign's pending clips."))
    command("status", _simple("status"), "Per clip: judgement count and consensus, as JSON.")
    command("list", _simple("list_campaigns"), "All campaigns with their progress.", named=False)
    command("quality", _simple("quality"), "Per annotator: count, time, gold accuracy, leave-one-out agreement.")
    command("agreement", _simple("campaign_agreement"), "Kappa and alpha over clips with two or more judgements.")
    p = command("export", _simple("export", dest="dest"), "Every judgement, the consensus, quality and manifest.")
    p.add_argument("dest", help="output folder")
    p = command("manifest", _manifest, "Write the training manifest (JSONL) built from the consensus.")
    p.add_argument("dest", help="output .jsonl")
    p.add_argument("--min-agreement", type=float, default=None, help="minimum share of people agreeing (0..1)")
    p.add_argument("--label-set", default=None)
    p.add_argument("--method", choices=CONSENSUS_METHODS, default="majority")
    for name, fn, help in (("exclude", "exclude", "Leave an annotator's judgements out (kept, not used)."),
                           ("include", "include", "Undo an exclusion.")):
        p = command(name, _simple(fn, annotator="annotator"), help)
        p.add_argument("annotator")
    command("close", _simple("set_open", {"is_open": False}), "Stop handing out clips.")
    command("open", _simple("set_open", {"is_open": True}), "Hand out clips again.")
    command("delete", _simple("delete_campaign"), "Remove the campaign, its judgements and its audio.")

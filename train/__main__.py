"""Command line: ``python -m train {fit,eval,from-store,demo,prepare,compare,folds,check-configs} ...``
(docs/training.md, docs/reproduce.md).

Only this edge catches EmoExplainError and turns it into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_fit(args, overrides) -> int:
    from train.config import TrainConfig
    from train.loop import fit

    cfg = TrainConfig.from_file(args.config, overrides)
    result = fit(cfg, resume=args.resume)
    print(json.dumps({"checkpoint": str(result.checkpoint), "steps": result.progress.step,
                      **{k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}}, indent=2))
    return 0


def cmd_eval(args, overrides) -> int:
    from train.data.manifest import read_manifest
    from train.evaluate.report import write_report
    from train.evaluate.runner import evaluate_explainer

    explainer = _load_model(args.checkpoint)
    rows = read_manifest(args.manifest, split=args.split)
    if args.probe:
        return _eval_probes(explainer, rows[: args.limit] if args.limit else rows, args)
    metrics = evaluate_explainer(explainer, rows, limit=args.limit or None, generate_max=args.generate or None,
                                 keep_predictions=True)
    out = Path(args.out or Path(args.checkpoint) / "eval")
    path = write_report(metrics, out, title=f"{explainer.name} on {Path(args.manifest).name} [{args.split}]")
    print(f"report: {path}")
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    return 0


def _load_model(checkpoint: str):
    from train import systems

    return systems.load(checkpoint)


def _eval_probes(explainer, rows, args) -> int:
    """``eval --probe``: counterfactual probes and faithfulness over the manifest (train/evaluate/probes.py)."""
    from train.evaluate.probes import evaluate_probes, resolve_associations, write_probe_report

    table, source = resolve_associations(explainer, args.checkpoint, args.associations)
    result = evaluate_probes(explainer, rows[: args.probe_clips], associations=table)
    out = Path(args.out or Path(args.checkpoint) / "eval")
    path = write_probe_report(result, out, title=f"{explainer.name} on {Path(args.manifest).name} [{args.split}]",
                              source=source)
    print(f"report: {path}")
    print(json.dumps({k: v for k, v in result["corpus"].items() if k != "by_probe"}, indent=2))
    return 0


def cmd_from_store(args, overrides) -> int:
    from train.from_store import from_store

    progress = None
    if args.status_file:
        from train.rounds.jobs import status_writer
        progress = status_writer(args.status_file)
    result = from_store(args.db, args.checkpoint, replay_manifest=args.replay, parent_test=args.parent_test,
                        config_path=args.config, overrides=overrides, out_dir=args.out,
                        campaign=args.campaign, progress=progress)
    report = result["round"]
    print(json.dumps({"status": report["status"], "reasons": report["reasons"], "checkpoint": result["checkpoint"],
                      "store_run_id": result["run_id"], "steps": {k: report["steps"][k] for k in ("asr", "ser_sed_asr")},
                      "n_train": report["n_train"], "n_eval": report["n_eval"], "seconds": report["seconds"]},
                     indent=2))
    return 0


def cmd_demo(args, overrides) -> int:
    from train.demo import run_demo

    run_demo(work_dir=args.work, out=args.out, overrides=overrides, n_train=args.n_train, n_test=args.n_test,
             ablation=args.ablation, threads=args.threads,
             examples_dir=None if args.no_examples else args.examples)
    return 0


def cmd_prepare(args, overrides) -> int:
    """Build a manifest from a corpus folder (and fill descriptors from the acoustic engine)."""
    from train.data import manifest as mf

    counts: dict = {}
    if args.corpus == "iemocap":
        from train.data.iemocap import build
        rows = build(args.root)
    elif args.corpus == "meld":
        from train.data.meld import build
        rows, counts = build(args.root, audio_dir=args.audio_dir)
    elif args.corpus == "speechcraft":
        from train.data.speechcraft import build
        rows, counts = build(args.root, args.audio_dir)
    elif args.corpus == "emosec":
        from train.data.emosec import build
        rows, counts = build(args.root, captions=args.captions)
    elif args.corpus == "folder":
        from train.data.folder import build
        rows = build(args.root, label_set=args.label_set)
    elif args.corpus == "synthetic":
        from train.data.synthetic import SyntheticSpec, generate
        path = generate(args.out_dir, SyntheticSpec(n_train=args.n_train, n_test=args.n_test),
                        measure=not args.no_measure)
        print(f"manifest: {path}")
        return 0
    else:  # pragma: no cover - argparse restricts the choices
        raise AssertionError(args.corpus)
    if not args.no_measure:
        rows = [mf.fill_descriptors(r) for r in rows]
    path = mf.write_manifest(rows, Path(args.out_dir) / "manifest.jsonl")
    print(json.dumps({"manifest": str(path), **mf.summary(rows), **counts}, indent=2))
    return 0


def cmd_compare(args, overrides) -> int:
    """A against B: two eval predictions.json (paired by clip id), two `folds --out` files (paired by split), or
    two fold-score lists / {fold: score} maps."""
    from emoexplain.errors import ConfigError
    from train.evaluate.stats import compare_predictions, paired_t_test

    a, b = (_fold_scores(_read_json(p, "predictions")) for p in (args.a, args.b))
    try:
        if isinstance(a, dict) and "predictions" in a and isinstance(b, dict) and "predictions" in b:
            result = compare_predictions(a["predictions"], b["predictions"])
        elif isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                raise ValueError(f"the fold maps name different folds: {sorted(a)} vs {sorted(b)}")
            result = {"folds": sorted(a), "paired_t_test": paired_t_test([a[k] for k in sorted(a)],
                                                                         [b[k] for k in sorted(a)])}
        elif isinstance(a, list) and isinstance(b, list):
            result = {"paired_t_test": paired_t_test(a, b), "note": "lists are paired by position (fold order)"}
        else:
            raise ValueError("give two predictions.json files, two JSON lists or two {fold: score} objects")
    except ValueError as e:
        raise ConfigError(f"compare: {e}") from None
    print(json.dumps(result, indent=2))
    return 0


def cmd_folds(args, overrides) -> int:
    """IEMOCAP k-fold aggregation: mean +- sd of UA/WA/F1/WER over the folds' metrics.json files."""
    from emoexplain.errors import ConfigError
    from train.evaluate.stats import aggregate_folds, format_folds

    folds = [_read_json(path, "fold metrics") for path in args.metrics]
    splits = [tuple(f.get("splits") or ()) for f in folds]
    repeated = sorted({s for s in splits if s and splits.count(s) > 1})
    if repeated:
        raise ConfigError(f"folds: split(s) {repeated} appear in more than one file; give one metrics.json per fold")
    result = {"files": list(args.metrics), "splits": [list(s) for s in splits], **aggregate_folds(folds)}
    result["summary"] = format_folds(result)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    print("\n".join(result["summary"]), file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


def _fold_scores(data):
    """A `train folds` output -> {split: UA} (so that two of them pair by fold); anything else unchanged."""
    if isinstance(data, dict) and "files" in data and isinstance(data.get("ua"), dict):
        names = ["+".join(s) or f for s, f in zip(data.get("splits") or [], data["files"])] or data["files"]
        return dict(zip(names, data["ua"]["values"]))
    return data


def _read_json(path: str, what: str):
    from emoexplain.errors import ConfigError

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {what} {path}: {e}") from None


def cmd_check_configs(args, overrides) -> int:
    """Every config at tiny size: one step of each stage, one evaluation, save + reload; 1 when any fails."""
    from train.check_configs import run

    return run(args.configs or None, verbose=args.verbose)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train from a config (extra --key=value override it)")
    f.add_argument("--config", required=True)
    f.add_argument("--resume", help="a <run>/state folder to continue from")
    f.set_defaults(func=cmd_fit)
    e = sub.add_parser("eval", help="evaluate a checkpoint on a manifest; writes a markdown report")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--manifest", required=True)
    e.add_argument("--split", default="test", help="rows of this split ('*' = all)")
    e.add_argument("--limit", type=int, default=0, help="score only the first N rows (default: all; the report says)")
    e.add_argument("--generate", type=int, default=0,
                   help="generate captions for the first N scored rows only (default: all; the report says)")
    e.add_argument("--out", help="report folder (default <checkpoint>/eval)")
    e.add_argument("--probe", action="store_true", help="counterfactual probes + faithfulness instead (docs/probes.md)")
    e.add_argument("--probe-clips", type=int, default=100, help="with --probe: clips to probe")
    e.add_argument("--associations", help="with --probe: label-descriptor table JSON, or a manifest (its train split)")
    e.set_defaults(func=cmd_eval)
    s = sub.add_parser("from-store", help="one round on the app's corrections: train, judge on held-out clips, "
                                          "promote or reject (--round.key=value: split and gate settings)")
    s.add_argument("--db", required=True)
    s.add_argument("--checkpoint", required=True, help="the current (parent) checkpoint")
    s.add_argument("--replay", help="manifest of the parent's training data (default: the parent's recipe)")
    s.add_argument("--parent-test", help="manifest whose 'test' rows are the parent's test set (default: its recipe)")
    s.add_argument("--config", help="TrainConfig JSON (default train/configs/from_store.json)")
    s.add_argument("--out", help="run folder (default runs/from-store-<time>)")
    s.add_argument("--status-file", help="keep this JSON file up to date with the round's progress (the app)")
    s.add_argument("--campaign", help="train on this annotation campaign's consensus (docs/campaigns.md)")
    s.set_defaults(func=cmd_from_store)
    d = sub.add_parser("demo", help="synthetic corpus + tiny alternating training -> assets/demo_checkpoint")
    d.add_argument("--work", default="runs/demo", help="corpus and run folder")
    d.add_argument("--out", default="assets/demo_checkpoint")
    d.add_argument("--n-train", type=int, default=4000)
    d.add_argument("--n-test", type=int, default=400)
    d.add_argument("--ablation", action="store_true", help="also train without the prosody input and compare")
    d.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is fastest on a busy 2-core box)")
    d.add_argument("--examples", default="assets/examples", help="where to write the held-out example clips")
    d.add_argument("--no-examples", action="store_true", help="do not write example clips")
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("prepare", help="write a manifest from a corpus")
    r.add_argument("corpus", choices=["iemocap", "meld", "speechcraft", "emosec", "folder", "synthetic"])
    r.add_argument("--root", help="corpus folder (speechcraft: the labels JSON/JSONL file; emosec: SECap's dataset/)")
    r.add_argument("--captions", help="emosec: {id: caption} JSON replacing fid2captions.json (e.g. English)")
    r.add_argument("--audio-dir", help="meld: extracted audio; speechcraft: audio root")
    r.add_argument("--label-set", default="iemocap4")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--n-train", type=int, default=4000)
    r.add_argument("--n-test", type=int, default=400)
    r.add_argument("--no-measure", action="store_true", help="do not fill descriptors from the acoustic engine")
    r.set_defaults(func=cmd_prepare)
    c = sub.add_parser("compare", help="A vs B: UA difference + bootstrap CI, one-tailed t-tests, McNemar (by clip id)")
    c.add_argument("a")
    c.add_argument("b")
    c.set_defaults(func=cmd_compare)
    k = sub.add_parser("folds", help="aggregate k-fold results (IEMOCAP Session1..5 metrics.json files)")
    k.add_argument("metrics", nargs="+", help="one eval metrics.json per fold")
    k.add_argument("--out", help="also write the aggregate here (JSON)")
    k.set_defaults(func=cmd_folds)
    cc = sub.add_parser("check-configs", help="build every config at tiny size, one step per stage + one eval")
    cc.add_argument("configs", nargs="*", help="config files (default: all of train/configs/)")
    cc.add_argument("--verbose", action="store_true", help="print the traceback of a failing config")
    cc.set_defaults(func=cmd_check_configs)
    return p


def main(argv=None) -> int:
    from emoexplain.errors import EmoExplainError

    args, rest = parser().parse_known_args(argv)
    bad = [r for r in rest if not r.startswith("--") or "=" not in r]
    if bad:
        print(f"error: unexpected arguments {bad}; overrides look like --key=value", file=sys.stderr)
        return 2
    try:
        return args.func(args, rest)
    except EmoExplainError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``python -m emoexplain explain FILE... [--checkpoint DIR_OR_ID] [--json] [--no-generate] [--probe]``.

Text mode prints the label with its probability, the caption and the measured-vs-model disagreements; ``--json``
prints ``Explanation.to_dict()`` (one object per line when several files are given). ``--probe`` adds the
counterfactual probes (docs/probes.md): a table in text mode, ``"probe": ProbeReport.to_dict()`` in the JSON.
A file that cannot be explained prints one ``error:`` line on stderr; the exit status is 1 if any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys

from emoexplain.jsonsafe import finite_or_none


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``explain`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser("explain", help="explain the emotion in speech files with the model",
                              description=__doc__.split("\n\n")[0])
    configure(p)
    return p


def configure(p: argparse.ArgumentParser):
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, mp3, ogg)")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint folder or hub id (default: $EMOEXPLAIN_CHECKPOINT, else the demo checkpoint)")
    p.add_argument("--json", action="store_true", help="print the Explanation as JSON")
    p.add_argument("--no-generate", action="store_true", help="label probabilities only (no caption)")
    p.add_argument("--max-seconds", type=float, default=30.0, help="analyse at most this much of each file")
    p.add_argument("--probe", action="store_true",
                   help="also test the explanation: pitch/pace/level/emphasis probes and a faithfulness score")
    p.set_defaults(func=run)


def _text(path: str, d: dict) -> str:
    probs = sorted(d["emotion"]["probabilities"].items(), key=lambda kv: -kv[1])
    lines = [f"{path}: {d['emotion']['label']} ({probs[0][1]:.0%})  [" +
             ", ".join(f"{k} {v:.2f}" for k, v in probs) + "]"]
    if d["caption"]:
        lines.append(f"  caption: {d['caption']}")
    for dis in d["descriptors"]["disagreements"]:
        lines.append(f"  {dis['name']}: model says {dis['model']}, measured {dis['measured']}")
    lines += [f"  warning: {w}" for w in d["warnings"]]
    return "\n".join(lines)


def run(args) -> int:
    from emoexplain.errors import EmoExplainError
    from emoexplain.model import load_explainer
    from emoexplain.pipeline import explain

    try:
        explainer = load_explainer(args.checkpoint)
    except EmoExplainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    associations = None
    if args.probe:
        from emoexplain.probe_score import load_associations
        associations = load_associations(args.checkpoint)
    status = 0
    for path in args.files:
        try:
            result = explain(path, explainer, max_seconds=args.max_seconds, generate=not args.no_generate)
            report = _probe(path, explainer, result, associations, args) if args.probe else None
        except EmoExplainError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        d = result.to_dict()
        if args.json:
            print(json.dumps(finite_or_none({**d, **({"probe": report} if report else {})}), ensure_ascii=False),
                  flush=True)
        else:
            print(_text(path, d) + (("\n" + probe_text(report)) if report else ""), flush=True)
    return status


def _probe(path, explainer, result, associations, args) -> dict:
    from emoexplain.probes import probe
    return probe(path, explainer, baseline=result, associations=associations, max_seconds=args.max_seconds,
                 generate=not args.no_generate).to_dict()


def probe_text(r: dict) -> str:
    """The probe report as a few readable lines: one per probe, then ablation, faithfulness and the verdict."""
    orig = r["original"]["probabilities"]
    lines = ["  probes: requested vs measured | model label p (change) | words that changed (model; measured)"]
    for p in r["probes"]:
        label = p["label"]
        changed = "; ".join(f"{k} {a}->{b}" for k, (a, b) in p["delta"]["descriptors"].items()) or "-"
        measured = "; ".join(f"{k} {a}->{b}" for k, (a, b) in p["delta"]["measured_descriptors"].items()
                             if k != "emphasis") or "-"
        lines.append(f"    {p['name']:<12}{p['text']:<58}{label} {p['probabilities'][label]:.2f} "
                     f"({p['probabilities'][label] - orig.get(label, 0.0):+.2f}) | model: {changed} | "
                     f"measured: {measured}")
    lines += [f"    skipped {s['name']}: {s['reason']}" for s in r["skipped"]]
    a = r["ablation"]
    if "skipped" in a:
        lines.append(f"  ablation: {a['skipped']}")
    else:
        share = a["descriptor_share"]
        lines.append(f"  ablation: descriptor tokens zeroed -> {a['descriptor_zeroed']['label']} (TV {a['tv_descriptor']:.2f}), "
                     f"content tokens zeroed -> {a['content_zeroed']['label']} (TV {a['tv_content']:.2f}); "
                     f"descriptor branch share {'n/a' if share is None else f'{share:.0%}'}")
    f = r["faithfulness"]
    score = (lambda s: "n/a" if s["score"] is None else f"{s['hits']}/{s['n']} = {s['score']:.0%}")
    lines.append(f"  faithfulness: descriptor sensitivity {score(f['descriptor_sensitivity'])}, explanation "
                 f"consistency {score(f['explanation_consistency'])}")
    lines.append(f"  level: {r['level']['detail']}")
    lines.append(f"  summary: {r['summary']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emoexplain.cli_explain")
    configure(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

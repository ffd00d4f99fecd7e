"""``python -m emoexplain explain FILE... [--checkpoint DIR_OR_ID] [--json] [--no-generate]``.

Text mode prints the label with its probability, the caption and the measured-vs-model disagreements; ``--json``
prints ``Explanation.to_dict()`` (one object per line when several files are given). A file that cannot be
explained prints one ``error:`` line on stderr; the exit status is 1 if any file failed.
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
    status = 0
    for path in args.files:
        try:
            result = explain(path, explainer, max_seconds=args.max_seconds, generate=not args.no_generate)
        except EmoExplainError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        d = result.to_dict()
        print(json.dumps(finite_or_none(d), ensure_ascii=False) if args.json else _text(path, d), flush=True)
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emoexplain.cli_explain")
    configure(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

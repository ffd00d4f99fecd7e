"""Command line: ``emoexplain`` (installed by ``pip install .``) or ``python -m emoexplain``:

    emoexplain analyze FILE... [--json] [--plot out.html|out.png] [--max-seconds S]   # measure, no model
    emoexplain explain FILE... [--checkpoint DIR_OR_ID] [--json]                      # the model (cli_explain.py)
    emoexplain store stats|agreement|export|backup|restore|delete-clip|delete-annotator DB ...
    emoexplain app [--help]                                                           # the browser app (app.py)

``analyze`` measures each file (no model): a readable summary by default, ``--json`` prints
``AcousticProfile.to_dict()`` (one JSON object per line, one line per file). ``--plot`` writes the pitch/energy
figure (.png with matplotlib, .html with plotly); with several files the file's name is added to the plot's
name (out.png -> out_<file>.png). A file that cannot be read prints one ``error:`` line on stderr and the
others are still measured; the exit status is 1 if any file failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_analyze_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("analyze", help="measure pitch, energy, rate, tone and emphasis (no model)",
                              description="Measure speech files: pitch, energy, speaking rate, tone, emphasis, "
                                          "voice quality and the descriptor words with their evidence.")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3; webm/m4a with ffmpeg)")
    p.add_argument("--json", action="store_true", help="print the profile as JSON (one object per line per file)")
    p.add_argument("--plot", metavar="OUT", default=None,
                   help="write the pitch/energy plot to OUT (.png or .html)")
    p.add_argument("--max-seconds", type=float, default=30.0, metavar="S",
                   help="analyse at most the first S seconds of each file (default 30)")
    p.add_argument("--gender", choices=("male", "female"), default=None,
                   help="speaker register for the pitch word (default: estimated from the median F0)")
    p.set_defaults(func=run_analyze)
    return p


def _plot_path(template: str, source: str, several: bool) -> Path:
    out = Path(template)
    if not several:
        return out
    return out.with_name(f"{out.stem}_{Path(source).stem}{out.suffix}")


def _fmt(value, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def summary(path: str, d: dict) -> str:
    """A readable few lines for one profile dict."""
    p, e, r, t, q = d["pitch"], d["energy"], d["rate"], d["tone"], d["voice_quality"]
    lines = [f"{path}: {d['duration_s']:.2f} s",
             f"  pitch   median {_fmt(p['median_hz'], '.0f', ' Hz')}, mean {_fmt(p['mean_hz'], '.0f', ' Hz')}, "
             f"range {_fmt(p['range_semitones'], '.1f', ' st')}, variability {_fmt(p['variability_semitones'], '.2f', ' st')}, "
             f"voiced {p['voiced_fraction']:.0%}",
             f"  energy  mean {e['mean_db']:.1f} dBFS, dynamic range {e['dynamic_range_db']:.1f} dB",
             f"  rate    {r['syllables_per_s']:.2f} syllables/s, articulation {r['articulation_rate']:.2f} syll/s, "
             f"pauses {r['pause_fraction']:.0%} ({r['n_pauses']})",
             f"  tone    final change {_fmt(t['final_change_semitones'], '+.1f', ' st')}, "
             f"slope {_fmt(t['slope_st_per_s'], '+.2f', ' st/s')}",
             f"  voice   jitter {_fmt(q['jitter_percent'], '.2f', '%')}, shimmer {_fmt(q['shimmer_percent'], '.2f', '%')}, "
             f"HNR {_fmt(q['hnr_db'], '.1f', ' dB')}"]
    for seg in d["emphasis"]:
        lines.append(f"  emphasis {seg['start_s']:.2f}-{seg['end_s']:.2f} s strength {seg['strength']:.2f}"
                     + (f" ({seg['word']})" if seg.get("word") else ""))
    for desc in d["descriptors"]:
        ev = desc["evidence"]
        edges = ("" if ev["bin_low"] is None and ev["bin_high"] is None else
                 f" in [{_fmt(ev['bin_low'], 'g')}, {_fmt(ev['bin_high'], 'g')})")
        lines.append(f"  {desc['name']:<16}{desc['value']:<22} {ev['value']:g} {ev['unit']}{edges}")
    lines += [f"  warning: {w}" for w in d["warnings"]]
    return "\n".join(lines)


def run_analyze(args) -> int:
    from emoexplain.acoustics import analyze
    from emoexplain.jsonsafe import finite_or_none   # NaN/inf -> null, shared with `explain`
    from emoexplain.errors import EmoExplainError

    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".html", ".htm"):
        print(f"error: --plot {args.plot}: use a file name ending in .png or .html", file=sys.stderr)
        return 2
    if not args.max_seconds > 0:
        print("error: --max-seconds must be positive", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            profile = analyze(path, max_seconds=args.max_seconds, gender=args.gender)
        except EmoExplainError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        d = finite_or_none(profile.to_dict())
        print(json.dumps(d, ensure_ascii=False) if args.json else summary(path, d), flush=True)
        if args.plot:
            from emoexplain import plots
            out = _plot_path(args.plot, path, len(args.files) > 1)
            try:
                plots.save(profile, out)
            except OSError as exc:
                print(f"error: {path}: cannot write the plot to {out}: {exc}", file=sys.stderr)
                status = 1
                continue
            if not args.json:
                print(f"  plot: {out}", flush=True)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoexplain",
                                     description="Explainable speech emotion recognition with acoustic evidence.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{analyze,explain,store,app}")
    add_analyze_parser(sub)
    from emoexplain import cli_explain
    cli_explain.add_parser(sub)
    for name, about in _DELEGATED.items():   # listed here; their own parsers read the rest (see main)
        sub.add_parser(name, help=about, add_help=False)
    return parser


_DELEGATED = {"store": "the annotation store: stats, agreement, export, backup, restore, delete "
                       "(emoexplain store --help)",
              "app": "the browser app, as `python app.py` (emoexplain app --help)"}


def run_app(argv) -> int:
    """Serve app.py (the Space's entry point, at the top of a checkout or an editable install)."""
    import runpy

    from emoexplain.paths import ROOT
    app_py = ROOT / "app.py"
    if not app_py.is_file():
        print("error: `emoexplain app` runs app.py, the Space's page, which lives in the repository: clone it and "
              "`pip install -e .` there (the wheel carries the library, the command line and the data).",
              file=sys.stderr)
        return 2
    sys.argv = [str(app_py), *argv]
    runpy.run_path(str(app_py), run_name="__main__")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "store":
        from emoexplain.store.__main__ import main as store_main
        return store_main(argv[1:])
    if argv and argv[0] == "app":
        return run_app(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:          # `... | head`: the reader left; not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit flush
        return 0


if __name__ == "__main__":
    sys.exit(main())

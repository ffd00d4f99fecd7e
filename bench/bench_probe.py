"""How much testing an explanation costs, and whether the probes do what they say (issue 14).

    .venv/bin/python bench/bench_probe.py [--rounds 3] [--clock wall|cpu] [--threads 1] [--clips 40]

1. Speed: all probes of a 10 s clip (probe() given the clip's explanation, as the app calls it) against one
   ``explain`` of the same clip, demo checkpoint, CPU, interleaved rounds after a warm-up; min (median).
   Goal: all probes <= 6x one explain. Also printed: probe() computing the explanation itself.
2. Re-synthesis error on speech: |measured - requested| for the pitch probes (goal <= 0.3 st) and
   |measured / requested - 1| for the pace probes (goal <= 5 %), on espeak-ng speech and on real recorded
   speech: the Allison Smith IVR prompts of Debian's asterisk-core-sounds-en-wav (8 kHz, one female voice;
   `apt-get install -y --no-install-recommends asterisk-core-sounds-en-wav alsa-utils`; not in the repo) and
   alsa-utils' /usr/share/sounds/alsa voice. Skipped with a note when they are not installed.
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_RATIO = 6.0
GOAL_PITCH_ST = 0.3
GOAL_PACE = 0.05
ALLISON = "/usr/share/asterisk/sounds/en_US_f_Allison"
ALSA = "/usr/share/sounds/alsa"


def real_speech_10s() -> np.ndarray | None:
    """10 s of recorded speech: the Allison prompts, longest first, joined with 0.2 s pauses."""
    from emoexplain.audio import load_audio
    files = sorted(glob.glob(f"{ALLISON}/*.wav"), key=lambda f: -Path(f).stat().st_size)
    if not files:
        return None
    parts, total = [], 0
    for f in files:
        x = load_audio(f).samples
        parts += [x, np.zeros(3200, dtype=np.float32)]
        total += len(x) + 3200
        if total >= 160000:
            break
    return np.concatenate(parts)[:160000]


def speed(clip: np.ndarray, rounds: int, clock) -> dict:
    from emoexplain.model import load_explainer
    from emoexplain.pipeline import explain
    from emoexplain.probes import probe

    explainer = load_explainer()
    result = explain(clip, explainer)                       # warm-up (first generate, scipy imports)
    probe(clip, explainer, baseline=result)
    times = {"explain": [], "probes": [], "probe_with_explain": []}
    for _ in range(rounds):
        start = clock()
        result = explain(clip, explainer)
        times["explain"].append(clock() - start)
        start = clock()
        report = probe(clip, explainer, baseline=result)
        times["probes"].append(clock() - start)
        start = clock()
        probe(clip, explainer)
        times["probe_with_explain"].append(clock() - start)
    return {"times": times, "n_probes": len(report.probes), "latency": report.latency_s}


def resynthesis_errors(clips: list[tuple[str, np.ndarray]]) -> list[dict]:
    """Per clip: the pitch probes' |measured - requested| (st) and the pace probes' relative error."""
    from emoexplain.acoustics import frame_track
    from emoexplain.probes import PACE_RATIOS, PITCH_STEPS_ST, _frame_shift_st, tempo_ratio
    from emoexplain.resynth import pitch_marks, psola

    out = []
    for name, x in clips:
        track = frame_track(x)
        if np.sum(track.voiced) * 0.01 < 0.3:
            continue
        marks = pitch_marks(x, track.f0_hz, track.voiced)
        pitch = [abs(_frame_shift_st(track, frame_track(psola(x, marks, pitch_factor=2 ** (st / 12)))) - st)
                 for st in PITCH_STEPS_ST]
        pace = [abs(tempo_ratio(track, frame_track(psola(x, marks, time_ratio=r))) / r - 1) for r in PACE_RATIOS]
        out.append({"clip": name, "seconds": len(x) / 16000, "pitch_st": max(pitch), "pace": max(pace)})
    return out


def speech_clips(n_real: int) -> tuple[list, list]:
    """(espeak-ng clips, recorded clips): name and 16 kHz samples."""
    import shutil
    import subprocess
    import tempfile

    from bench_app import TEXT
    from emoexplain.audio import load_audio
    synthetic = []
    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as tmp:
            for voice, pitch, rate in (("en-us", 50, 160), ("en-us+f3", 70, 190), ("en-gb+m3", 30, 130),
                                       ("en-us+f2", 85, 220)):
                path = Path(tmp) / "s.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(rate), "-w", str(path), TEXT],
                               check=True, capture_output=True)
                synthetic.append((f"espeak {voice} -p{pitch} -s{rate}", load_audio(path).samples))
    files = sorted(glob.glob(f"{ALLISON}/*.wav"))
    step = max(1, len(files) // max(n_real, 1))
    real = []
    for f in files[::step][:n_real] + sorted(glob.glob(f"{ALSA}/*.wav")):
        try:
            real.append((Path(f).name, load_audio(f).samples))
        except Exception:  # noqa: BLE001 - a prompt too short to analyse is not a benchmark failure
            continue
    return synthetic, real


def _row(name: str, values: list[float], unit: str = "s") -> str:
    return f"  {name:34s} {min(values):7.3f} {unit} ({statistics.median(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: this process's CPU seconds (use on a shared machine; with --threads 1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clips", type=int, default=40, help="recorded clips for the re-synthesis error")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    from bench_app import make_clip
    import tempfile
    from emoexplain.audio import load_audio
    with tempfile.TemporaryDirectory() as tmp:
        espeak10 = load_audio(make_clip(Path(tmp))).samples
    real10 = real_speech_10s()
    print(f"clock={args.clock} threads={args.threads} rounds={args.rounds}: min (median)")
    for name, clip in (("espeak-ng 10 s", espeak10), ("recorded 10 s (Allison prompts)", real10)):
        if clip is None:
            print(f"\n{name}: not installed (apt-get install -y --no-install-recommends asterisk-core-sounds-en-wav)")
            continue
        s = speed(clip, args.rounds, clock)
        t = s["times"]
        ratio = min(t["probes"]) / min(t["explain"])
        print(f"\n{name}, demo checkpoint, {s['n_probes']} probes + 2 ablation rows in one batch")
        print(_row("one explain (reference)", t["explain"]))
        print(_row("all probes (given the explanation)", t["probes"]))
        print(_row("probe() incl. its own explain", t["probe_with_explain"]))
        print(f"  stages of the last probe: {s['latency']}")
        print(f"  all probes / one explain = {ratio:.2f}  (goal <= {GOAL_RATIO:g}: {'PASS' if ratio <= GOAL_RATIO else 'FAIL'})"
              f"; with its own explain {min(t['probe_with_explain']) / min(t['explain']):.2f}")

    synthetic, real = speech_clips(args.clips)
    print("\nRe-synthesis error (requested vs re-measured), worst probe per clip")
    for name, clips in (("espeak-ng", synthetic), ("recorded speech", real)):
        errs = resynthesis_errors(clips)
        if not errs:
            print(f"  {name}: no clips (not installed)")
            continue
        pitch, pace = [e["pitch_st"] for e in errs], [e["pace"] for e in errs]
        secs = [e["seconds"] for e in errs]
        worst = max(errs, key=lambda e: e["pitch_st"] / GOAL_PITCH_ST + e["pace"] / GOAL_PACE)
        ok = max(pitch) <= GOAL_PITCH_ST and max(pace) <= GOAL_PACE
        print(f"  {name:16s} {len(errs):3d} clips ({min(secs):.1f}-{max(secs):.1f} s): pitch max {max(pitch):.3f} st "
              f"(median {statistics.median(pitch):.3f}; goal <= {GOAL_PITCH_ST}), pace max {100 * max(pace):.2f} % "
              f"(median {100 * statistics.median(pace):.2f}; goal <= {100 * GOAL_PACE:g}) "
              f"{'PASS' if ok else 'FAIL'}; worst clip {worst['clip']}")


if __name__ == "__main__":
    main()

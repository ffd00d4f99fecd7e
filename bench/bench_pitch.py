"""Benchmark: our YIN tracker against Praat (parselmouth) and librosa.pyin, all measured in the same run.

    nice -n 10 .venv/bin/python bench/bench_pitch.py [--quick] [--json out.json]

1. Accuracy on speech-like signals with a known F0 (tests/helpers.py synthesize_voice): utterances of
   syllables (voiced nuclei, unvoiced consonant gaps) with declination, pitch accents, a final rise or fall,
   1 % jitter and 4 % shimmer, in three registers (male ~105 Hz, female ~210 Hz, low/creaky ~75 Hz), clean
   and with white noise at 20, 10 and 5 dB SNR. Metrics over 10 ms frames:
     GPE   gross pitch error: % of frames voiced in truth and estimate whose F0 is off by > 20 %
     VDE   voicing decision error: % of all frames whose voiced/unvoiced decision is wrong
     cents median |1200 log2(estimate / truth)| over frames voiced in both
2. Agreement with Praat on espeak-ng speech (several sentences, voices, pitch and rate settings): GPE and
   VDE taking Praat's contour as the reference.
3. Speed on one core: x real time (audio seconds per CPU second) of each tracker on a 10 s clip, median of
   repeats, and the full ``acoustics.analyze`` of the same 10 s (goal, issue 2: <= 200 ms).
Ratios are printed against Praat (the reference) measured in this run.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")        # one core, for every tracker alike

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]   # the package, and tests/helpers.py (synthesize_voice)

from emoexplain.acoustics import analyze  # noqa: E402
from emoexplain.audio import load_audio  # noqa: E402
from emoexplain.pitch import PitchConfig, yin_track  # noqa: E402
from helpers import synthesize_voice  # noqa: E402

SR = 16000
HOP = 160
FMIN, FMAX = 60.0, 500.0
VOWELS = {"a": ((730, 90), (1090, 110), (2440, 170)), "i": ((270, 60), (2290, 100), (3010, 120)),
          "u": ((300, 60), (870, 90), (2240, 120)), "e": ((530, 70), (1840, 100), (2480, 120))}
SENTENCES = ["The quick brown fox jumps over the lazy dog while the children watch from the window.",
             "Nobody knew what would happen to the little village after the storm had passed.",
             "Are you really going to leave before the music even starts?",
             "I cannot believe you would say something like that to me today."]


# --- signals with a known F0 --------------------------------------------------------------------------------
def natural_contour(rng, base_hz: float, seconds: float = 3.0) -> np.ndarray:
    """F0 per 10 ms frame (NaN = unvoiced): syllables with declination, accents and a final rise/fall."""
    n = int(seconds / 0.01)
    t = np.arange(n) * 0.01
    st = -1.5 * t / seconds                                          # declination, semitones
    for centre in rng.uniform(0.3, seconds - 0.6, size=3):           # pitch accents
        st += rng.uniform(2, 5) * np.exp(-0.5 * ((t - centre) / rng.uniform(0.06, 0.12)) ** 2)
    st += np.cumsum(rng.normal(0, 0.08, n))                          # slow wander
    final = t > seconds - 0.4
    st[final] += rng.choice([-1, 1]) * rng.uniform(2, 6) * (t[final] - (seconds - 0.4)) / 0.4
    f0 = base_hz * 2 ** (st / 12)
    voiced = np.zeros(n, dtype=bool)                                 # syllables: voiced nucleus, unvoiced gap
    pos = int(rng.integers(5, 20))
    while pos < n:
        on = int(rng.integers(10, 25))
        voiced[pos: pos + on] = True
        pos += on + int(rng.integers(4, 12))
    return np.where(voiced, np.clip(f0, FMIN + 5, FMAX - 20), np.nan)


def synthetic_set(quick: bool):
    rng = np.random.default_rng(2026)
    registers = {"male": 105.0, "female": 210.0, "low": 75.0}
    per_register = 2 if quick else 5
    snrs = [None, 20.0, 10.0, 5.0]
    for name, base in registers.items():
        for k in range(per_register):
            f0 = natural_contour(rng, base * rng.uniform(0.9, 1.1))
            vowel = list(VOWELS.values())[k % len(VOWELS)]
            for snr in snrs:
                x = synthesize_voice(f0, SR, jitter=0.01, shimmer=0.04, formants=vowel, snr_db=snr,
                                     unvoiced_noise=0.05, seed=int(rng.integers(1 << 30)))
                yield name, snr, x, f0


# --- trackers: all return (f0 with NaN where unvoiced) on the 10 ms grid t = i * 0.01 -------------------------
def track_ours(x):
    f0, voiced, _ = yin_track(x, SR, HOP, PitchConfig(fmin_hz=FMIN, fmax_hz=FMAX))
    return np.where(voiced, f0, np.nan)


def track_praat(x):
    import parselmouth
    pitch = parselmouth.Sound(x.astype(np.float64), SR).to_pitch_ac(time_step=0.01, pitch_floor=FMIN,
                                                                    pitch_ceiling=FMAX)
    values = pitch.selected_array["frequency"]
    values = np.where(values > 0, values, np.nan)
    # Praat's frames are centred in the signal (first at x1, then every dx): take the nearest for each t
    t = np.arange(len(x) // HOP + 1) * 0.01
    j = np.floor((t - pitch.x1) / pitch.dx + 0.5).astype(int)
    inside = (j >= 0) & (j < len(values))
    return np.where(inside, values[np.clip(j, 0, len(values) - 1)], np.nan)


def track_pyin(x):
    import librosa
    f0, voiced, _ = librosa.pyin(x, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=1024, hop_length=HOP)
    return np.where(voiced, f0, np.nan)


TRACKERS = {"ours (YIN+NCCF+Viterbi)": track_ours, "Praat ac (parselmouth)": track_praat,
            "librosa.pyin": track_pyin}
REFERENCE = "Praat ac (parselmouth)"


def scores(estimate: np.ndarray, truth: np.ndarray) -> dict:
    n = min(len(estimate), len(truth))
    est, ref = estimate[:n], truth[:n]
    ev, rv = np.isfinite(est), np.isfinite(ref)
    both = ev & rv
    ratio = est[both] / ref[both]
    cents = np.abs(1200 * np.log2(ratio))
    return {"frames": int(n), "both": int(both.sum()), "gross": int(np.sum(np.abs(ratio - 1) > 0.2)),
            "vd_errors": int(np.sum(ev != rv)), "cents": cents.tolist()}


def summarise(rows: list[dict]) -> dict:
    both = sum(r["both"] for r in rows)
    frames = sum(r["frames"] for r in rows)
    cents = [c for r in rows for c in r["cents"]]
    return {"GPE %": 100 * sum(r["gross"] for r in rows) / max(both, 1),
            "VDE %": 100 * sum(r["vd_errors"] for r in rows) / max(frames, 1),
            "median cents": float(np.median(cents)) if cents else float("nan")}


def espeak_clips(quick: bool, folder: Path):
    if shutil.which("espeak-ng") is None:
        return []
    settings = [("en-us", 50, 175), ("en-us", 20, 140), ("en-us", 85, 220), ("en-gb+f3", 50, 160),
                ("en-us+f2", 70, 190), ("de", 40, 150)]
    clips = []
    for i, (voice, pitch, rate) in enumerate(settings[:3] if quick else settings):
        for j, text in enumerate(SENTENCES[:2] if quick else SENTENCES):
            path = folder / f"s{i}_{j}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(rate), "-w", str(path), text],
                           check=True, capture_output=True)
            clips.append((f"{voice} -p{pitch} -s{rate}", load_audio(path).samples))
    return clips


def speed(x: np.ndarray, repeats: int) -> dict:
    seconds = len(x) / SR
    out = {}
    for name, fn in TRACKERS.items():
        fn(x[: SR])                                                   # warm-up (imports, caches)
        times = []
        for _ in range(repeats if name != "librosa.pyin" else max(1, repeats // 3)):
            start = time.process_time()
            fn(x)
            times.append(time.process_time() - start)
        out[name] = {"cpu_s": statistics.median(times), "x_realtime": seconds / statistics.median(times)}
    analyze((x, SR))
    times = []
    for _ in range(repeats):
        start = time.process_time()
        analyze((x, SR))
        times.append(time.process_time() - start)
    out["full analyze()"] = {"cpu_s": statistics.median(times), "x_realtime": seconds / statistics.median(times)}
    return out


def table(title: str, header: list[str], rows: list[list]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer signals (about a third of the time)")
    parser.add_argument("--repeats", type=int, default=7, help="timing repeats (median is reported)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    import parselmouth
    report = {"parselmouth": parselmouth.__version__, "praat": parselmouth.PRAAT_VERSION}

    # 1. known F0
    per = {}       # (tracker, condition) -> rows
    for register, snr, x, truth in synthetic_set(args.quick):
        condition = "clean" if snr is None else f"{snr:g} dB"
        for name, fn in TRACKERS.items():
            s = scores(fn(x), truth)
            per.setdefault((name, condition), []).append(s)
            per.setdefault((name, "all"), []).append(s)
    conditions = ["clean", "20 dB", "10 dB", "5 dB", "all"]
    rows, known = [], {}
    for name in TRACKERS:
        for condition in conditions:
            m = summarise(per[(name, condition)])
            known.setdefault(name, {})[condition] = m
            rows.append([name, condition, f"{m['GPE %']:.2f}", f"{m['VDE %']:.2f}", f"{m['median cents']:.1f}"])
    n_signals = len(per[(REFERENCE, "clean")])
    print(table(f"\n1. Known F0: {n_signals} utterances x 4 noise conditions (3 s each; male/female/low registers)",
                ["tracker", "noise", "GPE %", "VDE %", "median cents"], rows))
    report["known_f0"] = known

    # 2. agreement with Praat on espeak-ng speech
    with tempfile.TemporaryDirectory() as folder:
        clips = espeak_clips(args.quick, Path(folder))
    if clips:
        rows, agree = [], {}
        for name, fn in TRACKERS.items():
            if name == REFERENCE:
                continue
            m = summarise([scores(fn(x), track_praat(x)) for _, x in clips])
            agree[name] = m
            rows.append([name, f"{m['GPE %']:.2f}", f"{m['VDE %']:.2f}", f"{m['median cents']:.1f}"])
        total = sum(len(x) for _, x in clips) / SR
        print(table(f"\n2. Agreement with Praat on espeak-ng speech ({len(clips)} clips, {total:.0f} s)",
                    ["tracker", "GPE vs Praat %", "VDE vs Praat %", "median cents"], rows))
        report["vs_praat_espeak"] = agree
        long_clip = np.concatenate([x for _, x in clips])
    else:
        print("\n2. espeak-ng not installed: agreement on speech skipped")
        long_clip = np.concatenate([x for *_, x, _ in synthetic_set(True)])

    # 3. speed on a 10 s clip
    x10 = np.resize(long_clip, 10 * SR).astype(np.float32)
    sp = speed(x10, args.repeats)
    ref = sp[REFERENCE]["cpu_s"]
    rows = [[name, f"{v['cpu_s'] * 1000:.1f}", f"{v['x_realtime']:.0f}", f"{v['cpu_s'] / ref:.2f}"]
            for name, v in sp.items()]
    print(table("\n3. Speed on 10 s of audio, one core (CPU time, median of repeats)",
                ["", "ms", "x real time", f"time / {REFERENCE}"], rows))
    report["speed_10s"] = sp
    full = sp["full analyze()"]["cpu_s"]
    print(f"\nfull analysis of 10 s: {full * 1000:.0f} ms = {full / 10:.4f} x real time "
          f"(goal <= 0.02: {'met' if full / 10 <= 0.02 else 'NOT met'})")
    if clips:
        gpe = report["vs_praat_espeak"]["ours (YIN+NCCF+Viterbi)"]["GPE %"]
        print(f"GPE of ours vs Praat on clean speech: {gpe:.2f} % (goal <= 5 %: {'met' if gpe <= 5 else 'NOT met'})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

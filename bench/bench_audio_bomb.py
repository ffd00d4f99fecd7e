"""Benchmark: decoding hostile uploads (each at most the app's 20 MB upload limit) against an ordinary upload.

    nice -n 10 .venv/bin/python bench/bench_audio_bomb.py [--keep DIR] [--json out.json]

Crafts the worst inputs we know of (headers that declare 1 Hz, 4 GHz, 1000 channels or a length of days;
compressed files that expand from 20 MB into hours: silence in FLAC, MP3, AAC, Opus/WebM at 8 channels and
192 kHz; 20 MB of PCM at the lowest accepted rate; playlists that open other files) and decodes each with
``emoexplain.audio.load_audio`` in a fresh process. For every input it prints the outcome (the clip, or the
error a user would see), the decode time, the peak memory growth of the process and the peak memory of
ffmpeg, and the ratios against the reference, an ordinary 30 s upload (48 kHz stereo 16-bit WAV) measured
the same way in this run. Goal (issue 10): every row <= 2 s and <= 300 MB of memory growth.
"""

import argparse
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LIMIT_BYTES = 20 * 1024 * 1024       # the app's default upload limit (EMOEXPLAIN_MAX_FILE_SIZE=20mb)
GOAL_S, GOAL_MB = 2.0, 300.0
HAVE_FFMPEG = shutil.which("ffmpeg") is not None

# One decode in a fresh interpreter: RSS before (after the imports) and the peak after, both from
# /proc/self/status (VmHWM is per address space; ru_maxrss would carry the forking parent's peak over exec).
# ffmpeg's peak is RUSAGE_CHILDREN, an upper bound: it includes the forked copy of this interpreter.
_CHILD = r"""
import json, resource, sys, time
import numpy, soundfile, soxr
from emoexplain.audio import load_audio
def status(key):
    line = next(l for l in open("/proc/self/status") if l.startswith(key + ":"))
    return int(line.split()[1]) * 1024
before = status("VmRSS")
start = time.perf_counter()
try:
    clip = load_audio(sys.argv[1])
    outcome = f"clip {clip.duration_s:.1f} s of {clip.original_duration_s:.0f} s"
except Exception as error:
    outcome = f"{type(error).__name__}: {error}"
seconds = time.perf_counter() - start
peak = status("VmHWM")
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "growth_mb": max(0, peak - before) / 2**20,
                  "ffmpeg_mb": children / 2**20, "outcome": outcome}))
"""


def measure(path: Path) -> dict:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=root,
                          timeout=600)
    if done.returncode != 0:
        return {"seconds": math.nan, "growth_mb": math.nan, "ffmpeg_mb": 0.0,
                "outcome": f"crashed: {done.stderr.strip()[-200:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- crafting ----------------------------------------------------------------------------------------------
def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _patch(path: Path, offset: int, fmt: str, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path.write_bytes(bytes(data))


def _wav(path: Path, samples: np.ndarray, rate: int, subtype: str) -> Path:
    import soundfile
    soundfile.write(path, samples, rate, subtype=subtype)
    return path


def _loop_copy(src: Path, dest: Path, container: list[str]) -> Path:
    """Repeat ``src``'s packets (no re-encoding) until the file is close to the upload limit."""
    loops = max(1, int(LIMIT_BYTES * 0.95 / src.stat().st_size) - 1)
    _ffmpeg("-stream_loop", str(loops), "-i", str(src), "-c", "copy", *container, str(dest))
    return dest


def _repeat_bytes(src: Path, dest: Path) -> Path:
    """Concatenate a frame-based stream (MP3, ADTS AAC) with itself up to the limit: still a valid stream."""
    chunk = src.read_bytes()
    dest.write_bytes(chunk * max(1, int(LIMIT_BYTES * 0.95) // len(chunk)))
    return dest


def craft(folder: Path) -> list[tuple[str, Path]]:
    rng = np.random.default_rng(0)
    voice = lambda n: (0.3 * rng.standard_normal(n)).astype(np.float32)  # noqa: E731
    cases = []
    cases.append(("header says 1 Hz (40 KB)", _wav(folder / "one_hz.wav", voice(20_000), 1, "PCM_16")))
    high = _wav(folder / "four_ghz.wav", voice(20_000), 16000, "PCM_16")
    _patch(high, 24, "<I", 0xFFFFFFFF)                                           # fmt chunk: sample rate
    cases.append(("header says 4.29 GHz", high))
    cases.append(("1000 channels", _wav(folder / "channels.wav", np.zeros((2000, 1000), np.float32), 16000, "PCM_U8")))
    liar = _wav(folder / "days.wav", voice(LIMIT_BYTES // 2 - 64).reshape(-1, 8), 192_000, "PCM_16")
    data_at = liar.read_bytes().find(b"data")
    _patch(liar, data_at + 4, "<I", 0xFFFFFFF0)                                  # declared: ~6 days of frames
    _patch(liar, 4, "<I", 0xFFFFFFF8)
    cases.append(("20 MB, 192 kHz x 8 ch, declared length of days", liar))
    cases.append(("20 MB of silence at 16 kHz (11 min)",
                  _wav(folder / "silence.wav", np.zeros(LIMIT_BYTES // 2 - 64, np.int16), 16000, "PCM_16")))
    cases.append(("20 MB of 8-bit PCM at 4 kHz (87 min)",
                  _wav(folder / "low_rate.wav", (rng.standard_normal(LIMIT_BYTES - 64) * 0.2).clip(-1, 1).astype(np.float32),
                       4000, "PCM_U8")))
    cases.append(("ordinary 20 MB upload: 48 kHz stereo WAV (109 s)",
                  _wav(folder / "long.wav", voice(LIMIT_BYTES // 2 - 64).reshape(-1, 2), 48_000, "PCM_16")))
    if not HAVE_FFMPEG:
        return cases
    flac = folder / "silence.flac"                    # 2 min of 192 kHz x 8 ch, then declare 2^36 - 1 frames
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=192000:cl=7.1", "-t", "120", "-c:a", "flac", str(flac))
    data = bytearray(flac.read_bytes())
    info = data.find(b"fLaC") + 8 + 10                                           # STREAMINFO: rate|ch|bps|total
    data[info + 3] |= 0x0F
    data[info + 4:info + 8] = b"\xff\xff\xff\xff"
    flac.write_bytes(bytes(data))
    cases.append(("FLAC 192 kHz x 8 ch silence, declares 99 h", flac))
    mp3 = folder / "one_min.mp3"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "60", "-b:a", "8k", str(mp3))
    cases.append(("MP3 8 kbps silence, 20 MB (5.8 h)", _repeat_bytes(mp3, folder / "silence.mp3")))
    aac = folder / "one_min.aac"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=96000:cl=7.1", "-t", "60", "-c:a", "aac", "-b:a", "16k", str(aac))
    cases.append(("ADTS AAC 96 kHz x 8 ch silence, 20 MB", _repeat_bytes(aac, folder / "silence.aac")))
    opus = folder / "one_min.webm"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=7.1", "-t", "60", "-c:a", "libopus", "-b:a", "6k", str(opus))
    cases.append(("WebM Opus 8 ch silence, 20 MB (hours)", _loop_copy(opus, folder / "silence.webm", [])))
    ogg = _loop_copy(opus, folder / "silence.ogg", ["-f", "ogg"])
    cases.append(("Ogg Opus 8 ch silence, 20 MB (libsndfile)", ogg))
    m4a = folder / "one_min.m4a"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "60", "-c:a", "aac", "-b:a", "8k", str(m4a))
    cases.append(("M4A AAC silence, 20 MB (a huge sample table)", _loop_copy(m4a, folder / "silence.m4a", [])))
    secret = folder / "secret.ts"
    _ffmpeg("-f", "lavfi", "-i", "sine=f=220:d=2", "-f", "mpegts", "-c:a", "mp2", str(secret))
    playlist = folder / "playlist.webm"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{secret}\n#EXT-X-ENDLIST\n")
    cases.append(("HLS playlist named .webm (opens a server file)", playlist))
    concat = folder / "concat.webm"
    concat.write_text(f"ffconcat version 1.0\nfile {folder / 'long.wav'}\n")
    cases.append(("ffconcat list named .webm", concat))
    return cases


def reference(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    return _wav(folder / "reference.wav", (0.3 * rng.standard_normal((30 * 48_000, 2))).astype(np.float32),
                48_000, "PCM_16")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="write the crafted files here (and keep them) instead of a temp folder")
    parser.add_argument("--json", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ref = measure(reference(folder))
        rows = []
        for name, path in craft(folder):
            size = path.stat().st_size
            assert size <= LIMIT_BYTES, f"{name}: {size} bytes is over the upload limit"
            row = {"case": name, "bytes": size, **measure(path)}
            row["ok"] = row["seconds"] <= GOAL_S and row["growth_mb"] <= GOAL_MB and row["ffmpeg_mb"] <= GOAL_MB
            rows.append(row)
    print(f"reference (ordinary 30 s 48 kHz stereo WAV): {ref['seconds']:.3f} s, {ref['growth_mb']:.0f} MB growth")
    print(f"{'case':52} {'MB in':>6} {'s':>6} {'x ref':>6} {'MB grow':>8} {'x ref':>6} {'ffmpeg':>7}  goal  outcome")
    for r in rows:
        print(f"{r['case'][:52]:52} {r['bytes'] / 2**20:6.1f} {r['seconds']:6.3f} {r['seconds'] / ref['seconds']:6.2f} "
              f"{r['growth_mb']:8.1f} {r['growth_mb'] / max(ref['growth_mb'], 1):6.2f} {r['ffmpeg_mb']:7.0f}  "
              f"{'ok  ' if r['ok'] else 'OVER'}  {r['outcome'][:90]}")
    worst_s = max(r["seconds"] for r in rows)
    worst_mb = max(max(r["growth_mb"], r["ffmpeg_mb"]) for r in rows)
    print(f"worst: {worst_s:.3f} s (goal {GOAL_S} s, ratio {worst_s / GOAL_S:.2f}), {worst_mb:.0f} MB "
          f"(goal {GOAL_MB:.0f} MB, ratio {worst_mb / GOAL_MB:.2f}) -> {'MET' if all(r['ok'] for r in rows) else 'NOT MET'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"reference": ref, "rows": rows}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

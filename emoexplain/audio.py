"""Audio in: any file or array -> mono float32 samples at 16 kHz, or a typed error that says what to do.

WAV/FLAC/OGG/MP3 are read with soundfile (libsndfile). What browsers record (WebM/Opus, M4A/AAC) is
decoded by an ``ffmpeg`` subprocess when ffmpeg is on PATH, like whisper does.

Uploads are hostile until proven otherwise, so decoding costs what is analysed, never what a header
declares: only the first ``max_seconds`` are read (a block at a time, mixed to mono as they come), rates and
channel counts outside what speech recordings use are refused before anything is decoded, and ffmpeg may
open only the uploaded file itself, with a demuxer from :data:`FFMPEG_DEMUXERS`, for a bounded time and a
bounded number of output bytes. Error messages name the file, never the folder it sits in.
"""

import hashlib
import logging
import math
import os
import re
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoexplain.errors import (AudioEmpty, AudioInvalidSamples, AudioNotFound, AudioSilent,
                               AudioTooShort, AudioUnreadable, AudioUnsupported)

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000     # Hz; every part of emoexplain works at this rate
MAX_SECONDS = 30.0       # longer clips are cut to their first MAX_SECONDS (and the result says so)
MIN_SECONDS = 0.5        # shorter clips hold too few syllables to measure anything
SILENT_PEAK = 10 ** (-60 / 20)   # a clip whose loudest sample is below -60 dBFS holds no usable signal
CLIP_LEVEL = 0.999       # |sample| at or above this counts as clipped (full scale)
CLIP_WARN_FRACTION = 0.001       # warn when more than 0.1 % of the samples are clipped
# What recordings of speech use; outside it a header is broken or hostile (a 1 Hz header turns 40 KB into
# 2.4 GB once resampled). The product bounds the decode work: 30 s x 192 kHz x 8 channels = 46 M samples.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 192_000
MAX_CHANNELS = 8         # 7.1 surround; a microphone array should be mixed down first
READ_BLOCK_FRAMES = 1 << 16      # frames decoded at a time (64 Ki x 8 channels x 4 B = 2 MB)
_EDGE_S = 0.05           # read this much past max_seconds: the resampler's edge stays outside the kept part

# soundfile reads these itself; anything else goes through ffmpeg
_SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"}
# The only demuxers ffmpeg may use: containers of one audio file. Playlists (hls, dash), concat, image
# sequences and the like open further files or URLs, so they are not here.
FFMPEG_DEMUXERS = ("matroska", "webm", "mov", "mp4", "m4a", "ogg", "wav", "flac", "mp3", "aac", "caf",
                   "aiff", "w64", "au")
FFMPEG_TIMEOUT_S = 10.0  # one probe or one decode; a well-formed 30 s upload needs a fraction of a second
_UPLOAD_HINT = "upload WAV, FLAC, OGG, MP3, WebM or M4A"


@dataclass(frozen=True)
class AudioClip:
    samples: np.ndarray          # float32 mono, 16 kHz, at most max_seconds long
    sample_rate: int             # always SAMPLE_RATE
    duration_s: float            # of `samples`
    original_duration_s: float   # before truncation (from the file's header when only a part was read)
    original_sample_rate: int    # the rate of the file or array we were given
    truncated: bool              # True when only the first max_seconds were kept
    warnings: tuple[str, ...]    # human-readable notes, e.g. clipping or truncation
    sha256: str                  # hex sha256 of the canonical 16 kHz float32 LE samples that were analysed

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "sample_rate": self.sample_rate,
                "original_sample_rate": self.original_sample_rate,
                "original_duration_s": round(self.original_duration_s, 3), "truncated": self.truncated}


@dataclass(frozen=True)
class _Decoded:
    samples: np.ndarray          # float32 mono at `rate`, at most max_seconds (+ the resampler's edge)
    rate: int
    total_s: float               # the whole input's length, read or declared


def load_audio(source, sample_rate: int | None = None, *, max_seconds: float = MAX_SECONDS,
               min_seconds: float = MIN_SECONDS) -> AudioClip:
    """Read ``source`` and return a mono float32 16 kHz AudioClip of its first ``max_seconds``.

    source: a path, an ndarray (at ``sample_rate``, default 16 kHz), a ``(ndarray, rate)`` tuple, or an
    AudioClip (returned as is). Raises an ``AudioError`` subclass when the audio cannot be used.
    """
    if isinstance(source, AudioClip):
        return source
    if isinstance(source, tuple):
        source, sample_rate = source
    if isinstance(source, (str, os.PathLike)):
        label = Path(source).name
        decoded = _read_file(Path(source), label, max_seconds)
    else:
        label = "the audio array"
        decoded = _from_array(np.asarray(source), sample_rate, label, max_seconds)
    return _canonical_clip(decoded, label, max_seconds=max_seconds, min_seconds=min_seconds)


def _canonical_clip(decoded: _Decoded, label: str, *, max_seconds: float, min_seconds: float) -> AudioClip:
    samples = decoded.samples
    if samples.size == 0:
        raise AudioEmpty(f"{label} holds no samples; record or upload a clip with speech in it.")
    if not np.isfinite(samples).all():
        raise AudioInvalidSamples(f"{label} contains NaN or infinite samples; re-export the audio "
                                  "(a broken float WAV or a failed processing step can cause this).")
    warnings = []
    clipped = float(np.mean(np.abs(samples) >= CLIP_LEVEL))
    if clipped > CLIP_WARN_FRACTION:
        warnings.append(f"clipping: {100 * clipped:.1f}% of samples at full scale; "
                        "loudness and voice-quality numbers are unreliable")
    samples = resample(samples, decoded.rate)
    kept = _frame_cap(max_seconds, SAMPLE_RATE)
    samples = samples[:kept]
    if np.max(np.abs(samples)) < SILENT_PEAK:
        raise AudioSilent(f"{label} is silent (peak below -60 dBFS); check the microphone and record again.")
    duration = len(samples) / SAMPLE_RATE
    if duration < min_seconds:
        raise AudioTooShort(f"{label} is {duration:.2f} s long; give at least {min_seconds:g} s of speech.")
    total = max(decoded.total_s, duration)
    truncated = total > max_seconds
    if truncated:
        warnings.append(f"truncated to first {max_seconds:.1f} s of {total:.1f} s")
    digest = samples_sha256(samples)
    return AudioClip(samples=samples, sample_rate=SAMPLE_RATE, duration_s=duration, original_duration_s=total,
                     original_sample_rate=int(decoded.rate), truncated=truncated, warnings=tuple(warnings),
                     sha256=digest)


def samples_sha256(samples: np.ndarray) -> str:
    """The audio hash of the contract: hex sha256 of the 16 kHz samples as float32 little-endian bytes."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample float32 mono ``samples`` from ``rate`` to ``target`` Hz (soxr, high quality)."""
    if rate == target:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import soxr
    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


def _frame_cap(seconds: float, rate: int) -> int | None:
    """How many frames ``seconds`` hold at ``rate`` (None: no limit)."""
    return math.ceil(seconds * rate) if math.isfinite(seconds) else None


def _read_cap(max_seconds: float, rate: int) -> int | None:
    return _frame_cap(max_seconds + _EDGE_S, rate)


def _check_format(label: str, rate, channels: int) -> None:
    """Refuse sample rates and channel counts that no speech recording has, before decoding anything."""
    if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or \
            not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioUnsupported(f"{label} says its sample rate is {rate} Hz; emoexplain reads "
                               f"{MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz. Re-export the audio at a usual "
                               "rate (16, 44.1 or 48 kHz).")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioUnsupported(f"{label} has {channels} channels; emoexplain reads up to {MAX_CHANNELS}. "
                               "Mix it down to mono or stereo and upload it again.")


def _from_array(samples: np.ndarray, sample_rate, label: str, max_seconds: float) -> _Decoded:
    rate = SAMPLE_RATE if sample_rate is None else sample_rate
    if isinstance(rate, float) and rate.is_integer():
        rate = int(rate)
    if samples.ndim == 2:
        _check_format(label, rate, min(samples.shape))
        samples = samples if samples.shape[0] >= samples.shape[1] else samples.T  # (frames, channels)
    elif samples.ndim == 1:
        _check_format(label, rate, 1)
    else:
        raise AudioUnreadable(f"{label} has shape {samples.shape}; pass a 1-D (or channels x samples) array.")
    total = len(samples) / rate
    return _Decoded(_to_mono_float(samples[:_read_cap(max_seconds, rate)], label), int(rate), total)


def _to_mono_float(samples: np.ndarray, label: str) -> np.ndarray:
    """Integer PCM -> [-1, 1] floats; (frames, channels) -> mean over channels."""
    if samples.dtype.kind in "iu":
        info = np.iinfo(samples.dtype)
        # unsigned PCM (8-bit WAV) is centred on the middle of its range
        offset = (info.max + 1) / 2 if samples.dtype.kind == "u" else 0.0
        samples = (samples.astype(np.float64) - offset) / (info.max + 1 - offset)
    elif samples.dtype.kind not in "f":
        raise AudioUnreadable(f"{label} has samples of type {samples.dtype}; pass numbers (float or int PCM).")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return samples.astype(np.float32)


def _read_file(path: Path, label: str, max_seconds: float) -> _Decoded:
    if not path.is_file():
        raise AudioNotFound(f"No audio file named {label}; check the path.")
    if path.stat().st_size == 0:
        raise AudioEmpty(f"{label} is an empty file (0 bytes); record or upload the clip again.")
    if path.suffix.lower() in _SOUNDFILE_SUFFIXES:
        try:
            return _read_soundfile(path, label, max_seconds)
        except AudioUnreadable:
            if shutil.which("ffmpeg") is None:
                raise
    return _read_ffmpeg(path, label, max_seconds)


def _read_soundfile(path: Path, label: str, max_seconds: float) -> _Decoded:
    """The first max_seconds, a block at a time; the header's rate and channels are checked first."""
    import soundfile
    try:
        with soundfile.SoundFile(str(path)) as f:
            _check_format(label, f.samplerate, f.channels)
            cap = _read_cap(max_seconds, f.samplerate)
            blocks, read = [], 0
            while cap is None or read < cap:
                want = READ_BLOCK_FRAMES if cap is None else min(READ_BLOCK_FRAMES, cap - read)
                block = f.read(want, dtype="float32", always_2d=True)
                if not len(block):
                    break
                blocks.append(block.mean(axis=1, dtype=np.float32))
                read += len(block)
            declared = f.frames if cap is not None and read >= cap else read  # all read: trust what was read
            rate = f.samplerate
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        reason = getattr(error, "error_string", None) or "not a format libsndfile knows"  # no server paths
        raise AudioUnreadable(f"{label} is not audio we can read ({reason}); {_UPLOAD_HINT} "
                              "(WebM/M4A need ffmpeg on the server).") from error
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return _Decoded(samples, int(rate), max(declared, read) / rate)


def _read_ffmpeg(path: Path, label: str, max_seconds: float) -> _Decoded:
    """Probe (rate, channels, duration), check, then decode the first max_seconds to mono f32 on a pipe."""
    if shutil.which("ffmpeg") is None:
        raise AudioUnreadable(f"{label} needs ffmpeg to decode ({path.suffix or 'no extension'}); "
                              "install it (apt-get install ffmpeg / brew install ffmpeg) or upload WAV/FLAC/MP3.")
    rate, channels, declared = _ffprobe(path, label)
    _check_format(label, rate, channels)
    seconds = max_seconds + _EDGE_S if math.isfinite(max_seconds) else None
    command = ["ffmpeg", "-nostdin", "-v", "error", *_ffmpeg_input(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
               "-ac", "1", "-ar", str(rate), *(["-t", f"{seconds:.3f}"] if seconds else []), "-f", "f32le", "pipe:1"]
    limit = 4 * (_frame_cap(seconds, rate) + rate) if seconds else 4 * MAX_SAMPLE_RATE * 3600  # + 1 s of slack
    out = _run_ffmpeg(command, label, max_bytes=limit)
    samples = np.frombuffer(out[: len(out) // 4 * 4], dtype="<f4").astype(np.float32)
    return _Decoded(samples, rate, max(declared or 0.0, len(samples) / rate))


def _ffmpeg_input(path: Path) -> list[str]:
    """Input options that let ffmpeg open this one local file and nothing else."""
    return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(FFMPEG_DEMUXERS),
            "-i", f"file:{path.resolve()}"]


def _ffprobe(path: Path, label: str) -> tuple[int, int, float | None]:
    """(sample rate, channels, duration or None) of the first audio stream."""
    import json
    if shutil.which("ffprobe") is None:  # ffmpeg without ffprobe: decode at 48 kHz stereo, ffmpeg converts
        return 48_000, 2, None
    command = ["ffprobe", "-v", "error", *_ffmpeg_input(path)[:-2], "-select_streams", "a:0",
               "-show_entries", "stream=sample_rate,channels:format=duration", "-of", "json",
               f"file:{path.resolve()}"]
    info = json.loads(_run_ffmpeg(command, label, max_bytes=1 << 16) or b"{}")
    streams = info.get("streams") or []
    if not streams:
        raise AudioUnreadable(f"{label} holds no audio track; {_UPLOAD_HINT}.")
    try:
        rate, channels = int(streams[0].get("sample_rate") or 0), int(streams[0].get("channels") or 0)
        duration = float((info.get("format") or {}).get("duration") or "nan")
    except (TypeError, ValueError):
        raise AudioUnreadable(f"{label} has an audio track we cannot read; {_UPLOAD_HINT}.") from None
    return rate, channels, duration if math.isfinite(duration) and duration >= 0 else None


def _run_ffmpeg(command: list[str], label: str, *, max_bytes: int) -> bytes:
    """Run ffmpeg/ffprobe for at most FFMPEG_TIMEOUT_S and at most ``max_bytes`` of output (``-t`` bounds a
    decode, but a file whose timestamps lie could still stream on); errors say what, not where."""
    deadline = time.monotonic() + FFMPEG_TIMEOUT_S
    out, err = bytearray(), bytearray()
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as error:
        raise AudioUnreadable(f"{label} could not be decoded (ffmpeg failed to start: {error.strerror}).") from None
    with process, selectors.DefaultSelector() as pipes:
        pipes.register(process.stdout, selectors.EVENT_READ, out)
        pipes.register(process.stderr, selectors.EVENT_READ, err)
        while pipes.get_map() and len(out) <= max_bytes:
            left = deadline - time.monotonic()
            ready = pipes.select(left) if left > 0 else []
            if not ready:
                process.kill()
                raise AudioUnsupported(f"{label} took more than {FFMPEG_TIMEOUT_S:g} s to decode; "
                                       f"{_UPLOAD_HINT} of at most a few minutes.")
            for key, _ in ready:
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    pipes.unregister(key.fileobj)
                key.data.extend(chunk)
                del err[:-(1 << 14)]  # only the end of stderr says what went wrong
        if len(out) > max_bytes:
            process.kill()
            return bytes(out[:max_bytes])
        returncode = process.wait(max(0.1, deadline - time.monotonic()))
    if returncode != 0:
        log.info("ffmpeg refused %s: %s", label, err.decode(errors="replace").strip()[-500:])
        raise AudioUnreadable(f"{label} is not audio we can decode ({_ffmpeg_reason(bytes(err))}); {_UPLOAD_HINT}.")
    return bytes(out)


def _ffmpeg_reason(stderr: bytes) -> str:
    """ffmpeg's complaint in words, without the paths it quotes."""
    text = stderr.decode(errors="replace")
    refused = re.search(r"\[(\w+) @ [^\]]*\] Format not on whitelist", text)
    if refused:
        return f"it is a {refused.group(1)} file, which is not a single audio file"
    if "Invalid sample rate" in text:
        return "its header declares an impossible sample rate"
    if "Invalid data found" in text or "could not find codec" in text.lower():
        return "not a format ffmpeg recognises"
    if "does not contain any stream" in text or "matches no streams" in text:
        return "no audio track"
    return "ffmpeg could not decode it"

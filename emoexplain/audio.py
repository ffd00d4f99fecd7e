"""Audio in: any file or array -> mono float32 samples at 16 kHz, or a typed error that says what to do.

WAV/FLAC/OGG/MP3 are read with soundfile (libsndfile). What browsers record (WebM/Opus, M4A/AAC) is
decoded by an ``ffmpeg`` subprocess when ffmpeg is on PATH, like whisper does.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoexplain.errors import (AudioEmpty, AudioInvalidSamples, AudioNotFound, AudioSilent,
                               AudioTooShort, AudioUnreadable)

SAMPLE_RATE = 16_000     # Hz; every part of emoexplain works at this rate
MAX_SECONDS = 30.0       # longer clips are cut to their first MAX_SECONDS (and the result says so)
MIN_SECONDS = 0.5        # shorter clips hold too few syllables to measure anything
SILENT_PEAK = 10 ** (-60 / 20)   # a clip whose loudest sample is below -60 dBFS holds no usable signal
CLIP_LEVEL = 0.999       # |sample| at or above this counts as clipped (full scale)
CLIP_WARN_FRACTION = 0.001       # warn when more than 0.1 % of the samples are clipped

# soundfile reads these itself; anything else goes through ffmpeg
_SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"}


@dataclass(frozen=True)
class AudioClip:
    samples: np.ndarray          # float32 mono, 16 kHz, at most max_seconds long
    sample_rate: int             # always SAMPLE_RATE
    duration_s: float            # of `samples`
    original_duration_s: float   # before truncation
    original_sample_rate: int    # the rate of the file or array we were given
    truncated: bool              # True when only the first max_seconds were kept
    warnings: tuple[str, ...]    # human-readable notes, e.g. clipping or truncation
    sha256: str                  # hex sha256 of the canonical 16 kHz float32 LE samples (before truncation)

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "sample_rate": self.sample_rate,
                "original_sample_rate": self.original_sample_rate,
                "original_duration_s": round(self.original_duration_s, 3), "truncated": self.truncated}


def load_audio(source, sample_rate: int | None = None, *, max_seconds: float = MAX_SECONDS,
               min_seconds: float = MIN_SECONDS) -> AudioClip:
    """Read ``source`` and return a mono float32 16 kHz AudioClip.

    source: a path, an ndarray (at ``sample_rate``, default 16 kHz), a ``(ndarray, rate)`` tuple, or an
    AudioClip (returned as is). Raises an ``AudioError`` subclass when the audio cannot be used.
    """
    if isinstance(source, AudioClip):
        return source
    if isinstance(source, tuple):
        source, sample_rate = source
    if isinstance(source, (str, os.PathLike)):
        samples, rate = _read_file(Path(source))
        label = Path(source).name
    else:
        samples, rate = np.asarray(source), int(sample_rate or SAMPLE_RATE)
        label = "the audio array"
    samples = _to_mono_float(samples, label)
    return _canonical_clip(samples, rate, label, max_seconds=max_seconds, min_seconds=min_seconds)


def _canonical_clip(samples: np.ndarray, rate: int, label: str, *, max_seconds: float,
                    min_seconds: float) -> AudioClip:
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
    samples = resample(samples, rate)
    if np.max(np.abs(samples)) < SILENT_PEAK:
        raise AudioSilent(f"{label} is silent (peak below -60 dBFS); check the microphone and record again.")
    duration = len(samples) / SAMPLE_RATE
    if duration < min_seconds:
        raise AudioTooShort(f"{label} is {duration:.2f} s long; give at least {min_seconds:g} s of speech.")
    digest = samples_sha256(samples)
    truncated = duration > max_seconds
    if truncated:
        samples = samples[: int(max_seconds * SAMPLE_RATE)]
        warnings.append(f"truncated to first {max_seconds:.1f} s of {duration:.1f} s")
    return AudioClip(samples=samples, sample_rate=SAMPLE_RATE, duration_s=len(samples) / SAMPLE_RATE,
                     original_duration_s=duration, original_sample_rate=int(rate), truncated=truncated,
                     warnings=tuple(warnings), sha256=digest)


def samples_sha256(samples: np.ndarray) -> str:
    """The audio hash of the contract: hex sha256 of the 16 kHz samples as float32 little-endian bytes."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample float32 mono ``samples`` from ``rate`` to ``target`` Hz (soxr, high quality)."""
    if rate == target:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import soxr
    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


def _to_mono_float(samples: np.ndarray, label: str) -> np.ndarray:
    """Integer PCM -> [-1, 1] floats; (n, channels) or (channels, n) -> mean over channels."""
    if samples.dtype.kind in "iu":
        info = np.iinfo(samples.dtype)
        # unsigned PCM (8-bit WAV) is centred on the middle of its range
        offset = (info.max + 1) / 2 if samples.dtype.kind == "u" else 0.0
        samples = (samples.astype(np.float64) - offset) / (info.max + 1 - offset)
    elif samples.dtype.kind not in "f":
        raise AudioUnreadable(f"{label} has samples of type {samples.dtype}; pass numbers (float or int PCM).")
    if samples.ndim == 2:
        channel_axis = 0 if samples.shape[0] < samples.shape[1] else 1
        samples = samples.mean(axis=channel_axis)
    elif samples.ndim != 1:
        raise AudioUnreadable(f"{label} has shape {samples.shape}; pass a 1-D (or channels x samples) array.")
    return samples.astype(np.float32)


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    if not path.is_file():
        raise AudioNotFound(f"No audio file at {path}; check the path.")
    if path.stat().st_size == 0:
        raise AudioEmpty(f"{path.name} is an empty file (0 bytes); record or upload the clip again.")
    if path.suffix.lower() in _SOUNDFILE_SUFFIXES:
        try:
            return _read_soundfile(path)
        except AudioUnreadable:
            if shutil.which("ffmpeg") is None:
                raise
    return _read_ffmpeg(path)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise AudioUnreadable(f"{path.name} is not audio we can read ({error}); upload WAV, FLAC, OGG, "
                              "MP3 (or WebM/M4A with ffmpeg installed).") from error
    return samples.mean(axis=1), int(rate)


def _read_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode with ffmpeg into a temporary float WAV (keeps the original rate, which ffmpeg knows)."""
    if shutil.which("ffmpeg") is None:
        raise AudioUnreadable(f"{path.name} needs ffmpeg to decode ({path.suffix or 'no extension'}); "
                              "install it (apt-get install ffmpeg / brew install ffmpeg) or upload WAV/FLAC/MP3.")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "decoded.wav"
        command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-c:a", "pcm_f32le", str(out)]
        result = subprocess.run(command, capture_output=True)
        if result.returncode != 0 or not out.exists():
            message = result.stderr.decode(errors="replace").strip().splitlines()
            reason = message[-1] if message else "unknown format"
            raise AudioUnreadable(f"{path.name} is not audio we can decode (ffmpeg: {reason}); "
                                  "upload WAV, FLAC, OGG, MP3, WebM or M4A.")
        return _read_soundfile(out)

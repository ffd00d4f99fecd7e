"""Hostile audio (issue 10): decoding costs what is analysed, ffmpeg opens only the upload, errors name no paths.

The full-size worst cases (20 MB each) are in bench/bench_audio_bomb.py; these are small versions of each.
"""

import os
import shutil
import stat
import struct
import subprocess
import tracemalloc

import numpy as np
import pytest
import soundfile

from emoexplain import audio
from emoexplain.audio import load_audio
from emoexplain.errors import AudioError, AudioSilent, AudioUnreadable, AudioUnsupported

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg is not installed")


def noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def peak_mb(fn) -> float:
    """Peak of numpy/Python allocations while ``fn`` runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# --- headers that lie ---------------------------------------------------------------------------------------
def test_a_one_hz_header_is_refused_before_decoding(tmp_path):
    path = tmp_path / "one_hz.wav"
    soundfile.write(path, noise(20_000), 1, subtype="PCM_16")     # 40 KB that used to become 2.4 GB
    with pytest.raises(AudioUnsupported, match="sample rate is 1 Hz.*Re-export"):
        load_audio(path)
    with pytest.raises(AudioUnsupported, match="1 Hz"):
        load_audio((noise(20_000), 1))


def test_an_impossible_rate_is_refused_without_a_path(tmp_path):
    path = tmp_path / "rate.wav"
    soundfile.write(path, noise(16_000), 16_000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", 0xFFFFFFFF)                  # the fmt chunk's sample rate
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert "rate.wav" in str(info.value) and str(tmp_path) not in str(info.value)


def test_too_many_channels_are_refused(tmp_path):
    path = tmp_path / "many.wav"
    soundfile.write(path, np.full((2000, 1000), 0.1, np.float32), 16_000, subtype="PCM_U8")
    with pytest.raises(AudioUnsupported, match="1000 channels.*Mix it down"):
        load_audio(path)
    with pytest.raises(AudioUnsupported, match="channels"):
        load_audio((np.full((64, 32_000), 0.1, np.float32), 16_000))


def test_only_the_analysed_part_of_a_long_file_is_decoded(tmp_path):
    path = tmp_path / "long_low_rate.wav"                         # 500 s of 8-bit PCM at 4 kHz: 2 MB
    soundfile.write(path, np.clip(noise(2_000_000), -1, 1), 4000, subtype="PCM_U8")
    clip = load_audio(path)
    assert clip.duration_s == pytest.approx(30.0) and clip.original_duration_s == pytest.approx(500.0)
    assert clip.truncated and any("of 500.0 s" in w for w in clip.warnings)
    # the whole file resampled to 16 kHz would be 2 M x 4 (rate) x 4 bytes = 32 MB, several times over
    assert peak_mb(lambda: load_audio(path)) < 12


def test_a_flac_declaring_days_reads_only_what_is_analysed(tmp_path):
    path = tmp_path / "days.flac"
    soundfile.write(path, noise(16_000 * 40), 16_000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    info = data.find(b"fLaC") + 8 + 10                            # STREAMINFO: total samples, 36 bits
    data[info + 3] |= 0x0F
    data[info + 4:info + 8] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    clip = load_audio(path)
    assert clip.duration_s == pytest.approx(30.0) and clip.truncated
    assert clip.original_duration_s > 3600                        # what the header declares, said in the warning


def test_the_hash_is_of_what_was_analysed(tmp_path):
    samples = noise(16_000 * 40)
    path = tmp_path / "forty.wav"
    soundfile.write(path, samples, 16_000, subtype="FLOAT")
    assert load_audio(path).sha256 == load_audio((samples[:16_000 * 30], 16_000)).sha256


# --- ffmpeg opens the upload and nothing else ----------------------------------------------------------------
@pytest.fixture
def server_audio(tmp_path):
    """A real audio file elsewhere on the server, that an upload must not be able to make us read."""
    secret = tmp_path / "server" / "secret.ts"
    secret.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "sine=f=220:d=2", "-f", "mpegts", "-c:a", "mp2", str(secret))
    return secret


@needs_ffmpeg
@pytest.mark.parametrize("suffix", [".webm", ".wav", ".m4a"])
def test_a_playlist_upload_cannot_read_a_server_file(tmp_path, server_audio, suffix):
    upload = tmp_path / "upload" / f"clip{suffix}"
    upload.parent.mkdir()
    upload.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{server_audio}\n#EXT-X-ENDLIST\n")
    # unrestricted ffmpeg follows the playlist and decodes the server's file
    opened = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(upload), "-f", "f32le", "-"],
                            capture_output=True)
    assert len(opened.stdout) > 100_000
    with pytest.raises(AudioUnreadable, match="hls") as info:
        load_audio(upload)
    assert str(tmp_path) not in str(info.value)


@needs_ffmpeg
def test_a_concat_list_upload_is_refused(tmp_path, server_audio):
    upload = tmp_path / "list.webm"
    upload.write_text(f"ffconcat version 1.0\nfile {server_audio}\n")
    with pytest.raises(AudioUnreadable, match="concat"):
        load_audio(upload)


@needs_ffmpeg
def test_ffmpeg_errors_say_what_not_where(tmp_path):
    upload = tmp_path / "gradio" / "0123abcd" / "broken.webm"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"\x1aE\xdf\xa3" + os.urandom(4000))      # an EBML magic, then garbage
    with pytest.raises(AudioUnreadable) as info:
        load_audio(upload)
    message = str(info.value)
    assert message.startswith("broken.webm is not audio") and "/" not in message.replace("WAV/FLAC", "")
    assert "upload WAV" in message


@needs_ffmpeg
def test_an_ordinary_webm_still_decodes_to_the_analysed_part(tmp_path):
    path = tmp_path / "long.webm"
    ffmpeg("-f", "lavfi", "-i", "sine=f=180:d=40:r=48000", "-ac", "2", "-c:a", "libopus", str(path))
    clip = load_audio(path)
    assert clip.original_sample_rate == 48_000 and clip.duration_s == pytest.approx(30.0)
    assert clip.truncated and clip.original_duration_s == pytest.approx(40.0, abs=0.1)


# --- ffmpeg's time and output are bounded -------------------------------------------------------------------
def _fake_ffmpeg(folder, ffmpeg_body: str):
    """ffprobe/ffmpeg stand-ins on PATH: the probe answers 16 kHz mono, ffmpeg runs ``ffmpeg_body``."""
    folder.mkdir()
    scripts = {"ffprobe": "#!/bin/sh\necho '{\"streams\": [{\"sample_rate\": \"16000\", \"channels\": 1}]}'\n",
               "ffmpeg": f"#!/bin/sh\n{ffmpeg_body}\n"}
    for name, body in scripts.items():
        (folder / name).write_text(body)
        (folder / name).chmod(stat.S_IRWXU)
    return folder


def test_endless_ffmpeg_output_is_cut_at_the_analysed_length(tmp_path, monkeypatch):
    bin_dir = _fake_ffmpeg(tmp_path / "bin", "exec cat /dev/zero")   # a decoder that never stops writing
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    upload = tmp_path / "clip.webm"
    upload.write_bytes(b"x" * 100)
    with pytest.raises(AudioSilent):                               # 30 s of zeros were read, then it was killed
        load_audio(upload)


def test_a_decode_that_never_ends_is_stopped(tmp_path, monkeypatch):
    bin_dir = _fake_ffmpeg(tmp_path / "bin", "exec sleep 30")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(audio, "FFMPEG_TIMEOUT_S", 0.5)
    upload = tmp_path / "clip.webm"
    upload.write_bytes(b"x" * 100)
    with pytest.raises(AudioUnsupported, match="took more than 0.5 s"):
        load_audio(upload)

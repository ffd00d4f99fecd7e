"""Audio input: formats, rates, bit depths, channels, arrays, and every error the user can cause."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from emoexplain.acoustics import analyze
from emoexplain.audio import SAMPLE_RATE, AudioClip, load_audio
from emoexplain.errors import (AudioEmpty, AudioError, AudioInvalidSamples, AudioNotFound, AudioSilent,
                               AudioTooShort, AudioUnreadable)
from helpers import synthesize_voice

HAVE_FFMPEG = shutil.which("ffmpeg") is not None


@pytest.fixture(scope="module")
def voice():
    """2 s of a speech-like voice at a known 160 Hz, at 48 kHz (so every target rate is a downsample)."""
    f0 = np.full(200, 160.0)
    f0[80:100] = np.nan                                  # one unvoiced stretch
    return synthesize_voice(f0, sample_rate=48000, amplitude=0.5), 48000


@pytest.fixture(scope="module")
def reference(voice):
    samples, rate = voice
    return analyze((samples, rate))


def _median_f0(path_or_audio):
    profile = analyze(path_or_audio)
    return profile.duration_s, profile.pitch["median_hz"]


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_wav_bit_depths_give_the_same_measurements(tmp_path, voice, reference, subtype):
    samples, rate = voice
    path = tmp_path / f"v_{subtype}.wav"
    soundfile.write(path, samples, rate, subtype=subtype)
    duration, median = _median_f0(path)
    assert duration == pytest.approx(reference.duration_s, abs=0.002)
    assert median == pytest.approx(160.0, rel=0.01)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_any_sample_rate_is_resampled_to_16k(tmp_path, voice, rate):
    import soxr
    samples = soxr.resample(voice[0], voice[1], rate).astype(np.float32)
    path = tmp_path / f"v{rate}.wav"
    soundfile.write(path, samples, rate)
    clip = load_audio(path)
    assert clip.sample_rate == SAMPLE_RATE and clip.original_sample_rate == rate
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.duration_s == pytest.approx(2.0, abs=0.002)
    assert analyze(clip).pitch["median_hz"] == pytest.approx(160.0, rel=0.01)


def test_stereo_file_and_arrays_are_mixed_to_mono(tmp_path, voice):
    samples, rate = voice
    stereo = np.stack([samples, 0.5 * samples], axis=1)         # (n, 2), as soundfile writes it
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, rate)
    from_file = load_audio(path)
    from_frames_first = load_audio((stereo, rate))
    from_channels_first = load_audio((stereo.T.copy(), rate))
    np.testing.assert_allclose(from_frames_first.samples, from_channels_first.samples, atol=1e-6)
    np.testing.assert_allclose(from_file.samples, from_frames_first.samples, atol=1e-4)
    mono = load_audio((samples * 0.75, rate))
    np.testing.assert_allclose(from_file.samples, mono.samples, atol=1e-4)


def test_int16_array_and_rate_argument(voice):
    samples, rate = voice
    pcm = np.round(samples * 32767).astype(np.int16)
    as_tuple = load_audio((pcm, rate))
    as_kwarg = load_audio(pcm, rate)
    assert as_tuple.sha256 == as_kwarg.sha256
    assert np.max(np.abs(as_tuple.samples)) == pytest.approx(0.5, abs=0.02)   # scaled to [-1, 1]
    float_clip = load_audio((samples, rate))
    assert np.max(np.abs(as_tuple.samples - float_clip.samples)) < 1e-3


def test_same_samples_same_hash_from_file_and_array(tmp_path, voice):
    samples, rate = voice
    path = tmp_path / "f.wav"
    soundfile.write(path, samples, rate, subtype="FLOAT")
    assert load_audio(path).sha256 == load_audio((samples, rate)).sha256
    assert load_audio(path).sha256 != load_audio((samples * 0.5, rate)).sha256
    clip = load_audio(path)
    assert load_audio(clip) is clip                               # an AudioClip passes through


@pytest.mark.parametrize("fmt,kwargs", [("flac", {}), ("ogg", {"subtype": "VORBIS"}), ("mp3", {"subtype": "MPEG_LAYER_III"})])
def test_compressed_formats_via_soundfile(tmp_path, voice, reference, fmt, kwargs):
    samples, rate = voice
    path = tmp_path / f"v.{fmt}"
    try:
        soundfile.write(path, samples, rate, **kwargs)
    except (soundfile.LibsndfileError, ValueError, TypeError) as error:
        pytest.skip(f"this libsndfile cannot write {fmt}: {error}")
    duration, median = _median_f0(path)
    assert duration == pytest.approx(reference.duration_s, abs=0.06)     # mp3 pads up to one frame
    assert median == pytest.approx(160.0, rel=0.02)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg is not installed")
@pytest.mark.parametrize("suffix,codec", [(".webm", ["-c:a", "libopus"]), (".m4a", ["-c:a", "aac"]),
                                          (".opus", ["-c:a", "libopus"])])
def test_browser_formats_via_ffmpeg(tmp_path, voice, reference, suffix, codec):
    samples, rate = voice
    wav = tmp_path / "src.wav"
    soundfile.write(wav, samples, rate)
    out = tmp_path / f"v{suffix}"
    done = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), *codec, str(out)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this ffmpeg cannot encode {suffix}: {done.stderr.decode()[-200:]}")
    duration, median = _median_f0(out)
    assert duration == pytest.approx(reference.duration_s, abs=0.06)
    assert median == pytest.approx(160.0, rel=0.02)


# --- errors ------------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(AudioNotFound, match="No audio file"):
        load_audio(tmp_path / "nope.wav")


def test_text_file_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 50)
    with pytest.raises(AudioUnreadable, match="notes.wav"):
        load_audio(path)


def test_empty_file_and_empty_array(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioEmpty):
        load_audio(path)
    with pytest.raises(AudioEmpty):
        load_audio((np.zeros(0, dtype=np.float32), 16000))
    header_only = tmp_path / "header.wav"
    soundfile.write(header_only, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioEmpty):
        load_audio(header_only)


def test_all_silent_and_nearly_silent(tmp_path):
    with pytest.raises(AudioSilent):
        load_audio((np.zeros(32000, dtype=np.float32), 16000))
    with pytest.raises(AudioSilent):
        load_audio((np.full(32000, 1e-4, dtype=np.float32), 16000))       # -80 dBFS DC
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(16000, dtype=np.int16), 16000, subtype="PCM_16")
    with pytest.raises(AudioSilent, match="silent"):
        load_audio(path)


def test_too_short(sine, tmp_path):
    with pytest.raises(AudioTooShort, match="0.20 s"):
        load_audio((sine(220, seconds=0.2), 16000))
    path = tmp_path / "short.wav"
    soundfile.write(path, sine(220, seconds=0.2, sr=44100), 44100)
    with pytest.raises(AudioTooShort):
        analyze(path)
    assert load_audio((sine(220, seconds=0.5), 16000)).duration_s == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_samples(sine, bad):
    samples = sine(220)
    samples[1000] = bad
    with pytest.raises(AudioInvalidSamples, match="NaN or infinite"):
        load_audio((samples, 16000))


def test_nan_in_a_float_wav_file(tmp_path, sine):
    samples = sine(220)
    samples[500:510] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioInvalidSamples):
        analyze(path)


def test_every_error_is_an_audio_error_with_advice(tmp_path):
    for error in (AudioNotFound, AudioUnreadable, AudioEmpty, AudioSilent, AudioTooShort, AudioInvalidSamples):
        assert issubclass(error, AudioError)
    with pytest.raises(AudioError) as info:
        load_audio(tmp_path / "x.wav")
    assert "check" in str(info.value)


def test_object_array_is_refused():
    with pytest.raises(AudioUnreadable):
        load_audio((np.array(["a", "b"] * 8000, dtype=object), 16000))


# --- long and clipped audio ---------------------------------------------------------------------------------
def test_long_audio_is_truncated_with_a_warning(sine):
    samples = np.tile(sine(150, seconds=1.0), 33)               # 33 s
    clip = load_audio((samples, 16000))
    assert clip.truncated and clip.duration_s == pytest.approx(30.0)
    assert clip.original_duration_s == pytest.approx(33.0)
    assert any("truncated to first 30.0 s of 33.0 s" in w for w in clip.warnings)
    short = load_audio((samples, 16000), max_seconds=5.0)
    assert short.duration_s == pytest.approx(5.0) and short.truncated
    assert short.sha256 != clip.sha256                         # the hash names what was analysed
    assert load_audio((samples[:16000 * 5], 16000)).sha256 == short.sha256
    profile = analyze((samples, 16000), max_seconds=5.0)
    assert profile.duration_s == pytest.approx(5.0) and profile.audio["truncated"] is True
    assert any("truncated" in w for w in profile.to_dict()["warnings"])
    assert not load_audio((samples[:16000 * 10], 16000)).truncated


def test_clipping_is_a_warning_not_an_error(voice):
    samples, rate = voice
    clipped = np.clip(samples * 4, -1.0, 1.0)
    profile = analyze((clipped, rate))
    warnings = profile.to_dict()["warnings"]
    assert any(w.startswith("clipping:") for w in warnings)
    assert not any(w.startswith("clipping:") for w in analyze((samples, rate)).to_dict()["warnings"])
    assert profile.pitch["median_hz"] == pytest.approx(160.0, rel=0.02)


def test_audioclip_fields(voice):
    clip = load_audio(voice)
    assert isinstance(clip, AudioClip)
    d = clip.to_dict()
    assert set(d) == {"sha256", "sample_rate", "original_sample_rate", "original_duration_s", "truncated"}
    assert len(d["sha256"]) == 64 and d["original_sample_rate"] == 48000

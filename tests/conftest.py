"""Shared fixtures: synthetic speech made with espeak-ng (installed by the README's test command)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SENTENCE = "The quick brown fox jumps over the lazy dog while the children watch from the window."


def _espeak(text: str, path: Path, *, pitch: int = 50, rate: int = 160, amplitude: int = 100,
            voice: str = "en-us") -> Path:
    """Speak ``text`` into ``path`` (22.05 kHz WAV) with espeak-ng's pitch (0-99), rate (wpm), amplitude."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (the README's test command installs it)")
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(rate), "-a", str(amplitude),
                    "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def synth_speech(tmp_path_factory):
    """Factory: ``synth_speech(text=..., pitch=..., rate=..., amplitude=..., voice=...) -> Path`` (cached)."""
    folder = tmp_path_factory.mktemp("speech")
    cache: dict = {}

    def make(text: str = SENTENCE, **kwargs) -> Path:
        key = (text, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = _espeak(text, folder / f"clip{len(cache)}.wav", **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def speech_wav(synth_speech) -> Path:
    """About 5 s of espeak-ng English speech, 22.05 kHz mono WAV."""
    return synth_speech()


@pytest.fixture
def sine():
    """Factory: ``sine(freq_hz, seconds=2.0, sr=16000, amp=0.5) -> float32 array``."""
    def make(freq_hz: float, seconds: float = 2.0, sr: int = 16000, amp: float = 0.5) -> np.ndarray:
        t = np.arange(int(seconds * sr)) / sr
        return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return make


@pytest.fixture(scope="session")
def corrected_clips(tmp_path_factory):
    """Three synthetic espeak-ng clips (train/data/synthetic.py, FLAC) that the rounds tests store as corrections."""
    from helpers import synthetic_corpus
    from train.data.manifest import read_manifest
    manifest = synthetic_corpus(tmp_path_factory.mktemp("corrections"), splits=("train",), n_train=3, n_test=0,
                                n_test_voices=2, n_test_sentences=4, seed=5)
    return [Path(r["audio"]) for r in read_manifest(manifest)]

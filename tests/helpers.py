"""Test helpers, kept out of the runtime package (tests import ``helpers``; bench/ scripts add tests/ to sys.path).

    with AppProcess(data_dir=tmp) as app:                    # ``python app.py`` on a free port
        Client(app.url).predict(handle_file("clip.wav"), api_name="/analyze")
    x = synthesize_voice(np.full(300, 150.0))                 # 3 s of speech-like signal with a known F0
    overfit(explainer, examples, steps=3)                     # a few optimiser steps on one batch
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from emoexplain.audio import SAMPLE_RATE
from emoexplain.paths import DEFAULT_CHECKPOINT, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python app.py`` with its own port and data dir; ``url`` answers HTTP 200 once entered."""

    def __init__(self, data_dir: str | os.PathLike, *, env: dict | None = None, timeout_s: float = 180.0,
                 log_path: str | os.PathLike | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.data_dir = Path(data_dir)
        self.timeout_s = timeout_s
        self.log_path = Path(log_path) if log_path else self.data_dir / "app.log"
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
                    "EMOEXPLAIN_DATA_DIR": str(self.data_dir), "GRADIO_ANALYTICS_ENABLED": "False",
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None

    def start(self) -> "AppProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        while time.perf_counter() - start < self.timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        self.ready_s = time.perf_counter() - start
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"app.py did not answer within {self.timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def checkpoint_env(folder: str | os.PathLike) -> dict:
    """Environment that points the app at a loadable checkpoint: the demo in assets/ when present, else a
    fresh tiny one written to ``folder`` (untrained: fine for wiring tests, never downloads anything)."""
    if (DEFAULT_CHECKPOINT / "config.json").is_file():
        return {}
    from emoexplain.model import ModelConfig, build_explainer, save_checkpoint
    out = Path(folder) / "tiny_checkpoint"
    save_checkpoint(build_explainer(ModelConfig.preset("tiny")), out, card="Untrained tiny test checkpoint.")
    return {"EMOEXPLAIN_CHECKPOINT": str(out)}


# --- known-F0 test signals (tests and bench/bench_pitch.py) ------------------------------------------------
VOWEL_FORMANTS = ((730.0, 90.0), (1090.0, 110.0), (2440.0, 170.0))   # /a/-like: (centre Hz, bandwidth Hz)


def synthesize_voice(f0_hz: np.ndarray, sample_rate: int = SAMPLE_RATE, hop_s: float = 0.010, *,
                     jitter: float = 0.0, shimmer: float = 0.0, formants=VOWEL_FORMANTS,
                     snr_db: float | None = None, amplitude: float = 0.3, unvoiced_noise: float = 0.02,
                     seed: int = 0) -> np.ndarray:
    """A speech-like signal whose F0 is known: ``f0_hz`` gives the F0 at frame i * hop_s (NaN/0 = unvoiced).

    Voiced stretches are a band-limited harmonic source with a -12 dB/octave glottal tilt (phase integrated
    sample by sample, so glides and vibrato are exact), ``jitter`` (relative sd of each cycle's period) and
    ``shimmer`` (relative sd of each cycle's amplitude), filtered by ``formants`` (2-pole resonators).
    Unvoiced stretches hold quiet white noise (``unvoiced_noise`` x amplitude, like fricatives/breath);
    ``snr_db`` adds white noise at that signal-to-noise ratio over the whole clip.
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    n = int(round(len(f0_hz) * hop_s * sample_rate))
    frame_t = np.arange(len(f0_hz)) * hop_s
    t = np.arange(n) / sample_rate
    voiced_frames = np.isfinite(f0_hz) & (f0_hz > 0)
    f0_filled = np.interp(frame_t, frame_t[voiced_frames], f0_hz[voiced_frames]) if voiced_frames.any() \
        else np.full(len(f0_hz), 100.0)
    f0 = np.interp(t, frame_t, f0_filled)
    voiced = voiced_frames[np.minimum(np.round(t / hop_s).astype(int), len(f0_hz) - 1)]
    # per-cycle perturbations: one factor per cycle, held over the cycle
    cycle = np.floor(np.cumsum(f0) / sample_rate).astype(int)
    n_cycles = cycle[-1] + 1 if n else 0
    period_factor = 1.0 + jitter * rng.standard_normal(n_cycles)
    amp_factor = np.clip(1.0 + shimmer * rng.standard_normal(n_cycles), 0.1, None)
    inst_f0 = f0 / period_factor[cycle] if n else f0
    phase = 2 * np.pi * np.cumsum(inst_f0) / sample_rate
    source = np.zeros(n)
    max_harmonic = int((0.45 * sample_rate) // max(float(f0.min()) if n else 100.0, 50.0))
    for k in range(1, max_harmonic + 1):
        alive = k * inst_f0 < 0.45 * sample_rate          # band-limited: no aliasing when F0 rises
        source += np.where(alive, np.sin(k * phase), 0.0) / k ** 2
    source *= amp_factor[cycle] if n else 1.0
    signal = source * voiced + unvoiced_noise * rng.standard_normal(n) * ~voiced * np.std(source)
    for centre, bandwidth in formants:
        r = np.exp(-np.pi * bandwidth / sample_rate)
        a = [1.0, -2 * r * np.cos(2 * np.pi * centre / sample_rate), r * r]
        signal = lfilter([sum(a)], a, signal)
    # 5 ms fades at voicing onsets/offsets so the edges are not clicks
    ramp = np.convolve(voiced.astype(float), np.ones(int(0.005 * sample_rate)) / int(0.005 * sample_rate), "same")
    signal = signal * np.maximum(ramp, ~voiced)
    peak = np.max(np.abs(signal)) or 1.0
    signal = amplitude * signal / peak
    if snr_db is not None:
        power = np.mean(signal[voiced] ** 2) if voiced.any() else np.mean(signal ** 2)
        signal = signal + rng.standard_normal(n) * np.sqrt(power / 10 ** (snr_db / 10))
    return signal.astype(np.float32)


# --- model -------------------------------------------------------------------------------------------------
def overfit(explainer, examples, *, steps: int, lr: float = 1e-2, stage: str = "joint"):
    """A few AdamW steps on one fixed batch (tests and smoke checks: proves the model can learn); ends frozen."""
    import torch

    batch = explainer.collate(list(examples), stage=stage)
    optim = torch.optim.AdamW(explainer.unfreeze([stage]), lr=lr)
    for _ in range(steps):
        optim.zero_grad()
        explainer(batch, stage=stage).loss.backward()
        optim.step()
    return explainer.freeze()


def synthetic_corpus(folder, *, splits=None, **spec) -> Path:
    """A small synthetic espeak-ng corpus (train/data/synthetic.py: SyntheticSpec fields as keywords, no descriptor
    measurement, one worker) -> its manifest; the test is skipped where espeak-ng or sox is missing."""
    import pytest

    from train.data.synthetic import SyntheticSpec, check_tools, generate
    try:
        check_tools()
    except Exception as e:  # noqa: BLE001 - skip only for missing tools
        pytest.skip(str(e))
    options = {"splits": splits} if splits else {}
    return generate(folder, SyntheticSpec(**spec), measure=False, workers=1, progress=False, **options)

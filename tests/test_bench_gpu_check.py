"""bench/gpu_check.py runs its whole code path at the tiny size on the CPU (the paper size needs a GPU)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_tiny_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    cmd = [sys.executable, "bench/gpu_check.py", "--size", "tiny", "--device", "cpu", "--threads", "1",
           "--seconds", "3", "--caption-tokens", "8", "--batch", "2", "--repeats", "1", "--train-steps", "1",
           "--peak-tflops", "0.5", "--json", str(out)]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "label scoring" in run.stdout and "training step (batch 2" in run.stdout
    got = json.loads(out.read_text())
    for key in ("scoring_ms", "caption_s", "decode_ms_per_token", "reference_prefill_ms", "train_step_s",
                "train_tokens_per_s", "train_tflop", "peak_rss_gb"):
        assert got[key] > 0, key
    # 3 s -> 149 frames -> 29 speech tokens per branch: the scoring forward holds both, the prompt and labels
    assert got["scoring_tokens"] > 2 * 29
    assert got["train_tokens"] == 2 * (got["train_tokens"] // 2) > 2 * 2 * 29
    assert got["mfu"] == pytest.approx(got["train_tflop"] / got["train_step_s"] / 0.5)
    # a caption is scoring plus generation: compare token counts, not times (timings belong to the benchmark)
    assert got["caption_tokens"] == 8

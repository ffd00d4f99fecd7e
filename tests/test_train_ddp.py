"""Alternating training under DDP: 2 processes over gloo on CPU (torch.distributed.run, as torchrun and
``accelerate launch`` start them) run >= 6 steps across both stages; the replicas train on different clips yet
hold identical weights after every step, and the branch a stage does not train does not move in it, although
weight decay is on and AdamW holds moments for it from the other stage."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
REPO = Path(__file__).resolve().parents[1]


def _manifest(folder: Path) -> Path:
    """8 short clips (0.5-0.9 s of noise), one of them without a transcript (the ASR stage skips it)."""
    from train.data.manifest import make_row, write_manifest
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        path = folder / f"clip{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(8000 + 800 * (i % 5))).astype(np.float32), 16000)
        rows.append(make_row(audio=str(path), transcript="" if i == 5 else f"the birch canoe slid {i}",
                             emotion=("neutral", "happy", "angry", "sad")[i % 4], label_set="iemocap4",
                             split="train", source="test"))
    return write_manifest(rows, folder / "manifest.jsonl")


def _branch(name: str) -> str | None:
    for branch in ("content", "descriptor"):
        if name.startswith((f"{branch}_branch.", f"{branch}_adapter.")):
            return branch
    return None


def test_two_replicas_alternate_stages_and_stay_identical(tmp_path):
    manifest = _manifest(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "tests" / "ddp_worker.py"), str(tmp_path), str(manifest), "6"]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    a, b = ranks[0]["steps"], ranks[1]["steps"]
    assert [s["step"] for s in a] == [s["step"] for s in b] == [1, 2, 3, 4, 5, 6]
    stages = [s["stage"] for s in a]
    assert stages == [s["stage"] for s in b] == ["asr", "asr", "ser_sed_asr", "ser_sed_asr", "asr", "asr"]
    assert all(x["data"] != y["data"] for x, y in zip(a, b))  # each replica trained on its own clips
    before = ranks[0]["initial"]
    for x, y in zip(a, b):
        assert x["weights"].keys() == y["weights"].keys()
        for name in x["weights"]:  # identical replicas: gradients were all-reduced in both stages
            assert torch.equal(x["weights"][name], y["weights"][name]), (x["step"], name)
        frozen = {"asr": "descriptor", "ser_sed_asr": "content"}[x["stage"]]
        moved = {branch: False for branch in ("content", "descriptor")}
        for name, w in x["weights"].items():
            branch = _branch(name)
            if branch == frozen:  # not even weight decay touched it
                assert torch.equal(w, before[name]), (x["step"], name)
            elif branch is not None:
                moved[branch] |= not torch.equal(w, before[name])
        trained = {"asr": "content", "ser_sed_asr": "descriptor"}[x["stage"]]
        assert moved[trained], x["step"]
        before = x["weights"]

"""Loading the `base` size (HuBERT-base + a Llama-3.2-1B-shaped LLM, random weights written locally) in bfloat16
keeps peak host memory near one bfloat16 copy of the weights: never a float32 copy, never two copies."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
MEASURE = """
import json, resource, sys
import torch
torch.set_num_threads(1)
from emoexplain.model import ModelConfig, build_explainer
import peft, transformers  # noqa: F401  (the imports are not what is measured)
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
e = build_explainer(ModelConfig.preset("base", encoder=sys.argv[1], llm=sys.argv[2]), device="cpu",
                    dtype=torch.bfloat16)
frozen = [p for m in (e.encoder, e.llm) for n, p in m.named_parameters() if "lora_" not in n]
print(json.dumps({"before": before, "peak": peak(), "bf16_bytes": sum(p.numel() * 2 for p in frozen),
                  "dtypes": sorted({str(p.dtype) for p in frozen}),
                  "speech_dtypes": sorted({str(p.dtype) for m in e.speech_modules().values() for p in m.parameters()})}))
"""


@pytest.fixture(scope="module")
def base_backbones(tmp_path_factory):
    from emoexplain.model.shapes import write_random_backbones
    torch.set_num_threads(1)
    return write_random_backbones("base", tmp_path_factory.mktemp("base"))


def test_base_loads_in_bf16_within_one_copy_of_its_weights(base_backbones):
    hubert, llm = base_backbones
    run = subprocess.run([sys.executable, "-c", MEASURE, str(hubert), str(llm)], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["dtypes"] == ["torch.bfloat16"] and got["speech_dtypes"] == ["torch.float32"]
    assert got["bf16_bytes"] > 2.4e9  # it really is the 1.2 B-parameter size
    # one bfloat16 copy is 2.5 GB; a float32 load would add 2x that, a second copy 1x
    assert got["peak"] - got["before"] <= 1.25 * got["bf16_bytes"] + 256 * 2**20, got


def test_default_device_is_the_gpu_in_bf16_when_there_is_one(monkeypatch):
    from emoexplain.model.checkpoint import default_device_dtype
    monkeypatch.delenv("EMOEXPLAIN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device_dtype() == ("cpu", torch.float32)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device_dtype() == ("cuda", torch.bfloat16)
    assert default_device_dtype("cuda:1") == ("cuda:1", torch.bfloat16)
    assert default_device_dtype("cpu", torch.bfloat16) == ("cpu", torch.bfloat16)

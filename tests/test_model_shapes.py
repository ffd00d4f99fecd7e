"""The presets' backbone shapes (emoexplain/model/shapes.py) are the hub models': parameter counts of
Llama-3.2-1B / Llama-3.1-8B and hubert-base / hubert-large, built on the meta device (no weights, no hub)."""

import pytest
import torch


@pytest.mark.parametrize("size,llm,encoder,ctc", [("base", 1_235_814_400, 94_371_712, False),
                                                   ("paper", 8_030_261_248, 315_471_520, True)])
def test_random_presets_have_the_hub_models_sizes(size, llm, encoder, ctc):
    from emoexplain.model.shapes import random_explainer

    explainer = random_explainer(size, device="meta", dtype=torch.bfloat16)
    assert sum(p.numel() for n, p in explainer.llm.named_parameters() if "lora_" not in n) == llm
    assert sum(p.numel() for p in explainer.encoder.parameters()) == encoder
    assert explainer.encoder.has_ctc == ctc and explainer.config.name == size
    trained = explainer.unfreeze(["asr", "ser_sed_asr"])  # what a resume state holds
    assert 10e6 < sum(p.numel() for p in trained) < 50e6

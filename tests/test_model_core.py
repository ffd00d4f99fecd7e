"""Tiny-preset Explainer: shapes through every stage, KL, determinism, trainable parameters, one training step."""

import numpy as np
import pytest
import torch

from emoexplain.errors import ConfigError
from emoexplain.model import ModelConfig, TrainExample, build_explainer
from emoexplain.model.bottleneck import gaussian_kl

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def explainer():
    return build_explainer(ModelConfig.preset("tiny"))


def clips():
    rng = np.random.default_rng(0)
    return [0.1 * rng.standard_normal(16000).astype(np.float32), 0.1 * rng.standard_normal(27200).astype(np.float32)]


def batch(explainer):
    a, b = clips()
    return explainer.collate([TrainExample(a, "Emotion: angry. A man speaks at a slow pace.", "caption"),
                              TrainExample(b, "the birch canoe slid", "asr")])


def test_shapes_through_the_stack(explainer):
    b = batch(explainer)
    assert b.samples.shape == (2, 27200) and b.sample_mask.sum(-1).tolist() == [16000, 27200]
    speech = explainer.encode_speech(b.samples, b.sample_mask)
    n_layers, d = explainer.encoder.num_layers, explainer.encoder.hidden_size
    assert speech.encoder.layers.shape == (2, n_layers, 84, d)          # 27200 samples -> 84 frames at 50 Hz
    assert speech.encoder.frame_mask.sum(-1).tolist() == [49, 84]
    h = explainer.llm.get_input_embeddings().weight.shape[1]
    assert speech.content.shape == speech.descriptor.shape == (2, 16, h)  # 84 // 5 tokens
    assert speech.token_mask.sum(-1).tolist() == [9, 16]                  # 49 // 5 real tokens for clip 0
    assert speech.encoder.ctc_logits.shape[:2] == (2, 84)


@pytest.mark.parametrize("stage", ["asr", "ser_sed_asr", "joint", "eval"])
def test_forward_in_every_stage(explainer, stage):
    explainer.unfreeze([stage])
    out = explainer(batch(explainer), stage=stage)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert out.kl_content >= 0 and out.kl_descriptor >= 0
    expected_kl = {"asr": out.kl_content, "ser_sed_asr": out.kl_descriptor}.get(stage, out.kl_content +
                                                                                 out.kl_descriptor)
    assert torch.allclose(out.loss, out.llm_loss + 1e-2 * expected_kl)
    if stage == "asr":
        assert out.kl_descriptor == 0  # the descriptor branch does not run: its tokens are zeros
    explainer.freeze()


def test_asr_stage_zeroes_descriptor_tokens(explainer):
    b = batch(explainer)
    assert torch.count_nonzero(explainer.encode_speech(b.samples, b.sample_mask, stage="asr").descriptor) == 0
    assert torch.count_nonzero(explainer.encode_speech(b.samples, b.sample_mask).descriptor) > 0  # eval: default
    with pytest.raises(ConfigError, match="stage"):
        explainer.encode_speech(b.samples, b.sample_mask, stage="pretrain")


def test_the_stage_is_an_argument_not_state(explainer):
    """Forwards in every training stage (in training mode) leave inference exactly as it was (issue 9 item 1)."""
    a, b = clips()
    before = explainer.score_labels([a, b])
    caption = explainer.predict(a, max_new_tokens=8).caption
    explainer.unfreeze(["asr", "ser_sed_asr"])
    for stage in ("ser_sed_asr", "asr"):  # the loop's last block was ASR
        explainer(explainer.collate([TrainExample(a, "the birch canoe", "asr")], stage=stage), stage=stage)
    assert explainer.training  # a loop may leave it in training mode: inference must not care
    np.testing.assert_array_equal(explainer.score_labels([a, b]), before)
    assert explainer.predict(a, max_new_tokens=8).caption == caption
    speech = explainer.encode_speech(*explainer._pad_samples([a]))
    assert torch.count_nonzero(speech.descriptor) > 0
    explainer.freeze()
    with pytest.raises(TypeError):
        explainer(batch(explainer))  # a training forward must name its stage


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    mask = torch.ones(2, 7, dtype=torch.bool)
    assert gaussian_kl(torch.zeros(2, 7, 4), torch.ones(2, 7, 4), mask).item() == 0.0
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        mu, var = torch.randn(2, 7, 4, generator=g), torch.rand(2, 7, 4, generator=g) * 3 + 1e-3
        assert gaussian_kl(mu, var, mask).item() > 0
    # padded frames do not count: a huge KL on a masked frame leaves the mean unchanged
    mu = torch.zeros(1, 3, 4)
    mu[0, 2] = 100.0
    assert gaussian_kl(mu, torch.ones(1, 3, 4), torch.tensor([[True, True, False]])).item() == 0.0


def test_eval_is_deterministic_and_training_samples(explainer):
    b = batch(explainer)
    explainer.unfreeze(["joint"])  # training mode: the eval path stays deterministic all the same
    one = explainer.encode_speech(b.samples, b.sample_mask).content
    two = explainer.encode_speech(b.samples, b.sample_mask).content
    assert torch.equal(one, two)
    encode = lambda stage: explainer.encode_speech(b.samples, b.sample_mask, stage=stage)  # noqa: E731
    assert not torch.equal(encode("joint").content, encode("joint").content)  # z = mu + sigma * eps
    # ser_sed_asr: the frozen content branch is deterministic and outside autograd; the descriptor branch samples
    ser1, ser2 = encode("ser_sed_asr"), encode("ser_sed_asr")
    assert torch.equal(ser1.content, one) and not ser1.content.requires_grad
    assert not torch.equal(ser1.descriptor, ser2.descriptor) and ser1.descriptor.requires_grad
    explainer.freeze()


def trainable(explainer) -> set[str]:
    """Top-level groups that have at least one trainable parameter, and check groups are all-or-nothing."""
    groups = {}
    for name, p in explainer.named_parameters():
        if name.startswith("llm."):
            group = "lora" if ("lora_" in name or "modules_to_save" in name) else "llm_base"
        else:
            group = name.split(".")[0]
        groups.setdefault(group, set()).add(p.requires_grad)
    assert all(len(flags) == 1 for flags in groups.values()), groups
    return {g for g, flags in groups.items() if True in flags}


def test_exactly_the_configured_parameters_train(explainer):
    expected = {
        "asr": {"content_branch", "content_adapter", "lora"},
        "ser_sed_asr": {"descriptor_branch", "descriptor_adapter", "lora"},
        "joint": {"content_branch", "content_adapter", "descriptor_branch", "descriptor_adapter", "lora"},
        "eval": set(),
    }
    for stage, groups in expected.items():
        explainer.unfreeze([stage])
        assert trainable(explainer) == groups, stage
        assert {id(p) for p in explainer.stage_parameters(stage)} == \
            {id(p) for p in explainer.parameters() if p.requires_grad}
        assert not explainer.encoder.model.training          # HuBERT is always frozen and in eval mode
    # a run's union: one optimizer / DDP wrapper holds every parameter of every stage it visits
    explainer.unfreeze(["asr", "ser_sed_asr"])
    assert trainable(explainer) == expected["joint"]
    # the tiny preset trains the random embeddings and head through peft's modules_to_save (a config value)
    names = {n for n, p in explainer.named_parameters() if p.requires_grad}
    assert any("embed_tokens.modules_to_save" in n for n in names) and any("lm_head.modules_to_save" in n
                                                                           for n in names)
    explainer.freeze()
    assert trainable(explainer) == set() and not explainer.training
    with pytest.raises(ConfigError):
        explainer.unfreeze(["pretrain"])


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    explainer = build_explainer(ModelConfig.preset("tiny"))
    b = batch(explainer)
    with torch.no_grad():
        before = explainer(b, stage="eval").loss.item()
    optim = torch.optim.AdamW(explainer.unfreeze(["joint"]), lr=3e-3)
    explainer(b, stage="joint").loss.backward()
    optim.step()
    with torch.no_grad():
        assert explainer(b, stage="eval").loss.item() < before - 0.05


def test_unknown_task_is_refused(explainer):
    with pytest.raises(ConfigError):
        explainer.collate([TrainExample(clips()[0], "x", "translate")])


def test_presets_differ_only_in_config():
    tiny, base, paper = (ModelConfig.preset(n) for n in ("tiny", "base", "paper"))
    assert paper.encoder == "facebook/hubert-large-ls960-ft" and paper.llm == "meta-llama/Llama-3.1-8B-Instruct"
    assert paper.use_prosody is False and paper.beta == 1e-2 and paper.adapter_k == 5
    assert ModelConfig.from_dict(base.to_dict()) == base
    with pytest.raises(ConfigError):
        ModelConfig.preset("huge")
    with pytest.raises(ConfigError):
        ModelConfig.from_dict({**tiny.to_dict(), "surprise": 1})


def test_building_is_seeded_locally_and_leaves_the_process_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = build_explainer(ModelConfig.preset("tiny"))
    assert torch.equal(torch.rand(3), expected)  # loading a model does not reseed the process
    b = build_explainer(ModelConfig.preset("tiny"))
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), name  # deterministic per config.seed
    c = build_explainer(ModelConfig.preset("tiny", seed=1))
    lora_a = lambda e: next(p for n, p in e.llm.named_parameters() if "lora_A" in n)  # noqa: E731
    assert not torch.equal(a.content_branch.mu.weight, c.content_branch.mu.weight)
    assert not torch.equal(lora_a(a), lora_a(c)) and torch.equal(lora_a(a), lora_a(b))


def test_loading_a_checkpoint_leaves_the_process_rng_alone():
    from emoexplain.model import load_explainer
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    load_explainer("assets/demo_checkpoint")
    assert torch.equal(torch.rand(3), expected)

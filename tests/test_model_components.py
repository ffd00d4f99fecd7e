"""Component-level checks against the paper's equations: softmax layer weights, z = mu at inference, the k-frame
adapter, the Figure 1 prompt order; and the base/paper presets going through the same from_pretrained code path
as the hub ids (on tiny local folders, including a HuBERT without a CTC head as hubert-base-ls960 is)."""

import numpy as np
import pytest
import torch

from emoexplain.errors import ConfigError
from emoexplain.model import ModelConfig, TrainExample, build_explainer, load_explainer, save_checkpoint
from emoexplain.model.adapter import Adapter
from emoexplain.model.bottleneck import Bottleneck
from emoexplain.model.config import CAPTION_INSTRUCTION, SYSTEM_PROMPT, TINY_BACKBONES

torch.set_num_threads(1)


def test_layer_weights_are_a_softmax_mixture_and_z_is_mu_at_inference():
    torch.manual_seed(0)
    branch = Bottleneck(num_layers=3, d_in=8, hidden=8, latent=4)
    with torch.no_grad():
        branch.layer_logits.copy_(torch.tensor([2.0, -1.0, 0.5]))
    layers, mask = torch.randn(2, 3, 6, 8), torch.ones(2, 6, dtype=torch.bool)
    weights = torch.softmax(torch.tensor([2.0, -1.0, 0.5]), 0)
    mixed = (weights[None, :, None, None] * layers).sum(1)                      # (B, F, D) by hand
    branch.eval()
    out = branch(layers, mask)
    torch.testing.assert_close(out.mu, branch.mu(branch.mlp(mixed)))
    torch.testing.assert_close(out.var, torch.nn.functional.softplus(branch.var(branch.mlp(mixed))))
    assert torch.equal(out.z, out.mu)                                           # inference: z = mu
    branch.train()
    sampled = branch(layers, mask)
    assert not torch.equal(sampled.z, sampled.mu)                               # training: mu + sigma * eps
    sampled.kl.backward()
    assert branch.layer_logits.grad is not None and branch.layer_logits.grad.abs().sum() > 0


def test_adapter_concatenates_k_consecutive_frames_and_masks_partial_tokens():
    torch.manual_seed(0)
    k, latent = 3, 2
    adapter = Adapter(latent, hidden=5, llm_hidden=4, k=k)
    z = torch.randn(2, 11, latent)                                               # 11 frames -> 3 tokens, 2 dropped
    mask = torch.ones(2, 11, dtype=torch.bool)
    mask[1, 7:] = False                                                          # clip 1 has 7 real frames
    tokens, token_mask = adapter(z, mask)
    assert tokens.shape == (2, 3, 4)
    stacked = torch.stack([torch.cat([z[:, t * k + j] for j in range(k)], -1) for t in range(3)], 1)
    torch.testing.assert_close(tokens, adapter.mlp(stacked))                    # frames t*k .. t*k+k-1, in order
    assert token_mask.tolist() == [[True, True, True], [True, True, False]]      # 7 // 3 = 2 real tokens


@pytest.fixture(scope="module")
def tiny():
    return build_explainer(ModelConfig.preset("tiny"))


def test_prompt_follows_figure_1(tiny):
    """system line -> <Content> -> <Speech descriptor> -> instruction -> assistant turn (paper.md 2.5)."""
    tok, prompt = tiny.tokenizer, tiny._prompts["caption"]
    pre, mid, post = (tok.decode(list(ids)) for ids in (prompt.pre, prompt.mid, prompt.post))
    assert pre.startswith(tok.bos_token) and SYSTEM_PROMPT in pre and pre.rstrip().endswith("<|end_header_id|>")
    assert "user" in pre.split(SYSTEM_PROMPT)[1]
    assert mid == "\n" and CAPTION_INSTRUCTION in post and post.index(CAPTION_INSTRUCTION) < post.index("assistant")
    clip = 0.1 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    with torch.no_grad():
        speech = tiny._speech_for([clip])
        answer = tiny._answer_ids
        embeds, mask, _, _ = tiny._sequences(speech, ["caption"], [answer], loss_on_answer=False, left_pad=True)
    t = int(speech.token_mask[0].sum())
    embed = tiny.llm.get_input_embeddings()
    pieces = [embed(torch.tensor(prompt.pre)), speech.content[0, :t], embed(torch.tensor(prompt.mid)),
              speech.descriptor[0, :t], embed(torch.tensor(prompt.post)), embed(torch.tensor(answer))]
    torch.testing.assert_close(embeds[0], torch.cat(pieces))
    assert mask.all()


def _group_norm_hubert(folder):
    """A HubertModel without CTC head and with a group-norm feature extractor, like facebook/hubert-base-ls960."""
    from transformers import HubertConfig, HubertModel
    torch.manual_seed(0)
    HubertModel(HubertConfig(hidden_size=48, num_hidden_layers=3, num_attention_heads=2, intermediate_size=96,
                             conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                             feat_extract_norm="group", do_stable_layer_norm=False)).save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("preset", ["base", "paper"])
def test_real_presets_load_through_from_pretrained_on_local_folders(preset, tmp_path):
    """Only the backbone ids change: same config values (latent 128, adapter 2048, LoRA r16) and code path."""
    encoder = _group_norm_hubert(tmp_path / "hubert") if preset == "base" else f"{TINY_BACKBONES}/hubert"
    config = ModelConfig.preset(preset, encoder=encoder, llm=f"{TINY_BACKBONES}/llm")
    explainer = build_explainer(config)
    assert explainer.encoder.has_ctc == (preset == "paper")
    assert explainer.content_branch.mu.out_features == 128 and explainer.content_adapter.k == 5
    assert explainer.llm.peft_config["default"].r == 16
    clip = 0.1 * np.random.default_rng(1).standard_normal(24000).astype(np.float32)
    example = TrainExample(clip, "Emotion: sad. A woman speaks slowly.", "caption")
    out = explainer(explainer.collate([example], stage="ser_sed_asr"), stage="ser_sed_asr")
    assert torch.isfinite(out.loss)
    save_checkpoint(explainer, tmp_path / "ckpt")
    loaded = load_explainer(str(tmp_path / "ckpt"))
    np.testing.assert_array_equal(loaded.score_labels([clip]), explainer.score_labels([clip]))
    pred = loaded.predict(clip, max_new_tokens=6)
    assert pred.label in loaded.labels
    if preset == "base":
        assert pred.words == ()   # no CTC head: no forced alignment (explain() falls back to acoustic segments)


def test_without_ctc_head_explain_aligns_no_words_and_keeps_the_emphasis_segments(tmp_path, speech_wav):
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.pipeline import explain
    config = ModelConfig.preset("tiny", encoder=_group_norm_hubert(tmp_path / "hubert"))
    d = explain(str(speech_wav), build_explainer(config)).to_dict()
    assert d["words"] == []   # a time span is not a word (schema 2): the segments stay in the acoustics
    assert all("word" not in s for s in d["acoustics"]["emphasis"])   # nothing aligned, nothing named


def test_device_map_auto_loads_through_accelerate():
    """device="auto" (accelerate's device_map, for LLMs larger than one device) gives the same model on CPU."""
    clip = 0.1 * np.random.default_rng(2).standard_normal(16000).astype(np.float32)
    auto = build_explainer(ModelConfig.preset("tiny"), device="auto")
    plain = build_explainer(ModelConfig.preset("tiny"))
    np.testing.assert_allclose(auto.score_labels([clip]), plain.score_labels([clip]), atol=1e-6)


def test_attention_implementation_is_a_config_value():
    clip = 0.1 * np.random.default_rng(2).standard_normal(16000).astype(np.float32)
    sdpa = build_explainer(ModelConfig.preset("tiny"))
    eager = build_explainer(ModelConfig.preset("tiny", attn_implementation="eager"))
    assert sdpa.llm.get_base_model().config._attn_implementation == "sdpa"
    assert eager.llm.get_base_model().config._attn_implementation == "eager"
    assert eager.encoder.model.config._attn_implementation == "eager"
    np.testing.assert_allclose(eager.score_labels([clip]), sdpa.score_labels([clip]), atol=1e-5)
    with pytest.raises(ConfigError, match="attn_implementation"):
        ModelConfig.preset("tiny", attn_implementation="fast")

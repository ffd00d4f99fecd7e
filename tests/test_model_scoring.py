"""Label scoring (prefix-reuse == naive, sums to 1, learns a planted answer) and caption generation."""

import numpy as np
import pytest
import torch

from emoexplain.captions import parse_caption
import helpers
from emoexplain.model import ModelConfig, TrainExample, build_explainer

torch.set_num_threads(1)
CAPTIONS = {"angry": 'Emotion: angry. A man with high pitch and high volume speaks at a fast pace, saying "stop".',
            "sad": 'Emotion: sad. A woman with low pitch and low volume speaks at a slow pace, saying "fine".'}


def two_clips():
    t = np.arange(24000) / 16000
    rng = np.random.default_rng(0)
    loud = (0.6 * np.sign(np.sin(2 * np.pi * 300 * t)) + 0.2 * rng.standard_normal(t.size)).astype(np.float32)
    soft = (0.05 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)[:20000]
    return {"angry": loud, "sad": soft}


@pytest.fixture(scope="module")
def overfit():
    """A tiny explainer overfit (joint stage, ~40 steps) on two clips with different labels."""
    torch.manual_seed(0)
    explainer = build_explainer(ModelConfig.preset("tiny"))
    clips = two_clips()
    helpers.overfit(explainer, [TrainExample(clips[k], CAPTIONS[k], "caption") for k in clips], steps=40)
    return explainer, clips


def naive_log_likelihoods(explainer, samples):
    """One full forward per (clip, label), no cache, no batching."""
    out = np.zeros(len(explainer.labels))
    speech = explainer._speech_for([samples])
    for j, label_ids in enumerate(explainer._label_ids):
        answer = explainer._answer_ids + label_ids
        embeds, mask, pos, _ = explainer._sequences(speech, ["caption"], [answer], loss_on_answer=False,
                                                    left_pad=True)
        logp = torch.log_softmax(explainer.llm(inputs_embeds=embeds, attention_mask=mask,
                                               position_ids=pos).logits[0].float(), -1)
        n = len(label_ids)
        targets = torch.tensor(label_ids)
        out[j] = logp[-n - 1:-1].gather(-1, targets[:, None]).sum().item()
    return out


def test_prefix_reuse_scoring_equals_naive_scoring(overfit):
    explainer, clips = overfit
    assert max(len(ids) for ids in explainer._label_ids) > 1   # the cached second forward really runs
    batch = [clips["angry"], clips["sad"]]                     # different lengths: left padding is exercised
    with torch.no_grad():
        fast = explainer.label_log_likelihoods(explainer._speech_for(batch)).numpy()
        for i, samples in enumerate(batch):
            np.testing.assert_allclose(fast[i], naive_log_likelihoods(explainer, samples), atol=2e-4)


def test_probabilities_sum_to_one_and_prefer_the_overfit_label(overfit):
    explainer, clips = overfit
    probs = explainer.score_labels([clips["angry"], clips["sad"]])
    assert probs.shape == (2, len(explainer.labels))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    assert explainer.labels[int(probs[0].argmax())] == "angry"
    assert explainer.labels[int(probs[1].argmax())] == "sad"


def test_greedy_generation_reproduces_the_overfit_caption(overfit):
    explainer, clips = overfit
    with torch.no_grad():
        speech = explainer._speech_for([clips["angry"], clips["sad"]])
        greedy = explainer.generate(speech, max_new_tokens=60)
        beam = explainer.generate(speech, num_beams=3, max_new_tokens=60)
    assert greedy == [CAPTIONS["angry"], CAPTIONS["sad"]]
    assert beam == greedy  # an overfit model is confident: beam search finds the same sequence


def test_kv_cache_generation_matches_a_naive_greedy_loop(overfit):
    explainer, clips = overfit
    with torch.no_grad():
        speech = explainer._speech_for([clips["sad"]])
        fast = explainer.generate(speech, max_new_tokens=8)[0]
        answer = []
        for _ in range(8):
            embeds, mask, pos, _ = explainer._sequences(speech, ["caption"], [answer], loss_on_answer=False,
                                                        left_pad=True)
            logits = explainer.llm(inputs_embeds=embeds, attention_mask=mask, position_ids=pos).logits
            answer.append(int(logits[0, -1].argmax()))
    assert fast == explainer.tokenizer.decode(answer, skip_special_tokens=True).strip()


def test_predict_returns_a_consistent_output(overfit):
    explainer, clips = overfit
    out = explainer.predict(clips["angry"])
    assert out.label == "angry" and abs(sum(out.probabilities.values()) - 1) < 1e-6
    assert out.caption.startswith("Emotion: angry.")
    parsed = parse_caption(out.caption)
    assert out.transcript == parsed.transcript == "stop"
    assert out.descriptors == {"pitch": "high", "volume": "high", "speed": "fast"}
    for w in out.words:  # CTC alignment on the random tiny head: timings only need to be sane
        assert 0 <= w.start_s <= w.end_s <= 24000 / 16000
    quick = explainer.predict(clips["sad"], generate=False)
    assert quick.caption is None and quick.label == "sad" and quick.words == ()
    short = explainer.predict(clips["sad"], max_new_tokens=3)
    assert len(explainer.tokenizer(short.caption)["input_ids"]) <= len(explainer._answer_ids) + 2 + 3 + 2


def test_predict_reuses_the_scoring_prefix_and_gives_the_same_caption(overfit):
    """The greedy caption continued from the label-scoring cache equals one generated from scratch."""
    explainer, clips = overfit
    for key in ("angry", "sad"):
        with torch.no_grad():
            speech = explainer._speech_for([clips[key]])
            scores, prefix = explainer._score(speech, keep_prefix=True)
            p, t = explainer._prompts["caption"], int(speech.token_mask[0].sum())
            # the prompt up to "Emotion:" only, not the expanded label candidates
            assert prefix.get_seq_length() == len(p.pre) + t + len(p.mid) + t + len(p.post) + len(
                explainer._answer_ids)
            forced = [explainer._answer_ids + explainer._label_ids[int(scores[0].argmax())]]
            from_scratch = explainer.generate(speech, forced=forced, max_new_tokens=20)
            continued = explainer.generate(speech, forced=forced, max_new_tokens=20, past_key_values=prefix)
        assert continued == from_scratch and continued[0].startswith(f"Emotion: {key}.")
        assert explainer.predict(clips[key], max_new_tokens=20).caption == from_scratch[0]

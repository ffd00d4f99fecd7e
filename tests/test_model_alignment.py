"""Word timings from CTC forced alignment (planted alignment + the tiny model's random head) and prosody input."""

import numpy as np
import pytest
import torch

from emoexplain.model.alignment import ctc_vocab, ctc_word_timings

torch.set_num_threads(1)


def planted_log_probs(vocab, plan, n_frames):
    """Log-posteriors that put 0.9 on the planted token of each frame (blank elsewhere)."""
    probs = np.full((n_frames, len(vocab)), 0.1 / (len(vocab) - 1), dtype=np.float32)
    probs[:, vocab["<pad>"]] = 0.9
    for token, start, end in plan:
        probs[start:end] = 0.1 / (len(vocab) - 1)
        probs[start:end, vocab[token]] = 0.9
    return torch.log(torch.from_numpy(probs))


def test_planted_alignment_is_recovered():
    vocab = ctc_vocab("assets/tiny_backbones/hubert")
    plan = [("H", 10, 13), ("I", 13, 16), ("|", 16, 20), ("Y", 30, 32), ("O", 32, 35), ("U", 35, 38)]
    words = ctc_word_timings(planted_log_probs(vocab, plan, 60), "Hi, you!", vocab, 0.02, 1.2)
    assert [w.word for w in words] == ["Hi", "you"]
    assert words[0].start_s == pytest.approx(0.20) and words[0].end_s == pytest.approx(0.32)
    assert words[1].start_s == pytest.approx(0.60) and words[1].end_s == pytest.approx(0.76)
    assert all(w.score > 0.8 for w in words)


def test_unalignable_inputs_give_no_timings():
    vocab = ctc_vocab("assets/tiny_backbones/hubert")
    lp = planted_log_probs(vocab, [], 5)
    assert ctc_word_timings(lp, "", vocab, 0.02, 0.1) == ()
    assert ctc_word_timings(lp, "!!! ???", vocab, 0.02, 0.1) == ()
    assert ctc_word_timings(lp, "a much longer transcript than frames", vocab, 0.02, 0.1) == ()


def test_random_ctc_head_gives_monotonic_timings_inside_the_clip(speech_wav):
    audio = pytest.importorskip("emoexplain.audio")
    from emoexplain.model import load_explainer

    samples = audio.load_audio(speech_wav).samples
    explainer = load_explainer("assets/demo_checkpoint")
    speech = explainer._speech_for([samples])
    text = "The quick brown fox jumps over the lazy dog"
    words = explainer.word_timings(speech, text, len(samples))
    assert [w.word for w in words] == text.split()
    duration = len(samples) / 16000
    for a, b in zip(words, words[1:]):
        assert a.end_s <= b.start_s
    assert all(0 <= w.start_s <= w.end_s <= duration for w in words)


def test_prosody_features_follow_the_pitch(sine):
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.model.prosody import prosody_features
    high, low = prosody_features(sine(220.0), 99), prosody_features(sine(110.0), 99)
    assert high.shape == (99, 3) and high.dtype == np.float32
    voiced = (high[:, 1] > 0.5) & (low[:, 1] > 0.5)
    assert voiced.mean() > 0.8
    assert np.median(high[voiced, 0] - low[voiced, 0]) == pytest.approx(np.log(2), abs=0.05)

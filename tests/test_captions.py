"""Captions: every template round-trips through the parser; garbage never raises."""

import itertools
import random

import pytest

from emoexplain.captions import (ANSWER_PREFIX, EXPECTED_PARTS, N_TEMPLATES, CaptionFields, parse_caption,
                                 render_caption, render_transcript_target)

LEVELS = ("low", "normal", "high")
VARIATION = ("very monotone", "monotone", "slightly expressive", "expressive", "very expressive")


def all_fields():
    rng = random.Random(0)
    for i, (emotion, gender) in enumerate(itertools.product(
            ("neutral", "happy", "angry", "sad", "surprised", "fearful", "disgusted"), ("male", "female", None))):
        emphasis = tuple(rng.sample(["people", "never", "now", "really"], k=i % 3))
        yield CaptionFields(emotion=emotion, transcript=rng.choice(["the way he talks about people",
                                                                   "I never said that", "okay, fine!"]),
                            descriptors={"pitch": LEVELS[i % 3], "volume": LEVELS[(i // 3) % 3],
                                         "speed": ("slow", "normal", "fast")[(i // 2) % 3],
                                         "tone": ("falling", "level", "rising")[i % 3],
                                         "pitch_variation": VARIATION[i % 5]},
                            emphasis=emphasis, gender=gender)


@pytest.mark.parametrize("template", range(N_TEMPLATES))
def test_every_template_round_trips(template):
    for fields in all_fields():
        text = render_caption(fields, template)
        assert text.startswith(f"{ANSWER_PREFIX} {fields.emotion}. ")
        parsed = parse_caption(text)
        assert parsed.emotion == fields.emotion, text
        assert parsed.transcript == fields.transcript, text
        assert parsed.descriptors == fields.descriptors, text
        assert parsed.emphasis == fields.emphasis, text
        assert parsed.gender == fields.gender, text
        assert parsed.missing == (), text


def test_templates_are_varied():
    fields = next(all_fields())
    assert len({render_caption(fields, t).split(".", 1)[1] for t in range(N_TEMPLATES)}) == N_TEMPLATES >= 4
    rng = random.Random(1)
    assert len({render_caption(fields, rng=rng) for _ in range(50)}) > 1


def test_partial_fields_render_grammatically_and_report_missing():
    for t in range(N_TEMPLATES):
        text = render_caption(CaptionFields("sad", None, {"speed": "slow"}), t)
        parsed = parse_caption(text)
        assert parsed.emotion == "sad" and parsed.descriptors == {"speed": "slow"}
        assert set(parsed.missing) == {"transcript", "pitch", "volume"}
        assert "{" not in text and ", ," not in text and ".." not in text


def test_the_papers_own_example_parses():
    text = ('Within the realm of politics, an old man with low pitch and moderate volume expresses his opinion at a '
            'slow pace, stating, "The way he talks about people", his anger evident in his speech, accentuating the '
            'word "people" distinctly.')
    parsed = parse_caption(text)
    assert parsed.transcript == "The way he talks about people" and parsed.emphasis == ("people",)
    assert parsed.descriptors == {"pitch": "low", "volume": "normal", "speed": "slow"}
    assert parsed.emotion == "anger" and parsed.gender == "male"


@pytest.mark.parametrize("garbage", ["", None, "Emotion:", "Emotion: blorp. ", '"""', "“unclosed", b"\xff\xfe\x00",
                                     "Emotion: angry. A man with", "pitch pitch volume \"", "\x00" * 50,
                                     "Emotion: " + "very " * 2000])
def test_garbage_never_raises(garbage):
    parsed = parse_caption(garbage)
    assert set(parsed.missing) <= set(EXPECTED_PARTS)
    assert isinstance(parsed.descriptors, dict) and isinstance(parsed.emphasis, tuple)


def test_random_bytes_never_raise():
    rng = random.Random(0)
    for _ in range(300):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        parsed = parse_caption(noise)
        # noise states no emotion and no descriptor; the same noise before a real answer keeps that answer
        assert parsed.emotion is None and {"emotion", "pitch", "volume", "speed"} <= set(parsed.to_dict()["missing"])
        assert parse_caption(noise + b" Emotion: sad.").emotion == "sad"


def test_truncated_captions_keep_what_they_have():
    full = render_caption(next(all_fields()), 0)
    for cut in range(0, len(full), 7):
        parsed = parse_caption(full[:cut])
        if cut > len("Emotion: neutral"):
            assert parsed.emotion == "neutral"


def test_transcript_target_is_plain_text():
    assert render_transcript_target("  the  birch canoe\nslid ") == "the birch canoe slid"

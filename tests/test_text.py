"""One word normaliser and one percentage format for the app, the pipeline, alignment and the metrics."""

from emoexplain.text import normalize_word, normalize_words, percent, tokens


def test_tokens_keep_case_and_in_word_apostrophes():
    assert tokens("Well-known, isn't it? 'Quoted'") == ["Well", "known", "isn't", "it", "Quoted"]
    assert tokens(None) == [] and tokens("  ...  ") == []


def test_normalised_words_compare_equal_across_punctuation_and_case():
    assert normalize_words("The PEOPLE, who?") == normalize_words("the people who")
    assert normalize_word("People,") == normalize_word("people") == "people"


def test_the_metrics_and_the_alignment_use_the_same_words():
    from train.evaluate import metrics
    assert metrics.normalize_words is normalize_words
    assert metrics.wer(["Don't stop, now."], ["don't stop now"]) == 0.0


def test_percent():
    assert (percent(0.1234), percent(0.1234, 1), percent(0.5, 1, " %"), percent(None)) == \
        ("12%", "12.3%", "50.0 %", "–")

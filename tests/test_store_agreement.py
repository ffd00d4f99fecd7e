"""Agreement statistics against published worked examples."""

import pytest

from emoexplain.store import cohen_kappa, fleiss_kappa, krippendorff_alpha_nominal
from emoexplain.store.agreement import agreement_table


def test_cohen_kappa_textbook_two_by_two():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert 0.4 == pytest.approx(cohen_kappa(a, b))


def test_cohen_kappa_perfect_and_undefined():
    assert 1.0 == cohen_kappa(["a", "b", "a"], ["a", "b", "a"])
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # one category: chance agreement is 1
    with pytest.raises(ValueError, match="paired"):
        cohen_kappa(["a"], [])


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971) style example from Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    counts = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
    assert 0.210 == pytest.approx(fleiss_kappa(counts), abs=5e-4)


def test_fleiss_kappa_perfect_agreement_and_undefined():
    assert 1.0 == fleiss_kappa([[3, 0], [0, 3], [3, 0]])
    assert fleiss_kappa([[1, 0]]) is None  # no item with two ratings


def test_krippendorff_alpha_worked_example_with_missing_values():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", nominal example:
    # 4 observers x 12 units, missing values -> alpha = 0.743
    A = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
    B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
    C = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
    D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
    units = list(zip(A, B, C, D))
    assert 0.743 == pytest.approx(krippendorff_alpha_nominal(units), abs=5e-4)


def test_krippendorff_alpha_matches_two_rater_hand_computation():
    # 2 raters, 4 units: (a,a) (a,b) (b,b) (b,b): o_aa=2, o_ab=o_ba=1, o_bb=4; n_a=3, n_b=5, n=8
    # alpha = 1 - (n-1) * 2 / (2 * 3 * 5) = 1 - 14/30
    units = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    assert 1 - 14 / 30 == pytest.approx(krippendorff_alpha_nominal(units))


def test_agreement_table_with_two_annotators():
    ratings = {1: {"ada": "sad", "bob": "sad"}, 2: {"ada": "happy", "bob": "sad"}, 3: {"ada": "happy"},
               4: {"ada": "happy", "bob": "happy"}}
    table = agreement_table(ratings)
    assert (3, 2, 6) == (table["n_items"], table["n_annotators"], table["n_ratings"])
    # pairs: (sad,sad) (happy,sad) (happy,happy): p_o 2/3, p_e (1*2 + 2*1)/9 = 4/9 -> kappa 0.4
    assert 0.4 == pytest.approx(table["cohen_kappa"])
    assert table["krippendorff_alpha"] == pytest.approx(krippendorff_alpha_nominal(
        [("sad", "sad"), ("happy", "sad"), ("happy", "happy")]))


def test_store_agreement_report_on_planted_judgements(tmp_path):
    """3 annotators x 4 clips with hand-computed coefficients; the model said "happy" and pitch "high" each time."""
    from emoexplain.store import agreement, open_store, record_analysis, record_judgement
    emotions = {"1": ("sad", "sad", "sad"), "2": ("sad", "angry", "sad"), "3": ("angry", "angry", "angry"),
                "4": ("happy", "happy", "sad")}
    # pitch: bob says "low" on clip 2, cy is unsure on clip 4; everything else "correct" (= the model's "high")
    pitch = {("2", "bob"): {"verdict": "wrong", "value": "low"}, ("4", "cy"): {"verdict": "unsure"}}
    explanation = {"emotion": {"label": "happy", "probabilities": {"neutral": 0.1, "happy": 0.6, "angry": 0.2,
                                                                   "sad": 0.1}},
                   "descriptors": {"model": {"pitch": "high"}}, "model": {"name": "tiny", "version": "r1"}}
    with open_store(tmp_path / "emoexplain.db") as store:
        for clip, labels in emotions.items():
            aid = record_analysis(store, explanation, audio_sha256=clip * 64, duration_s=1.0, sample_rate=16000,
                                  source="upload")
            for who, label in zip(("ada", "bob", "cy"), labels):
                verdict = pitch.get((clip, who), {"verdict": "correct"})
                record_judgement(store, aid, annotator=who, emotion=label, descriptor_verdicts={"pitch": verdict})
        report = agreement(store)
    emotion = report["emotion"]
    assert (4, 3, 12) == (emotion["n_items"], emotion["n_annotators"], emotion["n_ratings"])
    # counts [angry, happy, sad] per clip: [0,0,3] [1,0,2] [3,0,0] [0,2,1]: P = 2/3, Pe = 56/144 -> 5/11
    assert 5 / 11 == pytest.approx(emotion["fleiss_kappa"], abs=1e-6)
    # coincidences o_ss 4, o_aa 3, o_hh 1, o_sa = o_as = o_hs = o_sh = 1; n = 12 -> 1 - 11 * 4 / 88 = 0.5
    assert 0.5 == pytest.approx(emotion["krippendorff_alpha"], abs=1e-6)
    assert emotion["cohen_kappa"] is None  # three annotators: see the pairwise table
    pairs = {tuple(p["annotators"]): p["kappa"] for p in emotion["pairwise_cohen_kappa"]}
    assert 7 / 11 == pytest.approx(pairs["ada", "bob"], abs=1e-6)  # p_o 3/4, p_e 5/16
    # pitch values: clips 1 and 3 high x3, clip 2 high/low/high, clip 4 high/high (cy unsure does not rate)
    table = report["descriptors"]["pitch"]
    assert (4, 11) == (table["n_items"], table["n_ratings"])
    assert table["krippendorff_alpha"] == pytest.approx(krippendorff_alpha_nominal(
        [("high",) * 3, ("high", "low", "high"), ("high",) * 3, ("high", "high")]))
    assert {"correct": 10, "wrong": 1, "unsure": 1, "accuracy": round(10 / 11, 6)} == \
        report["descriptor_accuracy"]["pitch"]
    vs = report["model_vs_human"]
    assert {"happy": {"sad": 6, "angry": 4, "happy": 2}} == vs["confusion"] and vs["n"] == 12
    assert round(2 / 12, 6) == vs["accuracy"]

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

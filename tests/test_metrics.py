"""Metric code against hand-computed answers (and scipy where it has the same test)."""

import math

import numpy as np
import pytest

from train.evaluate import metrics as M
from train.evaluate import stats as S

LABELS = ["neutral", "happy", "angry", "sad"]


def test_ua_wa_f1_hand_case():
    refs = ["neutral"] * 4 + ["happy"] * 2 + ["angry"] * 2 + ["sad"] * 2
    hyps = ["neutral", "neutral", "neutral", "happy", "happy", "neutral", "angry", "angry", "sad", "angry"]
    m = M.classification_metrics(refs, hyps, LABELS)
    # recalls: neutral 3/4, happy 1/2, angry 2/2, sad 1/2 -> UA = 2.75 / 4
    assert m["ua"] == pytest.approx(0.6875)
    assert m["wa"] == pytest.approx(7 / 10)
    # precisions: neutral 3/4, happy 1/2, angry 2/3, sad 1/1
    f1 = {"neutral": 0.75, "happy": 0.5, "angry": 2 * (2 / 3) / (2 / 3 + 1), "sad": 2 * 0.5 / 1.5}
    assert m["macro_f1"] == pytest.approx(np.mean(list(f1.values())))
    assert m["weighted_f1"] == pytest.approx((4 * f1["neutral"] + 2 * (f1["happy"] + f1["angry"] + f1["sad"])) / 10)
    assert m["confusion"][0] == [3, 1, 0, 0] and m["confusion"][3] == [0, 0, 1, 1]


def test_ua_differs_from_wa_on_imbalance():
    refs = ["neutral"] * 9 + ["sad"]
    m = M.classification_metrics(refs, ["neutral"] * 10, LABELS)
    assert m["wa"] == pytest.approx(0.9) and m["ua"] == pytest.approx(0.5)  # absent classes do not count


def test_confusion_files(tmp_path):
    j, png = M.save_confusion([[2, 1], [0, 3]], ["a", "b"], tmp_path)
    assert j.read_text().count("matrix") == 1
    assert png is None or png.stat().st_size > 1000


def test_wer():
    assert M.wer(["the cat sat on the mat"], ["The cat sat on a mat."]) == pytest.approx(1 / 6)
    # one deletion + one insertion over 2 sentences of 3 + 2 words
    assert M.wer(["a b c", "d e"], ["a c", "d e f"]) == pytest.approx(2 / 5)
    assert M.wer(["hello world"], [""]) == 1.0


def test_descriptor_accuracy():
    refs = [{"pitch": "high", "speed": "slow"}, {"pitch": "low", "speed": "slow"}, {"pitch": "low"}]
    hyps = [{"pitch": "high", "speed": "fast"}, {"pitch": "High"}, {"pitch": "low", "speed": "fast"}]
    acc = M.descriptor_accuracy(refs, hyps)
    assert acc["pitch"] == {"accuracy": pytest.approx(2 / 3), "n": 3}
    assert acc["speed"] == {"accuracy": 0.0, "n": 2}
    assert acc["mean"] == pytest.approx(1 / 3)


def test_bleu_hand_case():
    ref, hyp = "the cat is on the mat", "the cat is on the mat"
    assert M.bleu([ref], [hyp]) == pytest.approx(1.0)
    # hyp of 5 words all in ref order: p1 = 5/5, p2 = 4/4, p3 = 3/3, p4 = 2/2, BP = exp(1 - 6/5)
    assert M.bleu([ref], ["the cat is on the"]) == pytest.approx(math.exp(1 - 6 / 5))
    # "the the the the" vs ref: clipped unigram precision 2/4; no bigram match -> 0 without smoothing
    assert M.bleu([ref], ["the the the the"]) == 0.0
    # p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0/3 -> 0 unsmoothed; add-one for n > 1: 4/6, 2/5, 1/4
    hyp = "the cat sat on the mat"
    assert M.bleu([ref], [hyp]) == 0.0
    p = [5 / 6, 4 / 6, 2 / 5, 1 / 4]
    assert M.bleu([ref], [hyp], smooth=True) == pytest.approx(math.exp(sum(math.log(x) for x in p) / 4))


def test_rouge_l_hand_case():
    # LCS("the cat is on the mat", "the cat sat on the mat") = 5 -> P = R = 5/6 -> F = 5/6
    assert M.rouge_l(["the cat is on the mat"], ["the cat sat on the mat"]) == pytest.approx(5 / 6)
    # LCS = 2 of ref 4, hyp 2: P = 1, R = 1/2; F = (1 + b^2) P R / (R + b^2 P)
    b2 = 1.2 ** 2
    assert M.rouge_l(["a b c d"], ["a d"]) == pytest.approx((1 + b2) * 0.5 / (0.5 + b2))
    assert M.rouge_l(["x"], ["y"]) == 0.0


def test_paired_t_test_against_hand_and_scipy():
    from scipy import stats
    a = [77.6, 76.9, 78.1, 77.0, 78.4]
    b = [73.6, 74.2, 73.0, 74.4, 72.8]
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(5))
    r = S.paired_t_test(a, b)
    assert r["t"] == pytest.approx(t) and r["df"] == 4
    assert r["p"] == pytest.approx(stats.t.sf(t, 4))
    assert r["p"] == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    assert r["p"] < 0.05 and S.paired_t_test(b, a)["p"] > 0.95


def test_mcnemar():
    from scipy import stats
    # A right / B wrong on 8, A wrong / B right on 2, agree on 10 -> exact two-sided binomial p
    ca = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5
    cb = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 5
    r = S.mcnemar(ca, cb)
    assert (r["b"], r["c"], r["exact"]) == (8, 2, True)
    assert r["p"] == pytest.approx(2 * stats.binom.cdf(2, 10, 0.5))
    big_a = [1] * 30 + [0] * 10
    big_b = [0] * 30 + [1] * 10
    r = S.mcnemar(big_a, big_b)
    assert r["statistic"] == pytest.approx((abs(30 - 10) - 1) ** 2 / 40) and not r["exact"]
    assert r["p"] == pytest.approx(stats.chi2.sf((19 ** 2) / 40, 1))


def test_aggregate_folds():
    folds = [{"ua": 0.7, "wa": 0.6}, {"ua": 0.8, "wa": 0.7}, {"ua": 0.9, "wa": 0.8}]
    agg = S.aggregate_folds(folds)
    assert agg["ua"]["mean"] == pytest.approx(0.8) and agg["ua"]["std"] == pytest.approx(0.1)
    assert agg["folds"] == 3 and "wer" not in agg


def test_cli_folds_aggregates_fold_metrics(tmp_path, capsys):
    import json

    from train.__main__ import main

    paths = []
    for k, (ua, wa) in enumerate([(0.6, 0.7), (0.8, 0.9), (0.7, 0.8)], 1):
        path = tmp_path / f"Session{k}.json"
        path.write_text(json.dumps({"ua": ua, "wa": wa, "n": 100}))
        paths.append(str(path))
    assert main(["folds", *paths, "--out", str(tmp_path / "agg.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["folds"] == 3 and out["ua"]["mean"] == pytest.approx(0.7) and out["ua"]["std"] == pytest.approx(0.1)
    assert out["wa"]["values"] == pytest.approx([0.7, 0.9, 0.8]) and "macro_f1" not in out
    assert json.loads((tmp_path / "agg.json").read_text()) == out
    assert main(["folds", str(tmp_path / "missing.json")]) == 2

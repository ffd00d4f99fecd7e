"""Metrics and tests against hand-computed or published answers (never against the library that computes them)."""

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


def test_macro_f1_over_the_model_label_set_seven_labels_on_iemocap4():
    # a SpeechCraft-7 model scored on IEMOCAP-4 references: it predicts "surprised" twice, which the corpus lacks
    labels = ["neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"]
    refs = ["neutral"] * 4 + ["happy"] * 2 + ["angry"] * 2 + ["sad"] * 2
    hyps = ["neutral", "neutral", "surprised", "happy", "happy", "surprised", "angry", "angry", "sad", "angry"]
    m = M.classification_metrics(refs, hyps, labels)
    # F1 by hand: neutral P 1 R 1/2 -> 2/3; happy 1/2; angry P 2/3 R 1 -> 4/5; sad 2/3; surprised 0 (2 false
    # positives); fearful and disgusted neither occur nor are predicted (0/0): left out of the average
    f1 = [2 / 3, 1 / 2, 2 / 3, 4 / 5, 0.0]
    assert m["macro_f1"] == pytest.approx(sum(f1) / 5)           # 0.527, not 0.658 (the four reference classes)
    assert m["macro_f1_labels"] == ["neutral", "happy", "sad", "angry", "surprised"]
    assert m["ua"] == pytest.approx((1 / 2 + 1 / 2 + 1 + 1 / 2) / 4)   # recall over the reference classes only
    assert m["wa"] == pytest.approx(6 / 10)
    assert m["weighted_f1"] == pytest.approx((4 * 2 / 3 + 2 * 1 / 2 + 2 * 4 / 5 + 2 * 2 / 3) / 10)
    assert m["per_class"]["surprised"] == {"recall": 0.0, "precision": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ValueError, match="not in the label set"):
        M.classification_metrics(["joy"], ["neutral"], labels)


def test_caption_bleu_rouge_cider_hand_cases():
    from train.evaluate.captions import caption_metrics

    ref = "the cat is on the mat"
    same = caption_metrics([ref], [ref], java=False)
    assert same["bleu4"] == pytest.approx(1.0) and same["rouge_l"] == pytest.approx(1.0)
    # 5 words, all in order: every n-gram precision is 1, brevity penalty exp(1 - 6/5)
    short = caption_metrics([ref], ["the cat is on the"], java=False)
    assert short["bleu1"] == pytest.approx(math.exp(1 - 6 / 5)) and short["bleu4"] == pytest.approx(math.exp(-0.2))
    # LCS("the cat is on the mat", "the cat sat on the mat") = 5: P = R = 5/6 -> ROUGE-L F = 5/6
    assert caption_metrics([ref], ["the cat sat on the mat"], java=False)["rouge_l"] == pytest.approx(5 / 6)
    # LCS 2 of ref 4 / hyp 2: P = 1, R = 1/2, F = (1 + b^2) P R / (R + b^2 P) with b = 1.2 (coco-caption)
    b2 = 1.2 ** 2
    assert caption_metrics(["a b c d"], ["a d"], java=False)["rouge_l"] == pytest.approx((1 + b2) * 0.5 / (0.5 + b2))
    # CIDEr-D: a hypothesis equal to its reference has cosine 1 at every n (n-grams unique to one clip, so
    # idf = log 2 > 0), no length penalty, times 10; the other clip's empty hypothesis scores 0 -> mean 5
    two = caption_metrics(["a man speaks slowly", "her voice is high"], ["a man speaks slowly", ""], java=False)
    assert two["cider"] == pytest.approx(5.0)
    assert two["meteor"] is None and "Java" in two["caption_metrics_unavailable"]["meteor"]
    assert two["spice"] is None and "spice" in two["caption_metrics_unavailable"]


def test_caption_metrics_split_chinese_into_characters():
    from train.evaluate.captions import caption_metrics

    # SECap's Mandarin captions: 4 of 6 characters, in order -> all precisions 1, brevity penalty exp(1 - 6/4)
    m = caption_metrics(["心情快乐舒畅"], ["心情快乐"], java=False)
    assert m["bleu4"] == pytest.approx(math.exp(1 - 6 / 4))


@pytest.mark.skipif(__import__("shutil").which("java") is None, reason="METEOR needs Java")
def test_meteor_runs_on_java():
    from train.evaluate.captions import caption_metrics

    m = caption_metrics(["a man with low pitch speaks slowly", "a woman speaks fast"],
                        ["A man with low pitch speaks slowly.", "purple elephants dance"])
    # PTB drops case and ".": 7 of 10 unigrams match; brevity penalty exp(1 - 11/10)
    assert m["caption_tokenizer"] == "ptb" and m["bleu1"] == pytest.approx(7 / 10 * math.exp(1 - 11 / 10))
    # METEOR pools matches over the corpus: 7 of 10 hypothesis and 7 of 11 reference words, one chunk
    assert 0.3 < m["meteor"] < 0.8


def test_paired_t_test_on_students_sleep_data():
    # Cushny & Peebles sleep data (R's `sleep`): t.test(extra ~ group, paired = TRUE) gives t = -4.0621,
    # df = 9, p = 0.002833 (two-sided); one-tailed "group 2 > group 1" is half that
    g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    two = S.paired_t_test(g1, g2, alternative="two-sided")
    assert two["t"] == pytest.approx(-4.0621, abs=1e-4) and two["df"] == 9
    assert two["p"] == pytest.approx(0.002833, abs=1e-6)
    one = S.paired_t_test(g2, g1)
    assert one["t"] == pytest.approx(4.0621, abs=1e-4) and one["p"] == pytest.approx(0.002833 / 2, abs=1e-6)
    assert S.paired_t_test(g1, g2)["p"] > 0.99
    same = S.paired_t_test([1.0, 2.0], [0.0, 1.0])  # constant difference: no variance, A better
    assert same["t"] == math.inf and same["p"] == 0.0


def test_mcnemar():
    # A right / B wrong on 8, A wrong / B right on 2 -> exact two-sided binomial p = 2 P(X <= 2 | 10, 1/2)
    ca = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5
    cb = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 5
    r = S.mcnemar(ca, cb)
    assert (r["b"], r["c"], r["exact"]) == (8, 2, True)
    assert r["p"] == pytest.approx(2 * sum(math.comb(10, k) for k in range(3)) / 2 ** 10)
    big_a = [1] * 30 + [0] * 10
    big_b = [0] * 30 + [1] * 10
    r = S.mcnemar(big_a, big_b)
    assert r["statistic"] == pytest.approx((abs(30 - 10) - 1) ** 2 / 40) and not r["exact"]
    # chi-square with 1 df: sf(x) = erfc(sqrt(x / 2))
    assert r["p"] == pytest.approx(math.erfc(math.sqrt(19 ** 2 / 40 / 2)))


def test_ua_scores_average_to_ua_and_the_bootstrap_brackets_the_difference():
    refs = ["neutral"] * 6 + ["sad"] * 2
    a = ["neutral"] * 6 + ["sad", "sad"]              # UA 1
    b = ["neutral"] * 6 + ["neutral", "sad"]          # UA (1 + 1/2) / 2 = 3/4, WA 7/8
    assert S.ua_scores(refs, b).mean() == pytest.approx(0.75)
    assert S.ua_scores(refs, b).tolist() == [8 / 12] * 6 + [0.0, 2.0]
    boot = S.bootstrap_ua_difference(refs, a, b, n_resamples=500)
    assert boot["ua_diff"] == pytest.approx(0.25)
    low, high = boot["ci95"]
    assert 0.0 <= low <= 0.25 <= high <= 0.5  # resamples without the one discordant clip give 0
    assert S.bootstrap_ua_difference(refs, a, a, n_resamples=200)["ci95"] == [0.0, 0.0]


def _preds(refs, hyps, prefix="c"):
    return [{"id": f"{prefix}{i}", "reference": r, "predicted": h} for i, (r, h) in enumerate(zip(refs, hyps))]


def test_compare_pairs_by_id_not_by_position():
    import random

    refs = ["neutral", "happy", "angry", "sad"] * 10
    hyps = [r if i % 3 else "neutral" for i, r in enumerate(refs)]
    a = _preds(refs, hyps)
    shuffled = a[:]
    random.Random(0).shuffle(shuffled)
    same = S.compare_predictions(a, shuffled)  # a file against its own shuffled copy: nothing differs
    assert same["mcnemar_wa"]["b"] == same["mcnemar_wa"]["c"] == 0 and same["bootstrap_ua"]["ua_diff"] == 0.0
    oracle = _preds(refs, refs)
    r = S.compare_predictions(oracle, a)
    wrong = sum(x != y for x, y in zip(refs, hyps))
    assert r["n"] == 40 and r["mcnemar_wa"]["b"] == wrong and r["mcnemar_wa"]["c"] == 0
    assert r["ua_a"] == 1.0 and r["ua_b"] == pytest.approx(S.ua_scores(refs, hyps).mean())
    assert r["bootstrap_ua"]["ci95"][0] > 0 and r["t_test_ua"]["p"] < 0.05 and r["t_test_wa"]["p"] < 0.05
    with pytest.raises(ValueError, match="same clips"):
        S.compare_predictions(a, a[:-1])
    with pytest.raises(ValueError, match="twice"):
        S.compare_predictions(a + a[:1], a + a[1:2])
    with pytest.raises(ValueError, match="different references"):
        S.compare_predictions(a, _preds(["sad"] * 40, hyps))


def test_aggregate_folds():
    folds = [{"ua": 0.7, "wa": 0.6}, {"ua": 0.8, "wa": 0.7}, {"ua": 0.9, "wa": 0.8}]
    agg = S.aggregate_folds(folds)
    assert agg["ua"]["mean"] == pytest.approx(0.8) and agg["ua"]["std"] == pytest.approx(0.1)
    assert agg["folds"] == 3 and "wer" not in agg
    assert S.format_folds(agg) == ["UA 80.0 +- 10.0 % (3 folds)", "WA 70.0 +- 10.0 % (3 folds)"]


def test_cli_folds_aggregates_fold_metrics(tmp_path, capsys):
    import json

    from train.__main__ import main

    paths = []
    for k, (ua, wa) in enumerate([(0.6, 0.7), (0.8, 0.9), (0.7, 0.8)], 1):
        path = tmp_path / f"Session{k}.json"
        path.write_text(json.dumps({"ua": ua, "wa": wa, "n": 100, "splits": [f"Session{k}"]}))
        paths.append(str(path))
    assert main(["folds", *paths, "--out", str(tmp_path / "agg.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["folds"] == 3 and out["ua"]["mean"] == pytest.approx(0.7) and out["ua"]["std"] == pytest.approx(0.1)
    assert out["wa"]["values"] == pytest.approx([0.7, 0.9, 0.8]) and "macro_f1" not in out
    assert json.loads((tmp_path / "agg.json").read_text()) == out
    assert out["summary"][0] == "UA 70.0 +- 10.0 % (3 folds)"
    assert main(["folds", str(tmp_path / "missing.json")]) == 2
    assert main(["folds", paths[0], paths[0]]) == 2  # the same fold twice
    # two systems' fold aggregates pair by fold name for the paired one-tailed t-test on fold UAs
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**out, "ua": {**out["ua"], "values": [0.5, 0.75, 0.55]}}))
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "agg.json"), str(other)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["folds"] == ["Session1", "Session2", "Session3"]
    assert result["paired_t_test"]["mean_diff"] == pytest.approx((0.1 + 0.05 + 0.15) / 3)

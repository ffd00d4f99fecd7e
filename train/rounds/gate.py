"""The promotion gate (issue 9, item 5): a candidate is promoted only when it agrees better with people on
corrections it did not train on AND has not forgotten its parent's test set; otherwise rejected, with reasons.

Forgetting that could not be measured is a reason to reject, never a drop of zero.
"""

from __future__ import annotations

from train.rounds.config import RoundConfig

PROMOTED, REJECTED = "promoted", "rejected"


def _pts(x: float) -> str:
    return f"{100 * x + 0.0:+.1f} points"  # + 0.0: never "-0.0"


def decide(heldout: dict | None, parent_test: dict, cfg: RoundConfig) -> tuple[str, list[str]]:
    """(status, reasons). ``heldout``: scoring.compare(...) or None; ``parent_test``: {"measured", "before",
    "after", "reason"} with UA in before/after."""
    reasons, ok = [], True
    metric = cfg.gate_metric
    if heldout is None or heldout["after"]["n"] < cfg.min_eval:
        n = 0 if heldout is None else heldout["after"]["n"]
        reasons.append(f"only {n} held-out correction(s); at least {cfg.min_eval} are needed to judge a round "
                       "(round.min_eval): collect more corrections")
        ok = False
    else:
        gain = heldout["difference"][metric]
        p = heldout["mcnemar"]["p"]
        by_gain = gain >= cfg.min_gain - 1e-12
        by_test = gain > 0 and p < cfg.alpha
        passed = {"gain": by_gain, "significant": by_test, "gain_or_significant": by_gain or by_test}[cfg.gate_rule]
        rule = {"gain": f">= {_pts(cfg.min_gain)} needed", "significant": f"McNemar p < {cfg.alpha} needed",
                "gain_or_significant": f">= {_pts(cfg.min_gain)} or McNemar p < {cfg.alpha} needed"}[cfg.gate_rule]
        reasons.append(f"held-out agreement with people ({metric}) {_pts(gain)}, McNemar p = {p:.3g} "
                       f"({'passes' if passed else 'fails'}: {rule})")
        ok &= passed
    if not parent_test.get("measured"):
        reasons.append(f"forgetting unmeasured ({parent_test.get('reason', 'no parent test set')}): a candidate "
                       "cannot be promoted without the parent's test set")
        ok = False
    else:
        drop = parent_test["before"]["ua"] - parent_test["after"]["ua"]
        passed = drop <= cfg.max_forgetting + 1e-12
        reasons.append(f"parent-test UA {_pts(-drop)} ({'passes' if passed else 'fails'}: a drop of at most "
                       f"{100 * cfg.max_forgetting:.1f} points allowed)")
        ok &= passed
        ok &= _class_guard(parent_test, cfg, reasons)
    return (PROMOTED if ok else REJECTED), reasons


def _class_guard(parent_test: dict, cfg: RoundConfig, reasons: list[str]) -> bool:
    """The parent-test class whose recall fell most: always a reason; with ``max_class_drop`` < 1 it must not
    have fallen by more than that."""
    before, after = (parent_test[k].get("per_class_recall") or {} for k in ("before", "after"))
    drops = {label: before[label] - after[label] for label in before if label in after}
    if not drops:
        return True
    label = max(drops, key=drops.get)
    gated = cfg.max_class_drop < 1.0  # not gated, still said: the admin reads it beside the decision
    passed = not gated or drops[label] <= cfg.max_class_drop + 1e-12
    verdict = (f"{'passes' if passed else 'fails'}: at most {100 * cfg.max_class_drop:.1f} points per class"
               if gated else "not gated: round.max_class_drop=1")
    reasons.append(f"parent-test recall of {label} {_pts(-drops[label])} (the largest drop; {verdict})")
    return passed

"""Rounds of learning from people (issue 9): ``python -m train from-store`` and the app's Model tab.

- plan.py     the schedule follows the data: stage blocks of one epoch, every correction reaches SER-SED+ASR
- split.py    corrections split by clip (k-fold when few), so the round is judged on clips it did not see
- recipes.py  each checkpoint's recipe for its own test set (forgetting) and training data (replay)
- scoring.py  agreement with people before/after: accuracy, UA, recall, McNemar, bootstrap interval
- gate.py     promoted only when people's agreement improves and the parent's test UA holds
- report.py   round.json, the before/after table, the card that keeps the parent's warnings
- run.py      run_round(db, checkpoint, progress=...) ties them together
- jobs.py     a background worker for the app (one round at a time, progress, result)
"""

from train.rounds.config import RoundConfig


def run_round(*args, **kwargs):
    from train.rounds.run import run_round as _run
    return _run(*args, **kwargs)


__all__ = ["RoundConfig", "run_round"]

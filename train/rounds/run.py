"""One round, top to bottom: corrections -> split by clip -> parent's test set and replay -> k-fold models and
the candidate -> both evaluations -> the gate -> checkpoint, round.json, card, store row.

    result = run_round("data/emoexplain.db", "assets/demo_checkpoint", progress=lambda f, msg: print(f, msg))

Nothing is written before the store, the checkpoint and the configs have been checked (a RoundError or a
ConfigError says what to do). ``progress(fraction, message)`` is called at each step (the app's worker shows it).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from train.rounds import recipes
from train.rounds.config import RoundConfig, split_overrides
from train.rounds.report import ROUND_FILE, card, store_metrics, table, write_round

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "from_store.json"
STAGES = ("asr", "ser_sed_asr")


def _say(progress, fraction: float, message: str) -> None:
    print(f"[round] {message}", flush=True)
    if progress is not None:
        progress(min(1.0, fraction), message)


def _warn(progress, fraction, message: str, warnings: list) -> None:
    warnings.append(message)
    print(f"[round] WARNING: {message}", file=sys.stderr, flush=True)
    if progress is not None:
        progress(min(1.0, fraction), "WARNING: " + message)


def load_configs(config_path=None, overrides=()):
    from train.config import TrainConfig

    train_items, _ = split_overrides(overrides)
    return TrainConfig.from_file(config_path or DEFAULT_CONFIG, train_items), RoundConfig.from_overrides(overrides)


def run_round(db: str, checkpoint: str, *, out_dir: str | None = None, config_path: str | None = None,
              overrides=(), replay_manifest: str | None = None, parent_test_manifest: str | None = None,
              progress=None, campaign: str | None = None) -> dict:
    """Run one round; returns {"checkpoint", "run_id", "round"} (``round`` = round.json)."""
    from emoexplain.errors import RoundError
    from emoexplain.model import load_explainer

    from train.data.store import corrections_for_round
    from train.rounds.plan import round_schedule
    from train.rounds.split import split_corrections

    t0, seconds, warnings = time.perf_counter(), {}, []
    train_cfg, round_cfg = load_configs(config_path, overrides)
    # 1. checks first: nothing is written unless store, parent and configs are usable
    parent = load_explainer(checkpoint)
    corrected, counts = corrections_for_round(db, parent.label_set, min_agreement=train_cfg.min_agreement,
                                              consent_only=train_cfg.consent_only, campaign=campaign)
    corrected = [{**r, "weight": 1.0} for r in corrected]  # every correction once per epoch (plan.py)
    k_replay = int(round(train_cfg.replay_fraction * len(corrected)))
    round_schedule(train_cfg, len(corrected) + k_replay)  # refuses a schedule that never reaches ser_sed_asr
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(out_dir) if out_dir else Path("runs") / f"from-store-{stamp}"
    if (run_dir / "checkpoint" / ROUND_FILE).exists():
        raise RoundError(f"{run_dir} already holds a round; pass another --out folder.")
    _say(progress, 0.02, f"{len(corrected)} corrections from the store ({counts})")

    # 2. the parent's own test set (forgetting) and training data (replay)
    data = recipes.checkpoint_data(checkpoint)
    if parent_test_manifest:
        data["test"] = {"kind": "manifest", "path": parent_test_manifest, "split": "test"}
    if replay_manifest:
        data["train"] = {"kind": "manifest", "path": replay_manifest, "split": "train"}
    t = time.perf_counter()
    parent_test, test_reason = _load(data.get("test"), round_cfg, limit=round_cfg.parent_test_max)
    if parent_test is None:
        _warn(progress, 0.04, f"FORGETTING WILL NOT BE MEASURED: the parent's test set cannot be had "
                              f"({test_reason}); the gate will reject the candidate", warnings)
    else:
        _say(progress, 0.04, f"parent test set: {parent_test.source} ({len(parent_test.rows)} clips)")
        test_hashes = {r.get("audio_sha256") for r in parent_test.rows}
        overlap = [r for r in corrected if r.get("audio_sha256") in test_hashes]
        if overlap:
            corrected = [r for r in corrected if r not in overlap]
            counts["parent_test_clips"] = len(overlap)
            _warn(progress, 0.04, f"{len(overlap)} corrected clip(s) are clips of the parent's test set: left out "
                                  "of the round so the forgetting measurement stays clean", warnings)
        if not corrected:
            raise RoundError("Every correction is a clip of the checkpoint's own test set; correct other clips.")
    balance = Counter(r["emotion"] for r in corrected) if round_cfg.replay_balance else None
    replay, replay_reason = _load(data.get("train"), round_cfg, sample=k_replay, seed=train_cfg.seed,
                                  measure=True, balance=balance) if k_replay else (None, "replay_fraction is 0")
    if replay is None:
        _warn(progress, 0.06, f"NO REPLAY: the parent's training data cannot be had ({replay_reason}); the round "
                              "trains on the corrections alone and may forget", warnings)
    else:
        _say(progress, 0.06, f"replay: {len(replay.rows)} clips, {replay.source}")
    replay_rows = [{**r, "weight": 1.0} for r in (replay.rows if replay else [])]
    if replay_rows and round_cfg.replay_labels == "parent":  # distillation: replay keeps what the parent said
        from train.rounds.scoring import predict_labels as _labels
        replay_rows = [{**r, "emotion": label} for r, label in zip(replay_rows, _labels(parent, replay_rows))]
    seconds["data"] = time.perf_counter() - t

    # 3. held-out corrections: k-fold (few) or one held-out part (many); the parent judges all of them first
    split = split_corrections(corrected, round_cfg, seed=train_cfg.seed)
    t = time.perf_counter()
    from train.rounds.scoring import predict_labels
    held = [r for _, h in split.folds for r in h]
    before_held = predict_labels(parent, held) if held else []
    before_test = predict_labels(parent, parent_test.rows) if parent_test else []
    seconds["parent_eval"] = time.perf_counter() - t
    _say(progress, 0.12, f"split {split.describe()}; parent judged {len(held)} held-out corrections")

    # 4. fold models (k-fold) and the candidate, ``round.workers`` at a time
    t = time.perf_counter()
    jobs = []
    for i, (fold_train, fold_held) in enumerate(split.folds):
        replay_k = _replay_for(fold_train, replay_rows, train_cfg.replay_fraction, round_cfg.replay_balance)
        candidate = split.mode == "holdout"   # one held-out part: its model is the candidate itself
        jobs.append(Job(f"fold {i + 1}/{len(split.folds)}", fold_train + replay_k, fold_held,
                        run_dir if candidate else run_dir / "folds" / f"fold-{i + 1}", candidate,
                        len(fold_train), len(replay_k)))
    if split.mode != "holdout":
        jobs.append(Job("candidate", corrected + replay_rows, [], run_dir, True, len(corrected), len(replay_rows)))
    done = _run_jobs(jobs, checkpoint, train_cfg, round_cfg, progress)
    after_held = [label for job in jobs if job.held for label in done[job.name]["labels"]]
    fold_steps = [done[job.name]["steps"] for job in jobs if job.held]
    final = next(job for job in jobs if job.candidate)
    candidate = load_explainer(str(final.run_dir / "checkpoint"))
    candidate_steps, n_train, n_replay = done[final.name]["steps"], final.n_corrections, final.n_replay
    seconds["train"] = time.perf_counter() - t
    _say(progress, 0.88, f"candidate steps {candidate_steps}; evaluating on the parent's test set")

    # 5. both evaluations, the gate, and what the round leaves behind
    t = time.perf_counter()
    after_test = predict_labels(candidate, parent_test.rows) if parent_test else []
    seconds["candidate_eval"] = time.perf_counter() - t
    report = _report(parent, checkpoint, split, held, before_held, after_held, parent_test, test_reason,
                     before_test, after_test, round_cfg, train_cfg, counts, replay, replay_reason,
                     candidate_steps, fold_steps, n_train, n_replay, len(corrected), warnings)
    report["version"] = f"{parent.version}+store.{stamp}"
    seconds["total"] = time.perf_counter() - t0
    report["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    folder = _save(candidate, run_dir, report, parent, data, train_cfg)
    run_id = _record(db, report, folder, checkpoint, candidate, train_cfg, round_cfg, n_train + n_replay)
    report["store_run_id"] = run_id
    write_round(folder, report)
    write_round(run_dir, report)
    _say(progress, 1.0, f"{report['status']}: " + "; ".join(report["reasons"]))
    print(table(report), flush=True)
    return {"checkpoint": str(folder), "run_id": run_id, "round": report}


def _load(recipe, round_cfg, *, limit=0, sample=None, seed=0, measure=False, balance=None):
    try:
        return recipes.load(recipe, cache_dir=round_cfg.cache_dir, sample=sample, limit=limit, seed=seed,
                            measure=measure, balance=balance), None
    except recipes.Unavailable as exc:
        return None, str(exc)


def _replay_for(fold_train: list[dict], replay_rows: list[dict], ratio: float, balance: bool) -> list[dict]:
    """A fold's replay: ``ratio`` rows per training correction, out of the round's replay sample."""
    k = int(round(ratio * len(fold_train)))
    if not balance:
        return replay_rows[:k]
    pools: dict[str, list[dict]] = {}
    for row in replay_rows:
        pools.setdefault(row["emotion"], []).append(row)
    have = Counter(r["emotion"] for r in fold_train)
    order = recipes.balanced_order({c: len(p) for c, p in pools.items()}, have, k)
    return [pools[label].pop() for label in order]


@dataclass(frozen=True)
class Job:
    """One model a round trains: a fold model (judges ``held``) and/or the candidate (saved to run_dir)."""
    name: str
    rows: list
    held: list
    run_dir: Path
    candidate: bool
    n_corrections: int
    n_replay: int


def _run_jobs(jobs: list[Job], checkpoint, cfg, round_cfg, progress) -> dict[str, dict]:
    """{job name: {"labels", "steps"}}; in this process, or in ``round.workers`` spawned ones (each one torch
    thread: on 2 cores two folds train at once in about the time of one)."""
    out = {}
    if round_cfg.workers == 1:
        for i, job in enumerate(jobs):
            _say(progress, 0.12 + 0.75 * i / len(jobs), f"{job.name}: training on {job.n_corrections} corrections")
            out[job.name] = _fit_job(job, checkpoint, cfg, round_cfg.anchor)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _say(progress, 0.12, f"training {len(jobs)} models, {round_cfg.workers} at a time")
    with ProcessPoolExecutor(round_cfg.workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_thread) as pool:
        futures = {pool.submit(_fit_job, job, checkpoint, cfg, round_cfg.anchor): job for job in jobs}
        for n, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            out[job.name] = future.result()
            _say(progress, 0.12 + 0.75 * n / len(jobs), f"{job.name} trained ({n}/{len(jobs)})")
    return out


def _one_thread() -> None:
    import torch
    torch.set_num_threads(1)


def _fit_job(job: Job, checkpoint, cfg, anchor: float) -> dict:
    from train.rounds.scoring import predict_labels

    model, steps = _train(checkpoint, job.rows, cfg, job.run_dir, save=job.candidate, anchor=anchor)
    return {"labels": predict_labels(model, job.held) if job.held else [], "steps": steps}


def _train(checkpoint, rows, cfg, run_dir: Path, *, save: bool, anchor: float = 0.0):
    """A fresh copy of the parent trained on ``rows`` with the round's data-dependent schedule; ``anchor`` > 0
    pulls every trained weight that fraction of the way back to the parent's after each step (L2 toward the
    parent's weights, decoupled from the optimizer like AdamW's weight decay)."""
    from emoexplain.model import load_explainer
    from train import schedule as sched
    from train.loop import fit
    from train.rounds.plan import round_schedule

    cfg = dataclasses.replace(round_schedule(cfg, len(rows)), out_dir=str(run_dir), eval_every_epoch=False,
                              save_every=10 ** 9)  # no resumable state: a round restarts from its parent
    explainer = load_explainer(checkpoint)
    on_step = None
    if anchor:
        params = {id(p): p for stage in sched.stages_of(cfg.schedule) for p in explainer.stage_parameters(stage)}
        start = [(p, p.detach().clone()) for p in params.values()]

        def on_step(model, progress, stage):
            import torch
            with torch.no_grad():
                for param, parent_value in start:
                    param.lerp_(parent_value, anchor)

    result = fit(cfg, train_rows=rows, eval_rows=[], explainer=explainer, save_final=save, on_step=on_step)
    steps = {stage: int(result.progress.stage_steps.get(stage, 0)) for stage in STAGES}
    print(f"[round] steps per stage: {steps} over {len(rows)} rows", flush=True)
    return result.explainer, steps


def _report(parent, checkpoint, split, held, before_held, after_held, parent_test, test_reason, before_test,
            after_test, round_cfg, train_cfg, counts, replay, replay_reason, steps, fold_steps, n_train, n_replay,
            n_corrections, warnings) -> dict:
    from train.rounds.gate import decide
    from train.rounds.scoring import agreement, compare

    labels = list(parent.labels)
    heldout = compare([r["emotion"] for r in held], before_held, after_held, labels,
                      n_resamples=round_cfg.bootstrap, seed=train_cfg.seed) if held else None
    if parent_test is not None:
        refs = [r["emotion"] for r in parent_test.rows]
        pt = {"measured": True, "source": parent_test.source, "n": len(refs),
              "before": agreement(refs, before_test, labels), "after": agreement(refs, after_test, labels)}
    else:
        pt = {"measured": False, "reason": test_reason, "before": None, "after": None}
    status, reasons = decide(heldout, pt, round_cfg)
    return {"status": status, "reasons": reasons, "heldout_human": heldout, "parent_test": pt,
            "steps": {**steps, "folds": fold_steps}, "n_train": n_train, "n_eval": len(held), "n_replay": n_replay,
            "n_corrections": n_corrections, "split": split.describe(), "filters": counts,
            "replay_source": replay.source if replay else f"none ({replay_reason})",
            "parent": {"checkpoint": str(checkpoint), "version": parent.version},
            "config": {"train": train_cfg.to_dict(), "round": round_cfg.to_dict()}, "warnings": warnings,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _save(candidate, run_dir: Path, report, parent, data, train_cfg) -> Path:
    from emoexplain.model import save_checkpoint

    folder = run_dir / "checkpoint"
    candidate.freeze()
    save_checkpoint(candidate, folder, metrics=store_metrics(report), train_config=train_cfg.to_dict(),
                    card=card(report, parent.card_markdown), version=report["version"])
    # the child is judged on its parent's test set again and replays the parent's data in its next round
    recipes.write_checkpoint_data(folder, {k: v for k, v in data.items() if k in ("train", "test")})
    return folder


def _record(db, report, folder, checkpoint, candidate, train_cfg, round_cfg, n_examples) -> int:
    from emoexplain.store import open_store, record_training_run

    store = open_store(db)
    try:
        return record_training_run(store, checkpoint=str(folder), base_checkpoint=str(checkpoint),
                                   model_name=candidate.name, model_version=report["version"],
                                   n_examples=n_examples, config={"train": train_cfg.to_dict(),
                                                                  "round": round_cfg.to_dict()},
                                   metrics=store_metrics(report), round=report,
                                   parent_version=report["parent"]["version"])
    finally:
        store.close()

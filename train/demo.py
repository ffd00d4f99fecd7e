"""``python -m train demo``: the embedded demo checkpoint, reproducible from one command.

1. generate the synthetic espeak-ng corpus (train/data/synthetic.py; NOT real emotional speech);
2. train the ``tiny`` preset with the alternating schedule (train/configs/demo_tiny.json; prosody input on);
3. evaluate on the held-out split (sentences AND voices never heard in training);
4. optionally (``--ablation``) train the same recipe without the prosody input and report both;
5. write the checkpoint (with a model card that says what it is and is not, and the recipe that regenerates
   its training and test clips from the corpus spec and seed) to assets/demo_checkpoint and a few held-out
   example clips to assets/examples/.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from pathlib import Path

from emoexplain.audio import SAMPLE_RATE
from emoexplain.paths import EXAMPLES_DIR
from emoexplain.text import percent

CONFIG = Path(__file__).resolve().parent / "configs" / "demo_tiny.json"


def run_demo(*, work_dir="runs/demo", out="assets/demo_checkpoint", overrides=(), n_train=4000, n_test=400,
             ablation=False, threads=1, examples_dir: str | Path | None = EXAMPLES_DIR) -> dict:
    import torch

    from emoexplain.model import save_checkpoint
    from train.config import TrainConfig
    from train.data.manifest import read_manifest, summary
    from train.data.synthetic import SyntheticSpec, generate
    from train.evaluate.report import write_report
    from train.evaluate.runner import evaluate_explainer
    from train.loop import fit
    from train.rounds.recipes import synthetic_recipe, write_checkpoint_data

    # One thread by default: this tiny model gains little from a second one, and when anything else runs on a
    # 2-core machine, two intra-op threads oversubscribe it (measured 0.4 s/step with 1 thread vs 4-6 s with 2).
    torch.set_num_threads(max(1, threads))
    t0 = time.time()
    work = Path(work_dir)
    spec = SyntheticSpec(n_train=n_train, n_test=n_test)
    manifest = cached_corpus(work / "corpus", spec) or generate(work / "corpus", spec)
    if manifest.is_relative_to(Path.cwd()):  # no machine-specific absolute paths in the committed config.json
        manifest = manifest.relative_to(Path.cwd())
    (work / "corpus" / "spec.json").write_text(json.dumps(dataclasses.asdict(spec), indent=2))
    t_data = time.time() - t0
    rows = read_manifest(manifest)
    print(f"[demo] corpus: {summary(rows)} in {t_data:.0f} s")
    cfg = TrainConfig.from_file(CONFIG, [f"--train_manifest={manifest}", f"--out_dir={work}/{{name}}", *overrides])
    test_rows = [r for r in rows if r["split"] == "test"]
    train_rows = [r for r in rows if r["split"] == "train"]
    quick_eval = lambda m, rows: evaluate_explainer(m, rows[:64], generate_max=8)  # noqa: E731  (during training)

    runs = {}
    variants = [("prosody", cfg)]
    if ablation:
        variants.append(("no_prosody", dataclasses.replace(cfg, name=cfg.name + "_no_prosody",
                                                           model={**cfg.model, "use_prosody": False})))
    for label, c in variants:
        t1 = time.time()
        result = fit(c, train_rows=train_rows, eval_rows=test_rows, evaluate_fn=quick_eval, save_final=False)
        train_s = time.time() - t1
        t2 = time.time()
        metrics = evaluate_explainer(result.explainer, test_rows, generate_max=min(len(test_rows), 100),
                                     keep_predictions=True)
        predictions = list(metrics.get("predictions") or [])
        correct = [p["reference"] == p["predicted"] for p in predictions]
        write_report(dict(metrics), c.run_dir / "eval", title=f"demo ({label}) on held-out synthetic clips")
        metrics.pop("predictions", None)
        runs[label] = {"correct": correct, "predictions": predictions, "result": result, "metrics": metrics, "train_s": train_s, "eval_s": time.time() - t2,
                       "steps": result.progress.step, "config": c}
        print(f"[demo] {label}: {result.progress.step} steps in {train_s:.0f} s; UA {metrics['ua']:.3f} "
              f"WER {metrics.get('wer', float('nan')):.3f}")

    main = runs["prosody"]
    facts = {"corpus": {"train": len(train_rows), "test": len(test_rows), "spec": dataclasses.asdict(spec),
                        "generate_s": round(t_data)},
             "runs": {k: {"steps": v["steps"], "train_s": round(v["train_s"]), "eval_s": round(v["eval_s"]),
                          "metrics": _headline(v["metrics"])} for k, v in runs.items()},
             "total_s": round(time.time() - t0), "command": "python -m train demo" + (" --ablation" if ablation else "")}
    if ablation:
        from train.evaluate.stats import mcnemar
        facts["mcnemar_prosody_vs_no_prosody"] = mcnemar(runs["prosody"]["correct"], runs["no_prosody"]["correct"])
    for example in main["metrics"].get("examples") or []:  # repo-relative clip paths in the committed metrics
        path = Path(example.get("audio") or "")
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            example["audio"] = str(path.relative_to(Path.cwd()))
    version = time.strftime("synthetic-demo-%Y%m%d")
    explainer = main["result"].explainer
    explainer.freeze()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    save_checkpoint(explainer, out, metrics={**main["metrics"], "demo": facts},
                    train_config=main["config"].to_dict(), card=model_card(facts, main["metrics"]), version=version)
    # how to rebuild its training data (replay) and test set (forgetting) without runs/demo: train/rounds/recipes.py
    write_checkpoint_data(out, {split: synthetic_recipe(spec, split) for split in ("train", "test")})
    write_associations(out, train_rows, list(explainer.labels), spec)
    (work / "demo_facts.json").write_text(json.dumps(facts, indent=2))
    if examples_dir:
        write_examples(test_rows, Path(examples_dir), predictions=main["predictions"] or None,
                       check=lambda path: _label_of(explainer, path))
    print(json.dumps(facts, indent=2))
    return facts


def write_associations(out: Path, train_rows: list[dict], labels: list[str], spec) -> None:
    """The label-descriptor lift table beside the checkpoint: the direction each explanation implies, which the
    probes' consistency score reads (emoexplain/probe_score.py)."""
    from emoexplain.probe_score import ASSOCIATIONS_FILE, descriptor_associations

    source = (f"the demo training corpus (python -m train prepare synthetic --out-dir runs/demo/corpus: "
              f"train/data/synthetic.py, seed {spec.seed}), train split, {len(train_rows)} clips, descriptor words "
              "measured by the acoustic engine")
    table = descriptor_associations(train_rows, labels, source=source)
    (out / ASSOCIATIONS_FILE).write_text(json.dumps(table, indent=1) + "\n")


def cached_corpus(folder: Path, spec) -> Path | None:
    """The manifest of a corpus already generated with the same spec (so a second run skips the ~3 min of
    synthesis and descriptor measurement), else None."""
    manifest, saved = folder / "manifest.jsonl", folder / "spec.json"
    try:
        if manifest.is_file() and json.loads(saved.read_text()) == dataclasses.asdict(spec):
            return manifest
    except (OSError, ValueError):
        pass
    return None


def _headline(m: dict) -> dict:
    keys = ("ua", "wa", "macro_f1", "weighted_f1", "wer", "descriptor_acc_mean", "bleu4", "rouge_l", "n", "n_generated")
    out = {k: m.get(k) for k in keys if m.get(k) is not None}
    out["descriptor_accuracy"] = {k: v["accuracy"] for k, v in (m.get("descriptor_accuracy") or {}).items()
                                  if k != "mean"}
    return out


def model_card(facts: dict, metrics: dict) -> str:
    """The README of the demo checkpoint: what it was trained on, what it is not, and its held-out numbers."""
    from train.evaluate.report import summary_table

    run = facts["runs"]["prosody"]
    lines = [
        "---", "license: mit", "tags: [speech-emotion-recognition, explainable-ai, synthetic-data, demo]", "---", "",
        "# emoexplain demo checkpoint (tiny, trained on SYNTHETIC speech)", "",
        "**This is not a real emotion recognizer.** It was trained only on synthetic speech made with the "
        "espeak-ng formant synthesiser, where the four \"emotions\" (neutral, happy, angry, sad) are prosody "
        "settings (pitch level and range, speaking rate, loudness, emphasis) taken from the vocal-affect "
        "literature. It learned to read those settings from robotic speech. On human speech its labels, "
        "descriptors and captions are meaningless. It exists so that the app, the tests and the training loop "
        "run offline on a CPU; train a real model with `python -m train fit` on IEMOCAP / MELD / SpeechCraft.", "",
        "## What it is",
        "- Architecture: the paper's system at the `tiny` preset (random frozen tiny HuBERT -> content and "
        "descriptor information-bottleneck branches -> adapters -> random tiny LLaMA + LoRA), with the optional "
        "prosody input (frame log-F0, voicing, energy) into the descriptor branch, which the paper does not have.",
        f"- Data: {facts['corpus']['train']} synthetic training clips, {facts['corpus']['test']} held-out test "
        "clips whose sentences AND voices never occur in training (train/data/synthetic.py). Descriptor words "
        "were measured by the acoustic engine (automatic).",
        f"- Training: alternating ASR / SER-SED+ASR schedule, {run['steps']} optimizer steps in "
        f"{run['train_s'] / 60:.1f} min (one torch thread on a shared 2-core CPU), with speed/noise/gain augmentation "
        "and tempo perturbation (speaking rate changed with pitch and level kept, so that pace alone does not "
        "decide the label; config: train_config in config.json).",
        f"- Reproduce: `{facts['command']}` (about {facts['total_s'] / 60:.0f} min in total).", "",
        "## Held-out synthetic test set (unseen sentences and voices)", "",
        summary_table(metrics), "",
        "UA/WA/F1 come from label scoring (log-likelihood of each label after `Emotion:`); WER, descriptor "
        f"accuracy (against the acoustic engine's words) and BLEU-4/ROUGE-L from {metrics.get('n_generated')} "
        "generated captions. Chance UA is 25 %. WER can exceed 100 % (inserted words count as errors): the tiny "
        "random LLM has no language knowledge and transcribes unseen sentences poorly.",
    ]
    if "no_prosody" in facts["runs"]:
        a = facts["runs"]["no_prosody"]["metrics"]
        b = run["metrics"]
        lines += ["", "## Ablation: prosody input (same data and recipe)", "",
                  "| | UA | WA | macro F1 | WER | descriptor acc. | pitch word acc. |", "|---|---|---|---|---|---|---|"]
        pairs = facts.get("ablation_rows") or [("with prosody input (this checkpoint)", b),
                                                ("without (paper architecture)", a)]
        for name, m in pairs:
            shares = [m.get(k) for k in ("ua", "wa", "macro_f1", "wer", "descriptor_acc_mean")]
            shares.append((m.get("descriptor_accuracy") or {}).get("pitch"))
            lines.append(f"| {name} | " + " | ".join(percent(x, 1, " %") for x in shares) + " |")
        test = facts.get("mcnemar_prosody_vs_no_prosody")
        if test:
            lines += ["", f"McNemar on the {metrics.get('n')} held-out clips: b = {test['b']} (only the prosody model "
                      f"right), c = {test['c']} (only the other right), p = {test['p']:.2f}."]
        if facts.get("ablation_note"):
            lines += ["", facts["ablation_note"]]
    lines += ["", "## Limits", "- Synthetic voices only; labels are prosody settings, not felt or perceived emotion.",
              "- The tiny random backbones carry no pre-trained knowledge: transcripts of unseen sentences are poor.",
              "- Do not use it to make any decision about a person."]
    return "\n".join(lines) + "\n"


def _label_of(explainer, path: str) -> str:
    from emoexplain.audio import load_audio
    return explainer.predict(load_audio(path).samples, generate=False).label


def write_examples(test_rows: list[dict], folder: Path, per_class: int = 1, max_s: float = 3.1,
                   predictions: list[dict] | None = None, check=None) -> list[dict]:
    """A few held-out clips as small 16 kHz 16-bit WAV files + examples.json (the app offers them as examples).

    Clips longer than ``max_s`` are cut to ``max_s`` with a short fade (3.1 s x 32 kB/s < 100 KB); with
    ``check(path) -> label`` a written clip is kept only if the checkpoint still labels it correctly. With ``predictions`` (the held-out evaluation's, same order as ``test_rows``) the clips
    are chosen among those the checkpoint labels correctly, most confident first, and examples.json says so: the
    examples show what the model does when it is right, not how often it is (see the card for that).
    Old synthetic_* clips in ``folder`` are replaced."""
    import soundfile as sf

    from train.data.synthetic import EMOTIONS

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("synthetic_*"):
        old.unlink()
    ranked = list(zip(test_rows, predictions or [None] * len(test_rows)))
    if predictions:
        ranked = [(r, p) for r, p in ranked if p["predicted"] == r["emotion"]]
        ranked.sort(key=lambda rp: -max(rp[1]["probabilities"].values()) if isinstance(rp[1]["probabilities"], dict)
                    else -max(rp[1]["probabilities"]))
    else:  # the longest clips, so each example says a whole sentence at a natural pace
        ranked.sort(key=lambda rp: -(rp[0]["duration_s"] or 0))
    entries, seen = [], {}
    order = {e: i for i, e in enumerate(EMOTIONS)}
    for row, _ in ranked:
        emotion = row["emotion"]
        if seen.get(emotion, 0) >= per_class or (row["duration_s"] or 0) < 1.5:
            continue
        name = f"synthetic_{emotion}_{seen.get(emotion, 0) + 1}.wav"
        path = folder / name
        cut = ["trim", "0", str(max_s), "fade", "t", "0", str(max_s), "0.1"] if row["duration_s"] > max_s else []
        subprocess.run(["sox", "-V1", row["audio"], "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), *cut],
                       check=True)
        duration = sf.info(str(path)).duration
        if check is not None and check(str(path)) != emotion:
            path.unlink()
            continue
        seen[emotion] = seen.get(emotion, 0) + 1
        entries.append({"file": name, "emotion": emotion, "label_set": row["label_set"],
                        "transcript": row["transcript"], "speaker": row["speaker"], "gender": row["gender"],
                        "duration_s": round(duration, 3), "synthetic": True,
                        "descriptors": row.get("descriptors") or {}, "emphasis": row.get("emphasis") or [],
                        "note": "espeak-ng synthetic speech; the emotion is a prosody setting, not a real emotion. "
                                "Held out from the demo checkpoint's training (unseen sentence and voice)."})
    entries.sort(key=lambda e: (order.get(e["emotion"], 9), e["file"]))
    selection = ("held-out clips that the demo checkpoint labels correctly, most confident first (it is wrong "
                 "on about a third of held-out clips; see assets/demo_checkpoint/README.md)") if predictions else \
        "the longest held-out clips of each class under the size limit"
    (folder / "examples.json").write_text(json.dumps({"synthetic": True, "source": "train/data/synthetic.py",
                                                      "selection": selection, "examples": entries}, indent=2) + "\n")
    return entries

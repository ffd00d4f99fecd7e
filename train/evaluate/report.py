"""A markdown report of one evaluation (plus metrics.json, predictions.json, confusion.json/.png beside it)."""

from __future__ import annotations

import json
from pathlib import Path

from emoexplain.text import percent
from train.evaluate.metrics import save_confusion


def summary_table(metrics: dict) -> str:
    """One markdown table row set: UA, WA, F1s, WER, descriptor accuracy, BLEU-4, ROUGE-L."""
    rows = [("UA (balanced accuracy) %", metrics.get("ua")), ("WA (accuracy) %", metrics.get("wa")),
            ("macro F1 %", metrics.get("macro_f1")), ("weighted F1 %", metrics.get("weighted_f1")),
            ("WER %", metrics.get("wer")), ("descriptor accuracy (mean) %", metrics.get("descriptor_acc_mean")),
            ("BLEU-4 %", metrics.get("bleu4")), ("ROUGE-L %", metrics.get("rouge_l"))]
    lines = ["| metric | value |", "|---|---|"] + [f"| {name} | {percent(v, 1, '')} |" for name, v in rows if v is not None]
    per = metrics.get("descriptor_accuracy") or {}
    if per:
        lines += ["", "| descriptor | accuracy % | n |", "|---|---|---|"]
        lines += [f"| {k} | {percent(v['accuracy'], 1, '')} | {v['n']} |" for k, v in per.items() if k != "mean"]
    return "\n".join(lines)


def write_report(metrics: dict, folder: str | Path, *, title: str = "Evaluation") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    predictions = metrics.pop("predictions", None)
    if predictions is not None:
        (folder / "predictions.json").write_text(json.dumps({"predictions": predictions}, indent=1))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lines = [f"# {title}", "", f"{metrics.get('n', 0)} clips; captions generated for {metrics.get('n_generated', 0)}.",
             "", summary_table(metrics)]
    if "confusion" in metrics:
        _, png = save_confusion(metrics["confusion"], metrics["labels"], folder)
        head = "| reference \\ predicted | " + " | ".join(metrics["labels"]) + " |"
        lines += ["", "## Confusion matrix", "", head, "|---" * (len(metrics["labels"]) + 1) + "|"]
        lines += [f"| {label} | " + " | ".join(map(str, row)) + " |"
                  for label, row in zip(metrics["labels"], metrics["confusion"])]
        if png is not None:
            lines += ["", f"![confusion]({png.name})"]
    if metrics.get("examples"):
        lines += ["", "## Example captions", ""]
        lines += [f"- ({e['reference_emotion']}) {e['caption']}" for e in metrics["examples"]]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path

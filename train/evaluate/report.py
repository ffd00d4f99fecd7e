"""A markdown report of one evaluation (plus metrics.json, predictions.json, confusion.json/.png beside it)."""

from __future__ import annotations

import json
from pathlib import Path

from emoexplain.text import percent
from train.evaluate.metrics import save_confusion


CAPTION_ROWS = (("BLEU-1", "bleu1"), ("BLEU-2", "bleu2"), ("BLEU-3", "bleu3"), ("BLEU-4", "bleu4"),
                ("METEOR", "meteor"), ("ROUGE-L", "rouge_l"), ("CIDEr", "cider"), ("SPICE", "spice"))


def summary_table(metrics: dict) -> str:
    """Markdown tables: UA, WA, F1s, WER, descriptor accuracy, the caption metrics (x100, as the paper)."""
    rows = [("UA (balanced accuracy) %", metrics.get("ua")), ("WA (accuracy) %", metrics.get("wa")),
            ("macro F1 %", metrics.get("macro_f1")), ("weighted F1 %", metrics.get("weighted_f1")),
            ("WER %", metrics.get("wer")), ("descriptor accuracy (mean) %", metrics.get("descriptor_acc_mean"))]
    rows += [(f"{name} (x100)", metrics.get(key)) for name, key in CAPTION_ROWS]
    lines = ["| metric | value |", "|---|---|"] + [f"| {name} | {percent(v, 1, '')} |" for name, v in rows if v is not None]
    for key, reason in (metrics.get("caption_metrics_unavailable") or {}).items():
        lines.append(f"| {key.upper()} | not computed: {reason} |")
    per = metrics.get("descriptor_accuracy") or {}
    if per:
        lines += ["", "| descriptor | accuracy % | n |", "|---|---|---|"]
        lines += [f"| {k} | {percent(v['accuracy'], 1, '')} | {v['n']} |" for k, v in per.items() if k != "mean"]
    return "\n".join(lines)


def coverage(metrics: dict) -> str:
    """One sentence on which rows the numbers cover (the whole split unless --limit / generate_max said less)."""
    total, limit = metrics.get("n_rows"), metrics.get("limit")
    scope = f"the first {limit} of {total} rows (--limit {limit})" if limit else f"all {total} rows"
    gen = metrics.get("n_generated", 0)
    text = (f"Scored {scope} of split(s) {', '.join(metrics.get('splits') or ['?'])}: {metrics.get('n', 0)} with an "
            f"emotion reference; captions/transcripts generated for {gen}"
            + (f" (the first {gen}: --generate)" if gen < min(total or 0, limit or total or 0) else ""))
    if metrics.get("n_wer") is not None:
        text += f", {metrics['n_wer']} with a reference transcript (WER)"
    if metrics.get("caption_tokenizer"):
        text += f"; caption tokens: {metrics['caption_tokenizer']}"
    return text + "."


def write_report(metrics: dict, folder: str | Path, *, title: str = "Evaluation") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    predictions = metrics.pop("predictions", None)
    if predictions is not None:
        (folder / "predictions.json").write_text(json.dumps({"predictions": predictions}, indent=1))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lines = [f"# {title}", "", coverage(metrics), "", summary_table(metrics)]
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

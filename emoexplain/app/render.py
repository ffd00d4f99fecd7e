"""Turn an Explanation (the typed ``/analyze`` result) and the store's numbers into what the app shows.

Pure functions, no gradio import: each returns markdown strings, label dicts or highlight lists, so the
rendering is unit-tested without a browser. Every piece of free text (transcript, caption, notes, annotator
names, checkpoint paths) goes through :func:`escape_md`, so nothing a user or a model writes is ever rendered
as HTML or as markdown structure.
"""

from __future__ import annotations

import html
import math
import re

from emoexplain.explanation import Explanation
from emoexplain.text import normalize_word, percent

# Characters that carry meaning in (GitHub-flavoured) markdown; escaped with a backslash. "<", ">" and "&"
# are not here: html.escape turns them into entities afterwards (a backslash before "&" would show "&gt;").
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:@=])")  # ":", "@", "=": no autolinks, no setext headings
# Control characters (a random caption can hold them) and Unicode line/paragraph separators: dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
EMPHASIS_COLORS = {"emphasis (model)": "#f59e0b", "emphasis (measured)": "#60a5fa",
                   "emphasis (model + measured)": "#ef4444"}


def escape_md(text) -> str:
    """Make ``text`` inert inside markdown: no HTML tags, no links, no emphasis, no tables, one line."""
    text = "" if text is None else str(text)
    text = _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # last, so the entities' own "#" is not backslash-escaped (that would show "&\#x27;" literally); quotes
    # need no escaping outside attributes, and "&", "<", ">" become entities that no markdown rule touches
    return html.escape(text, quote=False)


def _num(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return escape_md(value)


def emotion_label(result: Explanation) -> dict[str, float]:
    """Class probabilities for ``gr.Label``."""
    return dict(result.emotion.probabilities)


def transcript_highlights(result: Explanation) -> list[tuple[str, str | None]]:
    """``gr.HighlightedText`` value: the transcript's words, emphasised ones tagged model / measured / both.

    A word counts as measured-emphasised when a measured emphasis segment names it or overlaps its timing.
    """
    by_model = {normalize_word(part) for w in result.descriptors.emphasis for part in w.word.split()}
    segments = result.acoustics.emphasis
    measured_words = {normalize_word(s.word) for s in segments if s.word}
    if result.words:
        timed = [(w.word, w.start_s, w.end_s) for w in result.words]
    else:
        timed = [(w, None, None) for w in (result.transcript or "").split()]
    out: list[tuple[str, str | None]] = []
    for i, (word, start, end) in enumerate(timed):
        key = normalize_word(word)
        measured = key in measured_words or (start is not None and any(s.overlaps(start, end) for s in segments))
        out.append((word, _emphasis_tag(key in by_model, measured)))
        if i < len(timed) - 1:
            out.append((" ", None))
    return out


def _emphasis_tag(by_model: bool, by_measure: bool) -> str | None:
    if by_model and by_measure:
        return "emphasis (model + measured)"
    if by_model:
        return "emphasis (model)"
    return "emphasis (measured)" if by_measure else None


def descriptor_markdown(result: Explanation) -> str:
    """A markdown table: descriptor, what the model said, what was measured, what it means, agreement (the
    Campaigns tab; the Analyse tab shows one card per descriptor, emoexplain.app.evidence)."""
    from emoexplain.app.evidence import descriptor_rows
    rows = descriptor_rows(result)
    if not rows:
        return "_No descriptors in this result._"
    lines = ["| descriptor | model | measured | what the measurement says | model vs measured |",
             "|---|---|---|---|---|"]
    for row in rows:
        mark = {True: "✓ same", False: "⚠ **differ**", None: "–"}[row.agree]
        lines.append(f"| {escape_md(row.title)} | {escape_md(row.model or '–')} | {escape_md(row.measured or '–')} | "
                     f"{escape_md(row.sentence)} | {mark} |")
    return "\n".join(lines)


def words_note(result: Explanation, is_demo: bool, emphasis_row=None) -> str:
    """Beside the transcript and caption: where their words come from, and model emphasis the transcript lacks."""
    notes = []
    if is_demo:
        notes.append("The transcript, caption and emphasis words come from the **demo model, trained on synthetic "
                     "(espeak-ng) speech**: on real speech they are often wrong or not words at all. The measured "
                     "evidence below is real.")
    missing = getattr(emphasis_row, "not_in_transcript", ())
    if missing:
        words = ", ".join(f"\u201c{escape_md(w)}\u201d" for w in missing)
        notes.append(f"The model says it heard stress on {words}, which the transcript does not contain.")
    return "\n\n".join(notes)


def subtitles(result: Explanation) -> list[dict]:
    """The transcript's timed words for gr.Audio's subtitles (shown as the clip plays)."""
    return [{"text": w.word, "timestamp": [round(w.start_s, 3), round(w.end_s, 3)]} for w in result.words
            if w.end_s > w.start_s]


def caption_markdown(result: Explanation) -> str:
    return f"> {escape_md(result.caption)}" if result.caption else "_The model wrote no caption._"


TRIM_HINT = ("To analyse another part, press the scissors (✂) under the waveform in the audio box, drag the "
             "selection over the part you want, press Trim, then Analyse again.")


def warnings_markdown(result: Explanation) -> str:
    """The result's warnings; a truncated clip also gets how to choose another part (the audio box's trim tool)."""
    lines = [f"- ⚠ {escape_md(w)}" for w in result.warnings]
    if result.acoustics.audio.truncated:
        lines.append(f"- ✂ {TRIM_HINT}")
    return "\n".join(lines)


def code_span(text) -> str:
    """``text`` as inline code (a path, an id): shown exactly, backticks inside included, never as markup."""
    text = _CONTROL.sub("", str(text).replace("\n", " "))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def summary_markdown(result: Explanation, analysis_id: int | None = None) -> str:
    """One line under the result: analysis id, model version, duration and latency."""
    audio = result.acoustics.audio
    parts = [] if analysis_id is None else [f"analysis #{int(analysis_id)}"]
    parts.append(f"model {escape_md(result.model.name)} {escape_md(result.model.version)}".strip())
    parts.append(f"{_num(result.acoustics.duration_s, 2)} s analysed")
    if audio.truncated:
        parts.append(f"(of {_num(audio.original_duration_s, 1)} s)")
    parts.append(f"{_num(result.latency_s.total, 2)} s")
    return " · ".join(parts)


def demo_notice(is_demo: bool) -> str:
    if not is_demo:
        return ""
    return ("**Demo checkpoint loaded.** This model was trained on synthetic (espeak-ng) speech only. "
            "It is a demonstration of the pipeline, **not a real emotion recognizer**: do not read its "
            "predictions as statements about anyone's feelings. The measured pitch/energy evidence is real.")


def value_markdown(value, depth: int = 0) -> str:
    """Render a JSON-like value (stats, agreement, metrics) as nested bullet lists, all text escaped."""
    pad = "  " * depth
    if isinstance(value, dict):
        if not value:
            return f"{pad}- _none_"
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}- **{escape_md(key)}**")
                lines.append(value_markdown(item, depth + 1))
            else:
                lines.append(f"{pad}- **{escape_md(key)}**: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return table_markdown(value, indent=pad)
        return "\n".join(f"{pad}- {_scalar(v)}" for v in value) or f"{pad}- _none_"
    return f"{pad}- {_scalar(value)}"


def _scalar(value) -> str:
    if isinstance(value, float):
        return _num(value, 3)
    if isinstance(value, (dict, list)):
        return "_none_"
    return escape_md(value)


def table_markdown(rows: list[dict], columns: list[str] | None = None, indent: str = "") -> str:
    """A markdown table from a list of dicts (cells escaped; nested values shown compactly)."""
    if not rows:
        return f"{indent}_none_"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    head = f"{indent}| " + " | ".join(escape_md(c) for c in columns) + " |"
    rule = f"{indent}|" + "---|" * len(columns)
    body = []
    for row in rows:
        cells = []
        for col in columns:
            v = row.get(col)
            cells.append(_scalar(v) if not isinstance(v, (dict, list)) else escape_md(_compact(v)))
        body.append(f"{indent}| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def _compact(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_compact(v) for v in value)
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# --- Review tab ------------------------------------------------------------------------------------

def counts_markdown(stats: dict) -> str:
    """The headline numbers of ``store.stats()``."""
    s = stats
    line = (f"**{s['clips']}** clips · **{s['analyses']}** analyses · **{s['judgements']}** judgements "
            f"({s['latest_judgements']} current) by **{s['annotators']}** annotators · "
            f"{s['clips_with_audio']} clips with audio kept (consent) · "
            f"people agreed with the model's emotion: **{percent(s['agree_with_model'])}**")
    return line + f"\n\nStore: {code_span(s['path'])} ({s['size_bytes'] / 1e6:.2f} MB)"


# Landis & Koch (1977): how a kappa (or alpha) reads, by its lower bound
AGREEMENT_READINGS = ((0.81, "almost perfect"), (0.61, "substantial"), (0.41, "moderate"), (0.21, "fair"),
                      (0.0, "slight"), (-math.inf, "poor"))


def agreement_reading(value) -> str:
    """ "0.62 (substantial)": a coefficient with its Landis & Koch band; "–" when there is none."""
    if value is None or not math.isfinite(value):
        return "–"
    band = next(name for low, name in AGREEMENT_READINGS if value >= low)
    return f"{value:.2f} ({band})"


def agreement_markdown(agreement: dict) -> str:
    """Inter-annotator agreement (emotion, each descriptor), each coefficient with its Landis & Koch reading, and,
    when given, the model's accuracy against people (``store.agreement()``)."""
    def coeffs(t: dict) -> str:
        return (f"{t['n_items']} | {agreement_reading(t['fleiss_kappa'])} | "
                f"{agreement_reading(t['krippendorff_alpha'])} | {agreement_reading(t['cohen_kappa'])}")
    lines = []
    mvh = agreement.get("model_vs_human")
    if mvh is not None:
        lines += [f"**Model vs people** (label set {escape_md(agreement['label_set'])}): accuracy "
                  f"**{percent(mvh['accuracy'])}** over {mvh['n']} judged clips", ""]
    lines += ["**Agreement between annotators** (clips judged by 2+ people; readings after Landis & Koch 1977: "
              "slight, fair, moderate, substantial, almost perfect)", "",
              "| what | clips | Fleiss κ | Krippendorff α | Cohen κ |", "|---|---|---|---|---|",
              f"| emotion | {coeffs(agreement['emotion'])} |"]
    for name, table in agreement["descriptors"].items():
        lines.append(f"| {escape_md(name.replace('_', ' '))} | {coeffs(table)} |")
    if agreement.get("descriptor_accuracy"):
        lines += ["", "**Model descriptors as judged by people**", "",
                  "| descriptor | right | wrong | unsure | accuracy |", "|---|---|---|---|---|"]
        for name, a in agreement["descriptor_accuracy"].items():
            lines.append(f"| {escape_md(name.replace('_', ' '))} | {a['correct']} | {a['wrong']} | {a['unsure']} | "
                         f"{percent(a['accuracy'])} |")
    return "\n".join(lines)


def confusion_counts(agreement: dict, labels) -> tuple[list[str], list[list[int]]]:
    """Model label (rows) x human label (columns) counts over ``labels`` (every label, in order; labels only
    the data has are added at the end)."""
    confusion = agreement["model_vs_human"]["confusion"]
    seen = {label for row in confusion.values() for label in row} | set(confusion)
    order = list(labels) + sorted(seen - set(labels))
    return order, [[confusion.get(model, {}).get(human, 0) for human in order] for model in order]


def mark(value) -> str:
    """A stored boolean (1/0/None) as ✓ / ✗ / –."""
    return "–" if value is None else "✓" if value else "✗"


# --- Model tab -------------------------------------------------------------------------------------

# the headline numbers of a checkpoint's metrics.json: (key, name, what it means), in this order
KEY_METRICS = (
    ("ua", "UA (balanced accuracy)", "mean recall over the emotions; chance is 1 / number of labels"),
    ("wa", "WA (accuracy)", "share of test clips whose emotion is right"),
    ("macro_f1", "macro F1", "F1 averaged over the emotions"),
    ("wer", "WER", "transcript word error rate (lower is better; can pass 100 %)"),
    ("descriptor_acc_mean", "descriptor accuracy", "the caption's descriptor words that match the measured ones"),
    ("bleu4", "BLEU-4", "caption overlap with the reference caption"),
    ("rouge_l", "ROUGE-L", "caption overlap with the reference caption"),
)


def card_summary(card: str, limit: int = 420) -> str:
    """The card's opening paragraph (after its title), cut at a sentence end near ``limit`` characters."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", card or "") if p.strip()]
    body = next((p for p in paragraphs if not p.startswith(("#", "|", "-", "*   ", "```", "<"))), "")
    body = " ".join(body.split())
    if len(body) <= limit:
        return body
    cut = max(body.rfind(". ", 0, limit), body.rfind("! ", 0, limit))
    return body[:cut + 1] if cut > 0 else body[:limit].rstrip() + " …"


def model_card_markdown(info) -> str:
    """The loaded checkpoint (a ModelInfo): name and version, the card's summary, labels and where it came from."""
    lines = [f"### Loaded model: {escape_md(info.name)} {escape_md(info.version)}", ""]
    summary = card_summary(info.card)
    if summary:
        lines += [summary, ""]   # the card is the checkpoint's own markdown (gradio sanitises its HTML)
    lines += [f"- **labels**: {escape_md(info.label_set)} ({escape_md(', '.join(info.labels))})",
              f"- **loaded from**: {code_span(info.checkpoint)}"]
    if info.is_demo:
        lines.append("- **kind**: demo, trained on synthetic speech: not a real emotion recognizer")
    return "\n".join(lines)


def key_metrics_markdown(metrics: dict) -> str:
    """The headline numbers with what each means; "_No metrics..._" when the checkpoint has none."""
    rows = [(name, percent(metrics[key], 1), meaning) for key, name, meaning in KEY_METRICS
            if isinstance(metrics.get(key), (int, float))]
    if not rows:
        return "### Key metrics\n\n_No metrics recorded in this checkpoint._"
    where = f" ({metrics['n']} held-out clips)" if isinstance(metrics.get("n"), int) else ""
    lines = [f"### Key metrics{where}", "", "| metric | value | what it means |", "|---|---|---|"]
    lines += [f"| {name} | **{value}** | {meaning} |" for name, value, meaning in rows]
    return "\n".join(lines)


def metrics_details_markdown(metrics: dict) -> str:
    """Everything else in the metrics: per-emotion and per-descriptor tables, then the rest as lists."""
    if not metrics:
        return "_No metrics recorded in this checkpoint._"
    parts, shown = [], {key for key, _, _ in KEY_METRICS} | {"confusion", "labels", "n"}
    per_class = metrics.get("per_class")
    if isinstance(per_class, dict) and per_class:
        parts.append("**Per emotion**\n\n" + table_markdown(
            [{"emotion": label, **{k: v for k, v in row.items()}} for label, row in per_class.items()]))
        shown.add("per_class")
    accuracy = metrics.get("descriptor_accuracy")
    if isinstance(accuracy, dict) and accuracy:
        parts.append("**Descriptor words against the measured ones**\n\n" + table_markdown(
            [{"descriptor": name, **(row if isinstance(row, dict) else {"accuracy": row})}
             for name, row in accuracy.items()]))
        shown.add("descriptor_accuracy")
    rest = {k: v for k, v in metrics.items() if k not in shown}
    if rest:
        parts.append("**Everything else recorded**\n\n" + value_markdown(rest))
    return "\n\n".join(parts)


def readable_time(value) -> str:
    """A stored ISO 8601 UTC time as "2026-12-01 11:05 UTC" (anything else as it is)."""
    text = str(value or "")
    if len(text) >= 16 and text[10] == "T":
        return f"{text[:10]} {text[11:16]} UTC"
    return text


def metrics_line(metrics) -> str:
    """ "UA 66.0% · WER 82.6%": a run's headline numbers in one cell."""
    import json
    if isinstance(metrics, str):
        try:
            metrics = json.loads(metrics)
        except ValueError:
            return metrics[:80]
    if not isinstance(metrics, dict):
        return ""
    return " · ".join(f"{name.split(' (')[0]} {percent(metrics[key], 1)}" for key, name, _ in KEY_METRICS[:4]
                      if isinstance(metrics.get(key), (int, float)))


def word_or_dash(value) -> str:
    """A descriptor word (or a list of words, comma-joined) for a label; "–" when there is none."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "–"
    return str(value) if value else "–"

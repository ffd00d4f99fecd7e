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

from emoexplain.descriptors import ORDER as DESCRIPTOR_ORDER
from emoexplain.descriptors import Descriptor
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


def evidence_text(descriptor: Descriptor) -> str:
    """``"212.0 Hz (bin 180.0 to 250.0), 0.30–2.10 s; how"`` from a measured descriptor's evidence."""
    ev = descriptor.evidence
    text = f"{_num(ev.value)} {escape_md(ev.unit)}".strip()
    if ev.bin_low is not None or ev.bin_high is not None:
        low = _num(ev.bin_low) if ev.bin_low is not None else "−∞"
        text += f" (bin {low} to {_num(ev.bin_high) if ev.bin_high is not None else '∞'})"
    text += f", {_num(ev.start_s, 2)}–{_num(ev.end_s, 2)} s"
    if ev.detail:
        text += f"; {escape_md(ev.detail)}"
    return text


def model_words(result: Explanation) -> dict[str, str]:
    """The model's word per descriptor; emphasis as its emphasised words, comma-joined."""
    words = dict(result.descriptors.model)
    emphasis = ", ".join(w.word for w in result.descriptors.emphasis if w.word)
    if emphasis and not words.get("emphasis"):
        words["emphasis"] = emphasis
    return words


def descriptor_rows(result: Explanation) -> list[dict]:
    """One row per descriptor: name, model word, measured word, evidence text, agree (bool | None)."""
    model = model_words(result)
    measured = result.descriptors.measured_by_name()
    names = [n for n in DESCRIPTOR_ORDER if n in model or n in measured]
    names += sorted(n for n in set(model) | set(measured) if n not in names)
    rows = []
    for name in names:
        said, meas = model.get(name), measured.get(name)
        heard = meas.value if meas else None
        agree = normalize_word(said) == normalize_word(heard) if said and heard else None
        rows.append({"name": name, "model": said, "measured": heard,
                     "evidence": evidence_text(meas) if meas else "", "agree": agree})
    return rows


def descriptor_markdown(result: Explanation) -> str:
    """A markdown table: descriptor, what the model said, what was measured (with evidence), agreement."""
    rows = descriptor_rows(result)
    if not rows:
        return "_No descriptors in this result._"
    lines = ["| descriptor | model | measured | evidence | model vs measured |", "|---|---|---|---|---|"]
    for row in rows:
        mark = {True: "✓ agree", False: "⚠ **disagree**", None: "–"}[row["agree"]]
        lines.append(f"| {escape_md(row['name'].replace('_', ' '))} | {escape_md(row['model'] or '–')} | "
                     f"{escape_md(row['measured'] or '–')} | {row['evidence'] or '–'} | {mark} |")
    if any(r["agree"] is False for r in rows):
        lines.append("")
        lines.append("Where the model and the measurement disagree both are shown; judge which is right below.")
    return "\n".join(lines)


def caption_markdown(result: Explanation) -> str:
    return f"> {escape_md(result.caption)}" if result.caption else "_The model wrote no caption._"


def warnings_markdown(result: Explanation) -> str:
    return "\n".join(f"- ⚠ {escape_md(w)}" for w in result.warnings)


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
    return line + f"\n\nStore: {escape_md(s['path'])} ({s['size_bytes'] / 1e6:.2f} MB)"


def distribution_markdown(counts: dict, title: str = "Human emotion labels") -> str:
    """A label -> count table with a text bar, largest first."""
    if not counts:
        return f"**{escape_md(title)}**: _no judgements yet_"
    top = max(counts.values()) or 1
    lines = [f"**{escape_md(title)}**", "", "| label | n | |", "|---|---|---|"]
    for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {escape_md(label)} | {n} | {'█' * max(1, round(12 * n / top))} |")
    return "\n".join(lines)


def agreement_markdown(agreement: dict) -> str:
    """Inter-annotator agreement (emotion, each descriptor) and the model's accuracy against people
    (``store.agreement()``)."""
    def coeffs(t: dict) -> str:
        return (f"{t['n_items']} | {_num(t['fleiss_kappa'], 3)} | {_num(t['krippendorff_alpha'], 3)} | "
                f"{_num(t['cohen_kappa'], 3)}")
    mvh = agreement["model_vs_human"]
    lines = [f"**Model vs people** (label set {escape_md(agreement['label_set'])}): accuracy "
             f"**{percent(mvh['accuracy'])}** over {mvh['n']} judged clips", "",
             "**Agreement between annotators** (clips judged by 2+ people)", "",
             "| what | clips | Fleiss κ | Krippendorff α | Cohen κ |", "|---|---|---|---|---|",
             f"| emotion | {coeffs(agreement['emotion'])} |"]
    for name, table in agreement["descriptors"].items():
        lines.append(f"| {escape_md(name.replace('_', ' '))} | {coeffs(table)} |")
    if agreement["descriptor_accuracy"]:
        lines += ["", "**Model descriptors as judged by people**", "",
                  "| descriptor | right | wrong | unsure | accuracy |", "|---|---|---|---|---|"]
        for name, a in agreement["descriptor_accuracy"].items():
            lines.append(f"| {escape_md(name.replace('_', ' '))} | {a['correct']} | {a['wrong']} | {a['unsure']} | "
                         f"{percent(a['accuracy'])} |")
    return "\n".join(lines)


def confusion_rows(agreement: dict) -> list[dict]:
    """Model label (rows) x human label (columns) counts, for a dataframe."""
    confusion = agreement["model_vs_human"]["confusion"]
    humans = sorted({h for row in confusion.values() for h in row})
    return [{"model \\ human": model, **{h: row.get(h, 0) for h in humans}} for model, row in confusion.items()]


# --- Model tab -------------------------------------------------------------------------------------

def model_markdown(info) -> str:
    """The loaded checkpoint (a ModelInfo): name, version, label set, where it came from, and its metrics."""
    lines = ["### Loaded model", "", "| what | value |", "|---|---|",
             f"| name | {escape_md(info.name)} |",
             f"| version | {escape_md(info.version)} |",
             f"| labels | {escape_md(info.label_set)}: {escape_md(', '.join(info.labels))} |",
             f"| checkpoint | {escape_md(info.checkpoint)} |"]
    if info.is_demo:
        lines.append("| kind | demo: trained on synthetic speech, not a real emotion recognizer |")
    lines += ["", "### Metrics", "",
              value_markdown(info.metrics) if info.metrics else "_No metrics recorded in this checkpoint._"]
    return "\n".join(lines)

def word_or_dash(value) -> str:
    """A descriptor word (or a list of words, comma-joined) for a label; "–" when there is none."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "–"
    return str(value) if value else "–"

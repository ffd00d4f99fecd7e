"""Turn an ``Explanation.to_dict()`` (the ``/analyze`` JSON) and the store's numbers into what the app shows.

Pure functions, no gradio import: each takes plain dicts and returns markdown strings, label dicts or
highlight lists, so the rendering is unit-tested without a browser. Every piece of free text (transcript,
caption, notes, annotator names, checkpoint paths) goes through :func:`escape_md`, so nothing a user or a
model writes is ever rendered as HTML or as markdown structure.
"""

from __future__ import annotations

import html
import math
import re

from emoexplain.descriptors import ORDER as DESCRIPTOR_ORDER

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


def emotion_label(result: dict) -> dict[str, float]:
    """Class probabilities for ``gr.Label`` (falls back to the bare label with probability 1)."""
    emotion = result.get("emotion") or {}
    probs = emotion.get("probabilities") or {}
    if probs:
        return {str(k): float(v) for k, v in probs.items()}
    label = emotion.get("label")
    return {str(label): 1.0} if label else {}


def _emphasis_words_model(result: dict) -> set[str]:
    """The model's emphasised words: ``descriptors.emphasis`` [{word, start_s, end_s}] or words in ``model``."""
    descriptors = result.get("descriptors") or {}
    words = descriptors.get("emphasis") or (descriptors.get("model") or {}).get("emphasis") or ()
    if isinstance(words, str):
        words = re.split(r"[,;]\s*|\s+", words)
    words = [w.get("word", "") if isinstance(w, dict) else w for w in words]
    return {_norm_word(part) for w in words for part in str(w).split() if _norm_word(part)}


def _norm_word(word) -> str:
    return re.sub(r"[^\w']", "", str(word).lower())


def _measured_segments(result: dict) -> list[tuple[float, float, str]]:
    segments = ((result.get("acoustics") or {}).get("emphasis")) or []
    out = []
    for seg in segments:
        try:
            out.append((float(seg["start_s"]), float(seg["end_s"]), _norm_word(seg.get("word") or "")))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def transcript_highlights(result: dict) -> list[tuple[str, str | None]]:
    """``gr.HighlightedText`` value: the transcript's words, emphasised ones tagged model / measured / both.

    A word counts as measured-emphasised when a measured emphasis segment names it or overlaps its timing.
    """
    model_words = _emphasis_words_model(result)
    segments = _measured_segments(result)
    measured_words = {w for _, _, w in segments if w}
    timed = result.get("words") or []
    if timed:
        tokens = [(str(w.get("word", "")), w.get("start_s"), w.get("end_s")) for w in timed]
    else:
        tokens = [(w, None, None) for w in str(result.get("transcript") or "").split()]
    out: list[tuple[str, str | None]] = []
    for i, (word, start, end) in enumerate(tokens):
        key = _norm_word(word)
        by_model = key in model_words
        by_measure = key in measured_words or (
            start is not None and end is not None
            and any(s < float(end) and float(start) < e for s, e, _ in segments))
        tag = None
        if by_model and by_measure:
            tag = "emphasis (model + measured)"
        elif by_model:
            tag = "emphasis (model)"
        elif by_measure:
            tag = "emphasis (measured)"
        out.append((word, tag))
        if i < len(tokens) - 1:
            out.append((" ", None))
    return out


def _measured_by_name(result: dict) -> dict[str, dict]:
    measured = (result.get("descriptors") or {}).get("measured") or []
    return {d.get("name"): d for d in measured if isinstance(d, dict)}


def evidence_text(descriptor: dict) -> str:
    """``"212.0 Hz (bin 180.0–250.0), 0.3–2.1 s"`` from a descriptor dict's evidence."""
    ev = descriptor.get("evidence") or {}
    unit = escape_md(ev.get("unit") or "")
    text = f"{_num(ev.get('value'))} {unit}".strip()
    low, high = ev.get("bin_low"), ev.get("bin_high")
    if low is not None or high is not None:
        text += f" (bin {_num(low) if low is not None else '−∞'} to {_num(high) if high is not None else '∞'})"
    if ev.get("start_s") is not None and ev.get("end_s") is not None:
        text += f", {_num(ev['start_s'], 2)}–{_num(ev['end_s'], 2)} s"
    if ev.get("detail"):
        text += f"; {escape_md(ev['detail'])}"
    return text


def model_words(result: dict) -> dict[str, str]:
    """The model's word per descriptor, emphasis as comma-joined words."""
    descriptors = result.get("descriptors") or {}
    words = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
             for k, v in (descriptors.get("model") or {}).items()}
    emphasis = [w.get("word", "") if isinstance(w, dict) else str(w) for w in descriptors.get("emphasis") or []]
    if emphasis and not words.get("emphasis"):
        words["emphasis"] = ", ".join(w for w in emphasis if w)
    return words


def descriptor_rows(result: dict) -> list[dict]:
    """One row per descriptor: name, model word, measured word, evidence text, agree (bool | None)."""
    model = model_words(result)
    measured = _measured_by_name(result)
    names = [n for n in DESCRIPTOR_ORDER if n in model or n in measured]
    names += sorted(n for n in set(model) | set(measured) if n not in names)
    rows = []
    for name in names:
        m_word = model.get(name)
        meas = measured.get(name) or {}
        meas_word = meas.get("value")
        agree = None
        if m_word and meas_word:
            agree = _norm_word(m_word) == _norm_word(meas_word)
        rows.append({"name": name, "model": m_word, "measured": meas_word,
                     "evidence": evidence_text(meas) if meas else "", "agree": agree})
    return rows


def descriptor_markdown(result: dict) -> str:
    """A markdown table: descriptor, what the model said, what was measured (with evidence), agreement."""
    rows = descriptor_rows(result)
    if not rows:
        return "_No descriptors in this result._"
    lines = ["| descriptor | model | measured | evidence | model vs measured |", "|---|---|---|---|---|"]
    for row in rows:
        mark = {True: "✓ agree", False: "⚠ **disagree**", None: "–"}[row["agree"]]
        lines.append(f"| {escape_md(row['name'].replace('_', ' '))} | {escape_md(row['model'] or '–')} | "
                     f"{escape_md(row['measured'] or '–')} | {row['evidence'] or '–'} | {mark} |")
    disagreements = [r for r in rows if r["agree"] is False]
    if disagreements:
        lines.append("")
        lines.append("Where the model and the measurement disagree both are shown; judge which is right below.")
    return "\n".join(lines)


def caption_markdown(result: dict) -> str:
    caption = result.get("caption") or ""
    return f"> {escape_md(caption)}" if caption else "_The model wrote no caption._"


def warnings_markdown(result: dict) -> str:
    warnings = list(result.get("warnings") or [])
    return "\n".join(f"- ⚠ {escape_md(w)}" for w in warnings)


def summary_markdown(result: dict) -> str:
    """One line under the result: analysis id, model version, duration and latency."""
    model = result.get("model") or {}
    audio = (result.get("acoustics") or {}).get("audio") or {}
    latency = result.get("latency_s") or {}
    parts = []
    if result.get("analysis_id") is not None:
        parts.append(f"analysis #{int(result['analysis_id'])}")
    if model:
        parts.append(f"model {escape_md(model.get('name', '?'))} {escape_md(model.get('version', ''))}".strip())
    duration = (result.get("acoustics") or {}).get("duration_s")
    if duration is not None:
        parts.append(f"{_num(duration, 2)} s analysed")
    if audio.get("truncated"):
        parts.append(f"(of {_num(audio.get('original_duration_s'), 1)} s)")
    if latency.get("total") is not None:
        parts.append(f"{_num(latency['total'], 2)} s")
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

def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def counts_markdown(stats: dict) -> str:
    """The headline numbers of ``store.stats()``."""
    s = stats
    line = (f"**{s.get('clips', 0)}** clips · **{s.get('analyses', 0)}** analyses · **{s.get('judgements', 0)}** "
            f"judgements ({s.get('latest_judgements', 0)} current) by **{s.get('annotators', 0)}** annotators · "
            f"{s.get('clips_with_audio', 0)} clips with audio kept (consent) · "
            f"people agreed with the model's emotion: **{_pct(s.get('agree_with_model'))}**")
    return line + f"\n\nStore: {escape_md(s.get('path', '?'))} ({(s.get('size_bytes') or 0) / 1e6:.2f} MB)"


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
    """Inter-annotator agreement (emotion, each descriptor) and the model's accuracy against people."""
    def coeffs(t: dict) -> str:
        return (f"{t.get('n_items', 0)} | {_num(t.get('fleiss_kappa'), 3)} | "
                f"{_num(t.get('krippendorff_alpha'), 3)} | {_num(t.get('cohen_kappa'), 3)}")
    mvh = agreement.get("model_vs_human") or {}
    lines = [f"**Model vs people** (label set {escape_md(agreement.get('label_set', '?'))}): accuracy "
             f"**{_pct(mvh.get('accuracy'))}** over {mvh.get('n', 0)} judged clips", "",
             "**Agreement between annotators** (clips judged by 2+ people)", "",
             "| what | clips | Fleiss κ | Krippendorff α | Cohen κ |", "|---|---|---|---|---|",
             f"| emotion | {coeffs(agreement.get('emotion') or {})} |"]
    for name, table in (agreement.get("descriptors") or {}).items():
        lines.append(f"| {escape_md(name.replace('_', ' '))} | {coeffs(table)} |")
    accuracy = agreement.get("descriptor_accuracy") or {}
    if accuracy:
        lines += ["", "**Model descriptors as judged by people**", "",
                  "| descriptor | right | wrong | unsure | accuracy |", "|---|---|---|---|---|"]
        for name, a in accuracy.items():
            lines.append(f"| {escape_md(name.replace('_', ' '))} | {a.get('correct', 0)} | {a.get('wrong', 0)} | "
                         f"{a.get('unsure', 0)} | {_pct(a.get('accuracy'))} |")
    return "\n".join(lines)


def confusion_rows(agreement: dict) -> list[dict]:
    """Model label (rows) x human label (columns) counts, for a dataframe."""
    confusion = (agreement.get("model_vs_human") or {}).get("confusion") or {}
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

"""Turn an ``Explanation.to_dict()`` (the ``/analyze`` JSON) into what the app's components show.

Pure functions, no gradio import: each takes plain dicts and returns markdown strings, label dicts or
highlight lists, so the rendering is unit-tested without a browser. Every piece of free text (transcript,
caption, notes, annotator names, checkpoint paths) goes through :func:`escape_md`, so nothing a user or a
model writes is ever rendered as HTML or as markdown structure.
"""

from __future__ import annotations

import html
import math
import re

# Characters that carry meaning in (GitHub-flavoured) markdown; escaped with a backslash after html.escape.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
DESCRIPTOR_ORDER = ("pitch", "volume", "speed", "pitch_variation", "tone", "emphasis")
EMPHASIS_COLORS = {"emphasis (model)": "#f59e0b", "emphasis (measured)": "#60a5fa",
                   "emphasis (model + measured)": "#ef4444"}


def escape_md(text) -> str:
    """Make ``text`` inert inside markdown: no HTML tags, no links, no emphasis, no tables, one line."""
    text = "" if text is None else str(text)
    text = html.escape(text, quote=True)
    text = text.replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


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
    model = (result.get("descriptors") or {}).get("model") or {}
    words = model.get("emphasis") or result.get("emphasis") or ()
    if isinstance(words, str):
        words = re.split(r"[,;]\s*|\s+", words)
    return {_norm_word(w) for w in words if _norm_word(w)}


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


def descriptor_rows(result: dict) -> list[dict]:
    """One row per descriptor: name, model word, measured word, evidence text, agree (bool | None)."""
    descriptors = result.get("descriptors") or {}
    model = descriptors.get("model") or {}
    measured = _measured_by_name(result)
    names = [n for n in DESCRIPTOR_ORDER if n in model or n in measured]
    names += sorted(n for n in set(model) | set(measured) if n not in names)
    rows = []
    for name in names:
        m_word = model.get(name)
        if isinstance(m_word, (list, tuple)):
            m_word = ", ".join(map(str, m_word))
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
    lines = ["| descriptor | model | measured | evidence | |", "|---|---|---|---|---|"]
    for row in rows:
        mark = {True: "✓ agree", False: "⚠ **disagree**", None: ""}[row["agree"]]
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


def demo_notice(is_demo: bool, model_name: str = "") -> str:
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

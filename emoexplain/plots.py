"""Pitch and energy on one time axis, emphasis shaded, words marked: the evidence a user checks by eye.

    fig = plots.figure(result)              # plotly Figure (the app's gr.Plot)
    plots.save(result, "out.png")           # matplotlib PNG for reports (or .html: standalone plotly page)

``result`` is any of: an ``Explanation`` (the pipeline's result), its ``to_dict()`` (the /analyze JSON), an
``AcousticProfile``, or ``AcousticProfile.to_dict()``. Only the 10 ms frame track, the emphasis segments,
the syllable nuclei and (when present) the word timings are drawn, so a figure costs a few milliseconds.
plotly and matplotlib are imported inside the functions (``import emoexplain.plots`` stays cheap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoexplain.explanation import EmphasisSegment, Explanation, WordTiming

PITCH_COLOR = "#1f77b4"
ENERGY_COLOR = "#d62728"
EMPHASIS_COLOR = "#ff9f1c"
WORD_COLOR = "#555555"


@dataclass(frozen=True)
class PlotData:
    """Everything a figure draws, as plain arrays (unvoiced F0 frames are NaN)."""
    time_s: np.ndarray
    f0_hz: np.ndarray
    energy_db: np.ndarray
    emphasis: tuple[EmphasisSegment, ...]
    words: tuple[WordTiming, ...]      # aligned words only (finite times)
    nuclei_s: tuple                    # syllable nucleus times
    duration_s: float
    median_hz: float | None


def plot_data(result) -> PlotData:
    """Normalise an Explanation, its to_dict(), an AcousticProfile or its to_dict() into PlotData."""
    if isinstance(result, Explanation):
        return _from_profile(result.acoustics.to_dict(), result.acoustics.emphasis, result.words)
    if hasattr(result, "to_dict") and hasattr(result, "frames"):          # AcousticProfile
        return _from_profile(result.to_dict())
    if not isinstance(result, dict):
        raise TypeError(f"plots.figure needs an Explanation, a result dict or an AcousticProfile, not "
                        f"{type(result).__name__}")
    if isinstance(result.get("acoustics"), dict):                          # Explanation.to_dict()
        words = tuple(WordTiming(str(w["word"]), float(w["start_s"]), float(w["end_s"]), float(w.get("score") or 0))
                      for w in result.get("words") or () if _timed(w) and w.get("word"))
        return _from_profile(result["acoustics"], words=words)
    return _from_profile(result)


def _from_profile(profile: dict, emphasis=None, words=()) -> PlotData:
    """A profile dict (AcousticProfile.to_dict(), or one an API user sent: missing parts draw nothing)."""
    frames = profile.get("frames") or {}
    time_s = _floats(frames.get("time_s"))
    f0 = _floats(frames.get("f0_hz"))
    energy = _floats(frames.get("energy_db"))
    voiced = frames.get("voiced")
    n = min(len(time_s), len(f0), len(energy))
    time_s, f0, energy = time_s[:n], f0[:n], energy[:n]
    if voiced is not None and len(voiced) >= n:
        f0 = np.where(np.asarray(voiced[:n], dtype=bool), f0, np.nan)
    f0 = np.where(f0 > 0, f0, np.nan)
    duration = profile.get("duration_s")
    duration = float(duration) if duration is not None else (float(time_s[-1]) if n else 0.0)
    median = (profile.get("pitch") or {}).get("median_hz")
    if emphasis is None:
        emphasis = tuple(EmphasisSegment(float(e["start_s"]), float(e["end_s"]), float(e.get("strength") or 0.0),
                                         e.get("word")) for e in profile.get("emphasis") or () if _timed(e))
    return PlotData(time_s=time_s, f0_hz=f0, energy_db=energy, emphasis=tuple(emphasis), words=tuple(words),
                    nuclei_s=tuple(float(t) for t in (profile.get("nuclei_s") or ())),
                    duration_s=duration, median_hz=float(median) if median else None)


def _floats(values) -> np.ndarray:
    """A list with None for missing values -> float array with NaN."""
    if values is None:
        return np.zeros(0)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _timed(item) -> bool:
    try:
        return math.isfinite(float(item["start_s"])) and math.isfinite(float(item["end_s"]))
    except (KeyError, TypeError, ValueError):
        return False


def _none_gaps(values: np.ndarray) -> list:
    """NaN -> None, so plotly breaks the line there instead of joining across unvoiced stretches."""
    return [None if not math.isfinite(v) else round(float(v), 2) for v in values]


def _semitones(f0: np.ndarray, median: float | None) -> np.ndarray:
    if not median:
        return np.full(len(f0), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 12 * np.log2(f0 / median)


def _energy_span(data: PlotData) -> tuple[float, float | None]:
    """(top dB, floor dB) for the energy axis: the peak, and the 1st percentile but at most 60 dB below it
    (floor None when no frame has a finite energy)."""
    finite = data.energy_db[np.isfinite(data.energy_db)]
    top_db = float(finite.max()) if len(finite) else 0.0
    return top_db, (max(float(np.percentile(finite, 1)), top_db - 60.0) if len(finite) else None)


def _nucleus_frames(data: PlotData) -> np.ndarray:
    """Index of the frame at (or after) each syllable nucleus, clipped to the track."""
    return np.clip(np.searchsorted(data.time_s, data.nuclei_s), 0, len(data.time_s) - 1)


def _x_end(data: PlotData) -> float:
    return max(data.duration_s, float(data.time_s[-1]) if len(data.time_s) else 0.0)


def _emphasis_label(segment: EmphasisSegment) -> str:
    """The segment's word, else its time span (a label on the plot, never a word of the result)."""
    return segment.word or f"{segment.start_s:.2f}-{segment.end_s:.2f} s"


def figure(result, *, show_nuclei: bool = True, height: int = 420):
    """A plotly Figure: F0 (Hz, voiced frames only) above energy (dB), one shared time axis.

    Emphasised segments are shaded across both rows (darker = stronger) and labelled; word boundaries are
    dotted lines with the words along the top of the energy row; syllable nuclei are dots on the energy
    curve. Hover shows time, F0 (and semitones re the median), energy and the word.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = plot_data(result)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.6, 0.4])
    t = np.round(data.time_s, 3).tolist()
    semitones = _semitones(data.f0_hz, data.median_hz)
    fig.add_trace(go.Scatter(
        x=t, y=_none_gaps(data.f0_hz), customdata=_none_gaps(semitones), name="pitch (F0)", mode="lines",
        connectgaps=False, line={"color": PITCH_COLOR, "width": 2},
        hovertemplate="%{x:.2f} s<br>F0 %{y:.0f} Hz (%{customdata:+.1f} st re median)<extra></extra>"),
        row=1, col=1)
    fig.add_trace(go.Scatter(
        x=t, y=_none_gaps(data.energy_db), name="energy", mode="lines", line={"color": ENERGY_COLOR, "width": 1.5},
        hovertemplate="%{x:.2f} s<br>%{y:.1f} dBFS<extra></extra>"), row=2, col=1)

    top_db, floor_db = _energy_span(data)
    floor_db = -60.0 if floor_db is None else floor_db
    if show_nuclei and data.nuclei_s and len(data.time_s):
        idx = _nucleus_frames(data)
        fig.add_trace(go.Scatter(
            x=[round(v, 3) for v in data.nuclei_s], y=_none_gaps(data.energy_db[idx]), name="syllable nuclei",
            mode="markers", marker={"color": ENERGY_COLOR, "size": 6, "symbol": "circle-open"},
            hovertemplate="syllable nucleus %{x:.2f} s<extra></extra>"), row=2, col=1)
    if data.words:
        fig.add_trace(go.Scatter(
            x=[round((w.start_s + w.end_s) / 2, 3) for w in data.words],
            y=[top_db + 4.0] * len(data.words), text=[w.word for w in data.words],
            customdata=[[w.start_s, w.end_s] for w in data.words], name="words",
            mode="text", textfont={"size": 11, "color": WORD_COLOR}, showlegend=False,
            hovertemplate="%{text}: %{customdata[0]:.2f}-%{customdata[1]:.2f} s<extra></extra>"), row=2, col=1)
    shapes, annotations = [], []
    for segment in data.emphasis:
        strength = segment.strength
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": segment.start_s,
                       "x1": segment.end_s, "y0": 0, "y1": 1, "fillcolor": EMPHASIS_COLOR,
                       "opacity": round(0.15 + 0.3 * min(max(strength, 0.0), 1.0), 3), "line": {"width": 0},
                       "layer": "below", "name": "emphasis"})
        annotations.append({"x": (segment.start_s + segment.end_s) / 2, "y": 1.0,
                            "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                            "text": f"{_emphasis_label(segment)} ({strength:.2f})",
                            "font": {"size": 10, "color": "#a35f00"}})
    boundaries = sorted({round(t, 3) for w in data.words for t in (w.start_s, w.end_s)})
    for x in boundaries:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                       "line": {"color": "#bbbbbb", "width": 1, "dash": "dot"}, "layer": "below",
                       "name": "word boundary"})
    x_end = _x_end(data)
    fig.update_layout(
        height=height, autosize=True, margin={"l": 48, "r": 8, "t": 28, "b": 36}, hovermode="x",
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0, "font": {"size": 11}},
        shapes=shapes, annotations=annotations, template="plotly_white")
    fig.update_xaxes(range=[0, x_end], row=1, col=1)
    fig.update_xaxes(range=[0, x_end], title_text="time (s)", row=2, col=1)
    fig.update_yaxes(title_text="F0 (Hz)", row=1, col=1)
    fig.update_yaxes(title_text="energy (dB)", range=[floor_db - 2, top_db + 8], row=2, col=1)
    return fig


def save_png(result, path, *, dpi: int = 120, show_nuclei: bool = True, width_in: float = 8.0) -> Path:
    """The same picture with matplotlib (Agg, no display needed), written to ``path`` as PNG."""
    from matplotlib.figure import Figure

    data = plot_data(result)
    fig = Figure(figsize=(width_in, 4.2), dpi=dpi, layout="constrained")
    ax_f0, ax_db = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax_f0.plot(data.time_s, data.f0_hz, color=PITCH_COLOR, lw=1.8, label="pitch (F0)")   # NaN = gap
    ax_db.plot(data.time_s, data.energy_db, color=ENERGY_COLOR, lw=1.2, label="energy")
    top_db, floor_db = _energy_span(data)
    if show_nuclei and data.nuclei_s and len(data.time_s):
        idx = _nucleus_frames(data)
        ax_db.plot(data.nuclei_s, data.energy_db[idx], "o", mfc="none", color=ENERGY_COLOR, ms=4,
                   label="syllable nuclei")
    for segment in data.emphasis:
        strength = min(max(segment.strength, 0.0), 1.0)
        for ax in (ax_f0, ax_db):
            ax.axvspan(segment.start_s, segment.end_s, color=EMPHASIS_COLOR,
                       alpha=0.15 + 0.3 * strength, lw=0)
        ax_f0.annotate(_emphasis_label(segment), ((segment.start_s + segment.end_s) / 2, 1.0),
                       xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=8, color="#a35f00")
    for w in data.words:
        for ax in (ax_f0, ax_db):
            for t in (w.start_s, w.end_s):
                ax.axvline(t, color="#bbbbbb", lw=0.8, ls=":")
        ax_db.text((w.start_s + w.end_s) / 2, top_db + 3, w.word, ha="center",
                   va="bottom", fontsize=8, color=WORD_COLOR, clip_on=True)
    ax_db.set_xlim(0, _x_end(data) or 1.0)
    if floor_db is not None:
        ax_db.set_ylim(floor_db - 2, top_db + 9)
    ax_f0.set_ylabel("F0 (Hz)")
    ax_db.set_ylabel("energy (dB)")
    ax_db.set_xlabel("time (s)")
    for ax in (ax_f0, ax_db):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def save_html(result, path, *, include_plotlyjs=True) -> Path:
    """A standalone HTML page with the interactive figure (plotly.js embedded: works offline)."""
    path = Path(path)
    figure(result).write_html(str(path), include_plotlyjs=include_plotlyjs, full_html=True)
    return path


def save(result, path) -> Path:
    """Write the plot by suffix: .png (matplotlib) or .html/.htm (plotly)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        return save_png(result, path)
    if suffix in (".html", ".htm"):
        return save_html(result, path)
    from emoexplain.errors import ConfigError
    raise ConfigError(f"Cannot write a plot to {path}: use a .png or .html file name.")

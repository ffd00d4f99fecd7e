"""Pitch and energy on one time axis, emphasis shaded, words marked: the evidence a user checks by eye.

    fig = plots.figure(result)              # plotly Figure (the app's gr.Plot)
    fig = plots.figure(result, semitones=True, spectrogram=plots.clip_spectrogram("clip.wav", result))
    plots.save(result, "out.png")           # matplotlib PNG for reports (or .html: standalone plotly page)

``result`` is any of: an ``Explanation`` (the pipeline's result), its ``to_dict()`` (the /analyze JSON), an
``AcousticProfile``, or ``AcousticProfile.to_dict()``. Only the 10 ms frame track, the emphasis segments,
the syllable nuclei and (when present) the word timings are drawn, so a figure costs a few milliseconds.
plotly and matplotlib are imported inside the functions (``import emoexplain.plots`` stays cheap).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoexplain.explanation import EmphasisSegment, Explanation, StressedWord, WordTiming

PITCH_COLOR = "#1f77b4"
ENERGY_COLOR = "#d62728"
EMPHASIS_COLOR = "#ff9f1c"
MODEL_STRESS_COLOR = "#7c3aed"
WORD_COLOR = "#4b5563"
BOUNDARY_COLOR = "rgba(128, 128, 128, 0.55)"
GRID_COLOR = "rgba(128, 128, 128, 0.25)"   # reads on a light and on a dark page
ENERGY_RANGE_DB = 70.0    # the energy axis shows at most this far below the loudest frame (silence sits on the floor)
SPECTRUM_HZ = (60.0, 8000.0)


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
    stressed: tuple = ()               # the model's emphasised words (StressedWord: times None when unaligned)


def plot_data(result) -> PlotData:
    """Normalise an Explanation, its to_dict(), an AcousticProfile or its to_dict() into PlotData."""
    if isinstance(result, Explanation):
        data = _from_profile(result.acoustics.to_dict(), result.acoustics.emphasis, result.words)
        return dataclasses.replace(data, stressed=result.descriptors.emphasis)
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
    """(top dB, floor dB) for the energy axis: the loudest frame and the quietest, but at most ENERGY_RANGE_DB below
    the top (floor None when no frame has a finite energy). Frames below the floor are drawn on it."""
    finite = data.energy_db[np.isfinite(data.energy_db)]
    if not len(finite):
        return 0.0, None
    top_db = float(finite.max())
    return top_db, max(float(finite.min()), top_db - ENERGY_RANGE_DB)


def _padded(low: float, high: float, *, share: float = 0.08, least: float = 1.0) -> list[float]:
    """[low, high] widened by ``share`` of the span (at least ``least``) on each side: nothing touches an edge."""
    pad = max((high - low) * share, least)
    return [round(low - pad, 2), round(high + pad, 2)]


def _f0_axis(values: np.ndarray, semitones: bool) -> list[float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [-12.0, 12.0] if semitones else [50.0, 400.0]
    return _padded(float(finite.min()), float(finite.max()), least=1.0 if semitones else 5.0)


def _nucleus_frames(data: PlotData) -> np.ndarray:
    """Index of the frame at (or after) each syllable nucleus, clipped to the track."""
    return np.clip(np.searchsorted(data.time_s, data.nuclei_s), 0, len(data.time_s) - 1)


def _x_end(data: PlotData) -> float:
    return max(data.duration_s, float(data.time_s[-1]) if len(data.time_s) else 0.0)


def _emphasis_label(segment: EmphasisSegment) -> str:
    """The segment's word, else its time span (a label on the plot, never a word of the result)."""
    return segment.word or f"{segment.start_s:.2f}-{segment.end_s:.2f} s"


def thin_labels(words, width_px: float, x_range: float, *, char_px: float = 6.5, gap_px: float = 4.0) -> list:
    """The words whose labels fit side by side on ``width_px`` pixels showing ``x_range`` seconds: left to right,
    a label is kept when it starts after the last kept one ends (the page does the same with measured text)."""
    if x_range <= 0 or width_px <= 0:
        return []
    kept, right = [], -math.inf
    for w in sorted(words, key=lambda w: w.start_s):
        centre = (w.start_s + w.end_s) / 2 / x_range * width_px
        half = len(w.word) * char_px / 2
        if centre - half >= right + gap_px:
            kept.append(w)
            right = centre + half
    return kept


@dataclass(frozen=True)
class Spectrogram:
    """A clip's spectrogram for the plot: dB per (frequency row, time column), rows log-spaced in Hz."""
    time_s: np.ndarray
    freq_hz: np.ndarray
    db: np.ndarray          # (len(freq_hz), len(time_s)), at most 70 dB below its peak


def spectrogram_of(samples: np.ndarray, sample_rate: int, *, rows: int = 96, max_columns: int = 800) -> Spectrogram:
    """A broadband (5 ms window) spectrogram with log-spaced frequency rows, as Praat shows one, small enough
    to send to a browser (at most ``rows`` x ``max_columns`` values)."""
    from scipy.signal import spectrogram as stft

    window = int(0.005 * sample_rate) * 2
    hop = max(int(0.005 * sample_rate), int(len(samples) / max_columns) + 1)
    freqs, times, power = stft(samples.astype(np.float64), fs=sample_rate, window="hann", nperseg=window,
                               noverlap=max(window - hop, 0), scaling="spectrum", mode="psd")
    top = min(SPECTRUM_HZ[1], sample_rate / 2)
    log_rows = np.geomspace(SPECTRUM_HZ[0], top, rows)
    db = 10 * np.log10(np.maximum(power, 1e-12))
    db = np.stack([np.interp(log_rows, freqs, column) for column in db.T], axis=1)
    return Spectrogram(time_s=times, freq_hz=log_rows, db=np.maximum(db, db.max() - ENERGY_RANGE_DB))


def clip_spectrogram(path, result: Explanation) -> Spectrogram | None:
    """The spectrogram of the part of ``path`` that ``result`` analysed (None when the file cannot be read)."""
    from emoexplain.audio import load_audio
    from emoexplain.errors import AudioError
    try:
        clip = load_audio(path, max_seconds=max(result.acoustics.duration_s, 0.5) + 0.01)
    except (AudioError, OSError):
        return None
    return spectrogram_of(clip.samples, clip.sample_rate)


def figure(result, *, show_nuclei: bool = True, height: int | None = None, semitones: bool = False,
           spectrogram: Spectrogram | None = None):
    """A plotly Figure: F0 (voiced frames only; Hz, or semitones re the speaker's median) above energy (dBFS),
    optionally under a spectrogram (log frequency), on one time axis.

    The axes fit the data with margins. Emphasised segments are shaded across the rows (darker = stronger) and
    labelled; the model's stressed words are outlined (or, when the transcript lacks them, named in the legend);
    word boundaries are dotted lines with the words above the energy curve; syllable nuclei are rings on it.
    Every mark has a legend entry. Hover shows time, F0 (Hz and semitones re the median), energy and the word.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = plot_data(result)
    rows = 3 if spectrogram is not None else 2
    heights = [0.36, 0.38, 0.26] if spectrogram is not None else [0.6, 0.4]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=heights)
    f0_row, energy_row = rows - 1, rows
    t = np.round(data.time_s, 3).tolist()
    st = _semitones(data.f0_hz, data.median_hz)
    if spectrogram is not None:
        _add_spectrogram(fig, go, spectrogram)
    f0_values = st if semitones else data.f0_hz
    median = f"{data.median_hz:.0f} Hz" if data.median_hz else "?"
    hover = ("%{x:.2f} s<br>%{y:+.1f} st re median (%{customdata:.0f} Hz)<extra></extra>" if semitones else
             "%{x:.2f} s<br>F0 %{y:.0f} Hz (%{customdata:+.1f} st re median)<extra></extra>")
    fig.add_trace(go.Scatter(
        x=t, y=_none_gaps(f0_values), customdata=_none_gaps(data.f0_hz if semitones else st), name="pitch (F0)",
        mode="lines", connectgaps=False, line={"color": PITCH_COLOR, "width": 2}, hovertemplate=hover),
        row=f0_row, col=1)
    top_db, floor_db = _energy_span(data)
    floor_db = top_db - ENERGY_RANGE_DB if floor_db is None else floor_db
    energy = np.maximum(data.energy_db, floor_db)   # silence sits on the floor instead of running off the axis
    fig.add_trace(go.Scatter(
        x=t, y=_none_gaps(energy), name="energy", mode="lines", line={"color": ENERGY_COLOR, "width": 1.5},
        hovertemplate="%{x:.2f} s<br>%{y:.1f} dBFS<extra></extra>"), row=energy_row, col=1)
    if show_nuclei and data.nuclei_s and len(data.time_s):
        idx = _nucleus_frames(data)
        fig.add_trace(go.Scatter(
            x=[round(v, 3) for v in data.nuclei_s], y=_none_gaps(energy[idx]), name="syllable nuclei",
            mode="markers", marker={"color": ENERGY_COLOR, "size": 6, "symbol": "circle-open"},
            hovertemplate="syllable nucleus %{x:.2f} s<extra></extra>"), row=energy_row, col=1)
    label_db = top_db + 0.08 * max(top_db - floor_db, 10.0)
    if data.words:
        fig.add_trace(go.Scatter(
            x=[round((w.start_s + w.end_s) / 2, 3) for w in data.words], y=[round(label_db, 2)] * len(data.words),
            text=[w.word for w in data.words], customdata=[[w.start_s, w.end_s] for w in data.words], name="words",
            mode="text", textfont={"size": 11, "color": WORD_COLOR}, cliponaxis=False,
            hovertemplate="%{text}: %{customdata[0]:.2f}-%{customdata[1]:.2f} s<extra></extra>"),
            row=energy_row, col=1)
    shapes, annotations = _emphasis_marks(data)
    shapes += _boundary_lines(data)
    _legend_only(fig, go, data)
    x_end = _x_end(data) or 1.0
    fig.update_layout(
        height=height or (520 if spectrogram is not None else 420), autosize=True,
        margin={"l": 56, "r": 12, "t": 30, "b": 40}, hovermode="x",
        legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0, "font": {"size": 11}},
        shapes=shapes, annotations=annotations, template="plotly_white",
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": "#374151"})
    fig.update_xaxes(range=[0, x_end], gridcolor=GRID_COLOR, zeroline=False)
    fig.update_xaxes(title_text="time (s)", row=rows, col=1)
    fig.update_yaxes(gridcolor=GRID_COLOR, zeroline=False)
    fig.update_yaxes(title_text=f"F0 (st re {median})" if semitones else "F0 (Hz)",
                     range=_f0_axis(f0_values, semitones), row=f0_row, col=1)
    fig.update_yaxes(title_text="energy (dBFS)", row=energy_row, col=1,
                     range=[round(floor_db - 3, 1), round(label_db + 0.06 * max(top_db - floor_db, 10.0), 1)])
    return fig


def _add_spectrogram(fig, go, spec: Spectrogram) -> None:
    fig.add_trace(go.Heatmap(
        x=np.round(spec.time_s, 3).tolist(), y=np.round(spec.freq_hz, 1).tolist(), z=np.round(spec.db, 1).tolist(),
        colorscale="Greys", showscale=False, name="spectrogram", zsmooth="fast",
        hovertemplate="%{x:.2f} s, %{y:.0f} Hz: %{z:.0f} dB<extra></extra>"), row=1, col=1)
    fig.update_yaxes(type="log", title_text="frequency (Hz)", row=1, col=1,
                     range=[math.log10(spec.freq_hz[0]), math.log10(spec.freq_hz[-1])])


def _emphasis_marks(data: PlotData) -> tuple[list, list]:
    """Shading for the measured emphasis (labelled with its word and strength) and outlines for the model's
    aligned stressed words."""
    shapes, annotations = [], []
    for segment in data.emphasis:
        strength = min(max(segment.strength, 0.0), 1.0)
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": segment.start_s, "x1": segment.end_s,
                       "y0": 0, "y1": 1, "fillcolor": EMPHASIS_COLOR, "opacity": round(0.15 + 0.3 * strength, 3),
                       "line": {"width": 0}, "layer": "below", "name": "emphasis"})
        annotations.append({"x": (segment.start_s + segment.end_s) / 2, "y": 1.0, "xref": "x", "yref": "paper",
                            "yanchor": "bottom", "showarrow": False, "name": "emphasis",
                            "text": f"{_emphasis_label(segment)} ({segment.strength:.2f})",
                            "font": {"size": 10, "color": "#a35f00"}})
    for word in _aligned(data.stressed):
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": word.start_s, "x1": word.end_s,
                       "y0": 0, "y1": 1, "fillcolor": "rgba(0,0,0,0)", "layer": "above", "name": "model stress",
                       "line": {"color": MODEL_STRESS_COLOR, "width": 1.5, "dash": "dash"}})
    return shapes, annotations


def _aligned(stressed) -> list[StressedWord]:
    return [w for w in stressed if w.start_s is not None and w.end_s is not None]


def _boundary_lines(data: PlotData) -> list:
    return [{"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1, "layer": "below",
             "line": {"color": BOUNDARY_COLOR, "width": 1, "dash": "dot"}, "name": "word boundary"}
            for x in sorted({round(t, 3) for w in data.words for t in (w.start_s, w.end_s)})]


def _legend_only(fig, go, data: PlotData) -> None:
    """Legend entries for the marks that are shapes (shading, outlines, boundary lines, the spectrogram's grey)
    and for the model's stressed words that no aligned word carries."""
    def entry(name, **style):
        fig.add_trace(go.Scatter(x=[None], y=[None], name=name, hoverinfo="skip", **style))
    if any(t.type == "heatmap" for t in fig.data):
        entry("spectrogram (darker = more energy)", mode="markers",
              marker={"symbol": "square", "size": 12, "color": "#6b7280"})
    if data.emphasis:
        entry("emphasis, measured (darker = stronger)", mode="markers",
              marker={"symbol": "square", "size": 12, "color": EMPHASIS_COLOR, "opacity": 0.5})
    if _aligned(data.stressed):
        entry("stress the model heard", mode="lines", line={"color": MODEL_STRESS_COLOR, "dash": "dash"})
    missing = [w.word for w in data.stressed if (w.start_s is None or w.end_s is None) and w.word]
    if missing:
        entry("model stress on " + ", ".join(f"\u201c{w}\u201d" for w in missing) + " (not in the transcript)",
              mode="markers", marker={"symbol": "x-thin-open", "size": 10, "color": MODEL_STRESS_COLOR})
    if data.words:
        entry("word boundaries", mode="lines", line={"color": BOUNDARY_COLOR, "width": 1, "dash": "dot"})


def save_png(result, path, *, dpi: int = 120, show_nuclei: bool = True, width_in: float = 8.0) -> Path:
    """The same picture with matplotlib (Agg, no display needed), written to ``path`` as PNG."""
    from matplotlib.figure import Figure

    data = plot_data(result)
    fig = Figure(figsize=(width_in, 4.2), dpi=dpi, layout="constrained")
    ax_f0, ax_db = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax_f0.plot(data.time_s, data.f0_hz, color=PITCH_COLOR, lw=1.8, label="pitch (F0)")   # NaN = gap
    top_db, floor_db = _energy_span(data)
    floor_db = top_db - ENERGY_RANGE_DB if floor_db is None else floor_db
    energy = np.maximum(data.energy_db, floor_db)
    ax_db.plot(data.time_s, energy, color=ENERGY_COLOR, lw=1.2, label="energy")
    if show_nuclei and data.nuclei_s and len(data.time_s):
        ax_db.plot(data.nuclei_s, energy[_nucleus_frames(data)], "o", mfc="none", color=ENERGY_COLOR, ms=4,
                   label="syllable nuclei")
    for segment in data.emphasis:
        strength = min(max(segment.strength, 0.0), 1.0)
        for ax in (ax_f0, ax_db):
            ax.axvspan(segment.start_s, segment.end_s, color=EMPHASIS_COLOR, alpha=0.15 + 0.3 * strength, lw=0,
                       label="emphasis, measured" if ax is ax_f0 and segment is data.emphasis[0] else None)
        ax_f0.annotate(_emphasis_label(segment), ((segment.start_s + segment.end_s) / 2, 1.0),
                       xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=8, color="#a35f00")
    x_end = _x_end(data) or 1.0
    label_db = top_db + 0.08 * max(top_db - floor_db, 10.0)
    for i, t in enumerate(sorted({round(t, 3) for w in data.words for t in (w.start_s, w.end_s)})):
        for ax in (ax_f0, ax_db):
            ax.axvline(t, color="#999999", lw=0.8, ls=":", label="word boundaries" if i == 0 and ax is ax_db else None)
    for w in thin_labels(data.words, width_in * dpi * 0.85, x_end, char_px=8 * dpi / 72 * 0.6):
        ax_db.text((w.start_s + w.end_s) / 2, label_db, w.word, ha="center", va="bottom", fontsize=8,
                   color=WORD_COLOR, clip_on=True)
    ax_db.set_xlim(0, x_end)
    ax_f0.set_ylim(*_f0_axis(data.f0_hz, False))
    ax_db.set_ylim(floor_db - 3, label_db + 0.1 * max(top_db - floor_db, 10.0))
    ax_f0.set_ylabel("F0 (Hz)")
    ax_db.set_ylabel("energy (dBFS)")
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

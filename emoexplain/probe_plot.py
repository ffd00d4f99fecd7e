"""Small multiples of the probes: one bar chart of the model's label probabilities per probe (docs/probes.md).

    fig = probe_plot.figure(report.to_dict())    # plotly Figure: the original first, then each probe

Each panel has the same labels and the same 0-1 axis, so a probe that moves the decision stands out; the
original's probabilities are drawn in every panel as hollow markers to compare against.
"""

from __future__ import annotations

import math

COLUMNS = 4
LABEL_COLOR, ORIGINAL_COLOR, MOVED_COLOR = "#60a5fa", "#111827", "#ef4444"


def figure(report: dict, *, columns: int = COLUMNS, panel_height: int = 130):
    """The original and every probe as small bar charts of p(label); a panel whose top label differs from the
    original's is titled in red."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    original = report["original"]
    labels = list(original["probabilities"])
    panels = [("original", original["probabilities"], original["label"])] + [
        (p["name"], p["probabilities"], p["label"]) for p in report["probes"]]
    rows = math.ceil(len(panels) / columns)
    titles = [f"<b>{name}</b>" if label == original["label"] else
              f"<span style='color:{MOVED_COLOR}'><b>{name}: {label}</b></span>" for name, _, label in panels]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, shared_yaxes=True,
                        vertical_spacing=0.55 / rows, horizontal_spacing=0.03)
    for i, (name, probs, _) in enumerate(panels):
        r, c = i // columns + 1, i % columns + 1
        fig.add_trace(go.Bar(x=labels, y=[probs[l] for l in labels], marker_color=LABEL_COLOR, showlegend=False,
                             hovertemplate=f"{name}<br>%{{x}}: %{{y:.2f}}<extra></extra>"), row=r, col=c)
        if name != "original":
            fig.add_trace(go.Scatter(x=labels, y=[original["probabilities"][l] for l in labels], mode="markers",
                                     marker={"symbol": "line-ew-open", "size": 18, "color": ORIGINAL_COLOR},
                                     name="original", showlegend=(i == 1),
                                     hovertemplate="original<br>%{x}: %{y:.2f}<extra></extra>"), row=r, col=c)
    fig.update_yaxes(range=[0, 1], tickvals=[0, 0.5, 1], tickfont={"size": 9})
    fig.update_xaxes(tickfont={"size": 9})
    fig.update_annotations(font_size=11)
    fig.update_layout(height=rows * panel_height + 90, margin={"l": 30, "r": 10, "t": 60, "b": 20},
                      legend={"orientation": "h", "y": -0.05}, bargap=0.25)
    return fig

"""Charts of the Review and Model tabs (plotly figures for gr.Plot): a confusion heatmap and a bar chart.

    confusion_figure(["neutral", "sad"], ["neutral", "sad"], [[8, 2], [1, 9]], rows="true", columns="predicted")
    bar_figure({"sad": 12, "angry": 3}, title="Human emotion labels")

Transparent backgrounds and grey grids, so they read in the light and the dark theme (page.css themes the text).
plotly is imported inside the functions.
"""

from __future__ import annotations

GRID = "rgba(128, 128, 128, 0.25)"
BAR_COLOR = "#4f46e5"


def confusion_figure(row_labels, column_labels, counts, *, rows: str, columns: str, title: str = ""):
    """Counts as a heatmap coloured by each row's share; every cell says its percentage and its count, and every
    label is on its axis (an empty row or column stays, at 0)."""
    import plotly.graph_objects as go

    shares, text = [], []
    for row in counts:
        total = sum(row)
        shares.append([round(100 * n / total, 1) if total else None for n in row])   # an empty row stays blank
        text.append([f"{100 * n / total:.0f}%<br>({n})" if total else "–" for n in row])
    fig = go.Figure(go.Heatmap(
        z=shares, x=list(column_labels), y=list(row_labels), text=text, texttemplate="%{text}", zmin=0, zmax=100,
        colorscale="Blues", colorbar={"title": {"text": "% of row"}, "thickness": 12},
        hovertemplate=f"{rows} %{{y}}, {columns} %{{x}}: %{{z:.0f}}% of the row<extra></extra>"))
    side = 60 + 56 * max(len(row_labels), 1)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}} if title else None, height=max(side + 90, 260), autosize=True,
        margin={"l": 90, "r": 20, "t": 40 if title else 16, "b": 70}, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)", font={"color": "#374151"})
    fig.update_xaxes(title_text=columns, type="category", tickmode="array", tickvals=list(column_labels),
                     side="bottom")
    fig.update_yaxes(title_text=rows, type="category", tickmode="array", tickvals=list(row_labels),
                     autorange="reversed")
    return fig


def bar_figure(counts: dict, *, title: str, axis: str = "judgements"):
    """Horizontal bars, largest first, each with its count."""
    import plotly.graph_objects as go

    items = sorted(counts.items(), key=lambda kv: -kv[1])
    fig = go.Figure(go.Bar(x=[n for _, n in items], y=[label for label, _ in items], orientation="h",
                           text=[str(n) for _, n in items], textposition="auto", marker={"color": BAR_COLOR},
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=90 + 34 * max(len(items), 1),
                      autosize=True, margin={"l": 90, "r": 20, "t": 40, "b": 40}, paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", font={"color": "#374151"}, bargap=0.3)
    fig.update_xaxes(title_text=axis, gridcolor=GRID, rangemode="tozero",
                     dtick=max(1, -(-max((n for _, n in items), default=1) // 5)))   # whole counts only
    fig.update_yaxes(autorange="reversed", type="category")
    return fig

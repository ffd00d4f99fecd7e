"""The "Test this explanation" panel: counterfactual probes of the analysed clip (docs/probes.md).

    view = on_probe(backend, analysis)          # the sentence, the table, the small multiples, the player choices
    pick = on_pick(view.report, "pitch+4st")     # that probe's audio, to play
    probe_endpoint(backend)("clip.wav")          # the public /probe API: ProbeReport.to_dict()

The probes re-synthesise the clip that was analysed (the path the analysis remembered), reuse its explanation
as the original, and read the label-descriptor table beside the loaded checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from emoexplain.app.backend import Backend
from emoexplain.app.render import escape_md
from emoexplain.app.views import Update, View
from emoexplain.errors import AudioNotFound

COLUMNS = ("probe", "requested vs measured", "model label (p, change)", "model words changed",
           "measured words changed")


@dataclass(frozen=True)
class ProbeView(View):
    sentence: str         # markdown: what the probes show, and the scores
    table: object         # store.queries.Table: one row per probe (skipped ones say why)
    chart: object         # plotly Figure: p(label) per probe
    picker: Update        # the probe names to play, the first picked
    audio: object         # (16000, int16 samples) of the picked probe
    report: object        # the ProbeReport, kept server-side for the player


@dataclass(frozen=True)
class PickView(View):
    audio: object


def on_probe(backend: Backend, analysis) -> ProbeView:
    """Probe the analysed clip with the loaded model; its explanation is the original."""
    from emoexplain.probe_plot import figure
    from emoexplain.probe_score import load_associations

    if analysis is None:
        raise AudioNotFound("Nothing analysed yet: analyse a clip first, then test its explanation.")
    path = analysis.audio   # the analysed upload (gradio's cache keeps it an hour)
    if not path or not os.path.isfile(path):
        raise AudioNotFound("The analysed clip is no longer on the server: press Analyse again, then test it.")
    backend.model.get()   # load outside the (GPU) call: loading errors are reported as such
    report = backend.probe(path, id(backend.model), {"baseline": analysis.explanation, "max_seconds":
                           backend.config.max_seconds, "associations": load_associations(backend.model.source)})
    d = report.to_dict()
    names = [p.name for p in report.probes]
    return ProbeView(sentence=sentence_markdown(d), table=probe_table(d), chart=figure(d),
                     picker=Update(choices=names, value=names[0] if names else None, visible=bool(names)),
                     audio=playable(report.probes[0].samples) if names else None, report=report,
                     warning_toasts=tuple(report.warnings[:3]))


def on_pick(report, name: str | None) -> PickView:
    p = report.probe(name) if report is not None and name else None
    return PickView(audio=playable(p.samples) if p is not None else None)


def probe_endpoint(backend: Backend):
    """``/probe``: probe one clip (it is explained first) and return the report JSON."""
    from emoexplain.probe_score import load_associations

    def probe_clip(audio_path: str) -> dict:
        """Counterfactual probes of one speech clip: pitch -4..+4 st, monotone, pace x0.8/x1.25, level
        -10/+6 dB, de-emphasis, each re-measured and re-run through the model; the descriptor-branch
        ablation and the faithfulness scores (docs/probes.md)."""
        if not audio_path:
            raise AudioNotFound("No audio: pass a speech file to /probe.")
        backend.model.get()
        return backend.probe(str(audio_path), id(backend.model), {"max_seconds": backend.config.max_seconds,
                             "associations": load_associations(backend.model.source)}).to_dict()
    return probe_clip


def playable(samples) -> tuple[int, np.ndarray]:
    """gr.Audio's numpy value: 16-bit PCM at 16 kHz (a +6 dB probe is limited to full scale for playback)."""
    return 16000, (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16)


def sentence_markdown(d: dict) -> str:
    f, a = d["faithfulness"], d["ablation"]
    share = a.get("descriptor_share")
    scores = [f"descriptor sensitivity {_share(f['descriptor_sensitivity'])}",
              f"explanation consistency {_share(f['explanation_consistency'])}",
              "descriptor-branch share " + ("n/a" if share is None else f"{share:.0%}")]
    lines = [f"**{escape_md(d['summary'])}**", "", escape_md("; ".join(scores)), "",
             escape_md(f"Level: {d['level']['detail']}.")]
    if "skipped" in a:
        lines += ["", escape_md(a["skipped"])]
    return "\n".join(lines)


def _share(s: dict) -> str:
    return "n/a" if s["score"] is None else f"{s['hits']}/{s['n']}"


def probe_table(d: dict):
    from emoexplain.store.queries import Table
    orig = d["original"]["probabilities"]
    rows = []
    for p in d["probes"]:
        label, prob = p["label"], p["probabilities"][p["label"]]
        rows.append({"probe": p["name"], "requested vs measured": p["text"],
                     "model label (p, change)": f"{label} {prob:.2f} ({prob - orig.get(label, 0.0):+.2f})",
                     "model words changed": _changes(p["delta"]["descriptors"]),
                     "measured words changed": _changes(p["delta"]["measured_descriptors"])})
    rows += [{"probe": s["name"], "requested vs measured": f"skipped: {s['reason']}", "model label (p, change)": "",
              "model words changed": "", "measured words changed": ""} for s in d["skipped"]]
    return Table(columns=COLUMNS, rows=rows)


def _changes(delta: dict) -> str:
    return "; ".join(f"{k.replace('_', ' ')} {a or '-'} -> {b or '-'}" for k, (a, b) in delta.items()) or "-"

"""``python -m train eval --probe``: the counterfactual probes and faithfulness scores over a manifest.

Every clip is probed (emoexplain.probes.probe: pitch, pace, level, monotone, de-emphasis, branch ablation); the
per-clip verdicts are pooled by emoexplain.probe_score.corpus_faithfulness. The label-descriptor association
table that defines the direction an explanation implies comes from, in order: ``associations`` (a table JSON, or
a manifest whose train split is counted), the checkpoint's descriptor_associations.json, the checkpoint's
training manifest (train_config.train_manifest) when it is on this machine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from emoexplain.probe_score import ASSOCIATIONS_FILE, corpus_faithfulness, descriptor_associations, load_associations


def resolve_associations(explainer, checkpoint, associations=None) -> tuple[dict | None, str]:
    """(table, where it came from): see the module docstring for the order."""
    from train.data.manifest import read_manifest
    if associations and str(associations).endswith(".json"):
        return json.loads(Path(associations).read_text()), str(associations)
    manifest = associations
    if manifest is None:
        table = load_associations(checkpoint)
        if table is not None:
            return table, f"{checkpoint}/{ASSOCIATIONS_FILE}"
        info = json.loads((Path(checkpoint) / "config.json").read_text()) if checkpoint else {}
        manifest = (info.get("train_config") or {}).get("train_manifest")
        if not manifest or not Path(manifest).exists():
            return None, "none: no descriptor_associations.json beside the checkpoint and no training manifest here"
    rows = read_manifest(manifest, split="train")
    return descriptor_associations(rows, list(explainer.labels), source=f"{manifest} [train]"), f"{manifest} [train]"


def evaluate_probes(explainer, rows: list[dict], *, associations: dict | None, max_seconds: float = 15.0,
                    progress: bool = True) -> dict:
    """Probe every row; returns {"corpus": pooled scores, "clips": one short record per clip}."""
    from emoexplain.probes import probe
    from train.data.manifest import load_samples

    reports, clips = [], []
    start = time.perf_counter()
    for i, row in enumerate(rows):
        report = probe(load_samples(row, max_seconds), explainer, associations=associations,
                       max_seconds=max_seconds).to_dict()
        reports.append(report)
        f = report["faithfulness"]
        clips.append({"audio": row["audio"], "reference": row.get("emotion"), "label": report["original"]["label"],
                      "descriptor_sensitivity": f["descriptor_sensitivity"], "stability": f["stability"],
                      "explanation_consistency": f["explanation_consistency"], "ablation_share": f["ablation_share"],
                      "skipped": [s["name"] for s in report["skipped"]], "summary": report["summary"]})
        if progress and (i + 1) % 20 == 0:
            print(f"[probe] {i + 1}/{len(rows)} clips, {time.perf_counter() - start:.0f} s", flush=True)
    return {"corpus": corpus_faithfulness(reports), "clips": clips, "seconds": round(time.perf_counter() - start, 1)}


def write_probe_report(result: dict, out: Path, *, title: str, source: str) -> Path:
    """probes.json (everything) and probes.md (the pooled scores and the per-probe table)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "probes.json").write_text(json.dumps({**result, "associations": source}, indent=2))
    c = result["corpus"]
    pct = (lambda s: "n/a" if s["score"] is None else f"{100 * s['score']:.1f} % ({s['hits']}/{s['n']})")
    share = c["ablation_share"]["mean"]
    lines = [f"# Counterfactual probes: {title}", "",
             f"{c['n_clips']} clips, {result['seconds']:.0f} s; association table: {source}", "",
             "| score | value |", "|---|---|",
             f"| (a) descriptor sensitivity | {pct(c['descriptor_sensitivity'])} |",
             f"| stability (no measured change, no model change) | {pct(c['stability'])} |",
             f"| (b) explanation consistency | {pct(c['explanation_consistency'])} |",
             f"| (c) ablation share (descriptor branch), mean | {'n/a' if share is None else f'{share:.3f}'} |",
             f"| label flips with descriptor / content tokens zeroed | {c['ablation_label_flips']['descriptor']} / "
             f"{c['ablation_label_flips']['content']} |", "",
             "| probe | (a) sensitivity | stability | (b) consistency |", "|---|---|---|---|"]
    for name, s in c["by_probe"].items():
        lines.append(f"| {name} | {pct(s['descriptor_sensitivity'])} | {pct(s['stability'])} | "
                     f"{pct(s['explanation_consistency'])} |")
    lines += ["", f"skipped probes: {c['skipped'] or 'none'}; level sensitivity: {c['level_sensitivity']}"]
    path = out / "probes.md"
    path.write_text("\n".join(lines) + "\n")
    return path

"""What a round leaves behind: ``round.json``, the before/after table, and the new model card.

The card starts with the round (decision, reasons, the table) and then keeps the parent's card verbatim under
a marker, so its intended-use warnings ("synthetic, not a real emotion recognizer") travel with every round;
a round on a round's checkpoint keeps the original card once, not nested.
"""

from __future__ import annotations

import json
from pathlib import Path

from emoexplain.text import percent

PARENT_MARKER = "<!-- emoexplain:parent-card -->"
ROUND_FILE = "round.json"


def _pts(x) -> str:
    return f"{100 * x + 0.0:+.1f}"  # + 0.0: never "-0.0"


def table(report: dict) -> str:
    """Markdown: agreement with people on held-out corrections and UA on the parent's test set, before/after."""
    heldout, pt = report.get("heldout_human") or {}, report["parent_test"]
    lines = ["| | before (parent) | after (candidate) | difference [bootstrap 95 %] |", "|---|---|---|---|"]
    if heldout:
        ci = heldout.get("bootstrap_95") or {}
        for key, name in (("accuracy", "held-out agreement with people"), ("ua", "held-out UA (people's classes)")):
            low_high = ci.get(key)
            interval = f" [{_pts(low_high[0])}, {_pts(low_high[1])}]" if low_high else ""
            diff = heldout["after"][key] - heldout["before"][key]
            lines.append(f"| {name} (n = {heldout['after']['n']}) | {percent(heldout['before'][key], 1, ' %')} | "
                         f"{percent(heldout['after'][key], 1, ' %')} | {_pts(diff)} points{interval} |")
        for label, before in heldout["before"]["per_class_recall"].items():
            after = heldout["after"]["per_class_recall"][label]
            lines.append(f"| recall {label} (n = {heldout['after']['support'][label]}) | {percent(before, 1, ' %')} | "
                         f"{percent(after, 1, ' %')} | {_pts(after - before)} |")
        m = heldout["mcnemar"]
        lines.append(f"| McNemar (only candidate right / only parent right) | | | {m['b']} / {m['c']}, "
                     f"p = {m['p']:.3g} |")
    if pt.get("measured"):
        diff = pt["after"]["ua"] - pt["before"]["ua"]
        lines.append(f"| parent-test UA (n = {pt['n']}) | {percent(pt['before']['ua'], 1, ' %')} | {percent(pt['after']['ua'], 1, ' %')} | "
                     f"{_pts(diff)} points |")
        for label, before in pt["before"]["per_class_recall"].items():
            after = pt["after"]["per_class_recall"][label]
            lines.append(f"| parent-test recall {label} | {percent(before, 1, ' %')} | {percent(after, 1, ' %')} | {_pts(after - before)} |")
    else:
        lines.append(f"| parent-test UA | unmeasured | unmeasured | {pt.get('reason', '')} |")
    steps = report["steps"]
    lines += ["", f"**{report['status'].upper()}**: " + "; ".join(report["reasons"]) + ".",
              f"Steps: ASR {steps['asr']}, SER-SED+ASR {steps['ser_sed_asr']} (candidate); {report['n_train']} "
              f"corrections + {report['n_replay']} replay rows in training, {report['n_eval']} held-out "
              f"corrections ({report['split']['mode']}); {report['seconds']['total']:.0f} s."]
    return "\n".join(lines)


def parent_card_body(card: str) -> str:
    """The card a round inherits: the original card of a round checkpoint, else the whole card."""
    return card.split(PARENT_MARKER, 1)[1].lstrip("\n") if PARENT_MARKER in card else card


def _front_matter(card: str) -> tuple[str, str]:
    if card.startswith("---\n") and "\n---\n" in card[4:]:
        end = card.index("\n---\n", 4) + 5
        return card[:end], card[end:]
    return "", card


def card(report: dict, parent_card: str) -> str:
    inherited = parent_card_body(parent_card or "")
    front, body = _front_matter(inherited)
    parent = report["parent"]
    lines = [front.rstrip("\n")] if front else []
    lines += [f"# {report['version']}: one round of learning from people ({report['status']})", "",
              f"Fine-tuned from `{parent['version']}` on {report['n_corrections']} corrections from the app's "
              f"store (consented audio, people's emotion) and {report['n_replay']} replay clips of the parent's own "
              "training data. Everything the parent's card below says about intended use and limits applies "
              "to this checkpoint as well.", "",
              "## This round (held-out corrections and the parent's test set)", "", table(report), "",
              f"Parent test set: {report['parent_test'].get('source', '–')}. Replay: {report['replay_source']}. "
              "Full numbers: round.json in this folder.", "",
              PARENT_MARKER, "", body.lstrip("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_round(folder: str | Path, report: dict) -> Path:
    path = Path(folder) / ROUND_FILE
    from emoexplain.jsonsafe import finite_or_none
    path.write_text(json.dumps(finite_or_none(report), indent=2) + "\n")
    return path


def store_metrics(report: dict) -> dict:
    """The scalars for the store's training_runs.metrics column (the whole report goes to ``extra``)."""
    out = {"status": report["status"], "n_train": report["n_train"], "n_eval": report["n_eval"],
           "n_replay": report["n_replay"], "steps_asr": report["steps"]["asr"],
           "steps_ser_sed_asr": report["steps"]["ser_sed_asr"], "seconds": report["seconds"]["total"]}
    heldout = report.get("heldout_human") or {}
    for side in ("before", "after"):
        for key in ("accuracy", "ua"):
            if heldout:
                out[f"heldout_{key}_{side}"] = heldout[side][key]
        if report["parent_test"].get("measured"):
            out[f"parent_test_ua_{side}"] = report["parent_test"][side]["ua"]
    return out

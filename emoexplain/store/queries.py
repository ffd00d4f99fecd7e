"""Reading the store: training examples (the manifest), statistics, agreement, exports."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from emoexplain.errors import StoreError
from emoexplain.store.agreement import agreement_table
from emoexplain.store.db import Store, sweep_temp_files, temp_file

EXPORT_FORMATS = ("jsonl", "csv", "parquet", "manifest")   # manifest: the training manifest (JSONL)
_EXPORT_SUFFIX = {"manifest": "manifest.jsonl"}

_LATEST_SQL = """
SELECT j.*, a.clip_sha256, a.label AS model_label, a.label_set, a.descriptors AS model_descriptors,
       a.emphasis AS model_emphasis, a.transcript AS model_transcript, a.measured,
       a.model_name, a.model_version, a.created_at AS analysis_created_at
FROM latest_judgements j JOIN analyses a ON a.id = j.analysis_id
ORDER BY j.id"""


def _loads(text, default):
    return default if text is None else json.loads(text)


def _resolve(row: dict) -> dict:
    """A judgement as values: emotion label and {descriptor: word} (emphasis: tuple of words);
    "correct" takes the model's word, "wrong" the correction, "unsure" gives nothing."""
    model_words = _loads(row["model_descriptors"], {})
    model_emphasis = tuple(_loads(row["model_emphasis"], []))
    values, verdicts = {}, _loads(row["descriptor_verdicts"], {})
    for name, verdict in verdicts.items():
        if verdict["verdict"] == "wrong":
            value = verdict.get("value")
            values[name] = tuple(value) if isinstance(value, list) else value
        elif verdict["verdict"] == "correct":
            model_value = model_emphasis if name == "emphasis" else model_words.get(name)
            if model_value is not None:
                values[name] = model_value
    return {**row, "verdicts": verdicts, "values": values, "model_words": model_words,
            "model_emphasis": model_emphasis}


def latest_by_clip(store: Store, *, consent_only: bool = False) -> dict[str, list[dict]]:
    """{clip sha256: [resolved judgement]}: each annotator's latest judgement of the clip (over all
    analyses of that clip, so a clip analysed twice still counts once per annotator)."""
    newest: dict[tuple[str, str], dict] = {}
    for row in store.read(_LATEST_SQL):
        if consent_only and not row["consent"]:
            continue
        key = (row["clip_sha256"], row["annotator_id"])
        if key not in newest or (row["created_at"], row["id"]) > (newest[key]["created_at"], newest[key]["id"]):
            newest[key] = row
    clips: dict[str, list[dict]] = defaultdict(list)
    for (sha, _), row in newest.items():
        clips[sha].append(_resolve(row))
    return clips


def _vote(votes: list[tuple[object, float]]) -> tuple[object, float] | None:
    """Weighted majority: (winner, share of the weight) or None when empty or tied."""
    tally: Counter = Counter()
    for value, weight in votes:
        tally[value] += weight
    total = sum(tally.values())
    if not tally or total <= 0:
        return None
    ranked = tally.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0], ranked[0][1] / total


def training_examples(store: Store, *, min_agreement: float | None = None, consent_only: bool = True,
                      annotator_weights: dict[str, float] | None = None, label_set: str | None = None,
                      require_audio: bool = True, campaign: str | None = None) -> list[dict]:
    """Manifest rows (docs/contracts.md "Manifest") built from human judgements, one per clip.

    - emotion: weighted majority of each annotator's latest judgement of the clip ("unsure" does not
      vote, ties are left out); ``weight`` is the winner's share of the votes.
    - descriptors the annotators judged are marked ``"human"``; the rest come from the acoustic
      measurements (``"automatic"``). The transcript is the latest human correction, else the model's.
    :param min_agreement: keep only clips whose emotion share is at least this (0..1).
    :param consent_only: use only judgements given with consent (default).
    :param annotator_weights: {annotator id: weight}, default 1 each; weight 0 drops an annotator.
    :param label_set: map emotions into this label set (clips with no counterpart are left out);
      default: the label set of the clip's analysis.
    :param require_audio: leave out clips whose audio was not kept (training needs the audio).
    :param campaign: the rows of that annotation campaign instead, from its consensus
      (``campaigns.training_examples``: the owner's audio, excluded annotators left out; ``consent_only``,
      ``annotator_weights`` and ``require_audio`` do not apply).
    """
    from emoexplain.labels import convert
    if campaign is not None:
        from emoexplain.store.campaigns import training_examples as campaign_examples
        return campaign_examples(store, campaign, min_agreement=min_agreement, label_set=label_set)
    weights = annotator_weights or {}
    clips = {row["sha256"]: row for row in store.read("SELECT * FROM clips")}
    examples = []
    for sha, judgements in sorted(latest_by_clip(store, consent_only=consent_only).items(),
                                  key=lambda item: (clips[item[0]]["created_at"], item[0])):
        clip = clips[sha]
        if require_audio and not clip["audio_path"]:
            continue
        newest = max(judgements, key=lambda j: (j["analysis_created_at"], j["analysis_id"]))
        target = label_set or newest["label_set"]
        votes = []
        for j in judgements:
            weight = float(weights.get(j["annotator_id"], 1.0))
            if j["emotion"] is not None and weight > 0:
                label = j["emotion"] if j["label_set"] == target else convert(j["emotion"], j["label_set"], target)
                if label is not None:
                    votes.append((label, weight))
        decided = _vote(votes)
        if decided is None or (min_agreement is not None and decided[1] < min_agreement):
            continue
        emotion, share = decided
        descriptors, sources, emphasis = _descriptors(judgements, newest, weights)
        corrected = [j for j in judgements if j["transcript"] and j["transcript"].strip()]
        transcript = (max(corrected, key=lambda j: j["created_at"])["transcript"] if corrected
                      else newest["model_transcript"])
        audio = str(Path(store.path).parent / clip["audio_path"]) if clip["audio_path"] and store.path else None
        examples.append({
            "audio": audio, "audio_sha256": sha, "duration_s": clip["duration_s"], "transcript": transcript,
            "emotion": emotion, "label_set": target, "descriptors": descriptors,
            "descriptor_source": sources, "emphasis": emphasis, "caption": None, "speaker": None,
            "gender": None, "split": "train", "source": "store", "weight": round(share, 6),
        })
    return examples


def _descriptors(judgements, newest, weights):
    descriptors, sources = {}, {}
    emphasis: list[str] = []
    for d in _loads(newest["measured"], []) or []:
        if isinstance(d, dict) and d.get("name") and d.get("value") is not None:
            if d["name"] == "emphasis":
                emphasis, sources["emphasis"] = [w.strip() for w in str(d["value"]).split(",") if w.strip()], \
                    "automatic"
            else:
                descriptors[d["name"]], sources[d["name"]] = d["value"], "automatic"
    names = {name for j in judgements for name in j["values"]}
    for name in sorted(names):
        votes = [(j["values"][name], float(weights.get(j["annotator_id"], 1.0)))
                 for j in judgements if name in j["values"]]
        decided = _vote([(v, w) for v, w in votes if w > 0])
        if decided is None:
            continue
        if name == "emphasis":
            emphasis = list(decided[0])
        else:
            descriptors[name] = decided[0]
        sources[name] = "human"
    return descriptors, sources, emphasis


def stats(store: Store) -> dict:
    """Counts for a dashboard: rows per table, annotators, emotions, verdicts, file size."""
    one = lambda sql: store.read(sql)[0]["n"]  # noqa: E731
    clips = latest_by_clip(store)
    latest = [j for js in clips.values() for j in js]
    verdicts: dict[str, Counter] = defaultdict(Counter)
    for j in latest:
        for name, v in j["verdicts"].items():
            verdicts[name][v["verdict"]] += 1
    agreeing = [j for j in latest if j["emotion"] is not None]
    size = sum(p.stat().st_size for p in _db_files(store))
    return {
        "path": str(store.path) if store.path else ":memory:",
        "schema_version": store.schema_version(),
        "clips": one("SELECT count(*) AS n FROM clips"),
        "clips_with_audio": one("SELECT count(*) AS n FROM clips WHERE audio_path IS NOT NULL"),
        "analyses": one("SELECT count(*) AS n FROM analyses"),
        "judgements": one("SELECT count(*) AS n FROM judgements"),
        "latest_judgements": one("SELECT count(*) AS n FROM latest_judgements"),
        "judged_clips": len(clips),
        "annotators": one("SELECT count(*) AS n FROM annotators"),
        "training_runs": one("SELECT count(*) AS n FROM training_runs"),
        "judgements_per_annotator": {r["annotator_id"]: r["n"] for r in store.read(
            "SELECT annotator_id, count(*) AS n FROM latest_judgements GROUP BY annotator_id ORDER BY n DESC")},
        "human_emotions": dict(Counter(j["emotion"] or "unsure" for j in latest).most_common()),
        "agree_with_model": (round(sum(j["emotion"] == j["model_label"] for j in agreeing) / len(agreeing), 6)
                             if agreeing else None),
        "descriptor_verdicts": {name: dict(c) for name, c in sorted(verdicts.items())},
        "models": store.read("SELECT model_name, model_version, count(*) AS analyses FROM analyses "
                             "GROUP BY model_name, model_version ORDER BY analyses DESC"),
        "size_bytes": size,
    }


def _db_files(store: Store) -> list[Path]:
    if store.path is None:
        return []
    return [p for p in (store.path, Path(f"{store.path}-wal")) if p.exists()]


def agreement(store: Store) -> dict:
    """Agreement between annotators (emotion and each descriptor) and between model and people.

    Items are clips; each annotator's latest judgement of a clip counts. Emotions of analyses in
    different label sets are compared in SpeechCraft-7. Descriptors compare the judged values
    (correct -> the model's word, wrong -> the correction); emphasis compares the verdicts.
    """
    from emoexplain.labels import HUB, to_hub
    clips = latest_by_clip(store)
    latest = [j for js in clips.values() for j in js]
    label_sets = {j["label_set"] for j in latest}
    common = label_sets.pop() if len(label_sets) == 1 else HUB

    def label(value, label_set):
        return value if label_set == common else to_hub(value, label_set)

    emotion = {sha: {j["annotator_id"]: label(j["emotion"], j["label_set"]) for j in js if j["emotion"]}
               for sha, js in clips.items()}
    names = sorted({name for j in latest for name in j["verdicts"]})
    descriptors = {}
    for name in names:
        ratings = {}
        for sha, js in clips.items():
            if name == "emphasis":
                by = {j["annotator_id"]: j["verdicts"][name]["verdict"] for j in js
                      if name in j["verdicts"] and j["verdicts"][name]["verdict"] != "unsure"}
            else:
                by = {j["annotator_id"]: j["values"][name] for j in js if name in j["values"]}
            ratings[sha] = by
        descriptors[name] = agreement_table(ratings)
    confusion: dict[str, Counter] = defaultdict(Counter)
    for j in latest:
        if j["emotion"]:
            confusion[label(j["model_label"], j["label_set"])][label(j["emotion"], j["label_set"])] += 1
    judged = sum(sum(c.values()) for c in confusion.values())
    accuracy = {}
    for name in names:
        counts = Counter(j["verdicts"][name]["verdict"] for j in latest if name in j["verdicts"])
        decided = counts["correct"] + counts["wrong"]
        accuracy[name] = {"correct": counts["correct"], "wrong": counts["wrong"], "unsure": counts["unsure"],
                          "accuracy": round(counts["correct"] / decided, 6) if decided else None}
    return {
        "label_set": common,
        "emotion": agreement_table(emotion),
        "descriptors": descriptors,
        "model_vs_human": {
            "n": judged,
            "accuracy": round(sum(confusion[k][k] for k in confusion) / judged, 6) if judged else None,
            "confusion": {model: dict(human) for model, human in sorted(confusion.items())},  # model -> human -> n
        },
        "descriptor_accuracy": accuracy,
    }


# --- tables for a dashboard --------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """Rows of a query with its column names (known even when there are no rows)."""
    columns: tuple[str, ...]
    rows: list[dict]


_RECENT_SQL = """
SELECT j.id, j.analysis_id, j.created_at, j.annotator_id AS annotator, a.label AS model, j.emotion AS human,
       j.agreed, j.faithfulness, j.helpfulness, j.consent, j.note
FROM judgements j JOIN analyses a ON a.id = j.analysis_id {where} ORDER BY j.id DESC LIMIT ?"""
_RUNS_SQL = """
SELECT id, created_at, checkpoint, model_name, model_version, n_examples, metrics
FROM training_runs ORDER BY id DESC LIMIT ?"""


def _table(store: Store, sql: str, params=()) -> Table:
    with store.lock:
        cursor = store.db.execute(sql, params)
        columns = tuple(d[0] for d in cursor.description)
        return Table(columns, [dict(zip(columns, row)) for row in cursor.fetchall()])


def recent_judgements(store: Store, limit: int = 20, *, annotator: str | None = None, label: str | None = None,
                      since: str | None = None, until: str | None = None, agreed: bool | None = None) -> Table:
    """The newest judgements (every revision), with the model's label beside the human's; optionally only one
    annotator's, those where the model or the person said ``label``, those made on or after ``since`` / on or
    before ``until`` (ISO dates, "2026-12-01"), or those that agreed (or not) with the model."""
    clauses, params = [], []
    if annotator:
        clauses.append("j.annotator_id = ?")
        params.append(annotator)
    if label:
        clauses.append("(a.label = ? OR j.emotion = ?)")
        params += [label, label]
    if since:
        clauses.append("j.created_at >= ?")
        params.append(since)
    if until:
        clauses.append("substr(j.created_at, 1, 10) <= ?")
        params.append(until)
    if agreed is not None:
        clauses.append("j.agreed = ?")
        params.append(int(agreed))
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return _table(store, _RECENT_SQL.format(where=where), (*params, limit))


def training_runs(store: Store, limit: int = 20) -> Table:
    """The newest training runs recorded by train/."""
    return _table(store, _RUNS_SQL, (limit,))


# --- export ----------------------------------------------------------------------------------------

def export_formats() -> tuple[str, ...]:
    """The export formats this installation can write (parquet only with pyarrow installed)."""
    return tuple(f for f in EXPORT_FORMATS if f != "parquet" or importlib.util.find_spec("pyarrow"))


def export_filename(fmt: str, stem: str = "emoexplain") -> str:
    """``stem.<suffix>`` for an export in ``fmt`` (the manifest is JSONL: ``stem.manifest.jsonl``)."""
    return f"{stem}.{_EXPORT_SUFFIX.get(fmt, fmt)}"

_EXPORT_SQL = """
SELECT j.id AS judgement_id, j.analysis_id, j.annotator_id, an.display_name AS annotator_name, j.revision,
       (j.revision = (SELECT max(revision) FROM judgements k WHERE k.analysis_id = j.analysis_id
                      AND k.annotator_id = j.annotator_id)) AS is_latest,
       j.emotion, j.agreed, j.descriptor_verdicts, j.transcript, j.faithfulness, j.helpfulness, j.note,
       j.consent, j.created_at, a.clip_sha256, c.duration_s, c.source, c.audio_path, a.model_name,
       a.model_version, a.label_set, a.label AS model_label, a.probabilities AS model_probabilities,
       a.transcript AS model_transcript, a.caption AS model_caption, a.descriptors AS model_descriptors,
       a.emphasis AS model_emphasis, a.measured, a.created_at AS analysis_created_at
FROM judgements j JOIN analyses a ON a.id = j.analysis_id JOIN clips c ON c.sha256 = a.clip_sha256
LEFT JOIN annotators an ON an.id = j.annotator_id
ORDER BY j.id"""
_JSON_COLUMNS = ("descriptor_verdicts", "model_probabilities", "model_descriptors", "model_emphasis", "measured")


def export_rows(store: Store) -> list[dict]:
    """Every judgement (all revisions, ``is_latest`` marks the current one) with its analysis and clip."""
    rows = store.read(_EXPORT_SQL)
    for row in rows:
        row["is_latest"] = bool(row["is_latest"])
    return rows


def export(store: Store, fmt: str, dest: str | os.PathLike, **options) -> int:
    """Write the judgements (``jsonl``, ``csv``, ``parquet``) or the training manifest (``manifest``,
    JSONL; ``options`` go to :func:`training_examples`) to ``dest``; returns the number of rows.

    JSON columns are nested objects in JSONL and JSON text in CSV and Parquet; CSV text that a spreadsheet
    would run as a formula is prefixed with ``'`` (:func:`spreadsheet_safe`). The file is written to a
    temporary name and renamed, so ``dest`` is never half-written.
    """
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"Unknown export format {fmt!r}; use one of {list(EXPORT_FORMATS)}.")
    if options and fmt != "manifest":
        raise StoreError(f"Options {sorted(options)} only apply to the manifest export.")
    dest = Path(dest)
    rows = training_examples(store, **options) if fmt == "manifest" else export_rows(store)
    with temp_file(dest.parent, dest.suffix) as tmp:
        if fmt == "manifest":
            _write_jsonl(tmp, rows)
        elif fmt == "jsonl":
            _write_jsonl(tmp, [{k: _loads(v, None) if k in _JSON_COLUMNS else v for k, v in r.items()} for r in rows])
        elif fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=_export_columns(store))
                writer.writeheader()
                writer.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in rows)
        else:
            _write_parquet(tmp, rows, _export_columns(store))
        os.replace(tmp, dest)
    sweep_temp_files(dest.parent)  # what an earlier, killed export left here
    return len(rows)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula (=HYPERLINK(...), +cmd, @SUM, ...) gets a
    leading apostrophe, so it is shown as text (OWASP "CSV injection"); other values pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _export_columns(store: Store) -> list[str]:
    with store.lock:
        return [d[0] for d in store.db.execute(_EXPORT_SQL + " LIMIT 0").description]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, rows: list[dict], columns: list[str]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise StoreError("Parquet export needs pyarrow: `pip install pyarrow`, or export jsonl/csv.") from e
    table = pa.Table.from_pylist(rows, schema=None) if rows else pa.table({c: pa.array([], pa.string())
                                                                          for c in columns})
    pq.write_table(table, path)

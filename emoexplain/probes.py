"""Counterfactual probes: does the model's explanation follow the signal it claims to describe? (docs/probes.md)

    clip --explain-------> the original: label probabilities, the model's words, the measured words
         --resynth.psola--> pitch -4/-2/+2/+4 st, monotone, pace x0.8/x1.25 (formants kept, nothing resampled)
         --gain-----------> level -10/+6 dB;  de-emphasis: the strongest emphasised stretch's peaks flattened
         --acoustics------> every probe re-measured: requested vs measured change, the measured words
         --model----------> all probes in one batch (+ the descriptor / content branch ablation rows)
         --probe_score----> faithfulness: descriptor sensitivity, explanation consistency, ablation share

    report = emoexplain.probe("clip.wav", explainer)     # -> ProbeReport; report.to_dict() is the JSON
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from emoexplain.audio import MIN_SECONDS, SAMPLE_RATE

PITCH_STEPS_ST = (-4.0, -2.0, 2.0, 4.0)
PACE_RATIOS = (0.8, 1.25)
LEVEL_STEPS_DB = (-10.0, 6.0)
MIN_VOICED_S = 0.30       # a pitch probe needs this much voiced speech to move (and to re-measure) the F0
EMPHASIS_RAMP_S = 0.02    # the de-emphasis gain fades in and out over this much audio
BLIND_DP = 1e-5           # level probes that move no probability beyond this (float noise): blind to level
UNITS = {"pitch": "st", "monotone": "st", "pace": "x", "level": "dB", "emphasis": "z"}


@dataclass(frozen=True)
class Probe:
    """One probe row: what was asked, what the acoustic engine measured, and what the model then said."""
    name: str                    # "pitch+4st", "pace1.25x", "level-10dB", "monotone", "de-emphasis"
    kind: str                    # "pitch" | "pace" | "level" | "monotone" | "emphasis"
    unit: str                    # semitones ("st"), ratio ("x"), "dB", prominence z-score ("z")
    requested: float
    measured: float | None
    text: str                    # "+4.0 st requested, +3.9 st measured"
    side_effects: dict           # other measured changes: pitch_st, level_db, syllable_rate_ratio
    label: str
    probabilities: dict          # the model's label probabilities on the probe
    descriptors: dict            # the model's descriptor words on the probe
    emphasis: tuple              # the model's emphasised words on the probe
    measured_descriptors: dict   # the acoustic engine's words on the probe
    delta: dict                  # against the original: probabilities, label, descriptors, measured_descriptors
    caption: str | None = None
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)   # the probe's audio, 16 kHz

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "unit": self.unit, "requested": self.requested,
                "measured": self.measured, "text": self.text, "side_effects": self.side_effects,
                "label": self.label, "probabilities": self.probabilities, "descriptors": self.descriptors,
                "emphasis": list(self.emphasis), "measured_descriptors": self.measured_descriptors,
                "delta": self.delta, "caption": self.caption}


@dataclass(frozen=True)
class ProbeReport:
    original: dict               # label, probabilities, descriptors, emphasis, measured_descriptors, caption
    probes: tuple                # Probe rows
    skipped: tuple               # {"name", "kind", "reason"} for probes that could not run on this clip
    ablation: dict               # branch ablation (or {"skipped": reason})
    faithfulness: dict           # probe_score.clip_faithfulness
    level: dict                  # whether the model is blind to level, and why
    summary: str                 # one sentence: what the probes show
    model: dict                  # {"name", "version"}
    warnings: tuple = ()
    latency_s: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        from emoexplain.jsonsafe import finite_or_none
        return finite_or_none({
            "original": self.original, "probes": [p.to_dict() for p in self.probes],
            "skipped": list(self.skipped), "ablation": self.ablation, "faithfulness": self.faithfulness,
            "level": self.level, "summary": self.summary, "model": self.model, "warnings": list(self.warnings),
            "latency_s": self.latency_s})

    def probe(self, name: str) -> Probe | None:
        return next((p for p in self.probes if p.name == name), None)


@dataclass(frozen=True)
class _Planned:
    name: str
    kind: str
    requested: float
    samples: np.ndarray
    track: object = None         # a FrameTrack when it need not be measured again (level: F0 is gain-free)
    time_ratio: float = 1.0


# --- entry point ---------------------------------------------------------------------------------------------
def probe(audio, explainer=None, *, baseline=None, associations=None, max_seconds: float = 30.0,
          generate: bool = True) -> ProbeReport:
    """Probe one clip (path, ndarray, (ndarray, sr) or AudioClip) with ``explainer`` (None: the default model).

    baseline: the clip's ``explain`` result if the caller has it (the app does), else it is computed here.
    associations: the label-descriptor association table (probe_score.load_associations) that defines which
    way an explanation implies the label should move; None: explanation consistency is not scored.
    """
    from emoexplain.acoustics import frame_track
    from emoexplain.audio import load_audio
    from emoexplain.probe_score import clip_faithfulness, summary_sentence

    stamps = [time.perf_counter()]
    clip = load_audio(audio, max_seconds=max_seconds)
    if explainer is None:
        from emoexplain.model.holder import default_holder
        explainer = default_holder().get()
    original, profile = _baseline(clip, explainer, baseline, max_seconds, generate)
    stamps.append(time.perf_counter())
    context = _Context(clip, frame_track(clip.samples), profile, original)
    planned, skipped = _plan(context)
    stamps.append(time.perf_counter())
    measured = [_measure(p, context) for p in planned]
    stamps.append(time.perf_counter())
    outputs, ablation_rows = _run_model(explainer, context, planned, measured, generate)
    rows = tuple(_row(p, m, o, original) for p, m, o in zip(planned, measured, outputs))
    stamps.append(time.perf_counter())
    ablation = _ablation(explainer, original, ablation_rows)
    level = _level_check(explainer, rows)
    row_dicts = [r.to_dict() for r in rows]
    faith = clip_faithfulness(original, row_dicts, ablation, associations)
    stages = ("baseline", "resynthesis", "measure", "model")
    return ProbeReport(original=original, probes=rows, skipped=tuple(skipped), ablation=ablation,
                       faithfulness=faith, level=level, summary=summary_sentence(original, row_dicts, faith, level),
                       model={"name": getattr(explainer, "name", type(explainer).__name__),
                              "version": getattr(explainer, "version", "unknown")},
                       warnings=tuple(w for m in measured for w in m["warnings"]),
                       latency_s={**{k: round(b - a, 4) for k, a, b in zip(stages, stamps, stamps[1:])},
                                  "total": round(time.perf_counter() - stamps[0], 4)})


@dataclass(frozen=True)
class _Context:
    clip: object                 # AudioClip
    track: object                # its FrameTrack
    profile: dict                # its AcousticProfile.to_dict() (with the model's word timings, when it had them)
    original: dict

    @property
    def register(self) -> str:
        """The original's pitch register: probes are binned in it, so +4 st is never read as a change of voice."""
        from emoexplain.descriptors import load_bins
        median = self.profile["pitch"]["median_hz"] or 0.0
        return "male" if median < load_bins()["register"]["threshold_hz"] else "female"

    @property
    def timings(self) -> list | None:
        """Word timings the original's emphasis was scored on (None: it was scored on syllables)."""
        words = self.original.get("words") or []
        return words if any("word" in e for e in self.profile.get("emphasis", [])) and words else None


def _baseline(clip, explainer, baseline, max_seconds, generate) -> tuple[dict, dict]:
    """The original clip's row: the model's answer (its ``explain``) beside its measured profile."""
    if baseline is None and hasattr(explainer, "predict"):
        from emoexplain.pipeline import explain
        baseline = explain(clip, explainer, max_seconds=max_seconds, generate=generate)
    if baseline is not None:
        d = baseline.to_dict() if hasattr(baseline, "to_dict") else baseline
        profile = d["acoustics"]
        original = {"label": d["emotion"]["label"], "probabilities": d["emotion"]["probabilities"],
                    "descriptors": dict(d["descriptors"]["model"]),
                    "emphasis": [e["word"] for e in d["descriptors"].get("emphasis", [])],
                    "emphasis_timed": d["descriptors"].get("emphasis", []), "words": d.get("words", []),
                    "caption": d.get("caption")}
    else:  # a label-only model (no captions, no descriptor branch): probabilities and measurements only
        from emoexplain.acoustics import analyze
        profile = analyze(clip, max_seconds=max_seconds).to_dict()
        probs = explainer.score_labels([clip.samples])[0]
        original = {"label": explainer.labels[int(np.argmax(probs))],
                    "probabilities": {l: float(p) for l, p in zip(explainer.labels, probs)}, "descriptors": {},
                    "emphasis": [], "emphasis_timed": [], "words": [], "caption": None}
    original["measured_descriptors"] = {x["name"]: x["value"] for x in profile.get("descriptors", [])}
    return original, profile


# --- the probes ------------------------------------------------------------------------------------------------
def _plan(ctx: _Context) -> tuple[list[_Planned], list[dict]]:
    """Build every probe's audio; probes this clip cannot support are listed with the reason instead."""
    from emoexplain.acoustics import energy_track
    from emoexplain.resynth import pitch_marks, psola

    x, track = ctx.clip.samples, ctx.track
    planned, skipped = [], []
    voiced_s = float(np.sum(track.voiced)) * 0.01
    pitch_names = [_pitch_name(s) for s in PITCH_STEPS_ST] + ["monotone", "de-emphasis"]
    if voiced_s < MIN_VOICED_S:
        reason = (f"only {voiced_s:.2f} s of voiced speech (a pitch probe needs at least {MIN_VOICED_S:.2f} s): "
                  "record a longer or less whispered clip to test the pitch words")
        skipped += [{"name": n, "kind": _kind_of(n), "reason": reason} for n in pitch_names]
        marks = pitch_marks(x, track.f0_hz, np.zeros_like(track.voiced))      # pace still works on noise grains
    else:
        marks = pitch_marks(x, track.f0_hz, track.voiced)
        for st in PITCH_STEPS_ST:
            planned.append(_Planned(_pitch_name(st), "pitch", st, psola(x, marks, pitch_factor=2 ** (st / 12))))
        planned.append(_Planned("monotone", "monotone", 0.0, psola(x, marks, pitch_factor=_monotone(track))))
        emphasis = _de_emphasis(ctx, marks)
        if isinstance(emphasis, str):
            skipped.append({"name": "de-emphasis", "kind": "emphasis", "reason": emphasis})
        else:
            planned.append(emphasis)
    for ratio in PACE_RATIOS:
        name, seconds = f"pace{ratio:g}x", ctx.clip.duration_s / ratio
        if seconds < MIN_SECONDS:
            skipped.append({"name": name, "kind": "pace", "reason": f"the clip would last {seconds:.2f} s, under "
                            f"the {MIN_SECONDS:g} s minimum: give a longer clip to test the speed words"})
            continue
        planned.append(_Planned(name, "pace", ratio, psola(x, marks, time_ratio=ratio), time_ratio=ratio))
    for db in LEVEL_STEPS_DB:
        y = (x * 10 ** (db / 20)).astype(np.float32)
        energy = energy_track(y)[: len(track.times_s)]
        planned.append(_Planned(f"level{db:+g}dB", "level", db, y, track=replace(track, energy_db=energy)))
    return planned, skipped


def _pitch_name(st: float) -> str:
    return f"pitch{st:+g}st"


def _kind_of(name: str) -> str:
    return "emphasis" if name == "de-emphasis" else "monotone" if name == "monotone" else "pitch"


def _monotone(track) -> np.ndarray:
    """Per-frame F0 factors that put every voiced frame on the clip's median F0."""
    median = np.nanmedian(track.f0_hz[track.voiced])
    return np.where(track.voiced, median / np.where(track.voiced, track.f0_hz, median), 1.0)


def _de_emphasis(ctx: _Context, marks) -> _Planned | str:
    """The strongest emphasised unit with its F0 peak capped and its energy peak lowered to the level of the
    clip's other units (its duration is left alone); a string says why there is nothing to de-emphasise."""
    from emoexplain.acoustics import emphasis_units, unit_features, unit_prominence
    from emoexplain.resynth import psola

    if not ctx.profile.get("emphasis"):
        return "no emphasised stretch was measured in this clip, so there is no emphasis to remove"
    track, top = ctx.track, ctx.profile["emphasis"][0]
    units = emphasis_units(track, ctx.timings)
    prominence = unit_prominence(track, units)
    k = _unit_index(units, top)
    if prominence is None or k is None:
        return "the emphasised stretch could not be located among the clip's units"
    feats = unit_features(track, units)
    others = np.isfinite(feats).all(axis=1) & (np.arange(len(units)) != k)
    pitch_cap_st, energy_target = feats[others, 0].mean(), feats[others, 1].mean()
    start, end = units[k][0], units[k][1]
    inside = (track.times_s >= start) & (track.times_s < end) & track.voiced
    median = np.nanmedian(track.f0_hz[track.voiced])
    cap = median * 2 ** (pitch_cap_st / 12)
    factor = np.where(inside, np.minimum(1.0, cap / np.where(inside, track.f0_hz, cap)), 1.0)
    y = psola(ctx.clip.samples, marks, pitch_factor=factor)
    gain_db = min(0.0, energy_target - feats[k, 1])
    y = (y * _gain_envelope(len(y), start, end, gain_db)).astype(np.float32)
    # requested: the prominence left when the unit's pitch and energy z-scores are 0 and only its length stands out
    usable = np.isfinite(feats).all(axis=1)
    duration_z = (feats[k, 2] - feats[usable, 2].mean()) / (feats[usable, 2].std() + 1e-6)
    return _Planned("de-emphasis", "emphasis", round(float(duration_z / 3), 3), y)


def _unit_index(units, segment: dict) -> int | None:
    """The unit that the profile's emphasis segment is (same span to 10 ms), or None."""
    for i, (start, end, _) in enumerate(units):
        if abs(start - segment["start_s"]) < 0.011 and abs(end - segment["end_s"]) < 0.011:
            return i
    return None


def _gain_envelope(n: int, start_s: float, end_s: float, gain_db: float) -> np.ndarray:
    """1 outside [start, end], 10^(gain/20) inside, with raised-cosine ramps just outside the edges."""
    t = np.arange(n) / SAMPLE_RATE
    ramp = EMPHASIS_RAMP_S
    depth = np.clip(np.minimum(t - (start_s - ramp), (end_s + ramp) - t) / ramp, 0.0, 1.0)
    weight = 0.5 - 0.5 * np.cos(np.pi * depth)
    return 10 ** (gain_db * weight / 20)


# --- measuring ---------------------------------------------------------------------------------------------------
def _measure(p: _Planned, ctx: _Context) -> dict:
    """Re-measure a probe with the acoustic engine: its profile, its words and the change in the kind's unit."""
    from emoexplain.acoustics import analyze, emphasis_units, frame_track, unit_prominence
    from emoexplain.audio import load_audio

    seconds = len(p.samples) / SAMPLE_RATE
    clip = load_audio((p.samples, SAMPLE_RATE), max_seconds=seconds + 1.0)     # a slowed 30 s clip is measured whole
    track = p.track if p.track is not None else frame_track(p.samples)
    timings = _scaled_timings(ctx.timings, p.time_ratio)
    profile = analyze(clip, word_timings=timings, max_seconds=seconds + 1.0, gender=ctx.register,
                      track=track).to_dict(frames=False)
    base = ctx.profile
    level_db = _diff(profile["energy"]["mean_db"], base["energy"]["mean_db"])
    pitch_st = _st(profile["pitch"]["median_hz"], base["pitch"]["median_hz"])
    if p.kind == "pitch":
        measured, side = _frame_shift_st(ctx.track, track), {"level_db": level_db}
    elif p.kind == "monotone":
        measured, side = profile["pitch"]["variability_semitones"], {"pitch_st": pitch_st, "level_db": level_db,
                                                                     "before_st": base["pitch"]["variability_semitones"]}
    elif p.kind == "pace":
        measured = tempo_ratio(ctx.track, track)
        side = {"pitch_st": pitch_st, "level_db": level_db,
                "syllable_rate_ratio": _ratio(profile["rate"]["syllables_per_s"], base["rate"]["syllables_per_s"])}
    elif p.kind == "level":
        measured, side = level_db, {}
    else:  # emphasis: the same unit, re-scored among the original's units on the probe's track
        units = emphasis_units(ctx.track, ctx.timings)
        k = _unit_index(units, base["emphasis"][0])
        before, after = unit_prominence(ctx.track, units), unit_prominence(track, units)
        measured = None if after is None else round(float(after[k]), 3)
        side = {"before_z": round(float(before[k]), 3), "pitch_st": pitch_st, "level_db": level_db,
                "span_s": [units[k][0], units[k][1]], "word": units[k][2]}
    warnings = [f"{p.name}: {w}" for w in clip.warnings]
    if p.kind == "pace" and seconds > ctx.clip.duration_s and ctx.clip.truncated:
        warnings.append(f"{p.name}: the clip was cut at {ctx.clip.duration_s:.0f} s; slowed down it lasts "
                        f"{seconds:.1f} s and is measured and scored whole")
    words = {x["name"]: x["value"] for x in profile.get("descriptors", [])}
    return {"measured": None if measured is None else round(float(measured), 3), "side_effects": side,
            "measured_descriptors": words, "track": track, "profile": profile, "warnings": warnings}


def _scaled_timings(timings, ratio: float):
    if not timings:
        return None
    return [{**w, "start_s": w["start_s"] / ratio, "end_s": w["end_s"] / ratio} for w in timings]


def _diff(a, b):
    return None if a is None or b is None else round(float(a) - float(b), 3)


def _st(a, b):
    return None if not a or not b else round(float(12 * np.log2(a / b)), 3)


def _ratio(a, b):
    return None if not a or not b else round(float(a) / float(b), 3)


def _frame_shift_st(before, after) -> float | None:
    """Median F0 change in semitones over the frames voiced in both tracks (same time axis)."""
    n = min(len(before.voiced), len(after.voiced))
    both = before.voiced[:n] & after.voiced[:n]
    if both.sum() < 3:
        return None
    return float(np.median(12 * np.log2(after.f0_hz[:n][both] / before.f0_hz[:n][both])))


def tempo_ratio(before, after) -> float | None:
    """How many times faster ``after`` runs than ``before``: the uniform time scale that best maps its energy
    contour onto the original's (Pearson correlation over ratios 0.5-2 in 0.5 % steps, parabola-refined).

    The speech span alone (first to last speech frame) is off by 10-40 % on 1-s clips whose soft ends cross
    the silence threshold differently; the whole contour is not.
    """
    a, b = _floored(before.energy_db), _floored(after.energy_db)
    if len(a) < 10 or len(b) < 10 or np.std(a) == 0:
        return None
    ratios = np.exp(np.arange(np.log(0.5), np.log(2.0), 0.005))
    t = np.arange(len(a))
    mapped = t[None, :] / ratios[:, None]                                    # (R, n) frame of ``after``
    valid = mapped <= len(b) - 1
    values = np.interp(mapped, np.arange(len(b)), b)
    scores = _masked_pearson(a, values, valid)
    i = int(np.nanargmax(scores))
    if 0 < i < len(ratios) - 1:
        y0, y1, y2 = scores[i - 1: i + 2]
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
        return float(np.exp(np.log(ratios[i]) + 0.005 * shift))
    return float(ratios[i])


def _masked_pearson(a: np.ndarray, rows: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """a (n,), rows (R, n), valid (R, n) -> (R,) Pearson r of ``a`` and each row over its valid frames
    (-1 where fewer than 11 frames are valid); all rows at once, centred first for precision."""
    w = valid.astype(np.float64)
    n = w.sum(1)
    safe = np.maximum(n, 1.0)
    da = a[None, :] - (w * a[None, :]).sum(1, keepdims=True) / safe[:, None]
    db = rows - (w * rows).sum(1, keepdims=True) / safe[:, None]
    cov, va, vb = (w * da * db).sum(1), (w * da * da).sum(1), (w * db * db).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(va * vb)
    return np.where(n > 10, r, -1.0)


def _floored(energy_db: np.ndarray) -> np.ndarray:
    """Energy in dB floored 40 dB under the loud frames, so that silence noise does not weigh in."""
    e = np.asarray(energy_db, dtype=np.float64)
    return np.maximum(e, np.percentile(e, 99) - 40.0)


# --- the model ----------------------------------------------------------------------------------------------------
def _run_model(explainer, ctx: _Context, planned, measured, generate):
    """All probes (and, when the model has a descriptor branch, the two ablation rows of the original) in one
    batch: (one output dict per probe, {"descriptor": out, "content": out} or None)."""
    clips = [p.samples for p in planned]
    if not hasattr(explainer, "predict_batch"):          # a label-only model: probabilities only
        probs = explainer.score_labels(clips) if clips else []
        return [_output(explainer.labels, p) for p in probs], None
    tracks = [m["track"] for m in measured]
    ablate = _has_descriptor_branch(explainer)
    extra = [ctx.clip.samples, ctx.clip.samples] if ablate else []
    zeroed = [()] * len(clips) + ([("descriptor",), ("content",)] if ablate else [])
    # the ablation measures the decision: its rows get no caption (a content-zeroed row, which the model never
    # saw in training, can generate to the token limit and hold up the whole batch)
    outs = explainer.predict_batch(clips + extra, tracks=tracks + [ctx.track] * len(extra),
                                   generate=[generate] * len(clips) + [False] * len(extra), zeroed=zeroed)
    rows = [_from_output(o) for o in outs]
    return rows[: len(clips)], ({"descriptor": rows[-2], "content": rows[-1]} if ablate else None)


def _has_descriptor_branch(explainer) -> bool:
    return getattr(explainer, "descriptor_branch", None) is not None


def _output(labels, probs) -> dict:
    probs = {l: float(p) for l, p in zip(labels, probs)}
    return {"label": max(probs, key=probs.get), "probabilities": probs, "descriptors": {}, "emphasis": (),
            "caption": None}


def _from_output(o) -> dict:
    return {"label": o.label, "probabilities": o.probabilities, "descriptors": dict(o.descriptors),
            "emphasis": tuple(o.emphasis), "caption": o.caption}


def _row(p: _Planned, m: dict, out: dict, original: dict) -> Probe:
    unit = UNITS[p.kind]
    return Probe(name=p.name, kind=p.kind, unit=unit, requested=p.requested, measured=m["measured"],
                 text=_text(p.kind, unit, p.requested, m), side_effects=m["side_effects"], label=out["label"],
                 probabilities=out["probabilities"], descriptors=out["descriptors"], emphasis=out["emphasis"],
                 measured_descriptors=m["measured_descriptors"], delta=_delta(original, out, m),
                 caption=out["caption"], samples=p.samples)


def _text(kind: str, unit: str, requested: float, m: dict) -> str:
    got = m["measured"]
    if kind == "pace":
        return f"x{requested:.2f} requested, " + ("not measurable" if got is None else f"x{got:.2f} measured")
    if kind == "monotone":
        before = m["side_effects"]["before_st"]
        return (f"F0 variability {_num(before, '.1f')} -> {requested:.1f} st requested, "
                f"{_num(got, '.1f')} st measured")
    if kind == "emphasis":
        before = m["side_effects"]["before_z"]
        return f"prominence {before:.2f} -> {requested:.2f} z requested, {_num(got, '.2f')} z measured"
    return f"{requested:+.1f} {unit} requested, " + ("not measurable" if got is None else f"{got:+.1f} {unit} measured")


def _num(value, spec: str) -> str:
    return "n/a" if value is None else f"{value:{spec}}"


def _delta(original: dict, out: dict, m: dict) -> dict:
    """The probe against the original: probability changes, and the words (model's, measured) that changed."""
    changed = (lambda a, b: {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)})
    return {"probabilities": {l: round(p - original["probabilities"].get(l, 0.0), 4)
                              for l, p in out["probabilities"].items()},
            "label": None if out["label"] == original["label"] else [original["label"], out["label"]],
            "descriptors": changed(original["descriptors"], out["descriptors"]),
            "measured_descriptors": changed(original["measured_descriptors"], m["measured_descriptors"])}


def _ablation(explainer, original: dict, rows) -> dict:
    """How much of the decision rides on each branch: total-variation distance of the label probabilities
    when that branch's tokens are zeroed, and the descriptor branch's share of the two."""
    if rows is None:
        what = ("this model has no descriptor branch (a label-only model)" if not _has_descriptor_branch(explainer)
                else "this model takes no branch ablation")
        return {"skipped": f"{what}: the branch ablation is skipped; the other probes still run"}
    p = original["probabilities"]
    tv = {k: round(0.5 * sum(abs(p[l] - r["probabilities"][l]) for l in p), 4) for k, r in rows.items()}
    total = tv["descriptor"] + tv["content"]
    return {"descriptor_zeroed": rows["descriptor"], "content_zeroed": rows["content"],
            "tv_descriptor": tv["descriptor"], "tv_content": tv["content"],
            "descriptor_share": round(tv["descriptor"] / total, 4) if total > 0 else None,
            "label_flips": {k: r["label"] != original["label"] for k, r in rows.items()}}


def _level_check(explainer, rows) -> dict:
    """Whether the level probes moved the model at all (measured, not assumed from the config):
    "blind" = no probability moved beyond float noise, "nearly blind" = less than probe_score.MIN_DP."""
    from emoexplain.probe_score import MIN_DP
    config = getattr(explainer, "config", None)
    normalize, prosody = getattr(config, "normalize_audio", None), getattr(config, "use_prosody", None)
    moved = [max(abs(v) for v in r.delta["probabilities"].values()) for r in rows if r.kind == "level"]
    if not moved:
        return {"blind": None, "sensitivity": None, "normalize_audio": normalize, "max_abs_dp": None,
                "detail": "no level probe ran"}
    dp = max(moved)
    sensitivity = "blind" if dp < BLIND_DP else "nearly blind" if dp < MIN_DP else "sensitive"
    why = ("each clip is scaled to unit variance before the encoder (normalize_audio)" if normalize else
           "the model sees the raw samples")
    if prosody:
        why += ", but its descriptor branch also reads the absolute frame energy (use_prosody)"
    verdict = {"blind": "it is blind to level: its volume word cannot follow the loudness",
               "nearly blind": "it is nearly blind to level",
               "sensitive": "it is not blind to level"}[sensitivity]
    return {"blind": sensitivity == "blind", "sensitivity": sensitivity, "normalize_audio": normalize,
            "use_prosody": prosody, "max_abs_dp": round(dp, 6),
            "detail": f"{why}; the level probes moved a label probability by at most {dp:.4f}: {verdict}"}

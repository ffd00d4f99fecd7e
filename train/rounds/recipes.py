"""How to rebuild a checkpoint's own data: its held-out test set (forgetting) and its training data (replay).

Every checkpoint records a recipe under ``"data"`` in its config.json (issue 9, item 4):

    {"train": RECIPE, "test": RECIPE}
    RECIPE = {"kind": "synthetic", "spec": {SyntheticSpec fields}, "split": "test", "espeak_ng": "1.51"}
           | {"kind": "manifest", "path": "data/iemocap/manifest.jsonl", "split": "Session5"}
           | {"kind": "hub", "dataset": "owner/name", "manifest": "manifest.jsonl", "split": "test"}

The synthetic kind regenerates clip for clip (train/data/synthetic.py is deterministic given spec and seed:
the demo's 400 test clips in ~6 s, cached under ``cache_dir``). A checkpoint without the key (one written by
``python -m train fit``) gets a manifest recipe from the train_config it carries. When a recipe cannot be
rebuilt, ``Unavailable`` says why, and the round reports the part as unmeasured, never as zero.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from emoexplain.errors import EmoExplainError


class Unavailable(EmoExplainError):
    """A recipe's data cannot be had here (file gone, hub unreachable, tool missing); the message says which."""


@dataclass
class Data:
    rows: list[dict]
    source: str          # one line for the report: where the rows came from
    seconds: float


def espeak_version() -> str | None:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.split(":", 1)[-1].split()[0] if ":" in out else None


def synthetic_recipe(spec, split: str) -> dict:
    return {"kind": "synthetic", "spec": dataclasses.asdict(spec), "split": split, "espeak_ng": espeak_version()}


def checkpoint_data(folder: str | Path) -> dict:
    """The checkpoint's {"train": recipe, "test": recipe} (either may be missing)."""
    try:
        info = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    if info.get("data"):
        return dict(info["data"])
    cfg = info.get("train_config") or {}
    out = {}
    if cfg.get("train_manifest"):
        out["train"] = {"kind": "manifest", "path": cfg["train_manifest"], "split": cfg.get("train_split", "train")}
    if cfg.get("eval_manifest") or cfg.get("train_manifest"):
        out["test"] = {"kind": "manifest", "path": cfg.get("eval_manifest") or cfg["train_manifest"],
                       "split": cfg.get("eval_split", "test")}
    return out


def write_checkpoint_data(folder: str | Path, data: dict) -> None:
    """Add (or replace) the ``"data"`` recipes in a checkpoint's config.json, keeping every other key."""
    path = Path(folder) / "config.json"
    info = json.loads(path.read_text())
    info["data"] = data
    path.write_text(json.dumps(info, indent=2) + "\n")


def describe(recipe: dict | None) -> str:
    if not recipe:
        return "no recipe"
    if recipe["kind"] == "synthetic":
        spec = recipe["spec"]
        return f"synthetic espeak-ng corpus (seed {spec.get('seed', 0)}), split {recipe['split']}"
    where = recipe.get("path") or recipe.get("dataset")
    return f"{recipe['kind']} {where}, split {recipe['split']}"


def load(recipe: dict | None, *, cache_dir: str | Path, sample: int | None = None, limit: int = 0, seed: int = 0,
         measure: bool = False, balance: dict[str, int] | None = None) -> Data:
    """Rows of the recipe's split: all, the first ``limit``, or a seeded sample of ``sample`` (with ``balance``,
    the corrections' label counts, drawn by ``balanced_order``); ``measure`` fills descriptors of regenerated
    clips (replay trains on captions, the test set only needs labels)."""
    if not recipe:
        raise Unavailable("the checkpoint records no recipe for this data")
    t0 = time.perf_counter()
    kind = recipe.get("kind")
    if kind == "synthetic":
        rows, source = _synthetic(recipe, Path(cache_dir), sample, limit, seed, measure, balance)
    elif kind in ("manifest", "hub"):
        rows, source = _manifest(recipe, sample, limit, seed, balance)
    else:
        raise Unavailable(f"unknown data recipe kind {kind!r}")
    if not rows:
        raise Unavailable(f"{describe(recipe)} holds no rows")
    return Data(rows, source, time.perf_counter() - t0)


def _synthetic(recipe, cache_dir: Path, sample, limit, seed, measure, balance):
    from train.data.manifest import read_manifest
    from train.data.synthetic import SyntheticSpec, check_tools, generate, plan

    try:
        check_tools()
    except EmoExplainError as exc:
        raise Unavailable(str(exc)) from None
    spec = SyntheticSpec(**recipe["spec"])
    split = recipe["split"]
    jobs = plan(spec, (split,))[:limit or None]
    if sample is not None and sample < len(jobs):
        jobs = _draw(jobs, sample, seed, balance)
    names = [job["name"] for job in jobs]
    key = hashlib.sha256(json.dumps([recipe["spec"], split, sorted(names), measure]).encode()).hexdigest()[:12]
    folder = cache_dir / "synthetic" / key
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        generate(folder, spec, measure=measure, workers=2, progress=False, splits=(split,), only=set(names))
    source = f"{describe(recipe)}: {len(names)} clips regenerated from the spec"
    here = espeak_version()
    if recipe.get("espeak_ng") and here != recipe["espeak_ng"]:
        source += f"; made with espeak-ng {recipe['espeak_ng']}, regenerated with {here}: clips may differ"
    by_name = {Path(r["audio"]).stem: r for r in read_manifest(manifest)}
    return [by_name[name] for name in names], source


def _manifest(recipe, sample, limit, seed, balance):
    from train.data.manifest import ManifestError, read_manifest

    path = Path(recipe.get("path") or "")
    if recipe["kind"] == "hub":
        try:
            from huggingface_hub import snapshot_download
            folder = snapshot_download(recipe["dataset"], repo_type="dataset")
        except Exception as exc:  # offline, unknown repo, no permission: all mean "not here"
            raise Unavailable(f"hub dataset {recipe['dataset']!r} could not be downloaded ({type(exc).__name__})")
        path = Path(folder) / recipe.get("manifest", "manifest.jsonl")
    if not path.is_file():
        raise Unavailable(f"the manifest {path} is not on this machine; pass its path "
                          "(--replay / --parent-test) or rebuild it with `python -m train prepare`")
    try:
        rows = read_manifest(path, split=recipe["split"])
    except ManifestError as exc:
        raise Unavailable(str(exc)) from None
    missing = sum(not Path(r["audio"]).is_file() for r in rows)
    if missing:
        rows = [r for r in rows if Path(r["audio"]).is_file()]
        if not rows:
            raise Unavailable(f"none of the audio files of {path} (split {recipe['split']}) exist")
    rows = rows[:limit or None]
    if sample is not None and sample < len(rows):
        rows = _draw(rows, sample, seed, balance)
    note = f" ({missing} rows without audio skipped)" if missing else ""
    return rows, f"{describe(recipe)}{note}"


def _draw(items: list[dict], k: int, seed: int, balance: dict[str, int] | None) -> list[dict]:
    rng = random.Random(f"{seed}-replay")
    if not balance:
        return rng.sample(items, k)
    pools: dict[str, list[dict]] = {}
    for item in rng.sample(items, len(items)):
        pools.setdefault(item["emotion"], []).append(item)
    return [pools[label].pop() for label in balanced_order({c: len(p) for c, p in pools.items()}, balance, k)]


def balanced_order(pool: dict[str, int], have: dict[str, int], k: int) -> list[str]:
    """Labels of ``k`` replay draws, each to the class furthest below its share of the parent's data (``pool``)
    in corrections + replay so far: replay fills the classes people did not correct (a round on corrections
    of 3 classes would otherwise teach the model that the 4th is rare). Any prefix is balanced the same way."""
    total = sum(pool.values())
    share = {c: n / total for c, n in pool.items() if n}
    count = {c: have.get(c, 0) for c in share}
    left = dict(pool)
    order = []
    for _ in range(min(k, total)):
        label = min((c for c in share if left[c]), key=lambda c: (count[c] / share[c], c))
        order.append(label)
        count[label] += 1
        left[label] -= 1
    return order

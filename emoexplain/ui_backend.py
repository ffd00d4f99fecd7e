"""What the app does, without the widgets: config, the shared model, analyse, save, review, checkpoints.

``app.py`` wires gradio components to one :class:`Backend`; everything here is plain Python so the tests
and the benchmark call it directly. Heavy imports (torch, the model, plotly) happen inside methods.

    backend = Backend(AppConfig.from_env())
    result = backend.analyze("clip.wav")                 # the /analyze JSON, with "analysis_id"
    backend.save_judgement(result["analysis_id"], emotion="agree", annotator="ana", token="t1")
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import json
import os
import threading
import time
from pathlib import Path

from emoexplain.errors import AudioEmpty, CheckpointError, EmoExplainError, InvalidJudgement

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CHECKPOINT = REPO_ROOT / "assets" / "demo_checkpoint"
EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm", ".opus"}


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """Everything the app is configured by (environment variables, overridden by command-line flags)."""

    checkpoint: str | None = None      # local folder or hub id; None -> the demo checkpoint in assets/
    data_dir: str | None = None        # where emoexplain.db (and consented audio) live; None -> store default
    max_seconds: float = 30.0          # longer clips are analysed on their first max_seconds
    admin_token: str | None = None     # unlocks Review and checkpoint switching
    admin_users: tuple[str, ...] = ()  # HF usernames that are admins when logged in with OAuth on Spaces
    host: str = "127.0.0.1"
    port: int = 7860
    max_file_size: str = "20mb"        # uploads above this are refused by gradio
    examples_dir: str | None = None    # example clips (+ optional examples.json); None -> assets/examples
    preload: bool = True               # load the model in a background thread right after start

    @classmethod
    def from_env(cls, env=None, **overrides) -> "AppConfig":
        env = os.environ if env is None else env
        users = [u.strip() for u in env.get("EMOEXPLAIN_ADMIN_USERS", "").split(",") if u.strip()]
        if env.get("SPACE_AUTHOR_NAME"):  # the Space's owner is always an admin
            users.append(env["SPACE_AUTHOR_NAME"])
        values = dict(
            checkpoint=env.get("EMOEXPLAIN_CHECKPOINT") or None,
            data_dir=env.get("EMOEXPLAIN_DATA_DIR") or None,
            max_seconds=float(env.get("EMOEXPLAIN_MAX_SECONDS", 30.0)),
            admin_token=env.get("EMOEXPLAIN_ADMIN_TOKEN") or None,
            admin_users=tuple(dict.fromkeys(users)),
            host=env.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            port=int(env.get("GRADIO_SERVER_PORT", 7860)),
            max_file_size=env.get("EMOEXPLAIN_MAX_FILE_SIZE", "20mb"),
            examples_dir=env.get("EMOEXPLAIN_EXAMPLES_DIR") or None,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["max_seconds"] <= 0:
            raise ValueError("EMOEXPLAIN_MAX_SECONDS must be positive.")
        return cls(**values)


def is_demo_checkpoint(path: str | None, card: str = "") -> bool:
    """The demo checkpoint is the one in assets/ (or any whose card says it learned from synthetic speech)."""
    if path is None:
        return True
    try:
        if Path(path).resolve() == DEMO_CHECKPOINT.resolve():
            return True
    except OSError:
        pass
    return "synthetic" in (card or "").lower() and "demo" in (card or "").lower()


class ModelHolder:
    """The one explainer of the process: loaded lazily (once, under a lock) and swappable by admins."""

    def __init__(self, checkpoint: str | None, explainer=None):
        self.checkpoint = checkpoint
        self._explainer = explainer
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def get(self):
        if self._explainer is None:
            with self._lock:
                if self._explainer is None:
                    self._explainer = self._load(self.checkpoint)
        return self._explainer

    @property
    def loaded(self) -> bool:
        return self._explainer is not None

    def _load(self, checkpoint):
        from emoexplain.model import load_explainer
        start = time.perf_counter()
        try:
            explainer = load_explainer(checkpoint, device=_device())
        except EmoExplainError:
            raise
        except Exception as e:  # a broken folder or hub id: say which one
            raise CheckpointError(f"Cannot load the checkpoint {checkpoint or DEMO_CHECKPOINT}: {e}") from e
        self.load_seconds = time.perf_counter() - start
        return explainer

    def warm_up(self) -> None:
        """Load the model and run it once on a second of noise: the first real request is then fast.
        On ZeroGPU only the loading: there is no GPU outside a ``spaces.GPU`` call."""
        import numpy as np
        explainer = self.get()
        if _zero_gpu():
            return
        noise = np.random.default_rng(0).normal(0, 0.05, 16000).astype(np.float32)
        explainer.predict(noise)

    def switch(self, checkpoint: str):
        """Load ``checkpoint`` and make it the shared model; the old one stays if loading fails."""
        explainer = self._load(checkpoint)
        with self._lock:
            self._explainer, self.checkpoint = explainer, checkpoint
        return explainer

    def info(self) -> dict:
        explainer = self.get()
        card = getattr(explainer, "card_markdown", "") or ""
        path = self.checkpoint or os.environ.get("EMOEXPLAIN_CHECKPOINT") or str(DEMO_CHECKPOINT)
        return {
            "name": getattr(explainer, "name", "?"), "version": getattr(explainer, "version", "?"),
            "label_set": getattr(explainer, "label_set", "?"), "labels": list(getattr(explainer, "labels", ())),
            "checkpoint": path, "card": _strip_front_matter(card), "metrics": _checkpoint_metrics(explainer, path),
            "is_demo": is_demo_checkpoint(path, card),
        }


def _device() -> str | None:
    """EMOEXPLAIN_DEVICE, else "cuda" when a GPU is visible (ZeroGPU: moved there at start, as its docs
    advise), else None (the model's default, CPU)."""
    if os.environ.get("EMOEXPLAIN_DEVICE"):
        return os.environ["EMOEXPLAIN_DEVICE"]
    import torch
    return "cuda" if torch.cuda.is_available() else None


def _strip_front_matter(card: str) -> str:
    """Drop a model card's YAML header (``---`` ... ``---``): metadata for the hub, noise on the page."""
    if card.startswith("---"):
        end = card.find("\n---", 3)
        if end != -1:
            return card[end + 4:].lstrip()
    return card


def _checkpoint_metrics(explainer, path: str) -> dict:
    metrics = getattr(explainer, "metrics", None)
    if isinstance(metrics, dict):
        return metrics
    file = Path(path) / "metrics.json"
    if file.is_file():
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError):
            return {}
    return {}


def _zero_gpu() -> bool:
    """Running on ZeroGPU hardware (Spaces): a GPU exists only inside ``spaces.GPU`` functions."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def _maybe_gpu(fn):
    """Wrap ``fn`` with ``spaces.GPU`` when the package is installed (ZeroGPU Spaces); a no-op elsewhere.

    Called before anything imports torch (``spaces`` must come first), from :class:`Backend`."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=60)(fn)


# The model holders of this process by key: the GPU function gets a small key, never the model itself (on
# ZeroGPU its arguments may be pickled to a worker; the worker finds the model it inherited here).
_HOLDERS: dict[int, "ModelHolder"] = {}


def _explain(path: str, holder_key: int, max_seconds: float):
    from emoexplain.pipeline import explain
    return explain(path, _HOLDERS[holder_key].get(), max_seconds=max_seconds)


class Backend:
    """One per process: the model holder, the store and the bookkeeping for idempotent saves."""

    def __init__(self, config: AppConfig, explainer=None, store=None):
        self.config = config
        self.model = ModelHolder(config.checkpoint, explainer)
        self._store = store
        self._store_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._saved: dict[str, int] = {}                          # submission token -> judgement id
        self._audio: collections.OrderedDict[int, str] = collections.OrderedDict()  # analysis id -> file
        _HOLDERS[id(self.model)] = self.model
        self._explain = _maybe_gpu(_explain)

    # --- store -----------------------------------------------------------------------------------
    @property
    def store(self):
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = self._open_store()
        return self._store

    def _open_store(self):
        """Open the DB; with EMOEXPLAIN_HUB_DATASET set, restore it from the dataset when empty and sync it
        back every few minutes (the way a Space without persistent storage keeps its judgements)."""
        from emoexplain import store as store_api
        folder = Path(self.config.data_dir) if self.config.data_dir else store_api.data_dir()
        path = folder / store_api.DB_NAME
        store_api.restore_from_hub(path)            # no-op without EMOEXPLAIN_HUB_DATASET
        store = store_api.open_store(path)
        self._hub_sync = store_api.start_hub_sync(store)  # None without EMOEXPLAIN_HUB_DATASET
        return store

    @property
    def db_path(self) -> Path | None:
        return getattr(self.store, "path", None)

    # --- analyse -----------------------------------------------------------------------------------
    def analyze(self, path: str | None, *, source: str = "upload") -> dict:
        """Explain one audio file and record it; returns ``Explanation.to_dict()`` plus ``analysis_id``."""
        from emoexplain import store as store_api
        if not path:
            raise AudioEmpty("No audio yet: record something or upload a file, then press Analyse.")
        self.model.get()  # load outside the (GPU) call: loading errors are reported as such
        explanation = self._explain(str(path), id(self.model), self.config.max_seconds)
        result = explanation.to_dict() if hasattr(explanation, "to_dict") else dict(explanation)
        audio = (result.get("acoustics") or {}).get("audio") or {}
        latency = result.get("latency_s") or {}
        analysis_id = store_api.record_analysis(
            self.store, result, audio_sha256=audio.get("sha256"),
            duration_s=audio.get("original_duration_s") or (result.get("acoustics") or {}).get("duration_s"),
            sample_rate=audio.get("original_sample_rate") or audio.get("sample_rate"), source=source,
            latency_s=latency.get("total"))
        result["analysis_id"] = int(analysis_id)
        with self._save_lock:
            self._audio[int(analysis_id)] = str(path)
            while len(self._audio) > 2000:
                self._audio.popitem(last=False)
        return result

    # --- judge -------------------------------------------------------------------------------------
    def save_judgement(self, analysis_id, *, emotion: str | None, annotator: str = "",
                       descriptor_verdicts: dict | None = None, transcript: str | None = None,
                       faithfulness=None, helpfulness=None, note: str = "", consent: bool = False,
                       token: str | None = None) -> tuple[int, bool]:
        """Record a judgement once per submission token; returns (judgement id, newly created).

        Without a token the submission's own content is the token, so an identical resubmission (a
        double-click, a retried HTTP call) returns the first id and writes nothing.
        """
        from emoexplain import store as store_api
        if analysis_id in (None, "", 0):
            raise InvalidJudgement("Nothing to save yet: analyse a clip first, then judge the result.")
        analysis_id = int(analysis_id)
        if not emotion:
            raise InvalidJudgement("Pick the emotion you hear (or 'agree' if the model is right) before saving.")
        verdicts = clean_verdicts(descriptor_verdicts or {})
        fields = dict(annotator=(annotator or "").strip() or "anonymous", emotion=emotion,
                      descriptor_verdicts=verdicts, transcript=(transcript or None),
                      faithfulness=_rating(faithfulness, "faithfulness"),
                      helpfulness=_rating(helpfulness, "helpfulness"), note=note or "", consent=bool(consent))
        key = token or hashlib.sha256(json.dumps([analysis_id, fields], sort_keys=True).encode()).hexdigest()
        with self._save_lock:
            if key in self._saved:
                return self._saved[key], False
            audio_path = self._audio.get(analysis_id) if fields["consent"] else None
            if audio_path and not Path(audio_path).is_file():
                raise InvalidJudgement("The audio of this analysis is no longer on the server (uploads are kept "
                                       "for an hour): analyse the clip again to keep it with your judgement.")
            judgement_id = store_api.record_judgement(self.store, analysis_id, audio_path=audio_path, **fields)
            self._saved[key] = int(judgement_id)
        return int(judgement_id), True

    # --- admin -------------------------------------------------------------------------------------
    def check_admin(self, token: str | None = None, username: str | None = None) -> bool:
        if username and username in self.config.admin_users:
            return True
        if self.config.admin_token:
            return bool(token) and hmac.compare_digest(token.encode(), self.config.admin_token.encode())
        # no token configured: only a private local server (not a Space, bound to localhost) is open
        return not os.environ.get("SPACE_ID") and self.config.host in ("127.0.0.1", "localhost", "::1")

    def review(self) -> dict:
        from emoexplain import store as store_api
        return {"stats": store_api.stats(self.store), "agreement": store_api.agreement(self.store),
                "recent": self.recent_judgements()}

    def recent_judgements(self, limit: int = 20) -> list[dict]:
        return self.store.read(
            "SELECT j.id, j.created_at, j.annotator_id AS annotator, a.label AS model, j.emotion AS human, "
            "j.agreed, j.faithfulness, j.helpfulness, j.consent, j.note FROM judgements j "
            "JOIN analyses a ON a.id = j.analysis_id ORDER BY j.id DESC LIMIT ?", (limit,))

    def training_runs(self, limit: int = 20) -> list[dict]:
        return self.store.read(
            "SELECT id, created_at, checkpoint, model_name, model_version, n_examples, metrics "
            "FROM training_runs ORDER BY id DESC LIMIT ?", (limit,))

    def export(self, fmt: str, folder: str | os.PathLike) -> Path:
        from emoexplain import store as store_api
        suffix = {"manifest": "manifest.jsonl"}.get(fmt, fmt)
        dest = Path(folder) / f"emoexplain-{time.strftime('%Y%m%d-%H%M%S')}.{suffix}"
        store_api.export(self.store, fmt, dest)
        return dest

    def backup(self) -> str:
        """A consistent snapshot of the DB now, in backups/ beside it."""
        from emoexplain import store as store_api
        return str(store_api.backup(self.store))

    def available_checkpoints(self) -> list[str]:
        """The demo, the configured checkpoint, and checkpoint folders under <data>/checkpoints and runs/."""
        found = [str(DEMO_CHECKPOINT)] if DEMO_CHECKPOINT.is_dir() else []
        if self.model.checkpoint:
            found.append(self.model.checkpoint)
        roots = [REPO_ROOT / "runs"]
        if self.db_path is not None:
            roots.append(Path(self.db_path).parent / "checkpoints")
        for root in roots:
            if root.is_dir():
                found += sorted(str(p.parent) for p in root.glob("**/config.json") if len(p.parts) < 20)
        return list(dict.fromkeys(found))


def clean_verdicts(verdicts: dict) -> dict:
    """Keep answered descriptors only, in the store's shape ``{name: {"verdict", "value"?}}``."""
    from emoexplain.store.records import VERDICTS
    out = {}
    for name, item in verdicts.items():
        if isinstance(item, str):
            item = {"verdict": item}
        verdict = (item or {}).get("verdict")
        if not verdict:
            continue
        verdict = {"right": "correct"}.get(verdict, verdict)
        if verdict not in VERDICTS:
            raise InvalidJudgement(f"Verdict for {name!r} must be one of {list(VERDICTS)}, not {verdict!r}.")
        entry = {"verdict": verdict}
        if verdict == "wrong":
            value = item.get("value")
            if name == "emphasis":  # free words; empty means "nothing was emphasised"
                value = value or ""
            elif not value:
                raise InvalidJudgement(f"You marked {name.replace('_', ' ')!r} as wrong: pick the right value too.")
            entry["value"] = value
        out[name] = entry
    return out


def _rating(value, name: str):
    if value in (None, ""):
        return None
    try:
        rating = int(value)
    except (TypeError, ValueError):
        raise InvalidJudgement(f"{name} must be a whole number from 1 to 5.") from None
    if not 1 <= rating <= 5:
        raise InvalidJudgement(f"{name} must be from 1 to 5, not {rating}.")
    return rating


def example_clips(folder: str | os.PathLike | None = None) -> list[dict]:
    """Example clips from ``folder`` (default assets/examples/): examples.json entries if present, else every
    audio file there; an absent or empty folder gives no examples (the app then simply shows none)."""
    folder = Path(folder) if folder else EXAMPLES_DIR
    if not folder.is_dir():
        return []
    meta = folder / "examples.json"
    items = []
    if meta.is_file():
        try:
            data = json.loads(meta.read_text())
        except ValueError:
            data = []
        entries = data.get("examples", data) if isinstance(data, dict) else data
        for entry in entries if isinstance(entries, list) else []:
            entry = {"file": entry} if isinstance(entry, str) else dict(entry)
            name = entry.get("file") or entry.get("audio") or entry.get("path")
            if name and (folder / name).is_file():
                items.append({**entry, "path": str((folder / name).resolve())})
    if not items:
        items = [{"path": str(p.resolve()), "file": p.name} for p in sorted(folder.iterdir())
                 if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()]
    return items

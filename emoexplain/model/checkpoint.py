"""Build, save and load Explainers. A checkpoint is a folder holding only what training changed:

    config.json                  model config, label set, descriptor-bin version, backbone fingerprints,
                                 package versions, git revision, name/version
    speech_modules.safetensors   content/descriptor branches and adapters
    lora/                        the LoRA adapter in PEFT format (adapter_config.json + adapter_model.safetensors)
    metrics.json                 when given
    README.md                    model card

The frozen backbones are loaded from the ids in the config (hub ids or repo-relative folders), so a checkpoint
is a few MB at any size. Local save and ``push_to_hub`` share ``save_checkpoint``; loading a hub id first
downloads the folder with ``huggingface_hub.snapshot_download`` and then takes the local path.

Also here: what the app lists and shows about checkpoints (``discover_checkpoints``, ``card_body``,
``checkpoint_metrics``, ``is_demo_checkpoint``), so the app never parses a checkpoint folder itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from emoexplain.errors import CheckpointError, CheckpointMismatch
from emoexplain.model.config import ModelConfig, resolve_backbone, seeded
from emoexplain.paths import DEFAULT_CHECKPOINT, ROOT

if TYPE_CHECKING:
    import torch

FORMAT, FORMAT_VERSION = "emoexplain-checkpoint", 1
SPEECH_FILE, LORA_DIR = "speech_modules.safetensors", "lora"
PACKAGES = ("torch", "transformers", "peft", "tokenizers", "safetensors", "huggingface_hub", "accelerate")


def default_device_dtype(device=None, dtype=None) -> tuple[str, torch.dtype]:
    """The one device picker: ``device``, else $EMOEXPLAIN_DEVICE, else CUDA when a GPU is visible (on ZeroGPU
    the model is moved there at start, as its docs advise), else CPU. CPU float32; CUDA bfloat16 (the frozen
    backbones only: branches and adapters stay float32)."""
    import torch

    device = device or os.environ.get("EMOEXPLAIN_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        dtype = torch.float32 if str(device) == "cpu" else torch.bfloat16
    return str(device), dtype


@contextlib.contextmanager
def _quiet_progress_bars():
    """No "Loading weights: 100%|..." bar from transformers while we load (CLI output and logs stay readable);
    the caller's setting comes back after."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def build_explainer(config: ModelConfig, *, device=None, dtype=None):
    """A fresh Explainer: backbones from the config's ids, random branches/adapters, a fresh LoRA adapter.

    ``device="auto"`` spreads a large LLM over the available GPUs with accelerate's device_map.
    """
    from emoexplain.model.encoder import SpeechEncoder
    from emoexplain.model.explainer import Explainer
    from emoexplain.model.llm import load_llm

    auto = device == "auto"
    device, dtype = default_device_dtype(None if auto else device, dtype)
    try:
        # from_pretrained draws from the global RNG too (give the caller's back) and prints a progress bar
        with seeded(config.seed), _quiet_progress_bars():
            encoder = SpeechEncoder.load(resolve_backbone(config.encoder), device=device, dtype=dtype,
                                         attn_implementation=config.attn_implementation)
            llm, tokenizer = load_llm(resolve_backbone(config.llm), config, device=device, dtype=dtype,
                                      device_map="auto" if auto else None)
    except OSError as exc:
        raise CheckpointError(f"Could not load the backbones {config.encoder!r} / {config.llm!r}: {exc}. "
                              "Check the ids or folders (gated hub models need `huggingface-cli login`).") from exc
    explainer = Explainer(config, encoder, llm, tokenizer)
    for module in explainer.speech_modules().values():
        module.to(device)
    return explainer


def backbone_fingerprint(explainer) -> dict:
    """What the trained weights depend on: sizes of the encoder and the LLM (not where they came from)."""
    enc = explainer.encoder.model.config
    llm = explainer.llm.get_base_model().config
    return {"encoder": {"model_type": enc.model_type, "hidden_size": enc.hidden_size,
                        "num_hidden_layers": enc.num_hidden_layers, "has_ctc": explainer.encoder.has_ctc},
            "llm": {"model_type": llm.model_type, "hidden_size": llm.hidden_size,
                    "num_hidden_layers": llm.num_hidden_layers, "vocab_size": llm.vocab_size}}


# --- save --------------------------------------------------------------------------------------------------------
def _git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _bins_version() -> str | None:
    try:
        from emoexplain.descriptors import BINS_VERSION
        return BINS_VERSION
    except ImportError:  # the acoustic engine is optional for the model
        return None


def _package_versions() -> dict[str, str]:
    from emoexplain import __version__
    versions = {"emoexplain": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def save_checkpoint(explainer, folder, *, metrics: dict | None = None, train_config: dict | None = None,
                    card: str | None = None, version: str | None = None) -> Path:
    """Write the checkpoint folder (created if needed; files of an earlier checkpoint there are replaced)."""
    from safetensors.torch import save_file
    from emoexplain.model.card import model_card

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if version:
        explainer.version = version
    state = {f"{name}.{k}": v.detach().float().cpu().contiguous()
             for name, module in explainer.speech_modules().items() for k, v in module.state_dict().items()}
    save_file(state, str(folder / SPEECH_FILE), metadata={"format": FORMAT})
    # record the backbone id, not this machine's folder, as the LoRA's base model
    explainer.llm.peft_config["default"].base_model_name_or_path = explainer.config.llm
    explainer.llm.save_pretrained(str(folder / LORA_DIR))
    (folder / LORA_DIR / "README.md").unlink(missing_ok=True)  # peft's generic card; ours is README.md
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": explainer.name,
            "version": explainer.version, "model": explainer.config.to_dict(), "label_set": explainer.label_set,
            "labels": list(explainer.labels), "descriptor_bins_version": _bins_version(),
            "backbones": backbone_fingerprint(explainer), "packages": _package_versions(),
            "git_revision": _git_revision(), "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "train_config": train_config}
    (folder / "config.json").write_text(json.dumps(info, indent=2) + "\n")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    explainer.card_markdown = card if card is not None else model_card(info, metrics)
    (folder / "README.md").write_text(explainer.card_markdown)
    return folder


def push_to_hub(explainer, repo_id: str, *, metrics: dict | None = None, train_config: dict | None = None,
                card: str | None = None, private: bool = True, token: str | None = None) -> str:
    """Save through ``save_checkpoint`` into a temporary folder and upload it; returns the repo url."""
    from huggingface_hub import HfApi
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(explainer, tmp, metrics=metrics, train_config=train_config, card=card)
        api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=f"emoexplain {explainer.version}")
    return f"https://huggingface.co/{repo_id}"


# --- load --------------------------------------------------------------------------------------------------------
def _local_folder(path_or_hub_id) -> Path:
    if path_or_hub_id is None:
        path_or_hub_id = os.environ.get("EMOEXPLAIN_CHECKPOINT") or str(DEFAULT_CHECKPOINT)
    path = Path(path_or_hub_id).expanduser()
    if path.exists():
        return path
    if str(path_or_hub_id).count("/") == 1 and not str(path_or_hub_id).startswith((".", "/")):
        from huggingface_hub import snapshot_download
        try:
            return Path(snapshot_download(str(path_or_hub_id)))
        except Exception as exc:  # hub errors come in many classes; all mean "not loadable"
            raise CheckpointError(f"Could not download checkpoint {path_or_hub_id!r} from the hub: {exc}") from exc
    raise CheckpointError(f"No checkpoint folder at {str(path)!r}. Pass a folder made by save_checkpoint "
                          "or a hub id like 'owner/name'.")


def _check_backbones(saved: dict, explainer, folder: Path):
    loaded = backbone_fingerprint(explainer)
    for part in ("encoder", "llm"):
        if saved.get(part) != loaded[part]:
            raise CheckpointMismatch(
                f"Checkpoint {folder} was trained on a {part} with {saved.get(part)}, but the {part} loaded from "
                f"{getattr(explainer.config, part)!r} has {loaded[part]}. Load it with the backbone it was "
                "trained on (see its config.json), or train a new checkpoint for this backbone.")


def load_explainer(path_or_hub_id: str | None = None, *, device=None, dtype=None, encoder: str | None = None,
                   llm: str | None = None):
    """Rebuild an Explainer from a checkpoint folder or hub id (None: $EMOEXPLAIN_CHECKPOINT, else the demo).

    ``device``/``dtype`` default to the GPU in bfloat16 when there is one, else the CPU in float32; the frozen
    backbones are loaded straight there in that dtype (never a float32 copy on the host first).

    ``encoder`` / ``llm`` replace the backbone ids recorded in the checkpoint (e.g. a local mirror); a backbone of
    a different size raises CheckpointMismatch.
    """
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = _local_folder(path_or_hub_id)
    try:
        info = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder} has no readable config.json ({exc}); is it an emoexplain checkpoint?")
    if info.get("format") != FORMAT:
        raise CheckpointError(f"{folder}/config.json is not an emoexplain checkpoint (format {info.get('format')!r}).")
    config = ModelConfig.from_dict(info["model"])
    config = config.replace(encoder=encoder or config.encoder, llm=llm or config.llm)
    explainer = build_explainer(config, device=device, dtype=dtype)
    _check_backbones(info.get("backbones", {}), explainer, folder)
    try:
        state = load_file(str(folder / SPEECH_FILE))
        for name, module in explainer.speech_modules().items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        lora = load_file(str(folder / LORA_DIR / "adapter_model.safetensors"))
        result = set_peft_model_state_dict(explainer.llm, lora)
    except (OSError, RuntimeError) as exc:
        raise CheckpointMismatch(f"The weights in {folder} do not fit the model its config.json describes: {exc}")
    if getattr(result, "unexpected_keys", None):
        raise CheckpointMismatch(f"{folder}/lora holds weights this model has no place for: "
                                 f"{result.unexpected_keys[:5]}")
    explainer.name, explainer.version = info.get("name", explainer.name), info.get("version", "unknown")
    readme = folder / "README.md"
    explainer.card_markdown = readme.read_text() if readme.exists() else ""
    return explainer.freeze()


# --- what the app lists and shows ---------------------------------------------------------------------------------
def discover_checkpoints(roots, configured: str | None = None) -> list[str]:
    """The default (demo) checkpoint, ``configured``, then every checkpoint folder (one holding a config.json)
    under ``roots``, each once, in that order."""
    found = [str(DEFAULT_CHECKPOINT)] if DEFAULT_CHECKPOINT.is_dir() else []
    if configured:
        found.append(configured)
    for root in map(Path, roots):
        if root.is_dir():
            found += sorted(str(p.parent) for p in root.glob("**/config.json") if len(p.parts) < 20)
    return list(dict.fromkeys(found))


def card_body(card: str) -> str:
    """A model card without its YAML header (``---`` ... ``---``): metadata for the hub, noise on a page."""
    if card.startswith("---"):
        end = card.find("\n---", 3)
        if end != -1:
            return card[end + 4:].lstrip()
    return card


def checkpoint_metrics(explainer, folder) -> dict:
    """The metrics the explainer carries, else the checkpoint folder's metrics.json, else {}."""
    metrics = getattr(explainer, "metrics", None)
    if isinstance(metrics, dict):
        return metrics
    file = Path(folder) / "metrics.json"
    try:
        return json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, ValueError):
        return {}


def is_demo_checkpoint(path: str | None, card: str = "") -> bool:
    """The bundled default checkpoint is the demo (so is any whose card says it learned from synthetic speech)."""
    if path is None:
        return True
    try:
        if Path(path).resolve() == DEFAULT_CHECKPOINT.resolve():
            return True
    except OSError:
        pass
    card = (card or "").lower()
    return "synthetic" in card and "demo" in card

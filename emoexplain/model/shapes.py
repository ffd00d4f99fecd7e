"""The presets' backbones as config values, to build random-weight models of the real sizes offline.

Speed and memory do not depend on the weights' values, so benchmarks (bench/gpu_check.py, bench/bench_model.py)
and the loading-memory test build HuBERT and the LLM from these shapes, copied from each hub model's
config.json, instead of downloading them. Two ways:

    random_explainer("paper", device="cuda", dtype=torch.bfloat16)  # in memory, initialised on the device
    write_random_backbones("base", folder)                           # hubert/ + llm/ folders for from_pretrained

The tokenizer is always the tiny one (assets/tiny_backbones/llm): prompts then have about as many tokens as
with Llama-3's, and only the LLM's width, depth and vocabulary size matter for speed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from emoexplain.model.config import TINY_BACKBONES, ModelConfig
from emoexplain.paths import ROOT as REPO_ROOT

TINY_LLM = REPO_ROOT / TINY_BACKBONES / "llm"
# ids of the tiny tokenizer's specials (a random LLM needs only the ids its tokenizer uses)
_SPECIAL_IDS = {"bos_token_id": 0, "eos_token_id": 4, "pad_token_id": 5}

HUBERT = {
    # facebook/hubert-base-ls960: HubertModel, group-norm feature extractor, no CTC head
    "base": {"architectures": ["HubertModel"], "hidden_size": 768, "num_hidden_layers": 12,
             "num_attention_heads": 12, "intermediate_size": 3072, "feat_extract_norm": "group",
             "do_stable_layer_norm": False, "conv_bias": False},
    # facebook/hubert-large-ls960-ft: HubertForCTC, layer-norm feature extractor, stable layer norm
    "paper": {"architectures": ["HubertForCTC"], "hidden_size": 1024, "num_hidden_layers": 24,
              "num_attention_heads": 16, "intermediate_size": 4096, "feat_extract_norm": "layer",
              "do_stable_layer_norm": True, "conv_bias": True, "vocab_size": 32, "pad_token_id": 0},
}
LLAMA = {
    # meta-llama/Llama-3.2-1B-Instruct
    "base": {"vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
             "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "max_position_embeddings": 131072,
             "rms_norm_eps": 1e-5, "tie_word_embeddings": True, **_SPECIAL_IDS},
    # meta-llama/Llama-3.1-8B-Instruct
    "paper": {"vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
              "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
              **_SPECIAL_IDS},
}
SIZES = ("tiny", "base", "paper")


def backbone_configs(size: str):
    """(HubertConfig, LlamaConfig) of a preset; tiny: the committed tiny backbones' own configs."""
    from transformers import AutoConfig, HubertConfig, LlamaConfig

    if size == "tiny":
        return (AutoConfig.from_pretrained(REPO_ROOT / TINY_BACKBONES / "hubert"), AutoConfig.from_pretrained(TINY_LLM))
    if size not in HUBERT:
        raise ValueError(f"unknown size {size!r}; choose one of {SIZES}")
    return HubertConfig(**HUBERT[size]), LlamaConfig(**LLAMA[size])


def _classes(hubert_config):
    from transformers import HubertForCTC, HubertModel, LlamaForCausalLM
    ctc = "HubertForCTC" in (hubert_config.architectures or [])
    return (HubertForCTC if ctc else HubertModel), LlamaForCausalLM


def random_explainer(size: str, *, device="cpu", dtype=torch.float32, **overrides):
    """An Explainer of the preset's shape with random weights, built directly on ``device`` in ``dtype`` (the
    frozen backbones; branches, adapters and LoRA stay float32 as in build_explainer). "meta": shapes only."""
    from transformers import AutoTokenizer

    from emoexplain.model.encoder import SpeechEncoder
    from emoexplain.model.explainer import Explainer
    from emoexplain.model.llm import add_lora

    hubert_config, llama_config = backbone_configs(size)
    hubert_cls, llm_cls = _classes(hubert_config)
    config = ModelConfig.preset(size, **overrides)
    with torch.device(device):  # initialised where it will run: no host copy of an 8B model
        hubert = hubert_cls._from_config(hubert_config, dtype=dtype, attn_implementation=config.attn_implementation)
        llm = llm_cls._from_config(llama_config, dtype=dtype, attn_implementation=config.attn_implementation)
    llm.generation_config.eos_token_id = _SPECIAL_IDS["eos_token_id"]
    llm.generation_config.pad_token_id = _SPECIAL_IDS["pad_token_id"]
    tokenizer = AutoTokenizer.from_pretrained(TINY_LLM)
    explainer = Explainer(config, SpeechEncoder(hubert.eval()), add_lora(llm.eval(), config), tokenizer)
    for module in explainer.speech_modules().values():
        module.to(device)
    return explainer


def write_random_backbones(size: str, folder, *, dtype=torch.bfloat16, shard_bytes: int = 512 * 2**20,
                           seed: int = 0) -> tuple[Path, Path]:
    """Write ``folder/hubert`` and ``folder/llm`` (random weights in ``dtype``, sharded safetensors, the tiny
    tokenizer) without ever holding a whole model in memory: names and shapes come from a meta-device build."""
    folder = Path(folder)
    hubert_config, llama_config = backbone_configs(size)
    hubert_cls, llm_cls = _classes(hubert_config)
    generator = torch.Generator().manual_seed(seed)
    out = []
    for name, cls, cfg in (("hubert", hubert_cls, hubert_config), ("llm", llm_cls, llama_config)):
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        with torch.device("meta"):
            shapes = {k: (v.shape, v.dtype) for k, v in cls(cfg).state_dict().items()}
        if getattr(cfg, "tie_word_embeddings", False):
            shapes.pop("lm_head.weight", None)  # tied: stored once, as the input embedding
        _write_shards(target, shapes, dtype, shard_bytes, generator)
        cfg.dtype = str(dtype).removeprefix("torch.")
        cfg.save_pretrained(target)
        out.append(target)
    for file in TINY_LLM.iterdir():  # tokenizer, chat template and generation config of the tiny LLM
        if file.name not in ("config.json", "model.safetensors"):
            shutil.copy(file, folder / "llm" / file.name)
    return out[0], out[1]


def _write_shards(folder: Path, shapes: dict, dtype, shard_bytes: int, generator):
    from safetensors.torch import save_file

    weight_map, shard, size, index = {}, {}, 0, 0

    def flush():
        nonlocal shard, size, index
        index += 1
        save_file(shard, str(folder / f"model-{index:05d}.safetensors"), metadata={"format": "pt"})
        weight_map.update({k: f"model-{index:05d}.safetensors" for k in shard})
        shard, size = {}, 0

    # one block of 2**20 random values tiled over every tensor: drawing 1.2 B normals costs ~20 s of CPU and
    # neither speed nor memory depends on the values
    block = (0.02 * torch.randn(2**20, generator=generator)).to(dtype)
    for key, (shape, stored) in shapes.items():
        tensor = torch.zeros(shape, dtype=dtype if stored.is_floating_point else stored)
        if tensor.is_floating_point():
            flat = tensor.view(-1)
            for start in range(0, flat.numel(), block.numel()):
                piece = flat[start:start + block.numel()]
                piece.copy_(block[:piece.numel()])
        shard[key] = tensor
        size += tensor.numel() * tensor.element_size()
        if size >= shard_bytes:
            flush()
    if shard:
        flush()
    total = sum(torch.Size(s).numel() for s, _ in shapes.values()) * torch.empty((), dtype=dtype).element_size()
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1))

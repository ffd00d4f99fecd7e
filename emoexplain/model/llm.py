"""The LLM decoder: any LLaMA-style causal LM + tokenizer + chat template, with LoRA via peft (paper.md 2.4-2.5).

The prompt follows the paper's Figure 1: a system line, then a user turn holding the content embeddings, the
descriptor embeddings and the instruction. We render the model's own chat template with two marker strings in
the speech slots and cut the text there, so any chat template (Llama-3, Zephyr, ...) works unchanged:

    pre  = <|begin_of_text|>...system...<|start_header_id|>user<|end_header_id|>\n\n
    [content tokens]  mid = "\n"  [descriptor tokens]
    post = "\n" + instruction + <|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from emoexplain.model.config import PROMPT_DATE, seeded

CONTENT_MARK, DESCRIPTOR_MARK = "<speech_content_slot>", "<speech_descriptor_slot>"


@dataclass(frozen=True)
class PromptIds:
    pre: tuple[int, ...]    # token ids before the content embeddings
    mid: tuple[int, ...]    # between content and descriptor embeddings
    post: tuple[int, ...]   # after the descriptor embeddings, up to the assistant's first token


def load_llm(id_or_path: str, config, *, device=None, dtype=None, device_map=None):
    """(peft model with a fresh LoRA adapter named "default", tokenizer).

    Weights go straight to ``device`` (or over ``device_map``, e.g. "auto") in ``dtype``: transformers 5 builds
    the model on the meta device and fills each tensor from the checkpoint (what ``low_cpu_mem_usage`` was).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(id_or_path)
    if tokenizer.pad_token_id is None:  # Llama-3 ships none; masks, not the pad id, decide what is attended
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(id_or_path, dtype=dtype or torch.float32,
                                                 device_map=device_map or str(device or "cpu"),
                                                 attn_implementation=config.attn_implementation)
    return add_lora(model, config), tokenizer


def add_lora(model, config):
    """Wrap a causal LM with a fresh LoRA adapter (seeded locally: same config, same adapter)."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_targets),
                      modules_to_save=list(config.lora_modules_to_save) or None, task_type="CAUSAL_LM")
    with warnings.catch_warnings(), seeded(config.seed):  # + a transformers 5 deprecation inside peft
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, lora)


def prompt_ids(tokenizer, system: str, instruction: str, *, date: str = PROMPT_DATE) -> PromptIds:
    """Token ids of the three text pieces around the two speech slots.

    Llama-3.x templates write "Today Date: <the day it is rendered>" into the system turn, so the prompt (and
    what a checkpoint was trained on) would change every day: the template is rendered with ``date`` instead,
    both through its ``date_string`` variable and by shadowing its ``strftime_now`` clock.
    """
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": f"{CONTENT_MARK}\n{DESCRIPTOR_MARK}\n{instruction}"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                         chat_template=_fixed_clock(tokenizer.chat_template, date),
                                         date_string=date)
    pre, rest = text.split(CONTENT_MARK)
    mid, post = rest.split(DESCRIPTOR_MARK)
    ids = [tuple(tokenizer(part, add_special_tokens=False)["input_ids"]) for part in (pre, mid, post)]
    bos = tokenizer.bos_token_id
    if bos is not None and (not ids[0] or ids[0][0] != bos) and tokenizer.bos_token not in text:
        ids[0] = (bos,) + ids[0]  # templates that leave the BOS to the tokenizer (e.g. Zephyr/TinyLlama)
    return PromptIds(*ids)


def _fixed_clock(template: str | None, date: str) -> str | None:
    """The template with a ``strftime_now`` macro that always returns ``date`` (a template-level name shadows
    the renderer's global clock; keyword arguments cannot, transformers passes only plain data to templates)."""
    if not template or "strftime_now" not in template:
        return template
    return "{%- macro strftime_now(format) -%}" + date + "{%- endmacro -%}" + template


def stop_token_ids(model, tokenizer) -> list[int]:
    """All ids that end an assistant turn (Llama-3 Instruct lists several in its generation config)."""
    ids = model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids

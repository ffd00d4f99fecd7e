"""Build the tiny backbones offline and deterministically (no hub access needed).

    python -m emoexplain.model.tiny assets/tiny_backbones

writes ``hubert/`` (a random HubertForCTC with a character CTC vocabulary), ``llm/`` (a random LLaMA causal
LM with a byte-level BPE tokenizer trained in memory on caption-like text and a Llama-3-style chat template),
and ``wavlm/`` + ``wav2vec2/`` (random WavLM / wav2vec2 encoders for the SSL baselines' tiny presets).
The ``tiny`` preset loads them with ``from_pretrained`` on the folder: the same code path as the hub ids of the
``base`` and ``paper`` presets.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

# Character CTC vocabulary in the layout of facebook/hubert-large-ls960-ft (blank = <pad> = 0, "|" = space).
CTC_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ"]

# Llama-3 special tokens, so the tiny chat template reads like the real one.
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eot_id|>", "<|finetune_right_pad_id|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)

# Harvard sentences (public domain) and the test fixture's sentence: plausible transcripts for the corpus.
SENTENCES = (
    "The quick brown fox jumps over the lazy dog while the children watch from the window.",
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The way he talks about people.", "I can't believe you did that again!", "Please leave me alone.",
    "What a wonderful surprise, thank you so much.", "I never wanted any of this to happen.",
    "Why would you say something like that?", "We won the game, we actually won!",
)


def corpus() -> list[str]:
    """Caption-shaped text: every label word, every descriptor word, every template, plus the sentences."""
    from emoexplain import labels
    from emoexplain.captions import N_TEMPLATES, CaptionFields, render_caption

    rng = random.Random(0)
    emotions = sorted({w for name in labels.label_set_names() for w in labels.labels(name)})
    levels, variation = ("low", "normal", "high"), ("very monotone", "monotone", "slightly expressive",
                                                   "expressive", "very expressive")
    lines = list(SENTENCES)
    for i, (emotion, template) in enumerate(itertools.product(emotions, range(N_TEMPLATES))):
        words = rng.choice(SENTENCES).rstrip(".!?").split()
        fields = CaptionFields(
            emotion=emotion, transcript=" ".join(words),
            descriptors={"pitch": levels[i % 3], "volume": levels[(i // 3) % 3],
                         "speed": ("slow", "normal", "fast")[(i // 9) % 3],
                         "tone": ("falling", "level", "rising")[i % 3], "pitch_variation": variation[i % 5]},
            emphasis=(rng.choice(words),), gender=("male", "female", None)[i % 3])
        lines.append(render_caption(fields, template))
    return lines


def build_tokenizer(vocab_size: int = 1024):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   pad_token="<|finetune_right_pad_id|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_llm(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    from emoexplain.model.config import seeded
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=False, bos_token_id=0, eos_token_id=4, pad_token_id=5)
    with seeded(0):
        return LlamaForCausalLM(config)


def build_hubert():
    from transformers import HubertConfig, HubertForCTC

    from emoexplain.model.config import seeded
    # Layer-norm feature extractor + stable layer norm, as in hubert-large-ls960-ft (so it takes attention masks).
    config = HubertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                          conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                          feat_extract_norm="layer", do_stable_layer_norm=True, vocab_size=len(CTC_VOCAB),
                          pad_token_id=0, ctc_loss_reduction="mean")
    with seeded(0):
        return HubertForCTC(config)


def build_ssl_encoder(kind: str):
    """A random WavLM or wav2vec2 encoder as small as the tiny HuBERT's front end allows (stable layer norm)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model, WavLMConfig, WavLMModel

    torch.manual_seed(0)
    sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                 feat_extract_norm="layer", do_stable_layer_norm=True, vocab_size=len(CTC_VOCAB))
    if kind == "wavlm":
        return WavLMModel(WavLMConfig(num_buckets=32, max_bucket_distance=80, **sizes))
    return Wav2Vec2Model(Wav2Vec2Config(**sizes))


def write(out_dir: str | Path) -> Path:
    """Write ``hubert/``, ``llm/``, ``wavlm/`` and ``wav2vec2/`` under ``out_dir`` and return it."""
    out = Path(out_dir)
    for kind in ("wavlm", "wav2vec2"):
        build_ssl_encoder(kind).save_pretrained(out / kind)
    hubert = build_hubert()
    hubert.save_pretrained(out / "hubert")
    (out / "hubert" / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(CTC_VOCAB)}, indent=0))
    tokenizer = build_tokenizer()
    for i, token in enumerate(SPECIAL_TOKENS):  # build_llm relies on these ids
        assert tokenizer.convert_tokens_to_ids(token) == i, token
    llm = build_llm(len(tokenizer))
    llm.generation_config.eos_token_id = tokenizer.eos_token_id
    llm.generation_config.pad_token_id = tokenizer.pad_token_id
    llm.save_pretrained(out / "llm")
    tokenizer.save_pretrained(out / "llm")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m emoexplain.model.tiny OUT_DIR")
    print(f"wrote tiny backbones to {write(sys.argv[1])}")

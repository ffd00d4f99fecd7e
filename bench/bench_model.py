"""Model latency on CPU against its floors, at real sizes with random weights (speed does not depend on values).

    .venv/bin/python bench/bench_model.py                 # base: HubertConfig() (95 M) + Llama-3.2-1B-shaped LM
    .venv/bin/python bench/bench_model.py --size tiny     # seconds-long smoke run

One 10 s clip. Measured in the same run:
  floors   HubertForSequenceClassification of the same HuBERT size; the plain LLM's prefill over the same number
           of prompt tokens (logits for the last position only, as generate does) and its per-token decode step
  model    (a) label scoring only (encoder + branches + adapters + prefix + all labels on the shared prefix cache)
           (b) full predict: scoring + caption generation of --new-tokens tokens
Goals: scoring <= 1.2 x (HuBERT floor + prefill floor); decode <= 1.1 x the plain per-token step.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emoexplain.model import ModelConfig  # noqa: E402
from emoexplain.model.encoder import SpeechEncoder  # noqa: E402
from emoexplain.model.explainer import Explainer  # noqa: E402
from emoexplain.model.llm import add_lora, prompt_ids  # noqa: E402


def backbones(size: str):
    """(HubertConfig, LlamaConfig) of the requested size."""
    from transformers import HubertConfig, LlamaConfig
    from emoexplain.model import tiny
    if size == "tiny":
        return tiny.build_hubert().config, tiny.build_llm(1024).config
    # meta-llama/Llama-3.2-1B-Instruct's shape (config.json), built from config: no download
    llama = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=131072,
                        rope_theta=500000.0, tie_word_embeddings=True, bos_token_id=0, eos_token_id=4,
                        pad_token_id=5)
    return HubertConfig(), llama


def timed(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def llm_floors(llm, n_tokens: int, repeats: int, steps: int = 8) -> tuple[float, float]:
    """(prefill seconds over n_tokens embeddings, seconds per decode step on that prefix), plain model."""
    from transformers import DynamicCache
    embeds = torch.randn(1, n_tokens, llm.config.hidden_size) * 0.02
    prefill = timed(lambda: llm(inputs_embeds=embeds, logits_to_keep=1), repeats)

    def decode():
        cache = DynamicCache(config=llm.config)
        llm(inputs_embeds=embeds, past_key_values=cache, use_cache=True, logits_to_keep=1)
        token = torch.tensor([[7]])
        start = time.perf_counter()
        for _ in range(steps):
            logits = llm(input_ids=token, past_key_values=cache, use_cache=True).logits
            token = logits[:, -1:].argmax(-1)
        return (time.perf_counter() - start) / steps
    decode()
    return prefill, statistics.median(decode() for _ in range(repeats))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "base"), default="base")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--new-tokens", type=int, default=32, help="caption tokens generated in (b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import AutoTokenizer, HubertForSequenceClassification, HubertModel, LlamaForCausalLM

    hubert_cfg, llama_cfg = backbones(args.size)
    config = ModelConfig.preset("tiny" if args.size == "tiny" else "base")
    clip = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * 16000))).astype(np.float32)
    wave = torch.from_numpy(clip)[None]

    classifier = HubertForSequenceClassification(hubert_cfg).eval()
    with torch.no_grad():
        hubert_floor = timed(lambda: classifier(wave), args.repeats)
    del classifier

    tokenizer = AutoTokenizer.from_pretrained(str(Path(__file__).resolve().parents[1] / "assets/tiny_backbones/llm"))
    encoder = SpeechEncoder(HubertModel(hubert_cfg) if args.size == "base" else _tiny_ctc(hubert_cfg))
    tokens = int(encoder.num_frames(torch.tensor(len(clip)))) // config.adapter_k
    p = prompt_ids(tokenizer, config.system_prompt, config.caption_instruction)
    answer = len(tokenizer(config.answer_prefix, add_special_tokens=False)["input_ids"])
    n_prompt = len(p.pre) + len(p.mid) + len(p.post) + answer + 2 * tokens

    llm = LlamaForCausalLM(llama_cfg).eval()
    prefill_floor, step_floor = llm_floors(llm, n_prompt, args.repeats)
    explainer = Explainer(config, encoder, add_lora(llm, config), tokenizer).set_stage("eval")

    scoring = timed(lambda: explainer.score_labels([clip]), args.repeats)
    with torch.no_grad():
        speech = explainer._speech_for([clip])
        encode = timed(lambda: explainer._speech_for([clip]), args.repeats)
        gen = lambda n: explainer.generate(speech, max_new_tokens=n, min_new_tokens=n)  # noqa: E731
        one, many = timed(lambda: gen(1), args.repeats), timed(lambda: gen(args.new_tokens), args.repeats)
    decode = (many - one) / (args.new_tokens - 1)
    full = timed(lambda: explainer.predict(clip, max_new_tokens=args.new_tokens), args.repeats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    params = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    print(f"size={args.size}  clip={args.seconds:.0f} s  threads={args.threads}  HuBERT {params(encoder):.1f} M  "
          f"LLM {params(llm):.0f} M  prompt {n_prompt} tokens ({tokens} content + {tokens} descriptor)  "
          f"labels {len(explainer.labels)}  repeats {args.repeats} (median)")
    rows = [("HuBERT classifier floor", hubert_floor), ("LLM prefill floor", prefill_floor),
            ("LLM decode step floor", step_floor), ("encoder+branches+adapters", encode),
            ("(a) label scoring", scoring), ("model decode step", decode),
            (f"(b) predict + caption ({args.new_tokens} tok)", full)]
    for name, seconds in rows:
        print(f"  {name:<34} {seconds * 1000:10.1f} ms")
    goal_a = scoring / (hubert_floor + prefill_floor)
    goal_b = decode / step_floor
    print(f"scoring / (HuBERT floor + prefill floor) = {goal_a:.2f}  (goal <= 1.20: {'PASS' if goal_a <= 1.2 else 'FAIL'})")
    print(f"decode step / plain decode step          = {goal_b:.2f}  (goal <= 1.10: {'PASS' if goal_b <= 1.1 else 'FAIL'})")
    print(f"scoring / plain HuBERT classifier        = {scoring / hubert_floor:.2f}  (what explanation costs)")
    print(f"peak memory (RSS)                        = {peak_mb:.0f} MB")


def _tiny_ctc(cfg):
    from transformers import HubertForCTC
    return HubertForCTC(cfg)


if __name__ == "__main__":
    main()

"""Model latency on CPU against its floors, at real sizes with random weights (speed does not depend on values).

    .venv/bin/python bench/bench_model.py                 # base: HubertConfig() (95 M) + Llama-3.2-1B-shaped LM
    .venv/bin/python bench/bench_model.py --size tiny     # seconds-long smoke run
    .venv/bin/python bench/bench_model.py --size paper --device cuda   # GPU: HuBERT-large + Llama-3.1-8B, bf16

One 10 s clip. Measured in the same run:
  floors   HubertForSequenceClassification of the same HuBERT size; the plain LLM's prefill over the same number
           of prompt tokens (logits for the last position only, as generate does) and its per-token decode step
  model    (a) label scoring only (encoder + branches + adapters + one forward: prompt + every label, tree mask)
           (b) full predict: scoring + caption generation of --new-tokens tokens
Goals: scoring <= 1.2 x (HuBERT floor + prefill floor); decode <= 1.1 x the plain per-token step.
The floors and the model run in interleaved rounds (one warm-up round first) and each row reports the minimum
over rounds, so that load from other processes on a shared machine hits both sides alike. The floors use the
same LLM object with its LoRA adapter disabled (peft's wrappers then only pass through).
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
    """(HubertConfig, LlamaConfig) of the requested size (emoexplain/model/shapes.py: the hub models' shapes)."""
    from emoexplain.model.shapes import backbone_configs
    return backbone_configs(size)


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


CLOCK = time.perf_counter  # --clock cpu: time.process_time (CPU seconds of this process, all threads)


def _timed(fn) -> float:
    _sync()
    start = CLOCK()
    fn()
    _sync()
    return CLOCK() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "base", "paper"), default="base")
    parser.add_argument("--device", default="cpu", help="cpu (float32) or cuda (bfloat16 backbones)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--new-tokens", type=int, default=16, help="caption tokens generated in (b)")
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds (after one warm-up round)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: CPU seconds of this process instead of wall-clock seconds; on a shared machine "
                             "(with --threads 1) they measure the work done, not the other jobs' load")
    args = parser.parse_args(argv)
    global CLOCK
    if args.clock == "cpu":
        if args.device != "cpu":
            parser.error("--clock cpu needs --device cpu")
        CLOCK = time.process_time
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import AutoTokenizer, DynamicCache, HubertForSequenceClassification, HubertModel, \
        LlamaForCausalLM

    device, dtype = args.device, (torch.float32 if args.device == "cpu" else torch.bfloat16)
    hubert_cfg, llama_cfg = backbones(args.size)
    config = ModelConfig.preset(args.size)
    clip = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * 16000))).astype(np.float32)
    wave = torch.from_numpy(clip)[None].to(device, dtype)

    classifier = HubertForSequenceClassification(hubert_cfg).to(device, dtype).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(Path(__file__).resolve().parents[1] / "assets/tiny_backbones/llm"))
    hubert = HubertModel(hubert_cfg) if args.size == "base" else _tiny_ctc(hubert_cfg)  # paper/tiny: CTC head
    encoder = SpeechEncoder(hubert.to(device, dtype))
    tokens = int(encoder.num_frames(torch.tensor(len(clip)))) // config.adapter_k
    p = prompt_ids(tokenizer, config.system_prompt, config.caption_instruction)
    answer = len(tokenizer(config.answer_prefix, add_special_tokens=False)["input_ids"])
    n_prompt = len(p.pre) + len(p.mid) + len(p.post) + answer + 2 * tokens

    with torch.device(device):  # build the (large) random LLM directly on the device, in its dtype
        llm = LlamaForCausalLM._from_config(llama_cfg, dtype=dtype).eval()
    n_llm = sum(q.numel() for q in llm.parameters()) / 1e6
    explainer = Explainer(config, encoder, add_lora(llm, config), tokenizer)
    for module in explainer.speech_modules().values():
        module.to(device)
    plain = explainer.llm.get_base_model()      # floors run it with the LoRA adapter disabled
    embeds = (torch.randn(1, n_prompt, llama_cfg.hidden_size) * 0.02).to(device, dtype)
    steps = args.new_tokens - 1

    with torch.no_grad(), explainer.llm.disable_adapter():  # the floor's prompt cache, made once
        cache = DynamicCache(config=plain.config)
        first = plain(inputs_embeds=embeds, past_key_values=cache, use_cache=True, logits_to_keep=1).logits.argmax(-1)

    def decode_floor():
        """Plain LLM: ``steps`` greedy steps on the prompt's KV cache (per step); the cache is cut back after."""
        def run():
            token = first
            for _ in range(steps):
                token = plain(input_ids=token, past_key_values=cache, use_cache=True).logits[:, -1:].argmax(-1)
        seconds = _timed(run) / steps
        cache.crop(-steps)  # back to the prompt
        return seconds

    with torch.no_grad():
        speech = explainer._speech_for([clip])
    gen = lambda n: explainer.generate(speech, max_new_tokens=n, min_new_tokens=n)  # noqa: E731
    floors = {
        "HuBERT classifier floor": lambda: _timed(lambda: classifier(wave)),
        "LLM prefill floor": lambda: _timed(lambda: plain(inputs_embeds=embeds, logits_to_keep=1)),
        "LLM decode step floor": decode_floor,
    }
    model = {
        "encoder+branches+adapters": lambda: _timed(lambda: explainer._speech_for([clip])),
        "(a) label scoring": lambda: _timed(lambda: explainer.score_labels([clip])),
        "generate 1 token": lambda: _timed(lambda: gen(1)),
        f"generate {args.new_tokens} tokens": lambda: _timed(lambda: gen(args.new_tokens)),
        f"(b) predict + caption ({args.new_tokens} tok)":
            lambda: _timed(lambda: explainer.predict(clip, max_new_tokens=args.new_tokens)),
    }
    # Interleaved rounds (the first is a warm-up): load from other processes hits floors and model alike.
    times = {name: [] for name in [*floors, *model]}
    for r in range(args.repeats + 1):
        with torch.no_grad():
            with explainer.llm.disable_adapter():
                got = {name: fn() for name, fn in floors.items()}
            got |= {name: fn() for name, fn in model.items()}
        if r:
            for name, seconds in got.items():
                times[name].append(seconds)
    best = {name: min(v) for name, v in times.items()}
    decode = (best[f"generate {args.new_tokens} tokens"] - best["generate 1 token"]) / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else None

    print(f"size={args.size}  device={device} {str(dtype).split('.')[-1]}  clip={args.seconds:.0f} s  "
          f"threads={args.threads}  HuBERT {sum(q.numel() for q in encoder.parameters()) / 1e6:.1f} M  "
          f"LLM {n_llm:.0f} M  prompt {n_prompt} tokens ({tokens} content + {tokens} descriptor)  "
          f"labels {len(explainer.labels)}  {args.repeats} interleaved rounds: min (median), {args.clock} clock")
    for name, values in times.items():
        print(f"  {name:<34} {best[name] * 1000:10.1f} ms  ({statistics.median(values) * 1000:.1f})")
    print(f"  {'model decode step':<34} {decode * 1000:10.1f} ms  (generate {args.new_tokens} - generate 1) / {steps}")
    goal_a = best["(a) label scoring"] / (best["HuBERT classifier floor"] + best["LLM prefill floor"])
    goal_b = decode / best["LLM decode step floor"]
    print(f"scoring / (HuBERT floor + prefill floor) = {goal_a:.2f}  (goal <= 1.20: {'PASS' if goal_a <= 1.2 else 'FAIL'})")
    print(f"decode step / plain decode step          = {goal_b:.2f}  (goal <= 1.10: {'PASS' if goal_b <= 1.1 else 'FAIL'})")
    print(f"scoring / plain HuBERT classifier        = {best['(a) label scoring'] / best['HuBERT classifier floor']:.2f}"
          "  (what explanation costs)")
    print(f"peak memory (RSS)                        = {peak_mb:.0f} MB")
    if gpu_mb is not None:
        print(f"peak GPU memory (allocated)              = {gpu_mb:.0f} MB")


def _tiny_ctc(cfg):
    from transformers import HubertForCTC
    return HubertForCTC(cfg)


if __name__ == "__main__":
    main()

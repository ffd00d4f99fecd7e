"""GPU check: inference latency and one training step at a preset's real size, random weights, no hub.

    .venv/bin/python bench/gpu_check.py --size paper --device cuda     # HuBERT-large + Llama-3.1-8B, bf16
    .venv/bin/python bench/gpu_check.py --size tiny --device cpu       # the same code, seconds (CI runs it)

Speed does not depend on the weights' values, so the model is built from the hub models' shapes
(emoexplain/model/shapes.py) directly on the device. Measured, on one clip of --seconds (default 10 s):
  scoring        encoder + branches + adapters + the one-forward label scoring (what the probability bars cost)
  full caption   predict(): scoring + a --caption-tokens-long greedy caption (+ CTC word timings when parsed)
  decode         ms per caption token: (generate N tokens - generate 1 token) / (N - 1)
  reference      the plain LLM (LoRA disabled) prefilling as many tokens as the scoring forward: scoring /
                 (this prefill) says what the speech side, the branches and the label tree add
  training step  batch --batch of --seconds clips in the ser_sed_asr stage (forward, backward, clip, AdamW;
                 bf16 autocast on CUDA as accelerate's mixed_precision does): time, LLM tokens/s and MFU,
                 the FLOPs the step needs (below) / time / the GPU's dense bf16 peak (table PEAK_TFLOPS)
  memory         peak GPU memory allocated (CPU: peak RSS)
Goals on one H100/H200 (printed as PASS/FAIL on CUDA): scoring < 50 ms, full caption < 0.5 s, MFU >= 40 %.

FLOPs counted for a training step: the LLM's matmuls 4 x N x tokens (forward 2N; backward 2N for the
activation gradients; its frozen weights need no weight gradient), its attention 3 x 4 x layers x L^2 x width
per sequence (forward and twice that backward, full L^2 as PaLM counts); HuBERT forward only (2 x N x frames,
its attention and its CNN front end); the branches and adapters 6 x N x frames.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from NVIDIA's datasheets; matched in this order against
# torch.cuda.get_device_name() (so "H100 PCIe" is found before "H100", "A100" before "A10", "L40S" before "L4").
PEAK_TFLOPS = (("GH200", 989.4), ("H200", 989.4), ("H100 NVL", 835.5), ("H100 PCIe", 756.5), ("H100", 989.4),
               ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.05), ("L40", 181.05), ("L4", 121.0),
               ("A10", 125.0), ("RTX 4090", 165.2))
GOALS = {"scoring_ms": 50.0, "caption_s": 0.5, "mfu": 0.40}


def peak_tflops(device: str, override: float | None) -> float | None:
    if override:
        return override
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    return next((peak for key, peak in PEAK_TFLOPS if key in name), None)


def _sync(device: str):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls after one warm-up call."""
    fn()
    out = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - start)
    return out


# --- FLOPs ---------------------------------------------------------------------------------------------------
def llm_train_flops(llm_config, n_matmul: int, lengths: list[int]) -> float:
    width = llm_config.num_attention_heads * getattr(llm_config, "head_dim", llm_config.hidden_size //
                                                     llm_config.num_attention_heads)
    matmul = 4 * n_matmul * sum(lengths)
    attention = 3 * 4 * llm_config.num_hidden_layers * width * sum(n * n for n in lengths)
    return float(matmul + attention)


def encoder_forward_flops(encoder, n_samples: int) -> float:
    cfg, length, cnn = encoder.model.config, n_samples, 0
    channels = 1
    for dim, kernel, stride in zip(cfg.conv_dim, cfg.conv_kernel, cfg.conv_stride):
        length = (length - kernel) // stride + 1
        cnn += 2 * channels * dim * kernel * length
        channels = dim
    frames = length
    transformer = [p.numel() for n, p in encoder.model.named_parameters()
                   if ".layers." in n and p.ndim == 2]
    attention = 4 * cfg.num_hidden_layers * cfg.hidden_size * frames * frames
    return float(cnn + 2 * sum(transformer) * frames + attention)


def llm_matmul_params(llm) -> int:
    """Parameters used in a matmul per token: all but the input embedding (a lookup) and LoRA."""
    return sum(p.numel() for n, p in llm.named_parameters()
               if p.ndim == 2 and "lora_" not in n and "embed_tokens" not in n)


# --- the checks ------------------------------------------------------------------------------------------------
def check_inference(explainer, clip, args) -> dict:
    device, n = args.device, args.caption_tokens
    with torch.no_grad():
        speech = explainer._speech_for([clip])
        scoring = timed(lambda: explainer.score_labels([clip]), device, args.repeats)
        caption = timed(lambda: explainer.predict(clip, max_new_tokens=n, min_new_tokens=n), device, args.repeats)
        one = timed(lambda: explainer.generate(speech, max_new_tokens=1, min_new_tokens=1), device, args.repeats)
        many = timed(lambda: explainer.generate(speech, max_new_tokens=n, min_new_tokens=n), device, args.repeats)
        prefill_len = _scoring_length(explainer, speech)
        plain = explainer.llm.get_base_model()
        embeds = torch.zeros(1, prefill_len, plain.config.hidden_size, dtype=plain.dtype, device=explainer.device)
        with explainer.llm.disable_adapter():
            prefill = timed(lambda: plain(inputs_embeds=embeds, logits_to_keep=1), device, args.repeats)
    med = statistics.median
    return {"scoring_ms": med(scoring) * 1e3, "caption_s": med(caption), "caption_tokens": n,
            "decode_ms_per_token": (med(many) - med(one)) / max(1, n - 1) * 1e3,
            "reference_prefill_ms": med(prefill) * 1e3, "scoring_tokens": prefill_len,
            "scoring_over_prefill": med(scoring) / med(prefill)}


def _scoring_length(explainer, speech) -> int:
    """Tokens of the scoring forward: prompt + speech tokens + "Emotion:" + every label's tokens."""
    embeds, *_ = explainer._sequences(speech, ["caption"], [explainer._answer_ids], loss_on_answer=False,
                                      left_pad=True)
    return embeds.shape[1] + sum(len(ids) for ids in explainer._label_ids)


def check_training_step(explainer, clip, args, peak: float | None) -> dict:
    from emoexplain.model import TrainExample

    device, stage = args.device, "ser_sed_asr"
    caption = ("Emotion: angry. A man with high pitch and high volume speaks at a fast pace, saying \"the "
               "birch canoe slid on the smooth planks\", his tone falling, in an expressive manner, stressing "
               "\"canoe\".")
    examples = [TrainExample(clip, caption, "caption") for _ in range(args.batch)]
    params = explainer.unfreeze([stage])
    if args.gradient_checkpointing:
        explainer.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    optimizer = torch.optim.AdamW(params, lr=1e-6)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else nullcontext()
    batch = explainer.collate(examples, stage=stage)

    def step():
        with autocast:
            loss = explainer(batch, stage=stage).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    seconds = statistics.median(timed(step, device, args.train_steps))
    explainer.freeze()
    lengths = _train_lengths(explainer, batch)
    flops = (llm_train_flops(explainer.llm.get_base_model().config, llm_matmul_params(explainer.llm), lengths)
             + args.batch * encoder_forward_flops(explainer.encoder, len(clip))
             + 6 * sum(p.numel() for m in explainer.speech_modules().values() for p in m.parameters())
             * args.batch * int(explainer.encoder.num_frames(torch.tensor(len(clip)))))
    out = {"train_step_s": seconds, "train_batch": args.batch, "train_tokens": sum(lengths),
           "train_tokens_per_s": sum(lengths) / seconds, "train_tflop": flops / 1e12,
           "train_tflops_per_s": flops / seconds / 1e12, "mfu": flops / seconds / (peak * 1e12) if peak else None}
    if device.startswith("cuda"):
        out["train_peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def _train_lengths(explainer, batch) -> list[int]:
    with torch.no_grad():
        speech = explainer.encode_speech(batch.samples[:1], batch.sample_mask[:1], batch.prosody)
        answers = [row[m].tolist() for row, m in zip(batch.target_ids, batch.target_mask)]
        _, mask, _, _ = explainer._sequences(speech, batch.tasks[:1], answers[:1], loss_on_answer=True,
                                             left_pad=False)
    return [int(mask.sum())] * len(batch)  # every clip of the batch is the same clip


def report(results: dict, args) -> list[str]:
    fmt = lambda v, spec: "n/a" if v is None else format(v, spec)  # noqa: E731
    mfu = ("n/a (no bf16 peak known for this device: --peak-tflops)" if results["mfu"] is None else
           f"{100 * results['mfu']:.1f} % of {results['peak_tflops']:g} TFLOP/s")
    lines = [f"gpu_check  size={args.size}  device={results['device_name']}  dtype={results['dtype']}  "
             f"clip={args.seconds:g} s  build {results['build_s']:.1f} s  total {results['total_s']:.0f} s",
             f"  label scoring                 {results['scoring_ms']:9.1f} ms",
             f"  full caption ({results['caption_tokens']} tokens)      {results['caption_s'] * 1e3:9.1f} ms",
             f"  decode                        {results['decode_ms_per_token']:9.2f} ms/token",
             f"  reference: plain LLM prefill of {results['scoring_tokens']} tokens {results['reference_prefill_ms']:.1f} ms"
             f"  -> scoring / prefill = {results['scoring_over_prefill']:.2f}",
             f"  training step (batch {results['train_batch']}, ser_sed_asr) {results['train_step_s'] * 1e3:9.1f} ms, "
             f"{results['train_tokens_per_s']:.0f} LLM tokens/s, {results['train_tflops_per_s']:.3g} TFLOP/s, MFU {mfu}",
             f"  peak memory: {results['peak_memory']}"]
    if args.device.startswith("cuda"):
        for key, goal in GOALS.items():
            value = results.get(key)
            ok = value is not None and (value >= goal if key == "mfu" else value < goal)
            lines.append(f"  goal {key} {'>=' if key == 'mfu' else '<'} {goal:g}: {fmt(value, '.3g')} "
                         f"{'PASS' if ok else 'FAIL'}")
    return lines


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "base", "paper"), default="paper")
    parser.add_argument("--device", default="cuda", help="cuda (bf16 backbones) or cpu (float32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--caption-tokens", type=int, default=64, help="caption length (SpeechCraft: 40-70)")
    parser.add_argument("--batch", type=int, default=8, help="training batch (clips of --seconds)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls after one warm-up (median)")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps after one warm-up")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--peak-tflops", type=float, help="bf16 peak for MFU (default: the device table)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)
    from emoexplain.model.shapes import random_explainer

    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    torch.manual_seed(0)
    explainer = random_explainer(args.size, device=args.device, dtype=dtype)
    build_s = time.perf_counter() - start
    clip = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * 16000))).astype(np.float32)
    peak = peak_tflops(args.device, args.peak_tflops)
    results = {"size": args.size, "device": args.device, "dtype": str(dtype).removeprefix("torch."),
               "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
               "peak_tflops": peak, "build_s": build_s, **check_inference(explainer, clip, args),
               **check_training_step(explainer, clip, args, peak)}
    if args.device.startswith("cuda"):
        results["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
        results["peak_memory"] = f"{results['peak_gpu_gb']:.1f} GB GPU allocated"
    else:
        results["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        results["peak_memory"] = f"{results['peak_rss_gb']:.2f} GB RSS"
    results["total_s"] = time.perf_counter() - start
    print("\n".join(report(results, args)))
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in results.items()
                                               if not (isinstance(v, float) and not math.isfinite(v))}, indent=2))
    return results


if __name__ == "__main__":
    main()

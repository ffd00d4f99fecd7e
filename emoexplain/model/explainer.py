"""Explainer: frozen HuBERT -> content / descriptor bottlenecks -> adapters -> LLaMA + LoRA (paper.md 1-3, 5).

    samples (B, S) --encoder--> layers (B, L, F, D)
        --content branch-->    z_con (B, F, Z) --content adapter-->    (B, T, H)   T = F // k
        --descriptor branch--> z_des (B, F, Z) --descriptor adapter--> (B, T, H)   (zeros in the ASR stage)
    prompt = [pre] [content T] [mid] [descriptor T] [post] [answer ...]  --LLM--> caption / label log-likelihoods
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from emoexplain.errors import ConfigError
from emoexplain.model.adapter import Adapter
from emoexplain.model.bottleneck import Bottleneck, LayerSum
from emoexplain.model.config import ASR, EVAL, SER_SED_ASR, STAGE_BRANCHES, STAGES, ModelConfig, seeded
from emoexplain.model.data import TASKS, ModelLoss, ModelOutput, SpeechBatch, TrainExample
from emoexplain.model.encoder import EncoderOutput, SpeechEncoder, normalize
from emoexplain.model.llm import prompt_ids, stop_token_ids
from emoexplain.model.prosody import N_FEATURES, prosody_features

IGNORE = -100


@dataclass
class SpeechTokens:
    content: torch.Tensor        # (B, T, H) content embeddings for the LLM
    descriptor: torch.Tensor     # (B, T, H) descriptor embeddings (zeros in the ASR stage)
    token_mask: torch.Tensor     # (B, T) bool
    kl_content: torch.Tensor     # ()
    kl_descriptor: torch.Tensor  # ()
    encoder: EncoderOutput


class Explainer(nn.Module):
    def __init__(self, config: ModelConfig, encoder: SpeechEncoder, llm: nn.Module, tokenizer):
        super().__init__()
        from emoexplain.labels import labels
        self.config = config
        self.encoder, self.llm, self.tokenizer = encoder, llm, tokenizer
        d, hid = encoder.hidden_size, config.bottleneck_hidden or encoder.hidden_size
        llm_hidden = llm.get_input_embeddings().weight.shape[1]
        extra = N_FEATURES if config.use_prosody else 0
        # disentangle=False (Table 2 system 4): the layer sum goes straight to the content adapter
        content_in = config.latent_dim if config.disentangle else d
        with seeded(config.seed):
            self.content_branch = (Bottleneck(encoder.num_layers, d, hid, config.latent_dim) if config.disentangle
                                   else LayerSum(encoder.num_layers))
            self.descriptor_branch = Bottleneck(encoder.num_layers, d, hid, config.latent_dim, extra_dim=extra)
            self.content_adapter = Adapter(content_in, config.adapter_hidden, llm_hidden, config.adapter_k)
            self.descriptor_adapter = Adapter(config.latent_dim, config.adapter_hidden, llm_hidden,
                                              config.adapter_k)
        self.name, self.version, self.card_markdown = f"emoexplain-{config.name}", "untrained", ""
        self.label_set, self.labels = config.label_set, labels(config.label_set)
        self._prompts = {task: prompt_ids(tokenizer, config.system_prompt, instruction, date=config.prompt_date)
                         for task, instruction in (("caption", config.caption_instruction),
                                                   ("asr", config.asr_instruction))}
        self._answer_ids = self._ids(config.answer_prefix)
        self._label_ids = [self._label_continuation(label) for label in self.labels]
        self._stop_ids = stop_token_ids(llm, tokenizer)
        self._ctc_vocab = None
        self.freeze()

    # --- plumbing ---------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.content_branch.layer_logits.device  # Bottleneck and LayerSum both have it

    def speech_modules(self) -> dict[str, nn.Module]:
        """The trainable speech-side modules by name (what checkpoints store besides LoRA)."""
        return {"content_branch": self.content_branch, "descriptor_branch": self.descriptor_branch,
                "content_adapter": self.content_adapter, "descriptor_adapter": self.descriptor_adapter}

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _label_continuation(self, label: str) -> list[int]:
        # Tokenise the slot and label together so the label ids are those of a real caption
        whole, prefix = self._ids(f"{self.config.answer_prefix} {label}."), self._answer_ids
        return whole[len(prefix):] if whole[:len(prefix)] == prefix else self._ids(f" {label}.")

    # --- stages -----------------------------------------------------------------------------------------------
    # A stage is an argument of ``forward`` / ``encode_speech`` / ``collate``, never state kept on the model:
    # inference (predict, score_labels, generate, label_log_likelihoods) always runs the full eval path, whatever
    # stage a training loop used last. requires_grad is set once for every stage a run visits (``unfreeze``), so
    # one DDP wrapper and one optimizer hold every parameter any stage trains; a branch a stage does not train
    # gets no gradient in it (not run, or run under no_grad), and AdamW skips parameters without a gradient.
    def stage_parameters(self, stage: str) -> list[nn.Parameter]:
        """The parameters ``stage`` trains (paper.md 5): its branches + their adapters, and LoRA unless eval.

        asr:          content branch + adapter + LoRA; descriptor tokens are zeros (paper 3.5)
        ser_sed_asr:  descriptor branch + adapter + LoRA; content branch frozen (and deterministic, z = mu)
        joint:        both branches + adapters + LoRA
        eval:         nothing
        """
        if stage not in STAGES:
            raise ConfigError(f"Unknown stage {stage!r}; choose one of {list(STAGES)}.")
        params = [p for branch in self._branches(stage)
                  for module in (getattr(self, f"{branch}_branch"), getattr(self, f"{branch}_adapter"))
                  for p in module.parameters()]
        if stage != EVAL:
            params += [p for name, p in self.llm.named_parameters() if "lora_" in name or "modules_to_save" in name]
        return params

    def _branches(self, stage: str) -> tuple[str, ...]:
        """The branches ``stage`` trains; without disentanglement one speech path serves every stage."""
        if not self.config.disentangle:
            return ("content",) if STAGE_BRANCHES[stage] else ()
        return STAGE_BRANCHES[stage]

    def unfreeze(self, stages=(ASR, SER_SED_ASR)) -> list[nn.Parameter]:
        """requires_grad on exactly the union of what ``stages`` train (all else frozen), training mode on;
        returns those parameters (what the optimizer and a DDP wrapper must hold)."""
        seen, params = set(), []
        for stage in stages:
            for p in self.stage_parameters(stage):
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        self.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        self.train(bool(params))
        return params

    def freeze(self) -> "Explainer":
        """Nothing trains; eval mode (no dropout). What a loaded or saved model is in."""
        self.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.train(False)  # HuBERT is frozen: never dropout, never SpecAugment masking
        return self

    # --- batches ------------------------------------------------------------------------------------------------
    def _pad_samples(self, samples_list) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = [len(s) for s in samples_list]
        samples = torch.zeros(len(samples_list), max(lengths))
        for i, s in enumerate(samples_list):
            samples[i, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.float32))
        mask = torch.arange(samples.shape[1])[None] < torch.tensor(lengths)[:, None]
        return samples, mask

    def _prosody(self, samples_list, max_len: int, tracks=None, *, stage: str = EVAL) -> torch.Tensor | None:
        # the ASR stage never runs the descriptor branch (paper 3.5), so its F0/energy track would be thrown away
        if not self.config.use_prosody or stage == ASR:
            return None
        n_max = int(self.encoder.num_frames(torch.tensor(max_len)))
        out = torch.zeros(len(samples_list), n_max, N_FEATURES)
        for i, s in enumerate(samples_list):
            n = int(self.encoder.num_frames(torch.tensor(len(s))))
            out[i, :n] = torch.from_numpy(prosody_features(s, n, samples_per_frame=self.encoder.samples_per_frame,
                                                           track=tracks[i] if tracks else None))
        return out

    def collate(self, examples: list[TrainExample], *, stage: str = EVAL) -> SpeechBatch:
        """Pad samples, compute prosody (if configured; not for the ASR stage) and tokenise targets + end-of-turn."""
        for ex in examples:
            if ex.task not in TASKS:
                raise ConfigError(f"Unknown task {ex.task!r}; choose one of {list(TASKS)}.")
        samples, mask = self._pad_samples([ex.samples for ex in examples])
        targets = [self._ids(ex.target_text) + [self.tokenizer.eos_token_id] for ex in examples]
        width = max(len(t) for t in targets)
        target_ids = torch.full((len(targets), width), self.tokenizer.pad_token_id, dtype=torch.long)
        for i, t in enumerate(targets):
            target_ids[i, : len(t)] = torch.tensor(t)
        target_mask = torch.arange(width)[None] < torch.tensor([len(t) for t in targets])[:, None]
        return SpeechBatch(samples, mask, self._prosody([ex.samples for ex in examples], samples.shape[1],
                                                        stage=stage),
                           tuple(ex.task for ex in examples), target_ids, target_mask)

    # --- speech side ---------------------------------------------------------------------------------------------
    def encode_speech(self, samples: torch.Tensor, sample_mask: torch.Tensor,
                      prosody: torch.Tensor | None = None, *, stage: str = EVAL) -> SpeechTokens:
        """samples (B, S), sample_mask (B, S), prosody (B, F, 3) | None -> SpeechTokens with T = F // k.

        ``stage`` eval (the default, what inference uses): both branches, z = mu. In a training stage a branch it
        trains samples z (in training mode); one it does not train is skipped (the descriptor branch in asr:
        zero tokens, paper 3.5) or run under no_grad with z = mu (the content branch in ser_sed_asr).
        """
        if stage not in STAGES:
            raise ConfigError(f"Unknown stage {stage!r}; choose one of {list(STAGES)}.")
        return self._tokens(self._encode(samples, sample_mask), prosody, stage=stage)

    def _encode(self, samples: torch.Tensor, sample_mask: torch.Tensor) -> EncoderOutput:
        """samples (B, S), sample_mask (B, S) -> the frozen encoder's output (input normalised if configured)."""
        samples, sample_mask = samples.to(self.device), sample_mask.to(self.device)
        if self.config.normalize_audio:
            samples = normalize(samples, sample_mask)
        return self.encoder(samples, sample_mask)                                  # layers (B, L, F, D)

    def _tokens(self, enc: EncoderOutput, prosody: torch.Tensor | None, *, stage: str = EVAL) -> SpeechTokens:
        """EncoderOutput (B, L, F, D), prosody (B, F, 3) | None -> SpeechTokens (B, T, H): branches and adapters."""
        trains = self._branches(stage)
        with torch.no_grad() if stage == SER_SED_ASR and self.config.disentangle else contextlib.nullcontext():
            con = self.content_branch(enc.layers, enc.frame_mask, sample=self.training and "content" in trains)
            content, token_mask = self.content_adapter(con.z, enc.frame_mask)      # z (B, F, Z) -> (B, T, H)
        zero = torch.zeros((), device=self.device)
        if stage == ASR or not self.config.disentangle:  # paper 3.5: descriptor tokens zero, branch idle
            return SpeechTokens(content, torch.zeros_like(content), token_mask, con.kl, zero, enc)
        if prosody is None and self.config.use_prosody:
            raise ConfigError("This model uses prosody input: build batches with Explainer.collate "
                              f"(stage={stage!r}).")
        des = self.descriptor_branch(enc.layers, enc.frame_mask, None if prosody is None else prosody.to(self.device),
                                     sample=self.training and "descriptor" in trains)
        descriptor, _ = self.descriptor_adapter(des.z, enc.frame_mask)            # (B, T, H)
        return SpeechTokens(content, descriptor, token_mask, con.kl, des.kl, enc)

    def _speech_for(self, samples_list, tracks=None) -> SpeechTokens:
        """The eval path for raw clips (inference)."""
        samples, mask = self._pad_samples(samples_list)
        return self.encode_speech(samples, mask, self._prosody(samples_list, samples.shape[1], tracks))

    # --- LLM side ------------------------------------------------------------------------------------------------
    def _sequences(self, speech: SpeechTokens, tasks, answers: list[list[int]], *, loss_on_answer: bool,
                   left_pad: bool):
        """Prompt embeddings (B, L, H), attention mask (B, L), position ids (B, L), labels (B, L)."""
        embed = self.llm.get_input_embeddings()
        dtype = embed.weight.dtype
        as_embeds = (lambda ids: embed(torch.tensor(ids, dtype=torch.long, device=self.device)))
        rows, label_rows = [], []
        for i, task in enumerate(tasks):
            p, t = self._prompts[task], int(speech.token_mask[i].sum())
            parts = [as_embeds(p.pre), speech.content[i, :t].to(dtype), as_embeds(p.mid),
                     speech.descriptor[i, :t].to(dtype), as_embeds(p.post), as_embeds(answers[i])]
            rows.append(torch.cat(parts))
            n_prompt = rows[-1].shape[0] - len(answers[i])
            label_rows.append([IGNORE] * n_prompt + (answers[i] if loss_on_answer else [IGNORE] * len(answers[i])))
        width = max(r.shape[0] for r in rows)
        embeds = rows[0].new_zeros(len(rows), width, rows[0].shape[1])
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=self.device)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long, device=self.device)
        for i, (row, lab) in enumerate(zip(rows, label_rows)):
            sl = slice(width - row.shape[0], width) if left_pad else slice(0, row.shape[0])
            embeds[i, sl], mask[i, sl] = row, 1
            labels[i, sl] = torch.tensor(lab, device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        return embeds, mask, positions, labels

    def forward(self, batch: SpeechBatch, stage: str) -> ModelLoss:
        """Teacher-forced loss in ``stage``: token cross-entropy on the answer + beta * KL of the branch(es) that
        stage trains (both in eval and joint). Build ``batch`` with ``collate(..., stage=stage)``."""
        batch = batch.to(self.device)
        speech = self.encode_speech(batch.samples, batch.sample_mask, batch.prosody, stage=stage)
        answers = [row[m].tolist() for row, m in zip(batch.target_ids, batch.target_mask)]
        embeds, mask, positions, labels = self._sequences(speech, batch.tasks, answers, loss_on_answer=True,
                                                          left_pad=False)
        logits = self.llm(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).logits
        llm_loss = nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                                               ignore_index=IGNORE)
        kl = {ASR: speech.kl_content, SER_SED_ASR: speech.kl_descriptor}.get(
            stage, speech.kl_content + speech.kl_descriptor)
        return ModelLoss(llm_loss + self.config.beta * kl, llm_loss, speech.kl_content, speech.kl_descriptor)

    # --- label scoring ---------------------------------------------------------------------------------------------
    def label_log_likelihoods(self, speech: SpeechTokens) -> torch.Tensor:
        """(B, n_labels) log p(" <label>." | prompt, "Emotion:"), summed over the label's tokens.

        One forward of the prompt followed by all labels' tokens under a tree attention mask: the prompt
        (hundreds of tokens) is computed once, shared by every label, and never recomputed per label.
        """
        with _eval_mode(self):
            return self._score(speech)[0]

    def _score(self, speech: SpeechTokens, *, keep_prefix: bool = False):
        """(label log-likelihoods (B, n_labels), the prompt + "Emotion:" KV cache if ``keep_prefix`` else None).

        One forward over [prompt][label 1 tokens][label 2 tokens]...: a tree attention mask lets every label's
        tokens see the prompt and their own earlier tokens only, so each label is scored exactly as if it
        followed the prompt alone, while the LLM's weights are read once (as in the prompt's own prefill).
        """
        b, n = speech.content.shape[0], len(self.labels)
        embeds, mask, positions, _ = self._sequences(speech, ["caption"] * b, [self._answer_ids] * b,
                                                     loss_on_answer=False, left_pad=True)
        length, flat = embeds.shape[1], [t for ids in self._label_ids for t in ids]
        c = len(flat)
        owner = torch.tensor([j for j, ids in enumerate(self._label_ids) for _ in ids], device=self.device)
        step = torch.tensor([k for ids in self._label_ids for k in range(len(ids))], device=self.device)
        cand = self.llm.get_input_embeddings()(torch.tensor(flat, device=self.device))           # (C, H)
        inputs = torch.cat([embeds, cand[None].expand(b, -1, -1).to(embeds.dtype)], 1)            # (B, L + C, H)
        pos = torch.cat([positions, positions[:, -1:] + 1 + step[None]], 1)                        # (B, L + C)
        # allowed[i, q, k]: prompt rows are causal over real prompt keys; label rows see the real prompt keys
        # and the earlier tokens of the same label
        real = mask.bool()                                                                          # (B, L)
        allowed = torch.zeros(b, length + c, length + c, dtype=torch.bool, device=self.device)
        allowed[:, :length, :length] = torch.ones(length, length, dtype=torch.bool,
                                                  device=self.device).tril() & real[:, None, :]
        allowed[:, length:, :length] = real[:, None, :]
        allowed[:, length:, length:] = (owner[:, None] == owner[None, :]) & (step[None, :] <= step[:, None])
        bias = torch.zeros(allowed.shape, dtype=embeds.dtype, device=self.device)
        bias.masked_fill_(~allowed, torch.finfo(embeds.dtype).min)                                # additive mask
        # logits only where a label token is predicted: the prompt's last position and each non-final label token
        last = {start + len(ids) - 1 for start, ids in zip(self._starts(), self._label_ids)}
        keep = torch.tensor([length - 1] + [length + i for i in range(c) if i not in last], device=self.device)
        out = self.llm(inputs_embeds=inputs, attention_mask=bias[:, None], position_ids=pos, use_cache=keep_prefix,
                       logits_to_keep=keep)
        logp = torch.log_softmax(out.logits.float(), -1)                                          # (B, K, V)
        row = {length - 1: 0, **{int(q): r + 1 for r, q in enumerate(keep[1:].tolist())}}
        score = torch.zeros(b, n, device=self.device)
        for j, (start, ids) in enumerate(zip(self._starts(), self._label_ids)):
            predictors = [length - 1] + [length + start + k for k in range(len(ids) - 1)]
            score[:, j] = sum(logp[:, row[q], t] for q, t in zip(predictors, ids))
        prefix = None
        if keep_prefix:
            prefix = out.past_key_values
            prefix.crop(-c)                                                  # back to the prompt + "Emotion:"
        return score, prefix

    def _starts(self) -> list[int]:
        """Offset of each label's first token in the concatenated candidates."""
        starts, at = [], 0
        for ids in self._label_ids:
            starts.append(at)
            at += len(ids)
        return starts

    @torch.no_grad()
    def score_labels(self, samples_batch: list[np.ndarray]) -> np.ndarray:
        """(B, n_labels) probabilities over ``self.labels`` (softmax of the label log-likelihoods)."""
        with _eval_mode(self):
            scores = self.label_log_likelihoods(self._speech_for(samples_batch))
        return torch.softmax(scores, -1).cpu().numpy()

    # --- generation --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, speech: SpeechTokens, *, task: str = "caption", forced: list[list[int]] | None = None,
                 num_beams: int = 1, max_new_tokens: int | None = None, min_new_tokens: int = 0,
                 past_key_values=None) -> list[str]:
        """Greedy (num_beams=1) or beam search with the KV cache; ``forced`` answer tokens start each reply.

        ``min_new_tokens`` suppresses the end of turn until then (the benchmark uses it for fixed-length runs).
        ``past_key_values``: a cache of the first tokens of this very prompt (greedy only), e.g. the label-scoring
        prefix, so that only the rest of the prompt is computed.
        """
        b = speech.content.shape[0]
        forced = forced or [[] for _ in range(b)]
        embeds, mask, _, _ = self._sequences(speech, [task] * b, forced, loss_on_answer=False, left_pad=True)
        if past_key_values is not None and num_beams == 1:
            extra = {"past_key_values": past_key_values}
        else:
            extra = {}
        with _eval_mode(self):  # no LoRA dropout, whatever mode a training loop left the model in
            new = self.llm.generate(inputs_embeds=embeds, attention_mask=mask, do_sample=False, num_beams=num_beams,
                                    **extra, max_new_tokens=max_new_tokens or self.config.max_new_tokens,
                                    min_new_tokens=min_new_tokens or None, eos_token_id=self._stop_ids,
                                    pad_token_id=self.tokenizer.pad_token_id, temperature=None, top_p=None,
                                    top_k=None)
        return [self.tokenizer.decode(list(f) + row.tolist(), skip_special_tokens=True).strip()
                for f, row in zip(forced, new)]

    @torch.no_grad()
    def predict(self, samples: np.ndarray, *, generate: bool = True, num_beams: int = 1,
                max_new_tokens: int | None = None, min_new_tokens: int = 0, track=None) -> ModelOutput:
        """Label probabilities by scoring; with ``generate`` also the caption (its emotion slot is the argmax
        label, so caption and probability bars agree), the parsed transcript/descriptors and word timings.
        track: the clip's ``acoustics.frame_track`` if the caller has it (the prosody input reuses it).
        min_new_tokens: a fixed caption length for benchmarks (see ``generate``)."""
        from emoexplain.captions import parse_caption
        start = time.perf_counter()
        with _eval_mode(self):
            speech = self._speech_for([samples], None if track is None else [track])
            # greedy captions continue from the scoring prefix cache: the prompt is computed once
            scores, prefix = self._score(speech, keep_prefix=generate and num_beams == 1)
            probs = torch.softmax(scores, -1)[0].cpu()
            best = int(probs.argmax())
            caption = transcript = None
            descriptors, emphasis, words = {}, (), ()
            if generate:
                forced = [self._answer_ids + self._label_ids[best]]
                caption = self.generate(speech, forced=forced, num_beams=num_beams, max_new_tokens=max_new_tokens,
                                        min_new_tokens=min_new_tokens, past_key_values=prefix)[0]
                parsed = parse_caption(caption)
                transcript, descriptors, emphasis = parsed.transcript, parsed.descriptors, parsed.emphasis
                words = self.word_timings(speech, transcript, len(samples))
        return ModelOutput(self.labels[best], {l: float(p) for l, p in zip(self.labels, probs)}, caption,
                           transcript, descriptors, tuple(emphasis), tuple(words), time.perf_counter() - start)

    @torch.no_grad()
    def predict_batch(self, samples_list, *, tracks=None, generate=True, zeroed=None) -> list[ModelOutput]:
        """``predict`` (greedy, no word timings) for many clips: one scoring forward and one generation for all,
        each caption continuing from its row's scoring prefix cache (every prompt is computed once).

        generate: True / False for every row, or one bool per row (rows without get label and probabilities
        only, caption None: a batch generates until its longest caption ends, so a row whose caption nobody
        reads should not set that length).

        Clips of equal length are encoded together, so no padding reaches the encoder (a group-norm HuBERT
        would feel it), and an input the encoder would see twice is encoded once (``_speech_rows``).
        zeroed: per clip, the branches ("content", "descriptor") whose speech tokens are replaced by zeros:
        the branch ablation.
        """
        from emoexplain.captions import parse_caption
        start = time.perf_counter()
        zeroed = zeroed or [()] * len(samples_list)
        wanted = [bool(generate)] * len(samples_list) if isinstance(generate, bool) else [bool(g) for g in generate]
        if len(wanted) != len(samples_list):
            raise ValueError(f"generate has {len(wanted)} flags for {len(samples_list)} clips: give one per clip")
        rows = [i for i, g in enumerate(wanted) if g]
        with _eval_mode(self):
            speech = self._speech_rows(samples_list, tracks, zeroed)
            scores, prefix = self._score(speech, keep_prefix=bool(rows))
            probs = torch.softmax(scores, -1).cpu()
            best = probs.argmax(-1).tolist()
            captions = [None] * len(best)
            if rows:
                for i, caption in zip(rows, self._continue_captions(speech, prefix, best, rows)):
                    captions[i] = caption
        out = []
        for p, b, caption in zip(probs, best, captions):
            parsed = parse_caption(caption) if caption is not None else None
            out.append(ModelOutput(self.labels[b], {l: float(v) for l, v in zip(self.labels, p)}, caption,
                                   parsed and parsed.transcript, dict(parsed.descriptors) if parsed else {},
                                   tuple(parsed.emphasis) if parsed else (), (), time.perf_counter() - start))
        return out

    def _speech_rows(self, samples_list, tracks, zeroed) -> SpeechTokens:
        """SpeechTokens (B, T_max, H) for clips encoded in groups of equal length; no encoder output kept.

        The encoder runs once per distinct input: an array passed twice, or (when the model normalises its
        input) a clip that differs from another only by a gain, shares that clip's encoding; each row still
        gets its own prosody input, so a level change reaches the model exactly where it would anyway.
        """
        groups = {}
        for i, s in enumerate(samples_list):
            groups.setdefault(len(s), []).append(i)
        rows = {}
        for idx in groups.values():
            clips = [samples_list[i] for i in idx]
            source = self._encoding_sources(clips)                                   # row -> row it shares with
            unique = sorted(set(source))
            samples, mask = self._pad_samples([clips[r] for r in unique])
            enc = self._encode(samples, mask)
            pick = torch.tensor([unique.index(r) for r in source], device=self.device)
            enc = EncoderOutput(enc.layers[pick], enc.frame_mask[pick],
                                None if enc.ctc_logits is None else enc.ctc_logits[pick])
            prosody = self._prosody(clips, samples.shape[1], [tracks[i] for i in idx] if tracks else None)
            sp = self._tokens(enc, prosody)
            for r, i in enumerate(idx):
                rows[i] = (sp.content[r], sp.descriptor[r], sp.token_mask[r])
        width = max(m.shape[0] for _, _, m in rows.values())
        grow = (lambda t: nn.functional.pad(t, (0, 0, 0, width - t.shape[0])))          # (T, H) -> (T_max, H)
        parts = [rows[i] for i in range(len(samples_list))]
        content = torch.stack([grow(c) * ("content" not in z) for (c, _, _), z in zip(parts, zeroed)])
        descriptor = torch.stack([grow(d) * ("descriptor" not in z) for (_, d, _), z in zip(parts, zeroed)])
        mask = torch.stack([grow(m[:, None].float())[:, 0] > 0 for _, _, m in parts])
        zero = torch.zeros((), device=self.device)
        return SpeechTokens(content, descriptor, mask, zero, zero, None)

    def _encoding_sources(self, clips) -> list[int]:
        """For clips of one length: per clip, the index of the first clip whose encoder input is the same."""
        normalised = {}
        source = []
        for r, s in enumerate(clips):
            x = torch.as_tensor(np.asarray(s, dtype=np.float32))[None]
            if self.config.normalize_audio:       # what _encode feeds the encoder (every sample real)
                x = normalize(x, torch.ones_like(x, dtype=torch.bool))
            x = x[0].numpy()
            # within a thousandth of the clip's RMS: a gain's only trace after normalisation is the epsilon
            # (its effect on the label probabilities is ~1e-7); a quiet clip, where the epsilon matters, differs
            same = (lambda y: np.allclose(x[:256], y[:256], rtol=0, atol=1e-3)      # cheap test first
                    and np.allclose(x, y, rtol=0, atol=1e-3))
            match = next((q for q, y in normalised.items() if clips[q] is s or same(y)), None)
            if match is None:
                normalised[r] = x
            source.append(r if match is None else match)
        return source

    def _continue_captions(self, speech: SpeechTokens, prefix, best: list[int], rows=None) -> list[str]:
        """Greedy captions after "Emotion: <best label>." from the scoring prefix cache, for ``rows`` (default:
        every row; the cache is narrowed to them in place); labels of different token lengths are right-aligned
        behind masked pads, so each row's prompt stays where the cache holds it."""
        b = len(best)
        embeds, mask, _, _ = self._sequences(speech, ["caption"] * b, [self._answer_ids] * b, loss_on_answer=False,
                                             left_pad=True)
        if rows is not None and len(rows) < b:  # the full batch's layout, which the cache was computed in
            pick = torch.tensor(rows, device=self.device)
            embeds, mask, best = embeds[pick], mask[pick], [best[i] for i in rows]
            prefix.batch_select_indices(pick)
        labels = [self._label_ids[j] for j in best]
        width = max(len(ids) for ids in labels)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(t)) + t for t in labels], device=self.device)
        tail = torch.tensor([[0] * (width - len(t)) + [1] * len(t) for t in labels], device=self.device)
        new = self.llm.generate(inputs_embeds=torch.cat([embeds, self.llm.get_input_embeddings()(ids)], 1),
                                attention_mask=torch.cat([mask, tail], 1), past_key_values=prefix, do_sample=False,
                                num_beams=1, max_new_tokens=self.config.max_new_tokens, eos_token_id=self._stop_ids,
                                pad_token_id=pad, temperature=None, top_p=None, top_k=None)
        return [self.tokenizer.decode(self._answer_ids + t + row.tolist(), skip_special_tokens=True).strip()
                for t, row in zip(labels, new)]

    def word_timings(self, speech: SpeechTokens, transcript: str | None, n_samples: int):
        """CTC forced alignment of ``transcript`` when the encoder has a CTC head, else ()."""
        if not transcript or speech.encoder.ctc_logits is None:
            return ()
        from emoexplain.audio import SAMPLE_RATE
        from emoexplain.model.alignment import ctc_vocab, ctc_word_timings
        if self._ctc_vocab is None:
            self._ctc_vocab = ctc_vocab(self.config.encoder)
        n_frames = int(speech.encoder.frame_mask[0].sum())
        log_probs = torch.log_softmax(speech.encoder.ctc_logits[0, :n_frames].float(), -1)
        return ctc_word_timings(log_probs, transcript, self._ctc_vocab,
                                self.encoder.samples_per_frame / SAMPLE_RATE, n_samples / SAMPLE_RATE)


class _eval_mode:
    """Run a block in eval mode (z = mu, no dropout) and restore the previous mode after."""

    def __init__(self, module: nn.Module):
        self.module, self.was = module, module.training

    def __enter__(self):
        self.module.train(False)

    def __exit__(self, *exc):
        self.module.train(self.was)

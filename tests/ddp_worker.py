"""Run by tests/test_train_ddp.py under ``torch.distributed.run`` (2 processes, gloo on CPU): one alternating fit
that records, after every optimizer step, the stage, what this replica trained on and its trainable weights."""

import sys
from pathlib import Path

import torch

from emoexplain.model import ModelConfig, build_explainer
from train.config import TrainConfig
from emoexplain.audio import samples_sha256
from train.data.manifest import read_manifest
from train.loop import fit


def main(out: Path, manifest: str, max_steps: int):
    torch.set_num_threads(1)
    cfg = TrainConfig(name="ddp", out_dir=str(out / "{name}"), cpu=True, schedule="alternating",
                      alternate_by="steps", alternate_steps=2, epochs_per_stage=2, max_steps=max_steps,
                      batch_size=1, lr_asr=1e-2, lr_ser=1e-2, warmup_frac=0.0, weight_decay=0.1,
                      progress=False, tensorboard=False, eval_every_epoch=False, log_every=1)
    explainer = build_explainer(ModelConfig.preset("tiny"))
    seen: list[str] = []
    collate = explainer.collate

    def recording_collate(examples, *, stage):  # what this replica trains on (the replicas must differ)
        seen.append(",".join(samples_sha256(ex.samples)[:12] for ex in examples))
        return collate(examples, stage=stage)

    explainer.collate = recording_collate
    steps = []

    def on_step(model, progress, stage):
        weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        steps.append({"step": progress.step, "stage": stage, "data": seen[-1], "weights": weights})

    fit(cfg, train_rows=read_manifest(manifest), eval_rows=[], explainer=explainer, save_final=False,
        on_step=on_step)
    initial = {n: p.detach().clone() for n, p in build_explainer(ModelConfig.preset("tiny")).named_parameters()}
    rank = torch.distributed.get_rank()
    torch.save({"rank": rank, "world": torch.distributed.get_world_size(), "steps": steps, "initial": initial},
               out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))

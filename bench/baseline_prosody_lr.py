"""Reference for the demo checkpoint: utterance-level acoustic statistics + multinomial logistic regression.

    .venv/bin/python bench/baseline_prosody_lr.py [--manifest runs/demo/corpus/manifest.jsonl] [--n-train 1600]

Uses the same synthetic corpus and held-out split as ``python -m train demo`` (run that first) and prints the
held-out UA of a linear classifier on what the acoustic engine measures: how much of the task the prosody alone
allows, next to the end-to-end tiny model's UA in its model card.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from emoexplain.acoustics import analyze  # noqa: E402

FEATURES = [("pitch", "median_hz"), ("pitch", "variability_semitones"), ("pitch", "range_semitones"),
            ("energy", "mean_db"), ("energy", "dynamic_range_db"), ("rate", "syllables_per_s"),
            ("rate", "pause_fraction"), ("tone", "final_change_semitones"), ("tone", "slope_st_per_s")]


def features(path: Path) -> np.ndarray:
    d = analyze(str(path)).to_dict()
    return np.array([d[a][b] if d[a][b] is not None else np.nan for a, b in FEATURES], dtype=np.float64)


def fit_softmax(x: torch.Tensor, y: torch.Tensor, n: int, l2: float = 1e-3) -> torch.nn.Linear:
    model = torch.nn.Linear(x.shape[1], n).double()
    opt = torch.optim.LBFGS(model.parameters(), max_iter=500)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y) + l2 * model.weight.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", default="runs/demo/corpus/manifest.jsonl")
    ap.add_argument("--n-train", type=int, default=1600)
    args = ap.parse_args()
    manifest = Path(args.manifest)
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    train = [r for r in rows if r["split"] == "train"][: args.n_train]
    test = [r for r in rows if r["split"] == "test"]
    labels = sorted({r["emotion"] for r in rows})
    xs = {name: np.stack([features(manifest.parent / r["audio"]) for r in part]) for name, part in
          (("train", train), ("test", test))}
    mean, std = np.nanmean(xs["train"], 0), np.nanstd(xs["train"], 0) + 1e-9
    norm = {k: torch.tensor(np.nan_to_num((v - mean) / std)) for k, v in xs.items()}
    ys = {k: torch.tensor([labels.index(r["emotion"]) for r in part]) for k, part in (("train", train), ("test", test))}
    model = fit_softmax(norm["train"], ys["train"], len(labels))
    pred = model(norm["test"]).argmax(1)
    recalls = [float((pred[ys["test"] == i] == i).float().mean()) for i in range(len(labels))]
    print(f"prosody statistics + logistic regression, {len(train)} train / {len(test)} held-out clips")
    print("per-class recall: " + ", ".join(f"{lab} {r:.3f}" for lab, r in zip(labels, recalls)))
    print(f"held-out UA = {np.mean(recalls):.3f}  (chance {1 / len(labels):.3f}; the demo checkpoint's UA is in "
          "assets/demo_checkpoint/README.md)")


if __name__ == "__main__":
    main()

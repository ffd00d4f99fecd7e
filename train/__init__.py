"""Training for emoexplain (issue 5): data builders, the alternating schedule, evaluation, the demo checkpoint.

    python -m train fit --config train/configs/demo_tiny.json [--key=value ...]
    python -m train eval --checkpoint assets/demo_checkpoint --manifest runs/synthetic/manifest.jsonl
    python -m train from-store --db data/emoexplain.db --checkpoint assets/demo_checkpoint
    python -m train demo

See docs/training.md.
"""

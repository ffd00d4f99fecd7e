"""Where emoexplain finds its files: one place for the repository root and the data under assets/.

A checkout (or ``pip install -e .``) keeps ``assets/`` beside the package; a built wheel carries a copy of it
inside the package (pyproject.toml maps it there). ``ROOT`` is the folder that holds ``assets/``, so
repo-relative ids such as ``assets/tiny_backbones/hubert`` resolve the same way in both.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "assets").is_dir() else PACKAGE_DIR
ASSETS_DIR = ROOT / "assets"
DEFAULT_CHECKPOINT = ASSETS_DIR / "demo_checkpoint"  # the bundled demo model; $EMOEXPLAIN_CHECKPOINT overrides it
EXAMPLES_DIR = ASSETS_DIR / "examples"
DESCRIPTOR_BINS = ASSETS_DIR / "descriptor_bins.json"
LABEL_SETS = ASSETS_DIR / "label_sets.json"
RUNS_DIR = ROOT / "runs"                            # where `python -m train` writes checkpoints by default

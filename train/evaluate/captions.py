"""The COCO caption metrics that SECap, AlignCap and the paper's Table 1 report, from pycocoevalcap.

    scores = caption_metrics(references, hypotheses)   # {"bleu1".."bleu4", "meteor", "rouge_l", "cider", "spice"}

- BLEU-1..4, ROUGE-L and CIDEr(-D) are pure Python. METEOR 1.5 and the PTB tokenizer run on Java; SPICE runs on
  Java and also needs Stanford CoreNLP 3.6.0 (two jars that pycocoevalcap downloads on first use, which an
  offline machine cannot). A metric that cannot run is None, and ``caption_metrics_unavailable`` says why.
- Scores are fractions (the paper prints x100: B@4 10.3 is 0.103; CIDEr 19.3 is 0.193).
- Tokens: the Stanford PTB tokenizer (as coco-caption) when Java is there, else ``metrics.normalize_words``.
  Chinese / Japanese text (the released SECap test captions are Mandarin) is split into characters first: the
  PTB tokenizer cannot segment it, and character n-grams are the usual choice for Chinese caption BLEU.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

NAMES = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l", "cider", "spice")
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
CORENLP_JARS = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")


def java_available() -> bool:
    return shutil.which("java") is not None


def spice_missing() -> str | None:
    """Why SPICE cannot run here, or None when it can."""
    if not java_available():
        return "SPICE needs Java (e.g. apt-get install openjdk-17-jre-headless)"
    import pycocoevalcap

    lib = Path(list(pycocoevalcap.__path__)[0]) / "spice" / "lib"
    missing = [jar for jar in CORENLP_JARS if not (lib / jar).is_file()]
    if missing:
        return (f"SPICE needs Stanford CoreNLP 3.6.0 ({', '.join(missing)}) in pycocoevalcap/spice/lib; "
                "pycocoevalcap downloads it on first use, which needs internet: run `python -c \"from "
                "pycocoevalcap.spice.get_stanford_models import get_stanford_models as g; g()\"` once")
    return None


def _split_cjk(text: str) -> str:
    return _CJK.sub(r" \1 ", text or "")


def _tokenize(captions: dict[str, list[str]], use_ptb: bool) -> dict[str, list[str]]:
    from train.evaluate.metrics import normalize_words

    if use_ptb:
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        raw = {k: [{"caption": _split_cjk(c)} for c in v] for k, v in captions.items()}
        return PTBTokenizer().tokenize(raw)
    return {k: [" ".join(normalize_words(_split_cjk(c))) for c in v] for k, v in captions.items()}


def caption_metrics(refs, hyps, *, java: bool | None = None) -> dict:
    """Corpus scores of ``hyps`` (one string per clip) against ``refs`` (a string or a list per clip).

    ``java=False`` skips everything that needs Java (METEOR, SPICE, the PTB tokenizer); None = use it when
    installed. Returns the metric names above plus ``caption_tokenizer`` and ``caption_metrics_unavailable``.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps) or not refs:
        raise ValueError(f"caption_metrics needs as many references as hypotheses (got {len(refs)} / {len(hyps)})")
    java = java_available() if java is None else java
    gts = _tokenize({str(i): [r] if isinstance(r, str) else list(r) for i, r in enumerate(refs)}, java)
    # an empty hypothesis would desynchronise METEOR's line protocol; a lone dot scores the same (nothing)
    res = {k: [v[0] or "."] for k, v in _tokenize({str(i): [h or ""] for i, h in enumerate(hyps)}, java).items()}
    out: dict = {"caption_tokenizer": "ptb" if java else "normalize_words", "caption_metrics_unavailable": {}}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out.update({f"bleu{n + 1}": float(b) for n, b in enumerate(bleu)})
    out["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
    out["cider"] = float(Cider().compute_score(gts, res)[0])
    out["meteor"] = out["spice"] = None
    if java:
        from pycocoevalcap.meteor.meteor import Meteor

        out["meteor"] = float(Meteor().compute_score(gts, res)[0])
    else:
        out["caption_metrics_unavailable"]["meteor"] = "METEOR 1.5 needs Java"
    reason = spice_missing() if java else "SPICE needs Java"
    if reason is None:
        out["spice"], reason = _spice(gts, res)
    if reason:
        out["caption_metrics_unavailable"]["spice"] = reason
    return out


def _spice(gts, res) -> tuple[float | None, str | None]:
    import subprocess

    from pycocoevalcap.spice.spice import Spice

    try:
        return float(Spice().compute_score(gts, res)[0]), None
    except (subprocess.CalledProcessError, OSError) as e:  # e.g. SPICE 1.0's LMDB cache on a new JVM
        return None, f"SPICE failed to run: {e}"

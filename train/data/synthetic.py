"""A SYNTHETIC emotional-speech corpus made with espeak-ng + sox, so that the whole loop runs offline.

THIS IS NOT EMOTIONAL SPEECH. espeak-ng is a formant synthesiser; the four "emotions" below are prosody
settings (pitch level, pitch range, speaking rate, loudness, emphasis) taken from the vocal-affect literature,
each jittered per clip. A model trained on this corpus learns to read those prosodic cues from robotic speech;
it says nothing about real people's emotions.

Prosody profiles (direction of change against neutral, after Murray & Arnott 1993, "Toward the simulation of
emotion in synthetic speech", JASA 93(2), table 1; Scherer 2003; Juslin & Laukka 2003):

| class   | pitch level | pitch range | rate        | loudness   | literature                                   |
|---------|-------------|-------------|-------------|------------|----------------------------------------------|
| neutral | mid         | normal      | normal      | normal     | reference                                    |
| happy   | much higher | much wider  | a bit faster| a bit up   | "pitch much higher, range much wider"        |
| angry   | higher      | wider       | faster      | much higher| "intensity higher, rate slightly faster"     |
| sad     | lower       | narrower    | slower      | lower      | "slightly lower pitch, narrower range, slower"|

Each clip gets: a known sentence (from a small grammar, so thousands of distinct sentences share one
vocabulary), a voice (espeak-ng language x voice variant, e.g. ``en-gb-scotland+f3``), the class profile with
Gaussian jitter, and, for most clips, one emphasised word (SSML ``<emphasis>``) recorded in the manifest.
Held-out test clips use sentences AND voices that never occur in training.

Descriptor words (pitch, volume, speed, ...) are measured by the acoustic engine on each clip and marked
``"automatic"``, exactly as for a real corpus without descriptor labels.
"""

from __future__ import annotations

import itertools
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoexplain.audio import SAMPLE_RATE
from emoexplain.errors import EmoExplainError

EMOTIONS = ("neutral", "happy", "angry", "sad")
LABEL_SET = "iemocap4"

# espeak-ng: -p pitch 0-99, -s words per minute, -a amplitude 0-200; SSML prosody range in percent.
# mean and jitter (standard deviation) per class.
PROFILES = {
    "neutral": {"pitch": (45, 6), "range": (50, 8), "rate": (165, 10), "amplitude": (100, 8)},
    "happy": {"pitch": (75, 6), "range": (95, 10), "rate": (182, 10), "amplitude": (115, 8)},
    "angry": {"pitch": (58, 6), "range": (70, 10), "rate": (205, 10), "amplitude": (170, 10)},
    "sad": {"pitch": (25, 6), "range": (18, 6), "rate": (125, 8), "amplitude": (65, 6)},
}
P_EMPHASIS = {"neutral": 0.3, "happy": 0.6, "angry": 0.8, "sad": 0.3}

LANGUAGES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
             "en-gb-x-gbcwmd")
VARIANTS = {"m1": "male", "m2": "male", "m3": "male", "m4": "male", "m5": "male", "m6": "male", "m7": "male",
            "f1": "female", "f2": "female", "f3": "female", "f4": "female", "f5": "female"}

# a small grammar: subject + verb + object + tail gives ~120k distinct sentences over one vocabulary
SUBJECTS = ("the old man", "my sister", "the teacher", "our neighbour", "the little dog", "a young doctor",
            "the driver", "his brother", "the farmer", "her mother", "the new student", "a tall soldier",
            "the baker", "my friend", "the manager", "our captain", "the girl", "the pilot", "your uncle",
            "the nurse")
VERBS = ("opened", "painted", "found", "carried", "sold", "cleaned", "fixed", "watched", "bought", "lost",
         "moved", "broke", "closed", "washed", "checked", "dropped", "packed", "counted", "opened up", "kept")
OBJECTS = ("the red door", "a heavy box", "the kitchen window", "an old letter", "the green bicycle",
           "a bag of apples", "the wooden chair", "her blue coat", "the silver key", "a basket of bread",
           "the big table", "his yellow car", "the broken clock", "a pile of books", "the garden gate",
           "a bottle of milk", "the dusty piano", "their small boat", "the paper map", "a warm blanket")
TAILS = ("this morning", "near the river", "before dinner", "after the storm", "on sunday", "last night",
         "in the garden", "at the station", "for the children", "without a word", "again today",
         "by the old bridge", "in the rain", "at noon", "for the party", "in the city", "after school",
         "on the hill", "before the game", "at the market")
# content words that can carry the emphasis
_FUNCTION = {"the", "a", "an", "my", "our", "his", "her", "your", "their", "of", "in", "on", "at", "by",
             "for", "to", "up", "this", "last", "after", "before", "near", "without", "again"}


@dataclass(frozen=True)
class SyntheticSpec:
    """How many clips of what; the defaults are the demo corpus."""
    n_train: int = 4000
    n_test: int = 400
    n_test_voices: int = 16        # (language, variant) pairs never used in training
    n_test_sentences: int = 200    # sentences never used in training
    seed: int = 0


def all_voices() -> list[tuple[str, str]]:
    return [(lang, var) for lang in LANGUAGES for var in VARIANTS]


def sentences(seed: int = 0) -> list[str]:
    """Every grammar sentence, in a fixed shuffled order."""
    out = [" ".join(p) for p in itertools.product(SUBJECTS, VERBS, OBJECTS, TAILS)]
    random.Random(seed).shuffle(out)
    return out


def split_voices(n_test: int, seed: int = 0) -> tuple[list, list]:
    """Held-out voices: n_test pairs, half male and half female variants, drawn with ``seed``."""
    rng = random.Random(seed + 1)
    voices = all_voices()
    male = [v for v in voices if VARIANTS[v[1]] == "male"]
    female = [v for v in voices if VARIANTS[v[1]] == "female"]
    test = rng.sample(male, n_test // 2) + rng.sample(female, n_test - n_test // 2)
    train = [v for v in voices if v not in test]
    return train, test


def clip_params(emotion: str, rng: random.Random) -> dict:
    """Draw espeak-ng settings for one clip of ``emotion`` (profile mean + jitter, clamped to valid ranges)."""
    prof = PROFILES[emotion]
    draw = {k: rng.gauss(*prof[k]) for k in prof}
    return {"pitch": int(np.clip(round(draw["pitch"]), 0, 99)),
            "range": int(np.clip(round(draw["range"]), 5, 100)),
            "rate": int(np.clip(round(draw["rate"]), 90, 260)),
            "amplitude": int(np.clip(round(draw["amplitude"]), 20, 200))}


def ssml(text: str, params: dict, emphasis: str | None) -> str:
    words = text.split()
    if emphasis:
        words = [f"<emphasis level=\"strong\">{w}</emphasis>" if w == emphasis else w for w in words]
    return f"<speak><prosody range=\"{params['range']}%\">{' '.join(words)}.</prosody></speak>"


def synthesize(text: str, voice: str, params: dict, emphasis: str | None, path: Path, effects=()) -> None:
    """espeak-ng -> sox: 16 kHz mono FLAC (fixed -6 dB headroom, so loudness differences survive); ``effects``
    are further sox effect arguments (e.g. ``("reverb", "50")``, a room), applied before the headroom."""
    espeak = subprocess.run(["espeak-ng", "-m", "-v", voice, "-p", str(params["pitch"]), "-s", str(params["rate"]),
                             "-a", str(params["amplitude"]), "--stdout", ssml(text, params, emphasis)],
                            check=True, capture_output=True)
    subprocess.run(["sox", "-V1", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path),
                    *map(str, effects), "vol", "0.5"], input=espeak.stdout, check=True, capture_output=True)


def check_tools() -> None:
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        raise EmoExplainError(f"The synthetic corpus needs {' and '.join(missing)}: "
                              "apt-get install -y espeak-ng sox")


def plan(spec: SyntheticSpec = SyntheticSpec(), splits=("train", "test")) -> list[dict]:
    """Every clip of the corpus as a job (sentence, voice, prosody, emphasis), without synthesising anything.

    Each split draws from its own ``Random(f"{seed}-{split}")``, so the test split is the same whatever
    ``n_train`` is, and job i of a split is the same whichever other jobs are made (replay regenerates a sample).
    """
    all_sentences = sentences(spec.seed)
    test_sentences = all_sentences[:spec.n_test_sentences]
    train_sentences = all_sentences[spec.n_test_sentences:]
    train_voices, test_voices = split_voices(spec.n_test_voices, spec.seed)
    jobs = []
    for split, n, sents, voices in (("train", spec.n_train, train_sentences, train_voices),
                                    ("test", spec.n_test, test_sentences, test_voices)):
        if split not in splits:
            continue
        rng = random.Random(f"{spec.seed}-{split}")
        for i in range(n):
            emotion = EMOTIONS[i % len(EMOTIONS)]
            text = sents[i % len(sents)] if split == "test" else rng.choice(sents)
            lang, variant = voices[rng.randrange(len(voices))]
            params = clip_params(emotion, rng)
            content = [w for w in text.split() if w not in _FUNCTION]
            emphasis = rng.choice(content) if rng.random() < P_EMPHASIS[emotion] else None
            jobs.append({"split": split, "name": f"{split}_{i:05d}_{emotion}", "text": text, "emotion": emotion,
                         "lang": lang, "variant": variant, "params": params, "emphasis": emphasis})
    return jobs


def generate(out_dir: str | Path, spec: SyntheticSpec = SyntheticSpec(), *, measure: bool = True,
             workers: int = 2, progress: bool = True, splits=("train", "test"), only: set[str] | None = None) -> Path:
    """Write clips under ``out_dir/clips`` and the manifest ``out_dir/manifest.jsonl``; returns its path.

    Splits: ``train`` (training sentences x training voices) and ``test`` (held-out sentences x held-out
    voices). Classes are balanced within each split. ``measure`` fills descriptors from the acoustic engine.
    ``splits`` / ``only`` (clip names, e.g. ``"train_00042_angry"``) make part of the corpus, clip for clip the
    same as in the whole one (the test split alone takes ~6 s for 400 clips without ``measure``).
    """
    from train.data.manifest import write_manifest

    check_tools()
    out_dir = Path(out_dir).resolve()
    clips = out_dir / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    jobs = [{**job, "path": str(clips / f"{job['name']}.flac")} for job in plan(spec, splits)
            if only is None or job["name"] in only]
    rows = _run_jobs(jobs, measure=measure, workers=workers, progress=progress)
    for row in rows:  # relative to the manifest's folder, so the corpus folder can move
        row["audio"] = str(Path(row["audio"]).relative_to(out_dir))
    manifest = out_dir / "manifest.jsonl"
    write_manifest(rows, manifest)
    test_voices = split_voices(spec.n_test_voices, spec.seed)[1]
    (out_dir / "README.md").write_text(_README.format(n_train=spec.n_train, n_test=spec.n_test,
                                                      test_voices=", ".join(f"{l}+{v}" for l, v in test_voices)))
    return manifest


def _run_jobs(jobs, *, measure, workers, progress) -> list[dict]:
    if workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            it = pool.imap(_make_row, [(j, measure) for j in jobs], chunksize=8)
            return list(_bar(it, len(jobs), progress))
    return [_make_row((j, measure)) for j in _bar(jobs, len(jobs), progress)]


def _bar(it, total, progress):
    if not progress:
        return it
    try:
        from tqdm import tqdm
        return tqdm(it, total=total, desc="synthesising", mininterval=5)
    except ImportError:
        return it


def _make_row(args) -> dict:
    import soundfile as sf

    from emoexplain.audio import samples_sha256

    from train.data.manifest import fill_descriptors

    job, measure = args
    path = Path(job["path"])
    if not path.exists():
        synthesize(job["text"], f"{job['lang']}+{job['variant']}", job["params"], job["emphasis"], path)
    samples, sr = sf.read(str(path), dtype="float32")
    row = {"audio": str(path), "audio_sha256": samples_sha256(samples), "duration_s": round(len(samples) / sr, 3),
           "transcript": job["text"], "emotion": job["emotion"], "label_set": LABEL_SET, "descriptors": {},
           "descriptor_source": {}, "emphasis": [job["emphasis"]] if job["emphasis"] else [], "caption": None,
           "speaker": f"{job['lang']}+{job['variant']}", "gender": VARIANTS[job["variant"]],
           "split": job["split"], "source": "synthetic-espeak-ng", "weight": 1.0,
           "meta": {"synthetic": True, "espeak": job["params"]}}
    if measure:
        row = fill_descriptors(row, samples=samples)
    return row


_README = """# Synthetic espeak-ng corpus (NOT real emotional speech)

Made by `python -m train demo` / `train.data.synthetic.generate`. {n_train} training clips, {n_test} test clips.
The emotion labels are prosody settings of a formant synthesiser (see train/data/synthetic.py), not emotions.
Test clips use sentences and voices never heard in training. Held-out voices: {test_voices}.
Descriptor words were measured by the acoustic engine ("automatic").
"""


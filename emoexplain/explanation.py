"""The typed result of ``explain()``: frozen parts with one JSON shape, the ``/analyze`` API (docs/contracts.md).

    explanation.emotion.label, explanation.descriptors.measured[0].evidence.value
    explanation.words            aligned transcript words only (empty without a CTC head)
    explanation.acoustics.emphasis   measured emphasis segments: times and strength, a word only when aligned
    Explanation.from_dict(explanation.to_dict()) == explanation

``SCHEMA`` versions the JSON: 2 added the ``schema`` key and stopped writing emphasis spans into ``words``
(version 1 named unaligned segments "1.20-1.55 s" there). Every key of version 1 is still there.
No heavy imports: the app renders from these types without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emoexplain.descriptors import Descriptor

SCHEMA = 2


@dataclass(frozen=True)
class Emotion:
    label: str
    probabilities: dict[str, float]   # label -> p, sums to 1, in the label set's order
    label_set: str

    def to_dict(self) -> dict:
        return {"label": self.label, "probabilities": dict(self.probabilities), "label_set": self.label_set}

    @classmethod
    def from_dict(cls, d: dict) -> "Emotion":
        return cls(label=d["label"], probabilities={str(k): float(v) for k, v in d["probabilities"].items()},
                   label_set=d["label_set"])


@dataclass(frozen=True)
class WordTiming:
    """A transcript word aligned to the audio (the model's CTC forced alignment)."""
    word: str
    start_s: float
    end_s: float
    score: float              # mean CTC posterior of the word's frames (0..1)

    def to_dict(self) -> dict:
        return {"word": self.word, "start_s": self.start_s, "end_s": self.end_s, "score": self.score}

    @classmethod
    def from_dict(cls, d: dict) -> "WordTiming":
        return cls(str(d["word"]), float(d["start_s"]), float(d["end_s"]), float(d["score"]))


@dataclass(frozen=True)
class StressedWord:
    """A word the model says was emphasised, with the times of its first aligned occurrence (None: unaligned)."""
    word: str
    start_s: float | None
    end_s: float | None

    def to_dict(self) -> dict:
        return {"word": self.word, "start_s": self.start_s, "end_s": self.end_s}

    @classmethod
    def from_dict(cls, d: dict) -> "StressedWord":
        return cls(str(d["word"]), d.get("start_s"), d.get("end_s"))   # stored analyses keep the words only


@dataclass(frozen=True)
class EmphasisSegment:
    """A stretch the acoustics measured as prominent (pitch, energy, duration); ``word`` when words were aligned."""
    start_s: float
    end_s: float
    strength: float           # 0..1
    word: str | None = None

    def overlaps(self, start_s: float, end_s: float) -> bool:
        return self.start_s < end_s and start_s < self.end_s

    def to_dict(self) -> dict:
        d = {"start_s": self.start_s, "end_s": self.end_s, "strength": self.strength}
        return d if self.word is None else {**d, "word": self.word}

    @classmethod
    def from_dict(cls, d: dict) -> "EmphasisSegment":
        return cls(float(d["start_s"]), float(d["end_s"]), float(d["strength"]), d.get("word"))


@dataclass(frozen=True)
class Disagreement:
    name: str
    model: str
    measured: str

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "measured": self.measured}


@dataclass(frozen=True)
class DescriptorReport:
    """The model's descriptor words beside the measured ones; where they differ, both are kept."""
    model: dict[str, str]                       # descriptor name -> the model's word (from its caption)
    measured: tuple[Descriptor, ...]            # each with its evidence
    disagreements: tuple[Disagreement, ...]
    emphasis: tuple[StressedWord, ...] = ()     # the model's emphasised words

    def measured_by_name(self) -> dict[str, Descriptor]:
        return {d.name: d for d in self.measured}

    def to_dict(self) -> dict:
        return {"model": dict(self.model), "measured": [d.to_dict() for d in self.measured],
                "disagreements": [d.to_dict() for d in self.disagreements],
                "emphasis": [w.to_dict() for w in self.emphasis]}

    @classmethod
    def from_dict(cls, d: dict) -> "DescriptorReport":
        return cls(model=dict(d["model"]), measured=tuple(Descriptor.from_dict(m) for m in d["measured"]),
                   disagreements=tuple(Disagreement(**x) for x in d["disagreements"]),
                   emphasis=tuple(StressedWord.from_dict(w) for w in d.get("emphasis", ())))


@dataclass(frozen=True)
class AudioInfo:
    """What was analysed: AudioClip.to_dict()."""
    sha256: str
    sample_rate: int
    original_sample_rate: int
    original_duration_s: float
    truncated: bool

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "sample_rate": self.sample_rate,
                "original_sample_rate": self.original_sample_rate,
                "original_duration_s": self.original_duration_s, "truncated": self.truncated}


@dataclass(frozen=True)
class Acoustics:
    """The acoustic profile (AcousticProfile.to_dict()): the parts the app reads typed, the numbers as measured."""
    duration_s: float
    audio: AudioInfo
    emphasis: tuple[EmphasisSegment, ...]       # strongest first
    sections: dict = field(repr=False)          # pitch, energy, rate, tone, voice_quality, descriptors, frames,
                                                # nuclei_s, warnings: see emoexplain.acoustics

    def to_dict(self) -> dict:
        return {"duration_s": self.duration_s, **self.sections, "emphasis": [e.to_dict() for e in self.emphasis],
                "audio": self.audio.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Acoustics":
        sections = {k: v for k, v in d.items() if k not in ("duration_s", "audio", "emphasis")}
        return cls(duration_s=float(d["duration_s"]), audio=AudioInfo(**d["audio"]),
                   emphasis=tuple(EmphasisSegment.from_dict(e) for e in d["emphasis"]), sections=sections)


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str


@dataclass(frozen=True)
class Latency:
    acoustics: float          # seconds measuring (frame track + profile)
    model: float              # seconds in the model (label scoring + caption)
    total: float              # seconds for the whole explain() call

    def to_dict(self) -> dict:
        return {"acoustics": self.acoustics, "model": self.model, "total": self.total}


@dataclass(frozen=True)
class Explanation:
    emotion: Emotion
    transcript: str | None
    caption: str | None
    descriptors: DescriptorReport
    words: tuple[WordTiming, ...]
    model: ModelRef
    acoustics: Acoustics
    warnings: tuple[str, ...] = ()
    latency_s: Latency = Latency(0.0, 0.0, 0.0)

    def to_dict(self) -> dict:
        """The documented JSON (the /analyze result without ``analysis_id``)."""
        return {"schema": SCHEMA, "emotion": self.emotion.to_dict(), "transcript": self.transcript,
                "caption": self.caption, "descriptors": self.descriptors.to_dict(),
                "words": [w.to_dict() for w in self.words],
                "model": {"name": self.model.name, "version": self.model.version},
                "acoustics": self.acoustics.to_dict(), "warnings": list(self.warnings),
                "latency_s": self.latency_s.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Explanation":
        """Read a ``to_dict()`` result back (extra keys such as ``analysis_id`` are ignored)."""
        if d.get("schema", SCHEMA) > SCHEMA:
            from emoexplain.errors import ConfigError
            raise ConfigError(f"This result has schema {d['schema']}; this emoexplain reads up to {SCHEMA}. "
                              "Upgrade emoexplain to read it.")
        return cls(emotion=Emotion.from_dict(d["emotion"]), transcript=d["transcript"], caption=d["caption"],
                   descriptors=DescriptorReport.from_dict(d["descriptors"]),
                   words=tuple(WordTiming.from_dict(w) for w in d["words"]),
                   model=ModelRef(str(d["model"]["name"]), str(d["model"]["version"])),
                   acoustics=Acoustics.from_dict(d["acoustics"]), warnings=tuple(d["warnings"]),
                   latency_s=Latency(**d["latency_s"]))

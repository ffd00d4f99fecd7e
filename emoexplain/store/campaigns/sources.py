"""Where a campaign's clips come from: a folder of audio, a manifest JSONL or a zip; and its gold answers.

Everything is checked before anything is written: a source with problems an admin must fix (a manifest row
without audio, a gold label outside the label set, a gold file naming clips that are not there) raises one
``CampaignError`` listing every problem. Files that are simply not audio (notes, images, hidden files) are
listed and skipped, and the rest is imported.
"""

from __future__ import annotations

import contextlib
import csv
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from emoexplain.errors import CampaignError, UnknownLabel

# what load_audio decodes: soundfile's formats, and the containers browsers record that it hands to ffmpeg
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf",
                            ".webm", ".m4a", ".mp4", ".aac", ".opus"})
MANIFEST_SUFFIXES = (".jsonl", ".json")
MAX_ZIP_BYTES = 4 << 30        # uncompressed; a larger upload is refused before anything is extracted
MAX_LISTED = 10                # problems named in one message (the count says how many more)


@dataclass
class Clip:
    name: str                  # how the admin knows the clip: folder-relative path or the manifest's value
    path: Path                 # the file to copy
    gold: str | None = None    # known answer (manifest "gold" key or the gold file), in the campaign label set
    transcript: str | None = None  # the known words (manifest "transcript"), used for training before the model's


@dataclass
class Source:
    description: str                                   # "folder x", "manifest x.jsonl", "zip x.zip"
    clips: list[Clip]
    skipped: list[dict] = field(default_factory=list)  # [{"name", "reason"}]


@contextlib.contextmanager
def open_source(path) -> Source:
    """The clips of a folder, a manifest (.jsonl) or a zip (extracted to a temporary folder while open)."""
    path = Path(path)
    if path.is_dir():
        yield _folder(path, f"folder {path.name}")
    elif path.is_file() and path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="emoexplain-zip-") as tmp:
            skipped = _extract(path, Path(tmp))
            source = _folder(Path(tmp), f"zip {path.name}")
            source.skipped[:0] = skipped
            yield source
    elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        yield _manifest(path)
    elif path.exists():
        raise CampaignError(f"{path.name} is neither a folder, a manifest (.jsonl) nor a .zip of audio; "
                            "give one of those.")
    else:
        raise CampaignError(f"Nothing at {path}; give a folder of audio, a manifest (.jsonl) or a .zip.")


def _folder(root: Path, description: str) -> Source:
    clips, skipped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts):
            skipped.append({"name": name, "reason": "hidden or system file"})
        elif path.suffix.lower() not in AUDIO_SUFFIXES:
            skipped.append({"name": name, "reason": f"not an audio file ({path.suffix or 'no extension'})"})
        else:
            clips.append(Clip(name, path))
    if not clips:
        raise CampaignError(f"The {description} holds no audio files ({_listing(skipped)}); "
                            f"add {', '.join(sorted(AUDIO_SUFFIXES))} files.")
    return Source(description, clips, skipped)


def _extract(archive: Path, dest: Path) -> list[dict]:
    """Extract the regular files of a zip; members that would land outside ``dest`` are listed, not written."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise CampaignError(f"{archive.name} would unpack to more than {MAX_ZIP_BYTES >> 30} GiB; "
                                    "split it into several campaigns or import a folder.")
            skipped = []
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    skipped.append({"name": member.filename, "reason": "unsafe path inside the zip"})
                    continue
                zf.extract(member, dest)
            return skipped
    except (zipfile.BadZipFile, EOFError) as e:
        raise CampaignError(f"{archive.name} is not a readable zip ({e}); zip the folder again.") from e


def _manifest(path: Path) -> Source:
    clips, problems, seen = [], [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: not JSON ({e.msg})")
            continue
        audio = row.get("audio") if isinstance(row, dict) else None
        if not isinstance(audio, str) or not audio.strip():
            problems.append(f"line {n}: no \"audio\" path")
            continue
        file = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        name = str(row.get("name") or audio)
        if not file.is_file():
            problems.append(f"line {n}: no audio file at {audio}")
        elif file.suffix.lower() not in AUDIO_SUFFIXES:
            problems.append(f"line {n}: {audio} is not an audio file ({file.suffix or 'no extension'})")
        elif name in seen:
            problems.append(f"line {n}: {name} is listed twice")
        else:
            seen.add(name)
            text = row.get("transcript")
            clips.append(Clip(name, file, row.get("gold"), text if isinstance(text, str) and text.strip() else None))
    if problems:
        raise CampaignError(f"{path.name} has rows that cannot be imported: {_listing(problems)}. "
                            "Fix the manifest; nothing was imported.")
    if not clips:
        raise CampaignError(f"{path.name} lists no clips; give one JSON object per line with an \"audio\" path.")
    return Source(f"manifest {path.name}", clips)


def read_gold(path) -> dict[str, str]:
    """{clip name: label} from a JSON object, JSON/JSONL rows {"clip"|"name", "emotion"} or a CSV with those
    columns."""
    path = Path(path)
    if not path.is_file():
        raise CampaignError(f"No gold file at {path}; give a .json, .jsonl or .csv of clip names and emotions.")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
        elif path.suffix.lower() == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            rows = [{"clip": k, "emotion": v} for k, v in data.items()] if isinstance(data, dict) else data
    except (json.JSONDecodeError, csv.Error) as e:
        raise CampaignError(f"The gold file {path.name} cannot be read ({e}); see docs/campaigns.md for its format.")
    gold = {}
    for n, row in enumerate(rows if isinstance(rows, list) else [], 1):
        name = (row.get("clip") or row.get("name")) if isinstance(row, dict) else None
        if not name or not row.get("emotion"):
            raise CampaignError(f"The gold file {path.name}, entry {n}, needs a clip name (\"clip\") and an "
                                f"\"emotion\"; got {row!r}.")
        gold[str(name)] = str(row["emotion"])
    if not gold:
        raise CampaignError(f"The gold file {path.name} names no clips.")
    return gold


def apply_gold(source: Source, gold: dict[str, str] | None, label_set: str) -> None:
    """Put the gold answers on the clips, every label normalised into ``label_set``; one error lists all
    labels outside the set and all gold names that match no clip."""
    from emoexplain.labels import labels, normalize

    by_name = {c.name: c for c in source.clips}
    by_base: dict[str, list[Clip]] = {}
    for c in source.clips:
        by_base.setdefault(PurePosixPath(c.name).name, []).append(c)
    missing, bad = [], []
    for name, label in (gold or {}).items():
        clip = by_name.get(name) or (by_base[name][0] if len(by_base.get(name, [])) == 1 else None)
        if clip is None:
            missing.append(name)
        else:
            clip.gold = label
    for clip in source.clips:
        if clip.gold is not None:
            try:
                clip.gold = normalize(clip.gold, label_set)
            except UnknownLabel:
                bad.append(f"{clip.name}: {clip.gold!r}")
    problems = []
    if missing:
        problems.append(f"gold names clips that are not in the {source.description}: {_listing(missing)}")
    if bad:
        problems.append(f"gold labels outside {label_set} (allowed: {', '.join(labels(label_set))}): "
                        f"{_listing(bad)}")
    if problems:
        raise CampaignError("; ".join(problems) + ". Fix the gold answers; nothing was imported.")


def _listing(items: list) -> str:
    shown = ", ".join(str(i["name"] if isinstance(i, dict) else i) for i in items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")

"""Rounds in the background, for the app's Model tab: one ``python -m train from-store`` child process at a time.

A child process rather than a thread: training holds the GIL between torch ops, so a thread would slow every
visitor's analysis; the child runs at a lower priority (nice 10) with one torch thread, and a crash or an
out-of-memory kill takes only the round with it. Progress travels through ``<out>/status.json``, which the
child rewrites atomically at every step (``status_writer``) and the app reads when it polls.

    job = RoundJob(db, checkpoint, "runs/from-store-20261201-1200").start()
    job.status()   # {"state": "running", "fraction": 0.4, "message": "fold 2/5: ...", ...}
    latest_promoted("runs")   # newest promoted round checkpoint under runs/, or None
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from emoexplain.errors import RoundError

STATUS_FILE = "status.json"
REPO = Path(__file__).resolve().parent.parent.parent


def status_writer(path: str | Path):
    """A ``progress(fraction, message)`` callback that keeps ``path`` (JSON) up to date."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    log: list[str] = []

    def progress(fraction: float, message: str) -> None:
        log.append(message)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"state": "running", "fraction": round(fraction, 3), "message": message,
                                   "log": log[-50:], "updated": time.time()}))
        os.replace(tmp, path)

    return progress


class RoundJob:
    """One round in a child process; ``status()`` is cheap (a small JSON read) and never raises."""

    _lock = threading.Lock()
    _running: "RoundJob | None" = None

    def __init__(self, db: str | Path, checkpoint: str | Path, out_dir: str | Path, overrides=()):
        self.db, self.checkpoint, self.out_dir = str(db), str(checkpoint), Path(out_dir)
        self.overrides = list(overrides)
        self.proc: subprocess.Popen | None = None
        self.started = None

    @classmethod
    def current(cls) -> "RoundJob | None":
        return cls._running

    def start(self) -> "RoundJob":
        with RoundJob._lock:
            if RoundJob._running is not None and RoundJob._running.alive():
                raise RoundError("A round is already running; wait for it to finish (its progress is shown in "
                                 "the Model tab).")
            self.out_dir.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "train", "from-store", "--db", self.db, "--checkpoint", self.checkpoint,
                   "--out", str(self.out_dir), "--status-file", str(self.out_dir / STATUS_FILE), "--progress=false",
                   "--tensorboard=false", "--round.workers=1", *self.overrides]  # one core for the round, one for visitors
            env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
            self._log = open(self.out_dir / "round.log", "w")
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                         preexec_fn=lambda: os.nice(10))
            self.started = time.time()
            RoundJob._running = self
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status(self) -> dict:
        """{"state": running | done | failed, "fraction", "message", "log", "round" (when done), "error"}."""
        try:
            status = json.loads((self.out_dir / STATUS_FILE).read_text())
        except (OSError, ValueError):
            status = {"state": "running", "fraction": 0.0, "message": "starting", "log": []}
        if self.alive():
            return status
        code = self.proc.returncode if self.proc else None
        round_file = self.out_dir / "round.json"
        if code == 0 and round_file.is_file():
            report = json.loads(round_file.read_text())
            return {**status, "state": "done", "fraction": 1.0, "round": report,
                    "checkpoint": str(self.out_dir / "checkpoint")}
        return {**status, "state": "failed", "error": self._error_line(code)}

    def _error_line(self, code) -> str:
        """The child's one-line ``error: ...`` (a user-facing message), never a traceback."""
        try:
            lines = (self.out_dir / "round.log").read_text().splitlines()
        except OSError:
            lines = []
        errors = [line[len("error: "):] for line in lines if line.startswith("error: ")]
        return errors[-1] if errors else f"The round stopped unexpectedly (exit code {code}); see round.log."

    def cancel(self) -> None:
        if self.alive():
            self.proc.terminate()


def latest_promoted(folder: str | Path) -> Path | None:
    """The newest promoted round checkpoint under ``folder`` (``*/checkpoint/round.json``), or None."""
    best = None
    for path in Path(folder).glob("*/checkpoint/round.json"):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if report.get("status") == "promoted":
            key = report.get("created_utc", "")
            if best is None or key > best[0]:
                best = (key, path.parent)
    return best[1] if best else None

"""Test helpers, kept out of the runtime package (tests import ``helpers``; bench/ scripts add tests/ to sys.path).

    with AppProcess(data_dir=tmp) as app:                    # ``python app.py`` on a free port
        Client(app.url).predict(handle_file("clip.wav"), api_name="/analyze")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from emoexplain.paths import DEFAULT_CHECKPOINT, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python app.py`` with its own port and data dir; ``url`` answers HTTP 200 once entered."""

    def __init__(self, data_dir: str | os.PathLike, *, env: dict | None = None, timeout_s: float = 180.0,
                 log_path: str | os.PathLike | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.data_dir = Path(data_dir)
        self.timeout_s = timeout_s
        self.log_path = Path(log_path) if log_path else self.data_dir / "app.log"
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
                    "EMOEXPLAIN_DATA_DIR": str(self.data_dir), "GRADIO_ANALYTICS_ENABLED": "False",
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None

    def start(self) -> "AppProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        while time.perf_counter() - start < self.timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        self.ready_s = time.perf_counter() - start
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"app.py did not answer within {self.timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def checkpoint_env(folder: str | os.PathLike) -> dict:
    """Environment that points the app at a loadable checkpoint: the demo in assets/ when present, else a
    fresh tiny one written to ``folder`` (untrained: fine for wiring tests, never downloads anything)."""
    if (DEFAULT_CHECKPOINT / "config.json").is_file():
        return {}
    from emoexplain.model import ModelConfig, build_explainer, save_checkpoint
    out = Path(folder) / "tiny_checkpoint"
    save_checkpoint(build_explainer(ModelConfig.preset("tiny")), out, card="Untrained tiny test checkpoint.")
    return {"EMOEXPLAIN_CHECKPOINT": str(out)}

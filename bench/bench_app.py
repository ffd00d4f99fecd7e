"""How fast the app answers: Analyse -> full result for a 10 s clip, and cold start -> first page.

    .venv/bin/python bench/bench_app.py [--runs 5] [--no-browser] [--sessions 20]

Goals (issue 6): result <= 1.5 s (acoustics + model + plot + store, demo checkpoint, CPU), cold start <= 10 s.
Printed as measured / goal (<= 1.0 meets it), beside a machine reference measured in the same run (a fixed
numpy workload) so numbers from a busy or slow machine can be told apart from a slow app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]   # the package, and tests/helpers.py (AppProcess)

GOAL_RESULT_S = 1.5
GOAL_COLD_START_S = 10.0
TEXT = ("Well, I told you twice already that the meeting was moved to Thursday, and nobody listened to me at all. "
        "Now we have to explain everything again to the whole team before the end of the week.")


def make_clip(folder: Path, seconds: float = 10.0) -> Path:
    """About 10 s of espeak-ng speech (a synthetic harmonic signal when espeak-ng is absent), 16 kHz WAV."""
    import numpy as np
    import soundfile as sf
    raw, out = folder / "raw.wav", folder / "clip10s.wav"
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), TEXT], check=True, capture_output=True)
        x, sr = sf.read(raw, dtype="float32")
        while len(x) < seconds * sr:
            x = np.concatenate([x, x])
        x = x[: int(seconds * sr)]
    else:
        sr = 16000
        t = np.arange(int(seconds * sr)) / sr
        f0 = 140 + 30 * np.sin(2 * np.pi * 0.5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        x = (0.2 * sum(np.sin(k * phase) / k for k in range(1, 6)) * (np.sin(2 * np.pi * 2 * t) > -0.3)).astype("float32")
    sf.write(out, x, sr)
    return out


def machine_reference_s() -> float:
    """A fixed CPU workload (best of 3): compare it across runs to see how loaded the machine was."""
    import numpy as np
    a = np.random.default_rng(0).normal(size=(400, 400))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(20):
            a @ a
        best = min(best, time.perf_counter() - start)
    return best


def bench_result(clip: Path, runs: int) -> dict:
    """In-process: the app's own analyse path (analyze.on_analyze + plots.figure), split by stage."""
    from emoexplain import plots
    from emoexplain.app.analyze import on_analyze
    from emoexplain.app.backend import Backend
    from emoexplain.app.config import AppConfig
    with tempfile.TemporaryDirectory() as data:
        backend = Backend(AppConfig(data_dir=data))
        start = time.perf_counter()
        backend.model.get()
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        backend.model.warm_up()
        warm_s = time.perf_counter() - start
        rows = []
        for _ in range(runs):
            start = time.perf_counter()
            result = on_analyze(backend, str(clip)).result
            analysed = time.perf_counter()
            plots.figure(result)
            done = time.perf_counter()
            lat = result["latency_s"]
            rows.append({"acoustics": lat["acoustics"], "model": lat["model"], "plot": done - analysed,
                         "store+other": (analysed - start) - lat["total"],
                         "decode+other": lat["total"] - lat["acoustics"] - lat["model"], "total": done - start})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    best = {k: min(r[k] for r in rows) for k in rows[0]}
    return {"load_s": load_s, "warm_s": warm_s, "median": med, "best": best, "runs": rows}


def bench_cold_start(clip: Path, browser: bool, sessions: int = 20) -> dict:
    """``python app.py`` -> HTTP 200 -> page rendered in Chromium -> first /analyze through gradio_client."""
    from gradio_client import Client, handle_file

    from helpers import AppProcess
    out = {}
    with tempfile.TemporaryDirectory() as data, AppProcess(data) as app:
        out["http_200_s"] = app.ready_s
        if browser and os.path.exists("/usr/bin/chromium"):
            from playwright.sync_api import sync_playwright
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
                page = b.new_page()
                start = time.perf_counter()
                page.goto(app.url)
                page.locator("#analyse-btn").wait_for(timeout=60_000)
                out["page_render_s"] = time.perf_counter() - start
                b.close()
            out["first_page_s"] = out["http_200_s"] + out["page_render_s"]
        client = Client(app.url, verbose=False)
        start = time.perf_counter()
        client.predict(handle_file(str(clip)), api_name="/analyze")
        out["first_analyze_http_s"] = time.perf_counter() - start
        start = time.perf_counter()
        client.predict(handle_file(str(clip)), api_name="/analyze")
        out["warm_analyze_http_s"] = time.perf_counter() - start
        out.update(bench_sessions(app.url, clip, sessions))
    return out


def bench_sessions(url: str, clip: Path, sessions: int) -> dict:
    """``sessions`` gradio_client sessions at once, each analysing the clip and saving a judgement."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client, handle_file

    def one(i: int) -> float:
        start = time.perf_counter()
        c = Client(url, verbose=False)
        result = c.predict(handle_file(str(clip)), api_name="/analyze")
        c.predict(analysis_id=result["analysis_id"], analysis_token=result["analysis_token"], emotion="agree",
                  annotator=f"bench{i}", submission_token=f"bench-{i}", api_name="/save_judgement")
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        each = list(pool.map(one, range(sessions)))
    return {"sessions": sessions, "sessions_wall_s": time.perf_counter() - start,
            "session_median_s": statistics.median(each), "session_max_s": max(each)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium page-render timing")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent gradio_client sessions (analyse+save)")
    args = parser.parse_args()
    ref = machine_reference_s()
    print(f"machine reference (20 x 400x400 matmul, best of 3): {ref * 1000:.0f} ms; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp))
        result = bench_result(clip, args.runs)
        med, best = result["median"], result["best"]
        print(f"\nAnalyse -> full result, 10 s clip, demo checkpoint, CPU ({args.runs} runs; "
              f"model load {result['load_s']:.2f} s + warm-up {result['warm_s']:.2f} s not included)")
        print(f"  {'':13s} {'median':>7s}   {'best':>7s}")
        for key in ("acoustics", "model", "plot", "decode+other", "store+other"):
            print(f"  {key:13s} {med[key]:7.3f} s {best[key]:7.3f} s")
        print(f"  {'total':13s} {med['total']:7.3f} s {best['total']:7.3f} s   goal {GOAL_RESULT_S} s   "
              f"ratio (median) {med['total'] / GOAL_RESULT_S:.2f}   {'OK' if med['total'] <= GOAL_RESULT_S else 'OVER'}")
        cold = bench_cold_start(clip, browser=not args.no_browser, sessions=args.sessions)
        first = cold.get("first_page_s", cold["http_200_s"])
        print("\nCold start (python app.py -> first page)")
        print(f"  HTTP 200            {cold['http_200_s']:7.2f} s")
        if "page_render_s" in cold:
            print(f"  page rendered       {cold['page_render_s']:7.2f} s (Chromium, after HTTP 200)")
        print(f"  first page          {first:7.2f} s   goal {GOAL_COLD_START_S} s   ratio {first / GOAL_COLD_START_S:.2f}"
              f"   {'OK' if first <= GOAL_COLD_START_S else 'OVER'}")
        print(f"  first /analyze over HTTP {cold['first_analyze_http_s']:.2f} s, "
              f"second {cold['warm_analyze_http_s']:.2f} s (gradio_client, includes upload)")
        per = cold["sessions_wall_s"] / cold["sessions"]
        print(f"\n{cold['sessions']} concurrent sessions (analyse + save, 10 s clip, 2 analyses at a time): "
              f"all done in {cold['sessions_wall_s']:.1f} s = {per:.2f} s per session "
              f"(vs {med['total']:.2f} s for one in-process analysis: ratio {per / med['total']:.2f}); "
              f"slowest session waited {cold['session_max_s']:.1f} s")


if __name__ == "__main__":
    main()

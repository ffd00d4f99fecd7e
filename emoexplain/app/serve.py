"""Start the app: flags and environment -> AppConfig -> Backend -> the page built by app.py -> demo.launch.

    python app.py [--help]          # the Space's entry point
    emoexplain app [--help]         # the same, from an installed checkout
"""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.paths import EXAMPLES_DIR

log = logging.getLogger("emoexplain.app")
QUEUE_SIZE, DEFAULT_CONCURRENCY = 128, 2


def parse_args(argv=None) -> argparse.Namespace:
    env = AppConfig.from_env()
    parser = argparse.ArgumentParser(description="emoexplain browser app (Gradio). Every option also reads an "
                                     "environment variable; flags win.")
    parser.add_argument("--checkpoint", help=f"checkpoint folder or hub id [EMOEXPLAIN_CHECKPOINT; default: the "
                        f"demo checkpoint in assets/] (now: {env.checkpoint or 'demo'})")
    parser.add_argument("--data-dir", help="folder for emoexplain.db and consented audio [EMOEXPLAIN_DATA_DIR; "
                        "default /data if writable, else ./data]")
    parser.add_argument("--max-seconds", type=float, help="analyse at most this many seconds per clip "
                        f"[EMOEXPLAIN_MAX_SECONDS; default 30] (now: {env.max_seconds:g})")
    parser.add_argument("--admin-token", help="token that unlocks Review and checkpoint switching "
                        "[EMOEXPLAIN_ADMIN_TOKEN; prefer the env var or a Space secret]")
    parser.add_argument("--host", help=f"interface to bind [GRADIO_SERVER_NAME; default 127.0.0.1] (now: {env.host})")
    parser.add_argument("--port", type=int, help=f"port [GRADIO_SERVER_PORT; default 7860] (now: {env.port})")
    parser.add_argument("--examples-dir", help="folder of example clips (+ optional examples.json) "
                        "[EMOEXPLAIN_EXAMPLES_DIR; default assets/examples; empty or absent: no examples]")
    parser.add_argument("--max-file-size", help="largest accepted upload [EMOEXPLAIN_MAX_FILE_SIZE; default 20mb]")
    parser.add_argument("--no-preload", dest="preload", action="store_false", default=None,
                        help="load the model on the first analysis instead of right after start")
    return parser.parse_args(argv)


def campaign_audio_dir(config: AppConfig) -> Path:
    from emoexplain.store import data_dir
    from emoexplain.store.campaigns.create import CAMPAIGNS_DIR
    return (Path(config.data_dir) if config.data_dir else data_dir()).resolve() / CAMPAIGNS_DIR


def launch_kwargs(config: AppConfig) -> dict:
    """What demo.launch() needs besides the demo (theme, css and head moved to launch() in Gradio 6)."""
    import gradio as gr

    from emoexplain.app import style
    examples = Path(config.examples_dir) if config.examples_dir else EXAMPLES_DIR
    return dict(server_name=config.host, server_port=config.port, max_file_size=config.max_file_size,
                # example clips and campaign clips are served to the audio boxes (never the visitors' audio/)
                allowed_paths=[str(examples.resolve()), str(campaign_audio_dir(config))],
                theme=gr.themes.Soft(primary_hue="indigo"), css=style.css(), head=style.head(),
                footer_links=["api", "gradio"], show_error=True)


def main(build_demo, argv=None) -> None:
    """Serve ``build_demo(backend)`` (app.build_demo) with the configuration from ``argv`` and the environment."""
    from emoexplain.app.zerogpu import on_zero_gpu
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = AppConfig.from_env(**vars(args))
    backend = Backend(config)
    backend.store  # noqa: B018 - open (and, with EMOEXPLAIN_HUB_DATASET, restore + start syncing) before serving
    demo = build_demo(backend)
    if config.preload:  # warm the model while the page loads; errors surface again on the first analysis
        threading.Thread(target=_preload, args=(backend, not on_zero_gpu()), daemon=True).start()
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=DEFAULT_CONCURRENCY)
    demo.launch(**launch_kwargs(config))


def _preload(backend: Backend, run: bool) -> None:
    try:
        backend.model.warm_up(run=run)
        log.info("model loaded in %.1f s and warmed up", backend.model.load_seconds or 0)
    except Exception as e:  # noqa: BLE001 - shown to users when they analyse
        log.warning("model preload failed: %s", e)

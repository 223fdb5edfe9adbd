"""Qwen Edit Studio: `python app.py [--host H] [--port P] [--simulate] [--data-dir DIR] [--mcp]`."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from core.errors import EditError
from core.settings import Settings, SettingsError
from core.shared_secrets import shared_secret
from core.studio import Studio
from ui.layout import build_app, launch_options

log = logging.getLogger("qwen_edit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every flag also has an environment variable (see the README)."""
    parser = argparse.ArgumentParser(
        description="Qwen Edit Studio: a web studio for Qwen image-edit models. With no DASHSCOPE_API_KEY set, "
        "a local simulator answers (and the page says so).",
        epilog="Every other setting is an environment variable (QWEN_EDIT_*): see the README's settings table.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 serves other machines too (default: %(default)s, or GRADIO_SERVER_NAME)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        help="port to serve the page on (default: %(default)s, or GRADIO_SERVER_PORT)",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="answer with the local simulator even with a key: nothing is billed (QWEN_EDIT_SIMULATE=1)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where results, inputs and history are kept (default: QWEN_EDIT_DATA_DIR, else /data on a Space "
        "with persistent storage, else the user data dir)",
    )
    parser.add_argument(
        "--mcp",
        action="store_true",
        help="also serve /edit as an MCP tool at /gradio_api/mcp/ (needs gradio[mcp]; GRADIO_MCP_SERVER=True too)",
    )
    return parser.parse_args(argv)


def launch_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Where to serve, and whether as an MCP server too: `--mcp` turns it on; without it Gradio's own
    GRADIO_MCP_SERVER decides (passing False would override that environment setting)."""
    return {"server_name": args.host, "server_port": args.port, "mcp_server": True if args.mcp else None}


def browser_secret(studio: Studio) -> str:
    """The key of what visitors' browsers store, kept in the history database so it survives restarts and
    every replica reads the same browsers (an older version's file in the data dir is its first value)."""
    path = studio.settings.data_dir / "browser-secret"
    first = path.read_text().strip() if path.exists() else secrets.token_urlsafe(24)
    return shared_secret(studio.history, "browser-secret", lambda: first)


def main(argv: list[str] | None = None) -> None:
    """Build the settings, the studio and the page, and serve it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        settings = Settings.from_env(data_dir=args.data_dir, simulate=True if args.simulate else None)
    except (SettingsError, EditError) as error:
        raise SystemExit(f"qwen-edit-studio: {error}") from None
    studio = Studio(settings)
    if studio.simulated:
        log.info(
            "No DashScope key configured (or --simulate): the local simulator answers at %s", studio.simulator.base_url
        )
    demo = build_app(studio, browser_secret=browser_secret(studio))
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_max)
    try:
        demo.launch(**launch_arguments(args), **launch_options(studio))
    finally:
        studio.close()


if __name__ == "__main__":
    main()

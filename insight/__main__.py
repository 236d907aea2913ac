"""``python -m insight``: serve the insight web app; ``python -m insight create-user``: add an
agent console account (see ``insight/web/console/cli.py``)."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from insight.web.app import create_app
from knowledge.settings import get_settings


def main() -> None:
    """Run the web app on the configured host and port (or a console command)."""
    if sys.argv[1:2] == ["create-user"]:
        from insight.web.console.cli import create_user_main

        raise SystemExit(create_user_main(sys.argv[2:]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    web.run_app(create_app(settings), host=settings.host, port=settings.insight_port)


if __name__ == "__main__":
    main()

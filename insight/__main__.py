"""``python -m insight``: serve the insight web app."""

from __future__ import annotations

import logging

from aiohttp import web

from insight.app import create_app
from knowledge.settings import get_settings


def main() -> None:
    """Run the web app on the configured host and port."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    web.run_app(create_app(settings), host=settings.host, port=settings.insight_port)


if __name__ == "__main__":
    main()

"""Typed application keys of the agent console."""

from __future__ import annotations

import jinja2
from aiohttp import web

from insight.web.console.hub import Hub
from insight.web.console.rasa_client import RasaClient

HUB = web.AppKey("console_hub", Hub)
RASA = web.AppKey("console_rasa", RasaClient)
CONSOLE_TEMPLATES = web.AppKey("console_templates", jinja2.Environment)

"""Typed application keys of the dashboard."""

from __future__ import annotations

import jinja2
from aiohttp import web

DASHBOARD_TEMPLATES = web.AppKey("dashboard_templates", jinja2.Environment)

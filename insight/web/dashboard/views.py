"""Request handlers of the dashboard page: supervisors only, signed in through the console.

Anonymous visitors are sent to the console's sign-in page; a signed-in agent who is not a
supervisor gets 403. The page holds no data: its script reads the analytics API (which checks
the same session) and renders every text with ``textContent``. The page's Content-Security-Policy
allows only the app's own scripts and styles and requests to the app itself.
"""

from __future__ import annotations

import logging

from aiohttp import web

from insight.web.console.views import LOGIN_PATH, signed_in
from insight.web.dashboard.keys import DASHBOARD_TEMPLATES
from insight.web.keys import SETTINGS
from knowledge.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

CHART_JS_DIST = PROJECT_ROOT / "node_modules" / "chart.js" / "dist"
# Chart.js's self-contained browser build (and its source map for devtools).
VENDOR_FILES = {
    "chart.umd.min.js": "application/javascript",
    "chart.umd.min.js.map": "application/json",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    html = request.app[DASHBOARD_TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS
    )


async def dashboard_page(request: web.Request) -> web.Response:
    """The dashboard for supervisors; sign-in redirect when anonymous, 403 for agents."""
    found = await signed_in(request)
    if found is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    agent, session = found
    if not agent.is_supervisor:
        logger.info("Agent %s was refused the dashboard (role %s)", agent.username, agent.role)
        return _render(request, "forbidden.html", status=403, agent=agent, csrf=session.csrf)
    currency = request.app[SETTINGS].currency_symbol
    return _render(request, "dashboard.html", agent=agent, csrf=session.csrf, currency=currency)


async def chart_js(request: web.Request) -> web.StreamResponse:
    """Chart.js's browser build from node_modules/; 503 with the fix when not installed."""
    name = request.match_info["name"]
    if name not in VENDOR_FILES:
        raise web.HTTPNotFound()
    path = CHART_JS_DIST / name
    if not path.is_file():
        logger.error("%s is missing: run `npm ci` (make run does)", path)
        raise web.HTTPServiceUnavailable(text="chart.js is not installed: run `npm ci`")
    return web.FileResponse(path, headers={"Content-Type": VENDOR_FILES[name]})

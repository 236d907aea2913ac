"""The demo shop page with the chat widget, and the widget's files (no CDN at run time).

The widget's own sources (insight/web/widget/) and the page's assets (insight/web/shop/static/) are
served as static routes; socket.io-client's dist file is served straight from node_modules/, where
``npm ci`` (``make venv``/``run``/``test``) installed the version package-lock.json pins.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from insight.web.keys import SESSION_FACTORY, SETTINGS, TEMPLATES
from insight.web.shop.context import build_shop_page
from knowledge.language import normalise_language
from knowledge.settings import PROJECT_ROOT, Settings
from knowledge.shop.errors import CustomerNotFound

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
WIDGET_DIR = PACKAGE_DIR.parent / "widget"
STATIC_DIR = PACKAGE_DIR / "static"
SOCKET_IO_DIST = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist"
# The files of socket.io-client the browser may ask for (the map only when devtools are open).
VENDOR_FILES = {
    "socket.io.min.js": "application/javascript",
    "socket.io.min.js.map": "application/json",
}
GUEST = "guest"


def make_templates() -> jinja2.Environment:
    """The Jinja environment of the app's pages: HTML autoescaped, undefined names fail."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def _customer_param(request: web.Request, default: int) -> int | None:
    """``?customer=ID`` (or ``guest``) from the query; the demo customer when absent."""
    value = request.query.get("customer", "").strip()
    if not value:
        return default
    if value.lower() == GUEST:
        return None
    if not value.isdigit():
        raise web.HTTPBadRequest(text="customer must be a customer id or 'guest'")
    return int(value)


def content_security_policy(settings: Settings) -> str:
    """Only our own scripts and styles; sockets only to the page and the Rasa server."""
    rasa = urlsplit(settings.widget_socket_url or settings.rasa_url)
    socket_scheme = "wss" if rasa.scheme == "https" else "ws"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' https: http: data:",
            f"connect-src 'self' {rasa.scheme}://{rasa.netloc} {socket_scheme}://{rasa.netloc}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _language_param(request: web.Request) -> str:
    """``?lang=`` (``en``, ``zh``, ``zh-CN`` ...) as a served language; English otherwise."""
    return normalise_language(request.query.get("lang", ""))


async def shop_page(request: web.Request) -> web.Response:
    """The demo shop: a few products, the signed-in customer's orders, the chat widget.

    ``?lang=zh`` shows the page and the widget in Chinese (``<html lang="zh-CN">``).
    """
    settings = request.app[SETTINGS]
    customer_id = _customer_param(request, settings.shop_demo_customer_id)
    language = _language_param(request)
    customer_param = request.query.get("customer", "").strip() or None
    try:
        with request.app[SESSION_FACTORY]() as session:
            page = build_shop_page(session, settings, customer_id, language, customer_param)
    except CustomerNotFound as error:
        raise web.HTTPNotFound(text=f"no customer {customer_id} in the demo shop") from error
    html = request.app[TEMPLATES].get_template("shop.html").render(page=page)
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Content-Security-Policy": content_security_policy(settings)},
    )


async def socket_io_client(request: web.Request) -> web.StreamResponse:
    """socket.io-client's dist file from node_modules/; 503 with the fix when not installed."""
    name = request.match_info["name"]
    if name not in VENDOR_FILES:
        raise web.HTTPNotFound()
    path = SOCKET_IO_DIST / name
    if not path.is_file():
        logger.error("%s is missing: run `npm ci` (make venv does)", path)
        raise web.HTTPServiceUnavailable(text="socket.io-client is not installed: run `npm ci`")
    return web.FileResponse(path, headers={"Content-Type": VENDOR_FILES[name]})


def setup_shop_routes(app: web.Application) -> None:
    """The shop page, the widget's sources, the page's assets and socket.io-client."""
    app.router.add_get("/", shop_page, name="shop")
    app.router.add_static("/widget/", WIDGET_DIR, name="widget")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.router.add_get("/vendor/{name}", socket_io_client, name="vendor")

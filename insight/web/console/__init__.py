"""Agent console: sign-in, a live escalation queue over a websocket, claim, reply, resolve.

``setup_console(app)`` plugs it into the insight web app (``insight/web/app.py``).
"""

from insight.web.console.setup import setup_console

__all__ = ["setup_console"]

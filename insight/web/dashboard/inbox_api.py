"""The NLU inbox: its page (``/dashboard/inbox``) and JSON API (``/dashboard/api/inbox/...``).

Supervisors only, as the rest of the dashboard: anonymous 401 (the page redirects to sign-in),
other agents 403. Texts are masked as the dashboard masks them. ``POST .../corrections`` needs the
console session's CSRF token in ``X-CSRF-Token`` and stores one verdict per message with who and
when; the text stored is the message's own (from the analytics tables), never the client's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List

from aiohttp import web
from sqlalchemy import select

from insight.analytics import inbox
from insight.analytics.corrections import SENTIMENTS, CorrectionError, Verdict, check, record
from insight.analytics.fold import utcnow
from insight.analytics.masking import mask_value
from insight.analytics.tables import AnalyticsConversation, AnalyticsMessage
from insight.web.console import auth
from insight.web.console.views import LOGIN_PATH, signed_in
from insight.web.dashboard.api import json_error, require_supervisor
from insight.web.dashboard.views import _render
from insight.web.keys import SESSION_FACTORY, SETTINGS
from knowledge.intents import INTENTS
from nlu.output_keys import DEMAND_ASPECTS

logger = logging.getLogger(__name__)

PREFIX = "/dashboard/api/inbox"
MAX_BATCH = 500


async def inbox_page(request: web.Request) -> web.Response:
    """The inbox page for supervisors; sign-in redirect when anonymous, 403 for agents."""
    found = await signed_in(request)
    if found is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    agent, session = found
    if not agent.is_supervisor:
        return _render(request, "forbidden.html", status=403, agent=agent, csrf=session.csrf)
    return _render(request, "inbox.html", agent=agent, csrf=session.csrf)


async def inbox_messages(request: web.Request) -> web.Response:
    """Inbox messages grouped by likely intent; ``?status=open|done|all``."""
    await require_supervisor(request)
    status = request.query.get("status", "open")
    if status not in inbox.STATUSES:
        raise json_error(
            web.HTTPBadRequest, f"'status' must be one of {inbox.STATUSES}", param="status"
        )
    threshold = request.app[SETTINGS].analytics_low_confidence
    factory = request.app[SESSION_FACTORY]

    def read() -> Dict[str, Any]:
        with factory() as session:
            return inbox.inbox(session, threshold, status)

    body = await asyncio.to_thread(read)
    body["options"] = {
        "intents": sorted(INTENTS),
        "sentiments": list(SENTIMENTS),
        "demands": list(DEMAND_ASPECTS),
    }
    return web.json_response(mask_value(body))


def _verdict_items(body: Any) -> List[Dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise json_error(web.HTTPBadRequest, "'items' must be a non-empty list", param="items")
    if len(items) > MAX_BATCH:
        raise json_error(web.HTTPBadRequest, f"at most {MAX_BATCH} items", param="items")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise json_error(web.HTTPBadRequest, "every item needs a 'key'", param="key")
        if not isinstance(item.get("intent"), str):
            raise json_error(web.HTTPBadRequest, "every item needs an 'intent'", param="intent")
        demands = item.get("demands", [])
        if not isinstance(demands, list) or not all(isinstance(d, str) for d in demands):
            raise json_error(web.HTTPBadRequest, "'demands' must be a list", param="demands")
        sentiment = item.get("sentiment")
        if sentiment is not None and not isinstance(sentiment, str):
            raise json_error(web.HTTPBadRequest, "'sentiment' must be text", param="sentiment")
    return items


async def save_corrections(request: web.Request) -> web.Response:
    """Confirm or correct one or many messages: ``{"items": [{key, intent, sentiment?,
    demands?}]}``; all or nothing."""
    agent = await require_supervisor(request)
    auth.check_csrf(request, await auth.current(request))
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise json_error(web.HTTPBadRequest, "the body must be JSON") from None
    items = _verdict_items(body)
    factory = request.app[SESSION_FACTORY]
    now = utcnow()

    def write() -> List[Dict[str, Any]]:
        saved = []
        with factory() as session, session.begin():
            keys = [i["key"] for i in items]
            messages = {
                m.event_key: m
                for m in session.execute(
                    select(AnalyticsMessage).where(AnalyticsMessage.event_key.in_(keys))
                ).scalars()
            }
            for item in items:
                message = messages.get(item["key"])
                if message is None:
                    raise CorrectionError(f"no message {item['key']!r}", "key")
                conversation = session.get(AnalyticsConversation, message.sender_id)
                verdict = Verdict(
                    message_key=message.event_key,
                    text=message.text,
                    language=conversation.language if conversation else "en",
                    predicted_intent=inbox.likely_intent(message),
                    intent=item["intent"],
                    sentiment=item.get("sentiment") or None,
                    demands=tuple(dict.fromkeys(item.get("demands") or [])),
                )
                check(verdict, DEMAND_ASPECTS)
                row = record(session, verdict, agent.id, agent.display_name, now)
                saved.append({"key": row.message_key, **inbox.correction_row(row)})
        return saved

    try:
        saved = await asyncio.to_thread(write)
    except CorrectionError as error:
        raise json_error(web.HTTPBadRequest, str(error), param=error.param) from None
    logger.info("%s saved %d NLU verdicts", agent.username, len(saved))
    return web.json_response(mask_value({"saved": saved}))


def setup_inbox(app: web.Application) -> None:
    """Register the inbox page and its API (paths the measure pattern does not match)."""
    app.router.add_get("/dashboard/inbox", inbox_page, name="dashboard-inbox")
    app.router.add_get(f"{PREFIX}/messages", inbox_messages)
    app.router.add_post(f"{PREFIX}/corrections", save_corrections)

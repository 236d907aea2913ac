"""Agent assist's endpoints and live push: summary + suggestions, quick order actions.

``GET  /console/api/escalations/{id}/assist``: any signed-in agent or supervisor (401 otherwise).
``POST /console/api/escalations/{id}/orders/{order_id}/cancel`` and ``.../return`` (JSON
``{"product", "reason"}``): only the agent who claimed the conversation, with the session's CSRF
token; the command runs through the same shop layer as the bot (:mod:`knowledge.shop.queries`,
the shopper as requester, so only their own orders) and the agent is recorded in the graph
(:func:`knowledge.graph.record.record_agent_action`) in the same transaction. The shop's typed
errors become a 409 (or 404/400) with a sentence the agent can act on.

:class:`AssistPusher` rides on the console hub: when the escalation tables change it sends
``{"type": "assist", ...}`` to the claimant's consoles for every claimed conversation whose
shopper wrote since the last push.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from insight.web.console.assist import AnswerSource, assist_payload
from insight.web.console.hub import Hub, utcnow
from insight.web.console.keys import HUB
from insight.web.console.views import db, require_agent
from insight.web.keys import SESSION_FACTORY, SETTINGS
from knowledge.graph.record import record_agent_action
from knowledge.handoff import escalations
from knowledge.handoff.agents import Agent
from knowledge.models import AgentUser, Escalation, EscalationStatus, Message
from knowledge.settings import Settings
from knowledge.shop import queries as shop
from knowledge.shop import status as order_status
from knowledge.shop.errors import (
    AlreadyReturned,
    ItemNotInOrder,
    NotCustomersOrder,
    NotReturnable,
    OrderNotCancellable,
    OrderNotFound,
    ShopError,
)

logger = logging.getLogger(__name__)

ANSWERS = web.AppKey("console_answers", AnswerSource)


def _answers(app: web.Application) -> Any:
    """The loaded FAQ index, or None when it cannot be loaded (suggestions then skip FAQs)."""
    try:
        return app[ANSWERS].get()
    except Exception:
        logger.exception("FAQ index unavailable for agent assist")
        return None


def compute(app: web.Application, escalation_id: int) -> dict[str, Any]:
    """The assist payload of one escalation, with the milliseconds it took (``took_ms``)."""
    started = time.perf_counter()
    answers = _answers(app)
    with app[SESSION_FACTORY]() as session:
        payload = assist_payload(session, escalation_id, answers, app[SETTINGS], utcnow())
    payload["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return payload


async def api_assist(request: web.Request) -> web.Response:
    """Summary, suggested replies and orders for the conversation (signed-in agents only)."""
    await require_agent(request)
    escalation_id = int(request.match_info["id"])
    try:
        payload = await asyncio.to_thread(compute, request.app, escalation_id)
    except escalations.EscalationNotFoundError:
        raise web.HTTPNotFound(text=f"no escalation {escalation_id}") from None
    return web.json_response(payload)


def _conflict(message: str, status: int = 409) -> web.HTTPException:
    body = json.dumps({"error": message})
    kinds = {400: web.HTTPBadRequest, 404: web.HTTPNotFound, 409: web.HTTPConflict}
    return kinds[status](text=body, content_type="application/json")


def _order_action(
    session: Session,
    escalation_id: int,
    order_id: int,
    agent: Agent,
    action: str,
    body: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Run one quick action for the claimant, record it in the graph; the result as JSON."""
    item = escalations.queue_item(session, escalation_id)
    if item.status != EscalationStatus.CLAIMED.value or item.claimed_by != agent.username:
        raise _conflict("Claim the conversation first: only its agent can act on its orders.")
    if item.customer_id is None:
        raise _conflict("The shopper is not signed in, so their orders are unknown.")
    requester = shop.Requester(customer_id=item.customer_id)
    details: dict[str, Any] = {"escalation_id": escalation_id}
    if action == "cancel_order":
        refunded = shop.cancel_order(session, order_id, requester, now)
        details["refunded"] = None if refunded is None else str(refunded)
        message = f"Order #{order_id} is cancelled" + (
            f"; {order_status.format_money(refunded)} will be refunded." if refunded else "."
        )
    else:
        opened = shop.request_return(
            session,
            order_id,
            requester,
            body.get("product"),
            body.get("reason") or f"opened by agent {agent.display_name}",
            now,
            settings.return_window_days,
        )
        details["return_id"] = opened.id
        message = f"Return #{opened.id} opened for {opened.item_name} of order #{order_id}."
    escalation = session.get(Escalation, escalation_id)
    record_agent_action(
        session,
        agent_id=agent.id,
        agent_name=agent.username,
        action=action,
        order_id=order_id,
        conversation_id=escalation.conversation_id if escalation else None,
        details=details,
        now=now,
    )
    return {"ok": True, "message": message, **details}


def explain(error: ShopError) -> tuple[int, str]:
    """HTTP status and a sentence for the agent, for each of the shop's typed errors."""
    if isinstance(error, OrderNotCancellable):
        return 409, (
            f"Order #{error.order_id} is {error.status.value}: only orders still in processing "
            "can be cancelled."
        )
    if isinstance(error, NotReturnable):
        why = (
            "its return window has closed"
            if error.window_closed
            else f"it is {error.status.value}, not delivered"
        )
        return 409, f"Order #{error.order_id} cannot be returned: {why}."
    if isinstance(error, (OrderNotFound, NotCustomersOrder)):
        return 404, "That order is not one of this shopper's orders."
    if isinstance(error, ItemNotInOrder):
        return 400, "Pick one item of the order to return."
    if isinstance(error, AlreadyReturned):
        return 409, "That item already has a return."
    return 409, "The shop refused the change."


async def _quick_action(request: web.Request, action: str) -> web.Response:
    agent = await require_agent(request, csrf=True)
    escalation_id = int(request.match_info["id"])
    order_id = int(request.match_info["order_id"])
    body: dict[str, Any] = {}
    if request.can_read_body:
        try:
            loaded = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _conflict("JSON body required", 400) from None
        body = loaded if isinstance(loaded, dict) else {}
    settings = request.app[SETTINGS]
    try:
        result = await db(
            request,
            _order_action,
            escalation_id,
            order_id,
            agent,
            action,
            body,
            settings,
            utcnow(),
            write=True,
        )
    except escalations.EscalationNotFoundError:
        raise web.HTTPNotFound(text=f"no escalation {escalation_id}") from None
    except ShopError as error:
        status, message = explain(error)
        logger.info("Agent %s: %s on order %s refused: %s", agent.id, action, order_id, error)
        raise _conflict(message, status) from None
    request.app[HUB].poke()
    return web.json_response(result)


async def api_cancel_order(request: web.Request) -> web.Response:
    """Cancel the shopper's order (only while in processing)."""
    return await _quick_action(request, "cancel_order")


async def api_open_return(request: web.Request) -> web.Response:
    """Open a return for one item of the shopper's delivered order (inside the window)."""
    return await _quick_action(request, "open_return")


class AssistPusher:
    """Pushes a fresh assist payload to the claimant's consoles when their shopper writes."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.pushed: dict[int, Any] = {}

    def _claimed(self, agent_ids: list[int]) -> list[tuple[int, int, Any]]:
        """``(escalation id, agent id, last message id)`` of the connected agents' claims."""
        with self.app[SESSION_FACTORY]() as session:
            rows = session.execute(
                select(Escalation.id, AgentUser.id, func.max(Message.id))
                .join(AgentUser, AgentUser.username == Escalation.claimed_by)
                .outerjoin(Message, Message.conversation_id == Escalation.conversation_id)
                .where(Escalation.status == EscalationStatus.CLAIMED, AgentUser.id.in_(agent_ids))
                .group_by(Escalation.id, AgentUser.id)
            ).all()
        return [(int(e), int(a), last) for e, a, last in rows]

    async def push(self, hub: Hub) -> None:
        """Send ``{"type": "assist", ...}`` for every claimed conversation that changed."""
        agent_ids = sorted(set(hub.sockets.values()))
        if not agent_ids:
            return
        for escalation_id, agent_id, last in await asyncio.to_thread(self._claimed, agent_ids):
            if self.pushed.get(escalation_id) == last:
                continue
            self.pushed[escalation_id] = last
            payload = await asyncio.to_thread(compute, self.app, escalation_id)
            text = json.dumps({"type": "assist", "escalation_id": escalation_id, **payload})
            for ws, owner in list(hub.sockets.items()):
                if owner != agent_id or ws.closed:
                    continue
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    hub.remove(ws)


async def _assist_ctx(app: web.Application) -> Any:
    """Attach the live push to the console hub (after the console's own context)."""
    app[HUB].assist = AssistPusher(app)
    yield


def setup_assist(app: web.Application) -> None:
    """Register agent assist's routes, its FAQ source (unless one is set) and its live push."""
    if ANSWERS not in app:
        app[ANSWERS] = AnswerSource.from_settings(app[SETTINGS])
    app.cleanup_ctx.append(_assist_ctx)
    base = "/console/api/escalations/{id:\\d+}"
    app.router.add_get(f"{base}/assist", api_assist)
    app.router.add_post(f"{base}/orders/{{order_id:\\d+}}/cancel", api_cancel_order)
    app.router.add_post(f"{base}/orders/{{order_id:\\d+}}/return", api_open_return)

"""Request handlers of the agent console (pages, JSON API, websocket).

Domain errors become HTTP errors here: unknown escalation 404, a claim or reply that conflicts
with the escalation's state 409 (with who holds it), Rasa unreachable 502 (the reply is stored
and shown as not delivered). Every state-changing request needs the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import WSMsgType, web

from insight.web.console import auth
from insight.web.console.hub import utcnow
from insight.web.console.keys import CONSOLE_TEMPLATES, HUB, RASA
from insight.web.console.profile import escalation_payload
from insight.web.console.rasa_client import RasaUnavailableError
from insight.web.keys import SESSION_FACTORY
from knowledge.handoff import agents, escalations
from knowledge.handoff.agents import Agent

logger = logging.getLogger(__name__)

LOGIN_PATH = "/console/login"


def _db(request: web.Request, work: Callable[..., Any], *args: Any, write: bool = False) -> Any:
    """Run ``work(session, *args)`` in a short session (a transaction when ``write``)."""
    factory = request.app[SESSION_FACTORY]
    with factory() as session:
        if write:
            with session.begin():
                return work(session, *args)
        return work(session, *args)


async def db(
    request: web.Request, work: Callable[..., Any], *args: Any, write: bool = False
) -> Any:
    """:func:`_db` off the event loop."""
    return await asyncio.to_thread(_db, request, work, *args, write=write)


async def signed_in(request: web.Request) -> tuple[Agent, auth.ConsoleSession] | None:
    """The signed-in agent and session, if the cookie holds a valid one."""
    session = await auth.current(request)
    if session is None or session.agent_id is None:
        return None
    agent = await db(request, agents.get_agent, session.agent_id)
    return (agent, session) if agent else None


async def require_agent(request: web.Request, *, csrf: bool = False) -> Agent:
    """The signed-in agent, else 401; with ``csrf``, also the token check (403)."""
    found = await signed_in(request)
    if found is None:
        raise web.HTTPUnauthorized(text="sign in first")
    agent, session = found
    if csrf:
        auth.check_csrf(request, session)
    return agent


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    """A console page from its Jinja template (autoescaped)."""
    html = request.app[CONSOLE_TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html")


async def posted_form(request: web.Request) -> Any:
    """The request's form fields; 400 when the body is not a decodable form."""
    try:
        return await request.post()
    except ValueError:  # UnicodeDecodeError included: bytes that are not UTF-8
        raise web.HTTPBadRequest(text="malformed form body") from None


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form (sets an anonymous session for its CSRF token)."""
    session = await auth.ensure_session(request)
    return render(request, "login.html", csrf=session.csrf, error=None)


async def login(request: web.Request) -> web.Response:
    """Check the credentials; on success a new session and a redirect to the console."""
    form = await posted_form(request)
    session = await auth.current(request)
    auth.check_csrf(request, session, form)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    agent = await db(request, agents.authenticate, username, password)
    if agent is None:
        assert session is not None
        response = render(request, "login.html", csrf=session.csrf, error="Wrong name or password.")
        response.set_status(401)
        return response
    logger.info("Agent %s signed in", agent.username)
    await auth.sign_in(request, agent.id)
    raise web.HTTPSeeOther("/console")


async def logout(request: web.Request) -> web.Response:
    """End the session."""
    form = await posted_form(request)
    auth.check_csrf(request, await auth.current(request), form)
    await auth.sign_out(request)
    raise web.HTTPSeeOther(LOGIN_PATH)


async def console_page(request: web.Request) -> web.Response:
    """The console (queue + detail panel); redirects to sign-in when signed out."""
    found = await signed_in(request)
    if found is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    agent, session = found
    return render(
        request,
        "console.html",
        agent=agent,
        csrf=session.csrf,
        open_id=request.match_info.get("id", ""),
    )


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Live queue: the current queue on connect, then every change; pings keep presence."""
    agent = await require_agent(request)
    ws = web.WebSocketResponse(heartbeat=30)
    hub = request.app[HUB]
    try:
        await ws.prepare(request)
        await hub.add(ws, agent.id)
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "refresh":
                await ws.send_str(json.dumps(await asyncio.to_thread(hub.snapshot)))
            elif message.type == WSMsgType.ERROR:
                break
    except ConnectionResetError:
        # The browser left (navigation, closed tab) while we were writing: not an error.
        logger.info("Console socket of agent %s closed while sending", agent.id)
    finally:
        hub.remove(ws)
    return ws


async def api_queue(request: web.Request) -> web.Response:
    """The queue as JSON (what the websocket pushes)."""
    await require_agent(request)
    return web.json_response(await asyncio.to_thread(request.app[HUB].snapshot))


async def api_escalation(request: web.Request) -> web.Response:
    """One escalation: queue data, transcript with NLU outputs, customer profile, churn risk."""
    await require_agent(request)
    escalation_id = int(request.match_info["id"])
    try:
        payload = await db(request, escalation_payload, escalation_id, utcnow())
    except escalations.EscalationNotFoundError:
        raise web.HTTPNotFound(text=f"no escalation {escalation_id}") from None
    return web.json_response(payload)


async def api_claim(request: web.Request) -> web.Response:
    """Claim an open escalation (409 when someone else has it); the shopper sees who joined."""
    agent = await require_agent(request, csrf=True)
    escalation_id = int(request.match_info["id"])
    item = await _change(request, escalations.claim, escalation_id, agent, utcnow())
    request.app[HUB].poke()
    delivered = await _deliver(request.app[RASA].agent_joined(item.sender_id, agent.display_name))
    return web.json_response({"escalation": item.as_dict(utcnow()), "delivered": delivered})


async def api_reply(request: web.Request) -> web.Response:
    """Store and deliver the claimant's reply into the shopper's chat."""
    agent = await require_agent(request, csrf=True)
    escalation_id = int(request.match_info["id"])
    body = await _json(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="text required")
    message_id = await _change(
        request, escalations.add_agent_message, escalation_id, agent, text, utcnow()
    )
    item = await db(request, escalations.queue_item, escalation_id)
    delivered = await _deliver(
        request.app[RASA].agent_message(item.sender_id, agent.display_name, text.strip())
    )
    if delivered:
        await db(request, escalations.mark_delivered, message_id, write=True)
    request.app[HUB].poke()
    status = 200 if delivered else 502
    return web.json_response({"id": message_id, "delivered": delivered}, status=status)


async def api_resolve(request: web.Request) -> web.Response:
    """Resolve: the bot resumes and asks the shopper for a rating."""
    agent = await require_agent(request, csrf=True)
    escalation_id = int(request.match_info["id"])
    item = await _change(request, escalations.resolve, escalation_id, agent, utcnow())
    request.app[HUB].poke()
    delivered = await _deliver(request.app[RASA].agent_left(item.sender_id, agent.display_name))
    return web.json_response({"escalation": item.as_dict(utcnow()), "delivered": delivered})


async def _change(request: web.Request, work: Callable[..., Any], *args: Any) -> Any:
    """Run a state change; 404 / 409 / 400 for the service's errors."""
    try:
        return await db(request, work, *args, write=True)
    except escalations.EscalationNotFoundError:
        raise web.HTTPNotFound(text=f"no escalation {args[0]}") from None
    except escalations.EscalationConflictError as error:
        raise web.HTTPConflict(
            text=json.dumps(
                {"error": str(error), "status": error.status, "claimed_by": error.claimed_by}
            ),
            content_type="application/json",
        ) from None
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


async def _deliver(call: Awaitable[None]) -> bool:
    """Await a Rasa call; False (logged) when Rasa is unreachable."""
    try:
        await call
    except RasaUnavailableError as error:
        logger.error("Could not reach the shopper through Rasa: %s", error)
        return False
    return True


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="JSON body required") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object required")
    return body

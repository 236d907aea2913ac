"""The supervisors' analytics JSON API under ``/dashboard/api/`` (and CSV of every table).

Supervisor-only: the console's signed session cookie must name an active supervisor account
(anonymous 401, other agents 403). Every response goes through :mod:`insight.analytics.masking`
so e-mails, phone and card numbers and street addresses never leave the server. Bad query
parameters answer 400 with ``{"error", "param"}``. Queries run off the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from typing import Any, Callable

from aiohttp import web
from sqlalchemy import select

from insight.analytics import drill, measures, recommendations, segments
from insight.analytics.at_risk import ParamError
from insight.analytics.filters import FilterError, Filters, parse_filters
from insight.analytics.fold import utcnow
from insight.analytics.masking import mask_value
from insight.analytics.tables import AnalyticsConversation
from insight.web.console import auth
from insight.web.keys import SESSION_FACTORY, SETTINGS
from knowledge.handoff import agents
from knowledge.handoff.agents import Agent

logger = logging.getLogger(__name__)

PREFIX = "/dashboard/api"
MEASURE_PARAMS = {"churn": ("min_risk",)}
COMMON_EXTRA = ("format",)


def json_error(status: type[web.HTTPException], message: str, **extra: Any) -> web.HTTPException:
    """An HTTP error with a JSON body."""
    return status(text=json.dumps({"error": message, **extra}), content_type="application/json")


async def require_supervisor(request: web.Request) -> Agent:
    """The signed-in supervisor; 401 when signed out, 403 for other accounts."""
    session = await auth.current(request)
    if session is None or session.agent_id is None:
        raise json_error(web.HTTPUnauthorized, "sign in first")
    factory = request.app[SESSION_FACTORY]
    agent_id = session.agent_id

    def lookup() -> Agent | None:
        with factory() as s:
            return agents.get_agent(s, agent_id)

    agent = await asyncio.to_thread(lookup)
    if agent is None:
        raise json_error(web.HTTPUnauthorized, "sign in first")
    if not agent.is_supervisor:
        raise json_error(web.HTTPForbidden, "supervisors only")
    return agent


def filters_of(request: web.Request, extra: tuple[str, ...] = ()) -> Filters:
    """The request's filters; 400 on a bad parameter."""
    try:
        return parse_filters(request.query, (*COMMON_EXTRA, *extra))
    except FilterError as error:
        raise json_error(web.HTTPBadRequest, str(error), param=error.param) from None


async def in_session(request: web.Request, work: Callable[..., Any], *args: Any) -> Any:
    """``work(session, *args)`` in a short read session, off the event loop."""
    factory = request.app[SESSION_FACTORY]

    def run() -> Any:
        with factory() as session:
            return work(session, *args)

    try:
        return await asyncio.to_thread(run)
    except ParamError as error:
        raise json_error(web.HTTPBadRequest, str(error), param=error.param) from None


def wants_csv(request: web.Request) -> bool:
    """``.csv`` suffix or ``?format=csv``; 400 on another format."""
    fmt = request.query.get("format", "json").lower()
    if fmt not in ("json", "csv"):
        raise json_error(web.HTTPBadRequest, "'format' must be json or csv", param="format")
    return request.match_info.get("ext") == ".csv" or fmt == "csv"


# Text starting with these is a formula to spreadsheet programs (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: lists joined with spaces, objects as JSON, None empty; text that a
    spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list)) for v in value):
            value = " ".join(str(v) for v in value)
        else:
            return json.dumps(value, separators=(",", ":"))
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of ``rows`` (header = keys of the rows in first-seen order)."""
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or ["empty"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(row.get(k)) for k in header})
    return out.getvalue()


def respond(request: web.Request, body: dict[str, Any], name: str) -> web.Response:
    """Masked JSON, or the masked ``rows`` as a CSV download."""
    masked = mask_value(body)
    if wants_csv(request):
        return web.Response(
            text=to_csv(masked.get("rows", [])),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return web.json_response(masked)


def context(request: web.Request) -> measures.Context:
    """Settings, now, and the measure-specific parameters of the request."""
    return measures.Context(request.app[SETTINGS], utcnow(), dict(request.query))


async def list_measures(request: web.Request) -> web.Response:
    """The names of the measures."""
    await require_supervisor(request)
    return web.json_response({"measures": list(measures.registry())})


async def measure(request: web.Request) -> web.Response:
    """One measure over the filtered conversations."""
    await require_supervisor(request)
    name = request.match_info["name"]
    registry = measures.registry()
    if name not in registry:
        raise json_error(web.HTTPNotFound, f"no measure {name!r}", measures=list(registry))
    filters = filters_of(request, MEASURE_PARAMS.get(name, ()))
    result = await in_session(request, registry[name], filters, context(request))
    return respond(request, {"measure": name, "filters": filters.as_dict(), **result}, name)


def _filter_options(session: Any) -> dict[str, Any]:
    rows = session.execute(
        select(
            AnalyticsConversation.channel,
            AnalyticsConversation.language,
            AnalyticsConversation.intents,
            AnalyticsConversation.categories,
            AnalyticsConversation.started_at,
        )
    ).all()
    days = [r.started_at.date() for r in rows]
    return {
        "channels": sorted({r.channel for r in rows if r.channel}),
        "languages": sorted({r.language for r in rows if r.language}),
        "intents": sorted({i for r in rows for i in r.intents or []}),
        "categories": sorted({c for r in rows for c in r.categories or []}),
        "segments": segments.segment_labels(session),
        "first_day": measures.iso(min(days)) if days else None,
        "last_day": measures.iso(max(days)) if days else None,
    }


async def filter_options(request: web.Request) -> web.Response:
    """Values the filter controls offer."""
    await require_supervisor(request)
    return web.json_response(mask_value(await in_session(request, _filter_options)))


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise json_error(
            web.HTTPBadRequest, f"{name!r} must be an integer, got {raw!r}", param=name
        ) from None
    if not low <= value <= high:
        raise json_error(web.HTTPBadRequest, f"{name!r} must be in [{low}, {high}]", param=name)
    return value


async def drill_ids(request: web.Request, filters: Filters) -> list[str] | None:
    """The ``ids`` parameter, or the conversation ids behind ``measure``'s row ``row``.

    ``measure=<name>&row=<index>`` (or ``row=summary``) recomputes the measure with the same
    filters server-side, so a drill-down URL stays short however many conversations it names.
    """
    name = request.query.get("measure")
    raw_ids = request.query.get("ids")
    if name is None:
        if "row" in request.query:
            raise json_error(web.HTTPBadRequest, "'row' needs 'measure'", param="row")
        return [i for i in raw_ids.split(",") if i] if raw_ids else None
    registry = measures.registry()
    if name not in registry:
        raise json_error(web.HTTPBadRequest, f"no measure {name!r}", param="measure")
    if raw_ids:
        raise json_error(web.HTTPBadRequest, "give 'ids' or 'measure', not both", param="ids")
    row = request.query.get("row", "summary")
    result = await in_session(request, registry[name], filters, context(request))
    if row == "summary":
        return list(result["summary"]["conversation_ids"])
    try:
        return list(result["rows"][int(row)]["conversation_ids"])
    except (ValueError, IndexError):
        raise json_error(
            web.HTTPBadRequest,
            f"'row' must be 'summary' or a row index below {len(result['rows'])}",
            param="row",
        ) from None


async def conversation_list(request: web.Request) -> web.Response:
    """The filtered conversations (only ``ids`` or a measure row's), newest first, paged."""
    await require_supervisor(request)
    extra = ("ids", "limit", "offset", "measure", "row")
    filters = filters_of(request, extra + MEASURE_PARAMS.get(request.query.get("measure", ""), ()))
    ids = await drill_ids(request, filters)
    limit = _int_param(request, "limit", 50, 1, drill.MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    result = await in_session(request, drill.conversations, filters, ids, limit, offset)
    return respond(request, {"filters": filters.as_dict(), **result}, "conversations")


async def conversation_detail(request: web.Request) -> web.Response:
    """One conversation's transcript with intent, sentiment and demands per message."""
    await require_supervisor(request)
    sender_id = request.match_info["id"]
    threshold = request.app[SETTINGS].analytics_low_confidence
    try:
        result = await in_session(request, drill.transcript, sender_id, threshold)
    except drill.UnknownConversationError:
        raise json_error(web.HTTPNotFound, "no such conversation") from None
    return web.json_response(mask_value(result))


def _segments(session: Any, refresh: bool, settings: Any) -> dict[str, Any]:
    infos, members = segments.stored(session)
    if refresh or not infos:
        segments.refresh(session, settings, utcnow())
        session.commit()
        infos, members = segments.stored(session)
    customers = {c for ids in members.values() for c in ids}
    conv_rows = session.execute(
        select(AnalyticsConversation.sender_id, AnalyticsConversation.customer_id).where(
            AnalyticsConversation.customer_id.is_not(None)
        )
    ).all()
    segment_of = {c: s for s, ids in members.items() for c in ids}
    conversations: dict[int, list[str]] = {i.segment: [] for i in infos}
    for sender_id, customer_id in conv_rows:
        if customer_id in segment_of:
            conversations[segment_of[customer_id]].append(sender_id)
    first = infos[0] if infos else None
    return {
        "summary": {
            "customers": len(customers),
            "k": first.k if first else 0,
            "silhouette": first.silhouette if first else None,
            "computed_at": measures.iso(first.computed_at) if first else None,
            "features": list(segments.FEATURES),
        },
        "rows": [
            {
                "segment": i.segment,
                "label": i.label,
                "size": i.size,
                "description": i.description,
                "features": i.features,
                "customer_ids": members.get(i.segment, []),
                "conversation_ids": conversations.get(i.segment, []),
            }
            for i in infos
        ],
    }


async def segment_list(request: web.Request) -> web.Response:
    """Customer segments with their descriptions (computed when none are stored)."""
    await require_supervisor(request)
    refresh = request.query.get("refresh") in ("1", "true", "yes")
    for name in request.query:
        if name not in ("refresh", "format"):
            raise json_error(web.HTTPBadRequest, f"unknown parameter {name!r}", param=name)
    result = await in_session(request, _segments, refresh, request.app[SETTINGS])
    return respond(request, result, "segments")


async def recommendation_list(request: web.Request) -> web.Response:
    """Data-backed recommendations with their evidence conversations."""
    await require_supervisor(request)
    filters = filters_of(request)
    rows = await in_session(request, recommendations.recommend, filters, context(request))
    return respond(request, {"filters": filters.as_dict(), "rows": rows}, "recommendations")


def setup_api_routes(app: web.Application) -> None:
    """Register the API's routes (specific ones before the measure pattern)."""
    router = app.router
    router.add_get(f"{PREFIX}/measures", list_measures, name="analytics-measures")
    router.add_get(f"{PREFIX}/filters", filter_options, name="analytics-filters")
    router.add_get(PREFIX + "/conversations{ext:(\\.csv)?}", conversation_list)
    router.add_get(PREFIX + "/conversations/{id:.+}", conversation_detail)
    router.add_get(PREFIX + "/segments{ext:(\\.csv)?}", segment_list)
    router.add_get(PREFIX + "/recommendations{ext:(\\.csv)?}", recommendation_list)
    router.add_get(PREFIX + "/{name:[a-z][a-z-]*}{ext:(\\.csv)?}", measure)

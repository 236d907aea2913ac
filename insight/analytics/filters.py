"""The dashboard's filters: one typed value parsed and validated from query parameters.

Every filter selects conversations: ``from`` / ``to``
bound the day the conversation started (inclusive, UTC), ``channel`` its input channel,
``intent`` keeps conversations with at least one user message of that intent, ``category`` those
that name a product of that category, ``segment`` those of customers in that segment,
``language`` those held in that language (``en`` or ``zh``, see ``knowledge/language.py``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping

from knowledge.language import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)

FILTER_PARAMS = ("from", "to", "channel", "intent", "category", "segment", "language")
MAX_TEXT = 100
_NAME = re.compile(r"^[\w .:/&'-]+$", re.UNICODE)


class FilterError(ValueError):
    """A query parameter the dashboard cannot use; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Filters:
    """Which conversations a measure looks at (None = no restriction)."""

    since: date | None = None
    until: date | None = None
    channel: str | None = None
    intent: str | None = None
    category: str | None = None
    segment: int | None = None
    language: str | None = None

    @property
    def start(self) -> datetime | None:
        """Start of ``since`` (inclusive)."""
        return datetime.combine(self.since, time.min) if self.since else None

    @property
    def end(self) -> datetime | None:
        """Start of the day after ``until`` (exclusive)."""
        return datetime.combine(self.until + timedelta(days=1), time.min) if self.until else None

    def with_dates(self, since: date | None, until: date | None) -> Filters:
        """The same filters over another date range."""
        return replace(self, since=since, until=until)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the query parameter names)."""
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "channel": self.channel,
            "intent": self.intent,
            "category": self.category,
            "segment": self.segment,
            "language": self.language,
        }


def parse_filters(query: Mapping[str, str], extra: Iterable[str] = ()) -> Filters:
    """:class:`Filters` from query parameters; :class:`FilterError` on any bad or unknown one.

    ``extra`` names further parameters the caller handles itself (accepted here unchecked).
    """
    allowed = set(FILTER_PARAMS) | set(extra)
    for name in query:
        if name not in allowed:
            raise FilterError(
                name, f"unknown parameter {name!r}; expected one of {', '.join(sorted(allowed))}"
            )
    since = _date(query, "from")
    until = _date(query, "to")
    if since and until and since > until:
        raise FilterError("from", f"'from' ({since}) is after 'to' ({until})")
    return Filters(
        since=since,
        until=until,
        channel=_name(query, "channel"),
        intent=_name(query, "intent"),
        category=_name(query, "category"),
        segment=_segment(query),
        language=_language(query),
    )


def _value(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _date(query: Mapping[str, str], name: str) -> date | None:
    value = _value(query, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(name, f"{name!r} must be a day as YYYY-MM-DD, got {value!r}") from None


def _name(query: Mapping[str, str], name: str) -> str | None:
    value = _value(query, name)
    if value is None:
        return None
    if len(value) > MAX_TEXT or not _NAME.match(value):
        raise FilterError(
            name, f"{name!r} must be a name of at most {MAX_TEXT} letters, digits or _ .:/&'-"
        )
    return value


def _segment(query: Mapping[str, str]) -> int | None:
    value = _value(query, "segment")
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise FilterError("segment", f"'segment' must be an integer, got {value!r}") from None
    if number < 0:
        raise FilterError("segment", "'segment' must not be negative")
    return number


def _language(query: Mapping[str, str]) -> str | None:
    value = _value(query, "language")
    if value is None:
        return None
    code = value.lower()
    if code not in SUPPORTED_LANGUAGES:
        allowed = ", ".join(SUPPORTED_LANGUAGES)
        raise FilterError("language", f"'language' must be one of {allowed}, got {value!r}")
    return code

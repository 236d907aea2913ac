"""The analytics tables on a real PostgreSQL server (the scale-out profile's shop database):
migration 0004 matches the models, folding is idempotent, a measure gives the SQLite figures."""

from __future__ import annotations

from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import sessionmaker

from insight.analytics import measures, tables
from insight.analytics.filters import Filters
from insight.analytics.fold import fold
from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import upgrade
from knowledge.models import Base
from knowledge.settings import Settings
from tests.analytics.conftest import NOW, fill_shop, log_events
from tests.analytics.test_ingest import snapshot
from tests.knowledge.test_graph_postgres import postgres_url  # noqa: F401 - fixture


def test_fold_and_measures_on_postgres(postgres_url: str, folded: sessionmaker) -> None:  # noqa: F811
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diff if "analytics" in str(d)] == [], diff
        assert tables.AnalyticsEvent.__table__.metadata is Base.metadata
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            fill_shop(session)
        first = fold(factory, log_events(), "fixture")
        again = fold(factory, log_events(), "fixture")
        # c1..c10 got events (c8 has no user message, so 9 conversations); a replay adds none.
        assert (first.senders, first.conversations) == (10, 9)
        assert (again.senders, again.conversations) == (0, 0)
        assert snapshot(factory) == snapshot(folded)
        week = Filters(since=date(2026, 11, 16), until=date(2026, 11, 22))
        ctx = measures.Context(Settings(), NOW, {})
        with factory() as session:
            result = measures.containment(session, week, ctx)
        assert result["summary"]["escalation_rate"] == 0.4
    finally:
        engine.dispose()

"""Hand-over service on a real database: open once, atomic claim, reply, resolve, offers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from alembic import command

from knowledge.handoff import escalations
from knowledge.handoff.agents import (
    AgentAccountError,
    agents_online,
    authenticate,
    create_agent,
    touch,
)
from knowledge.migrate import alembic_config, upgrade

NOW = datetime(2026, 11, 20, 12, 0, 0)


def open_for(session_factory, sender="s-1", **overrides):
    values = dict(
        sender_id=sender,
        reason="r",
        trigger="churn_risk",
        priority=3,
        churn_risk=0.7,
        customer_id=1,
        now=NOW,
    )
    values.update(overrides)
    with session_factory() as session, session.begin():
        return escalations.open_escalation(session, **values)


def agent(session_factory, username):
    with session_factory() as session, session.begin():
        return create_agent(session, username, username.title(), "password123", rounds=4)


def test_open_is_idempotent_per_conversation(session_factory) -> None:
    first = open_for(session_factory)
    again = open_for(session_factory, reason="other")
    assert first.created and not again.created and again.id == first.id
    with session_factory() as session:
        [item] = escalations.queue(session)
    assert item.sender_id == "s-1" and item.customer_name and item.status == "open"


def test_claim_is_atomic_under_a_race(session_factory) -> None:
    opened = open_for(session_factory)
    agents = [agent(session_factory, f"a{i}") for i in range(8)]
    barrier = threading.Barrier(len(agents))
    winners, losers = [], []

    def attempt(who):
        barrier.wait()
        try:
            with session_factory() as session, session.begin():
                escalations.claim(session, opened.id, who, NOW)
            winners.append(who.username)
        except escalations.EscalationConflictError as error:
            losers.append(error.claimed_by)

    threads = [threading.Thread(target=attempt, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == len(agents) - 1
    assert set(losers) == {winners[0]}


def test_reply_and_resolve_rules(session_factory) -> None:
    opened = open_for(session_factory)
    alex, sam = agent(session_factory, "alex"), agent(session_factory, "sam")
    with session_factory() as session, session.begin():
        create_agent(session, "boss", "Boss", "password123", "supervisor", rounds=4)
    with session_factory() as session, session.begin():
        with pytest.raises(escalations.EscalationConflictError):
            escalations.add_agent_message(session, opened.id, alex, "hi", NOW)
        escalations.claim(session, opened.id, alex, NOW)
        message_id = escalations.add_agent_message(session, opened.id, alex, " hi ", NOW)
        with pytest.raises(ValueError):
            escalations.add_agent_message(session, opened.id, alex, "   ", NOW)
        with pytest.raises(escalations.EscalationConflictError):
            escalations.resolve(session, opened.id, sam, NOW)
    with session_factory() as session, session.begin():
        escalations.mark_delivered(session, message_id)
        escalations.resolve(session, opened.id, alex, NOW + timedelta(minutes=5))
        view = escalations.view(session, opened.id)
    assert view.item.status == "resolved" and view.transcript[-1].text == "hi"
    assert view.transcript[-1].delivered
    with session_factory() as session, session.begin():
        assert escalations.record_rating(session, "s-1", 5, NOW)
        assert escalations.queue(session) == []
    assert open_for(session_factory).created  # a new hand-over after the last one closed


def test_contact_offer_once_and_choice(session_factory) -> None:
    opened = open_for(session_factory)
    with session_factory() as session, session.begin():
        assert escalations.due_for_contact_offer(session, NOW + timedelta(seconds=30), 60) == []
        [due] = escalations.due_for_contact_offer(session, NOW + timedelta(seconds=90), 60)
        assert due.id == opened.id
        assert escalations.mark_contact_offered(session, opened.id, NOW)
        assert not escalations.mark_contact_offered(session, opened.id, NOW)
        assert escalations.record_contact_choice(session, "s-1", "callback", NOW)
        assert escalations.queue_item(session, opened.id).contact_method == "callback"


def test_accounts_passwords_and_presence(session_factory) -> None:
    alex = agent(session_factory, "alex")
    with session_factory() as session, session.begin():
        with pytest.raises(AgentAccountError):
            create_agent(session, "alex", "Again", "password123", rounds=4)
        with pytest.raises(AgentAccountError):
            create_agent(session, "short", "S", "short", rounds=4)
        with pytest.raises(AgentAccountError):
            create_agent(session, "x", "X", "password123", role="admin", rounds=4)
        assert authenticate(session, "alex", "password123") == alex
        assert authenticate(session, "alex", "wrong-password") is None
        assert authenticate(session, "nobody", "password123") is None
        assert agents_online(session, NOW, 60) == 0
        touch(session, alex.id, NOW)
        assert agents_online(session, NOW + timedelta(seconds=30), 60) == 1
        assert agents_online(session, NOW + timedelta(seconds=90), 60) == 0


def test_migration_0003_downgrades_and_upgrades(engine, database_url) -> None:
    from sqlalchemy import inspect

    command.downgrade(alembic_config(database_url), "0002")
    assert "agent_users" not in inspect(engine).get_table_names()
    upgrade(database_url)
    assert {"agent_users", "escalation_details", "agent_messages"} <= set(
        inspect(engine).get_table_names()
    )

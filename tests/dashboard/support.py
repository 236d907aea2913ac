"""Test support for the dashboard: console accounts and signing in over real HTTP."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from knowledge.handoff.agents import create_agent

PASSWORD = "correct horse battery"
AGENT = "alex"
SUPERVISOR = "kim"


def create_accounts(factory: sessionmaker[Session]) -> None:
    """One agent and one supervisor (cheap bcrypt rounds)."""
    with factory() as session, session.begin():
        create_agent(session, AGENT, "Alex Agent", PASSWORD, "agent", rounds=4)
        create_agent(session, SUPERVISOR, "Kim Supervisor", PASSWORD, "supervisor", rounds=4)


async def sign_in(client: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the console's form (CSRF token from the sign-in page)."""
    page = await client.get("/console/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert found, "the sign-in page has no CSRF token"
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": found[1]},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()

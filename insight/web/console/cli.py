"""``python -m insight create-user USERNAME [--name NAME] [--role agent|supervisor]``.

Creates an agent console account in the shop database; the password is read from the
``SHOP_NEW_USER_PASSWORD`` environment variable or asked for twice on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os

from knowledge.db import make_engine, make_session_factory
from knowledge.handoff.agents import AgentAccountError, create_agent
from knowledge.models import AgentRole
from knowledge.settings import get_settings

logger = logging.getLogger(__name__)

PASSWORD_ENV = "SHOP_NEW_USER_PASSWORD"


def create_user_main(argv: list[str]) -> int:
    """Parse ``argv``, create the account; 0 on success, 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m insight create-user", description=__doc__)
    parser.add_argument("username")
    parser.add_argument("--name", help="display name shown to shoppers (default: username)")
    parser.add_argument("--role", choices=[r.value for r in AgentRole], default="agent")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SHOP_DATABASE_URL)")
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("passwords differ")
            return 2
    engine = make_engine(args.database_url or get_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            agent = create_agent(
                session, args.username, args.name or args.username, password, args.role
            )
    except AgentAccountError as error:
        print(f"cannot create {args.username}: {error}")
        return 2
    finally:
        engine.dispose()
    print(f"created {agent.role} account {agent.username}")
    return 0

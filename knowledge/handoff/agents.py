"""Agent console accounts: bcrypt-hashed passwords, roles, presence.

Functions take an open session (the caller owns the transaction) and return frozen
:class:`Agent` records, never ORM objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import bcrypt
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge.models import AgentRole, AgentUser

logger = logging.getLogger(__name__)

# bcrypt work factor (2^12 rounds: ~0.2 s per check on a laptop core).
BCRYPT_ROUNDS = 12
# bcrypt only reads the first 72 bytes of a password.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 8
# Demo accounts the setup creates (printed by `make run`); never use them in production.
DEMO_ACCOUNTS = (
    ("agent", "Alex Agent", "agent-demo-pass", AgentRole.AGENT),
    ("agent2", "Sam Agent", "agent2-demo-pass", AgentRole.AGENT),
    ("supervisor", "Kim Supervisor", "supervisor-demo-pass", AgentRole.SUPERVISOR),
)
# Checked against when the username is unknown, so both cases take as long.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(4))


class AgentAccountError(ValueError):
    """An account cannot be created as asked (duplicate name, weak password, bad role)."""


@dataclass(frozen=True)
class Agent:
    """A console account as the web app sees it."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        """Supervisors may act on any escalation and manage accounts."""
        return self.role == AgentRole.SUPERVISOR.value


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """The bcrypt hash of ``password`` (at most 72 bytes, at least 8 characters)."""
    encoded = password.encode("utf-8")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentAccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise AgentAccountError(f"password must be at most {MAX_PASSWORD_BYTES} bytes (bcrypt)")
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds)).decode("ascii")


def create_agent(
    session: Session,
    username: str,
    display_name: str,
    password: str,
    role: str = AgentRole.AGENT.value,
    now: datetime | None = None,
    rounds: int = BCRYPT_ROUNDS,
) -> Agent:
    """Create an account; :class:`AgentAccountError` when the name is taken or input is bad."""
    username = username.strip()
    if not username or len(username) > 80:
        raise AgentAccountError("username must have 1 to 80 characters")
    try:
        role_value = AgentRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in AgentRole)
        raise AgentAccountError(f"role must be one of {allowed}, not {role!r}") from None
    exists = session.execute(select(AgentUser.id).where(AgentUser.username == username)).first()
    if exists:
        raise AgentAccountError(f"username {username!r} is taken")
    user = AgentUser(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password, rounds),
        role=role_value,
        active=True,
        created_at=now or datetime.utcnow(),
    )
    session.add(user)
    session.flush()
    logger.info("Created %s account %s", role_value.value, username)
    return _agent(user)


def ensure_demo_agents(session: Session, rounds: int = BCRYPT_ROUNDS) -> list[tuple[str, str]]:
    """Create the demo accounts that are missing; ``(username, password)`` of every demo one."""
    for username, name, password, role in DEMO_ACCOUNTS:
        if session.execute(select(AgentUser.id).where(AgentUser.username == username)).first():
            continue
        create_agent(session, username, name, password, role.value, rounds=rounds)
    return [(username, password) for username, _name, password, _role in DEMO_ACCOUNTS]


def authenticate(session: Session, username: str, password: str) -> Agent | None:
    """The active account with these credentials, else ``None`` (constant-ish time)."""
    user = session.execute(
        select(AgentUser).where(AgentUser.username == username.strip())
    ).scalar_one_or_none()
    encoded = password.encode("utf-8")[:MAX_PASSWORD_BYTES]
    if user is None or not user.active:
        bcrypt.checkpw(encoded, _DUMMY_HASH)
        return None
    if not bcrypt.checkpw(encoded, user.password_hash.encode("ascii")):
        return None
    return _agent(user)


def get_agent(session: Session, agent_id: int) -> Agent | None:
    """The active account ``agent_id``, if any."""
    user = session.get(AgentUser, agent_id)
    if user is None or not user.active:
        return None
    return _agent(user)


def touch(session: Session, agent_id: int, now: datetime) -> None:
    """Record that the agent's console is open (presence)."""
    session.execute(update(AgentUser).where(AgentUser.id == agent_id).values(last_seen_at=now))


def agents_online(session: Session, now: datetime, presence_s: float) -> int:
    """How many agents' consoles were heard from within ``presence_s`` seconds."""
    since = now - timedelta(seconds=presence_s)
    return int(
        session.execute(
            select(func.count(AgentUser.id)).where(
                AgentUser.active.is_(True), AgentUser.last_seen_at >= since
            )
        ).scalar_one()
    )


def _agent(user: AgentUser) -> Agent:
    role = user.role.value if isinstance(user.role, AgentRole) else str(user.role)
    return Agent(user.id, user.username, user.display_name, role)

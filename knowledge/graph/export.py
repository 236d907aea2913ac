"""Export the customer knowledge graph as a networkx ``MultiDiGraph`` for analytics.

Node ids are ``"<type>:<key>"`` (``customer:17``, ``order:1234``, ``aspect:delivery``); every
node has a ``type`` attribute plus a few descriptive ones. Edges carry ``relation``, ``weight``
and ``created_at`` (and the recorded properties). Structural edges come from the shop tables:
customer -PLACED-> order -CONTAINS-> product -IN_CATEGORY-> category, customer
-HAD_CONVERSATION-> conversation -HAS_MESSAGE-> message; conversational ones (COMPLAINED_ABOUT,
PRAISED, ASKED_ABOUT, MENTIONED, HAS_DEMAND) from ``graph_edges``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import (
    Category,
    Conversation,
    Customer,
    GraphEdge,
    Message,
    NodeType,
    Order,
    OrderItem,
    Product,
)

logger = logging.getLogger(__name__)

PLACED = "PLACED"
CONTAINS = "CONTAINS"
IN_CATEGORY = "IN_CATEGORY"
HAD_CONVERSATION = "HAD_CONVERSATION"
HAS_MESSAGE = "HAS_MESSAGE"


def node_id(node_type: str | NodeType, key: object) -> str:
    """The graph's id of a node: ``"<type>:<key>"``."""
    kind = node_type.value if isinstance(node_type, NodeType) else node_type
    return f"{kind}:{key}"


def export_graph(
    session: Session,
    customer_ids: Collection[int] | None = None,
    *,
    include_messages: bool = True,
) -> nx.MultiDiGraph:
    """The knowledge graph (all customers, or only ``customer_ids``) as a MultiDiGraph."""
    graph = nx.MultiDiGraph()
    _add_catalogue(graph, session)
    _add_customers_and_orders(graph, session, customer_ids)
    _add_conversations(graph, session, customer_ids, include_messages)
    _add_recorded_edges(graph, session, customer_ids, include_messages)
    logger.info(
        "Exported knowledge graph: %d nodes, %d edges",
        graph.number_of_nodes(),
        graph.number_of_edges(),
    )
    return graph


def _add_catalogue(graph: nx.MultiDiGraph, session: Session) -> None:
    """Categories, products and IN_CATEGORY edges."""
    for category in session.execute(select(Category)).scalars():
        graph.add_node(node_id(NodeType.CATEGORY, category.id), type="category", name=category.name)
    for product in session.execute(select(Product)).scalars():
        pid = node_id(NodeType.PRODUCT, product.id)
        graph.add_node(
            pid, type="product", name=product.name, sku=product.sku, price=float(product.price)
        )
        graph.add_edge(
            pid,
            node_id(NodeType.CATEGORY, product.category_id),
            key=IN_CATEGORY,
            relation=IN_CATEGORY,
            weight=1.0,
        )


def _add_customers_and_orders(
    graph: nx.MultiDiGraph, session: Session, customer_ids: Collection[int] | None
) -> None:
    """Customers, their orders, PLACED (weight = total) and CONTAINS (weight = quantity)."""
    customers = select(Customer)
    orders = select(Order)
    items = select(OrderItem.order_id, OrderItem.product_id, OrderItem.quantity).join(
        Order, OrderItem.order_id == Order.id
    )
    if customer_ids is not None:
        customers = customers.where(Customer.id.in_(customer_ids))
        orders = orders.where(Order.customer_id.in_(customer_ids))
        items = items.where(Order.customer_id.in_(customer_ids))
    for customer in session.execute(customers).scalars():
        graph.add_node(
            node_id(NodeType.CUSTOMER, customer.id),
            type="customer",
            name=customer.name,
            country=customer.country,
        )
    for order in session.execute(orders).scalars():
        oid = node_id(NodeType.ORDER, order.id)
        graph.add_node(
            oid,
            type="order",
            status=order.status.value,
            placed_at=order.placed_at,
            total=float(order.total),
        )
        graph.add_edge(
            node_id(NodeType.CUSTOMER, order.customer_id),
            oid,
            key=PLACED,
            relation=PLACED,
            weight=float(order.total),
            created_at=order.placed_at,
        )
    for order_id, product_id, quantity in session.execute(items):
        graph.add_edge(
            node_id(NodeType.ORDER, order_id),
            node_id(NodeType.PRODUCT, product_id),
            key=f"{CONTAINS}:{product_id}",
            relation=CONTAINS,
            weight=float(quantity),
        )


def _add_conversations(
    graph: nx.MultiDiGraph,
    session: Session,
    customer_ids: Collection[int] | None,
    include_messages: bool,
) -> None:
    """Conversations (HAD_CONVERSATION from their customer) and messages (HAS_MESSAGE)."""
    conversations = select(Conversation)
    if customer_ids is not None:
        conversations = conversations.where(Conversation.customer_id.in_(customer_ids))
    kept: list[int] = []
    for conversation in session.execute(conversations).scalars():
        cid = node_id(NodeType.CONVERSATION, conversation.id)
        kept.append(conversation.id)
        graph.add_node(
            cid,
            type="conversation",
            sender_id=conversation.sender_id,
            channel=conversation.channel,
            started_at=conversation.started_at,
            turns=conversation.turn_count,
        )
        if conversation.customer_id is not None:
            graph.add_edge(
                node_id(NodeType.CUSTOMER, conversation.customer_id),
                cid,
                key=HAD_CONVERSATION,
                relation=HAD_CONVERSATION,
                weight=float(conversation.turn_count),
                created_at=conversation.started_at,
            )
    if not include_messages or not kept:
        return
    for message in session.execute(
        select(Message).where(Message.conversation_id.in_(kept))
    ).scalars():
        mid = node_id(NodeType.MESSAGE, message.id)
        graph.add_node(
            mid,
            type="message",
            turn=message.turn,
            intent=message.intent,
            sentiment=message.sentiment_label,
            sentiment_score=message.sentiment_score,
            sent_at=message.sent_at,
        )
        graph.add_edge(
            node_id(NodeType.CONVERSATION, message.conversation_id),
            mid,
            key=HAS_MESSAGE,
            relation=HAS_MESSAGE,
            weight=1.0,
            created_at=message.sent_at,
        )


def _add_recorded_edges(
    graph: nx.MultiDiGraph,
    session: Session,
    customer_ids: Collection[int] | None,
    include_messages: bool,
) -> None:
    """The edges recorded from conversations (one graph edge per row, keyed by row id)."""
    query = select(GraphEdge).join(Message, GraphEdge.message_id == Message.id)
    if customer_ids is not None:
        query = query.where(Message.customer_id.in_(customer_ids))
    for edge in session.execute(query.order_by(GraphEdge.id)).scalars():
        if not include_messages and edge.source_type == NodeType.MESSAGE.value:
            continue
        source = node_id(edge.source_type, edge.source_key)
        target = node_id(edge.target_type, edge.target_key)
        for node, kind, key in (
            (source, edge.source_type, edge.source_key),
            (target, edge.target_type, edge.target_key),
        ):
            if node not in graph:
                attrs = {"name": key} if kind == NodeType.ASPECT.value else {}
                graph.add_node(node, type=kind, **attrs)
        graph.add_edge(
            source,
            target,
            key=f"edge:{edge.id}",
            relation=edge.relation,
            weight=edge.weight,
            created_at=edge.created_at,
            message_id=edge.message_id,
            **(edge.properties or {}),
        )

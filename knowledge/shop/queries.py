"""The shop's query and command layer that the bot's actions call (pure SQLAlchemy, no Rasa).

Every function takes an open session and a :class:`Requester` (who is asking) and either
returns plain views or raises a :class:`ShopError` subclass that the caller can explain in
words. Ownership is checked here, so no caller can reveal another customer's order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import List, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.models import (
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)
from knowledge.shop.errors import (
    AlreadyReturned,
    CustomerNotFound,
    EmailTaken,
    InvalidAddress,
    InvalidEmail,
    InvalidOrderId,
    ItemNotInOrder,
    LastItem,
    NoInvoice,
    NotCustomersOrder,
    NotReturnable,
    OrderNotCancellable,
    OrderNotChangeable,
    OrderNotFound,
    ShopError,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AlreadyReturned",
    "CustomerNotFound",
    "EmailTaken",
    "InvalidAddress",
    "InvalidEmail",
    "InvalidOrderId",
    "ItemNotInOrder",
    "LastItem",
    "NoInvoice",
    "NotCustomersOrder",
    "NotReturnable",
    "OrderNotCancellable",
    "OrderNotChangeable",
    "OrderNotFound",
    "ShopError",
]

MAX_ADDRESS_LENGTH = 200
MAX_REASON_LENGTH = 200
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
ORDER_ID_PATTERN = re.compile(r"\d{1,12}")
CHANGEABLE = (OrderStatus.PROCESSING,)
RETURNABLE = (OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.REFUNDED)


@dataclass(frozen=True)
class Requester:
    """Who asks: a logged-in customer (``customer_id``) or a guest who gave an ``email``."""

    customer_id: int | None = None
    email: str | None = None


@dataclass(frozen=True)
class Address:
    """A shipping address."""

    street: str
    city: str
    postcode: str
    country: str

    def __str__(self) -> str:
        return f"{self.street}, {self.city} {self.postcode}, {self.country}"


@dataclass(frozen=True)
class ItemView:
    """One line of an order."""

    id: int
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderView:
    """What a shopper may see of their own order."""

    id: int
    status: OrderStatus
    placed_at: datetime
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    eta: date | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    payment_status: PaymentStatus
    payment_method: str
    invoice_number: str | None
    total: Decimal
    address: Address
    items: Tuple[ItemView, ...]


@dataclass(frozen=True)
class RefundView:
    """One refund of an order."""

    amount: Decimal
    status: RefundStatus
    created_at: datetime
    issued_at: datetime | None
    item_name: str | None


@dataclass(frozen=True)
class ReturnView:
    """A return request just created."""

    id: int
    order_id: int
    item_name: str
    reason: str


def parse_order_id(text: object) -> int:
    """The order number in ``text`` (``"#1001"``, ``"order 1001"``, ``1001.0``); raise if none."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text)
    match = ORDER_ID_PATTERN.search(str(text or ""))
    if not match:
        raise InvalidOrderId(f"no order number in {text!r}")
    return int(match.group())


def normalise_email(text: object) -> str:
    """``text`` as a lower-case email address; raise :class:`InvalidEmail` if it is none."""
    email = str(text or "").strip().strip(".").lower()
    if len(email) > 255 or not EMAIL_PATTERN.match(email):
        raise InvalidEmail(f"not an email: {text!r}")
    return email


def parse_address(text: object, default_country: str) -> Address:
    """Parse ``"street, city, postcode[, country]"``; raise :class:`InvalidAddress` if unusable."""
    raw = " ".join(str(text or "").split())
    if not raw:
        raise InvalidAddress("empty address")
    if len(raw) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"address longer than {MAX_ADDRESS_LENGTH} characters")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) < 3:
        raise InvalidAddress("need street, city and postcode separated by commas")
    country = default_country
    if len(parts) >= 4 and re.fullmatch(r"[A-Za-z]{2}", parts[-1]):
        country = parts.pop().upper()
    street, city, postcode = ", ".join(parts[:-2]), parts[-2], parts[-1]
    if len(street) > 200 or len(city) > 100 or len(postcode) > 20:
        raise InvalidAddress("a part of the address is too long")
    return Address(street=street, city=city, postcode=postcode, country=country)


def get_customer(session: Session, customer_id: int) -> Customer:
    """The customer with ``customer_id``; raise :class:`CustomerNotFound`."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(f"customer {customer_id} not found")
    return customer


def customer_exists(session: Session, customer_id: int) -> bool:
    """True when a customer with ``customer_id`` exists."""
    return session.get(Customer, customer_id) is not None


def get_order(session: Session, order_id: int, requester: Requester) -> Order:
    """The order if ``requester`` may see it; raise OrderNotFound or NotCustomersOrder.

    A guest (email only) gets :class:`OrderNotFound` for a mismatch, so that guessing
    emails or numbers reveals nothing.
    """
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    if requester.customer_id is not None:
        if order.customer_id != requester.customer_id:
            raise NotCustomersOrder(order_id)
        return order
    if requester.email and order.customer.email.lower() == requester.email.lower():
        return order
    raise OrderNotFound(order_id)


def view_order(order: Order) -> OrderView:
    """A detached, read-only view of ``order``."""
    return OrderView(
        id=order.id,
        status=order.status,
        placed_at=order.placed_at,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_at=order.shipped_at,
        eta=order.eta,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        payment_status=order.payment_status,
        payment_method=order.payment_method,
        invoice_number=order.invoice_number,
        total=order.total,
        address=Address(
            order.shipping_street,
            order.shipping_city,
            order.shipping_postcode,
            order.shipping_country,
        ),
        items=tuple(ItemView(i.id, i.product.name, i.quantity, i.unit_price) for i in order.items),
    )


def order_summary(session: Session, order_id: int, requester: Requester) -> OrderView:
    """The requester's order ``order_id`` as a view."""
    return view_order(get_order(session, order_id, requester))


def _changeable(order: Order, error: type = OrderNotChangeable) -> None:
    """Raise ``error`` unless the order is still being processed."""
    if order.status not in CHANGEABLE:
        raise error(order.id, order.status)


def cancel_order(
    session: Session, order_id: int, requester: Requester, now: datetime
) -> Decimal | None:
    """Cancel a processing order; returns the refunded amount when it was paid, else None."""
    order = get_order(session, order_id, requester)
    _changeable(order, OrderNotCancellable)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    refunded: Decimal | None = None
    if order.payment_status is PaymentStatus.PAID:
        refunded = order.total
        session.add(
            Refund(order=order, amount=order.total, status=RefundStatus.PENDING, created_at=now)
        )
        order.payment_status = PaymentStatus.REFUNDED
    logger.info("Cancelled order %d (refund %s)", order.id, refunded)
    return refunded


def find_item(order: Order, product_name: object) -> OrderItem:
    """The order's item whose product name matches ``product_name`` (case-insensitive)."""
    wanted = " ".join(str(product_name or "").lower().split())
    if not wanted:
        raise ItemNotInOrder("no product named")
    exact = [i for i in order.items if i.product.name.lower() == wanted]
    partial = [
        i
        for i in order.items
        if wanted in i.product.name.lower() or i.product.name.lower() in wanted
    ]
    matches = exact or partial
    if len(matches) != 1:
        raise ItemNotInOrder(f"{product_name!r} matches {len(matches)} items of {order.id}")
    return matches[0]


def remove_item(
    session: Session, order_id: int, requester: Requester, product_name: object, now: datetime
) -> ItemView:
    """Remove one item from a processing order, adjusting the total (and refunding if paid)."""
    order = get_order(session, order_id, requester)
    _changeable(order)
    item = find_item(order, product_name)
    if len(order.items) == 1:
        raise LastItem(f"{item.product.name} is the only item of order {order.id}")
    removed = ItemView(item.id, item.product.name, item.quantity, item.unit_price)
    amount = item.unit_price * item.quantity
    order.items.remove(item)
    order.total = order.total - amount
    if order.payment_status is PaymentStatus.PAID:
        session.add(Refund(order=order, amount=amount, status=RefundStatus.PENDING, created_at=now))
    logger.info("Removed %s from order %d", removed.name, order.id)
    return removed


def change_shipping_address(
    session: Session, order_id: int, requester: Requester, text: object
) -> Address:
    """Set a processing order's shipping address from free text; returns the parsed address."""
    order = get_order(session, order_id, requester)
    _changeable(order)
    address = parse_address(text, order.shipping_country)
    order.shipping_street = address.street
    order.shipping_city = address.city
    order.shipping_postcode = address.postcode
    order.shipping_country = address.country
    logger.info("Changed shipping address of order %d", order.id)
    return address


def set_default_address(session: Session, customer_id: int, text: object) -> Address:
    """Set the customer's saved address (used for future orders) from free text."""
    customer = get_customer(session, customer_id)
    address = parse_address(text, customer.country)
    customer.street, customer.city = address.street, address.city
    customer.postcode, customer.country = address.postcode, address.country
    return address


def check_returnable(order: Order, now: datetime, window_days: int) -> None:
    """Raise :class:`NotReturnable` unless the order was delivered within ``window_days``."""
    if order.status not in RETURNABLE or order.delivered_at is None:
        raise NotReturnable(order.id, order.status, window_closed=False)
    if now - order.delivered_at > timedelta(days=window_days):
        raise NotReturnable(order.id, order.status, window_closed=True)


def returnable_order(
    session: Session, order_id: int, requester: Requester, now: datetime, window_days: int
) -> OrderView:
    """The order as a view if it can be returned now; raise otherwise."""
    order = get_order(session, order_id, requester)
    check_returnable(order, now, window_days)
    return view_order(order)


def request_return(
    session: Session,
    order_id: int,
    requester: Requester,
    product_name: object,
    reason: object,
    now: datetime,
    window_days: int,
) -> ReturnView:
    """Create a return request for one item of a delivered order inside the return window."""
    order = get_order(session, order_id, requester)
    check_returnable(order, now, window_days)
    item = find_item(order, product_name)
    if any(
        r.order_item_id == item.id and r.status is not ReturnStatus.REJECTED for r in order.returns
    ):
        raise AlreadyReturned(f"{item.product.name} of order {order.id} already returned")
    text = " ".join(str(reason or "").split())[:MAX_REASON_LENGTH] or "not given"
    request = ReturnRequest(
        order=order, item=item, reason=text, status=ReturnStatus.REQUESTED, created_at=now
    )
    session.add(request)
    session.flush()
    logger.info("Return %d requested for order %d", request.id, order.id)
    return ReturnView(request.id, order.id, item.product.name, text)


def refunds(session: Session, order_id: int, requester: Requester) -> List[RefundView]:
    """The refunds of the requester's order, oldest first (empty when there are none)."""
    order = get_order(session, order_id, requester)
    rows: Sequence[Refund] = (
        session.execute(
            select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at, Refund.id)
        )
        .scalars()
        .all()
    )
    return [
        RefundView(
            amount=r.amount,
            status=r.status,
            created_at=r.created_at,
            issued_at=r.issued_at,
            item_name=r.return_request.item.product.name if r.return_request else None,
        )
        for r in rows
    ]


def open_returns(session: Session, order_id: int, requester: Requester) -> List[ReturnView]:
    """Return requests of the order that have no refund yet."""
    order = get_order(session, order_id, requester)
    return [
        ReturnView(r.id, order.id, r.item.product.name, r.reason)
        for r in order.returns
        if r.refund is None and r.status is not ReturnStatus.REJECTED
    ]


def invoice_number(session: Session, order_id: int, requester: Requester) -> str:
    """The order's invoice number; raise :class:`NoInvoice` while it is unpaid."""
    order = get_order(session, order_id, requester)
    if not order.invoice_number or order.payment_status in (
        PaymentStatus.PENDING,
        PaymentStatus.FAILED,
    ):
        raise NoInvoice(f"order {order.id} has no invoice ({order.payment_status.value})")
    return order.invoice_number


def invoice_path(order_id: int, number: str) -> str:
    """Where the shop's account pages serve the invoice PDF."""
    return f"/account/orders/{order_id}/invoice/{number}.pdf"


def email_in_use(session: Session, email: str, exclude_customer_id: int | None = None) -> bool:
    """True when another account (not ``exclude_customer_id``) uses ``email``."""
    query = select(func.count(Customer.id)).where(func.lower(Customer.email) == email.lower())
    if exclude_customer_id is not None:
        query = query.where(Customer.id != exclude_customer_id)
    return bool(session.execute(query).scalar_one())


def change_email(session: Session, customer_id: int, new_email: object) -> str:
    """Change the customer's email after validating it; returns the normalised address."""
    email = normalise_email(new_email)
    customer = get_customer(session, customer_id)
    if email_in_use(session, email, exclude_customer_id=customer_id):
        raise EmailTaken(f"{email} belongs to another account")
    customer.email = email
    logger.info("Customer %d changed their email", customer_id)
    return email


def set_newsletter(session: Session, customer_id: int, subscribed: bool) -> bool:
    """Subscribe or unsubscribe; returns True when the flag changed."""
    customer = get_customer(session, customer_id)
    changed = bool(customer.newsletter) != subscribed
    customer.newsletter = subscribed
    return changed

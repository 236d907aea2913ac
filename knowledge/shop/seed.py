"""A deterministic demo shop: customers, products, orders in every state, returns and refunds.

The random choices depend only on the seed; dates are laid out relative to ``now`` so that
shipped orders always have an ETA in the future when the demo runs.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import List, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.models import (
    Category,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Product,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)

logger = logging.getLogger(__name__)

FIRST_ORDER_ID = 1001

CATALOGUE = {
    "Clothing": [
        ("Linen Summer Dress", 59),
        ("Slim Fit Jeans", 49),
        ("Merino Wool Sweater", 89),
        ("Cotton Crew T-Shirt", 19),
        ("Rain Jacket", 99),
        ("Chino Shorts", 35),
        ("Silk Blouse", 75),
        ("Hooded Sweatshirt", 45),
    ],
    "Shoes": [
        ("Trail Running Shoes", 120),
        ("Leather Ankle Boots", 140),
        ("Canvas Sneakers", 55),
        ("Suede Loafers", 95),
        ("Flip Flops", 15),
        ("Hiking Boots", 160),
        ("Ballet Flats", 50),
    ],
    "Electronics": [
        ("Wireless Earbuds", 79),
        ("Noise Cancelling Headphones", 249),
        ("Smart Watch", 199),
        ("Bluetooth Speaker", 65),
        ("USB-C Charger", 29),
        ("4K Action Camera", 299),
        ("E-Book Reader", 129),
        ("Portable Power Bank", 39),
    ],
    "Home & Kitchen": [
        ("Espresso Machine", 349),
        ("Cast Iron Skillet", 45),
        ("Chef Knife", 89),
        ("Cotton Bed Sheets", 69),
        ("Ceramic Dinner Set", 119),
        ("Air Fryer", 109),
        ("Scented Candle", 22),
        ("Memory Foam Pillow", 49),
    ],
    "Beauty": [
        ("Vitamin C Serum", 34),
        ("Hydrating Face Cream", 28),
        ("Hair Dryer", 89),
        ("Perfume Eau de Parfum", 95),
        ("Mineral Sunscreen", 19),
        ("Makeup Brush Set", 39),
    ],
    "Sports": [
        ("Yoga Mat", 35),
        ("Adjustable Dumbbells", 199),
        ("Road Bike Helmet", 79),
        ("Running Backpack", 59),
        ("Tennis Racket", 129),
        ("Water Bottle", 18),
        ("Resistance Bands", 25),
    ],
    "Toys": [
        ("Wooden Train Set", 49),
        ("Building Blocks 500 pcs", 39),
        ("Plush Teddy Bear", 25),
        ("Remote Control Car", 69),
        ("Jigsaw Puzzle 1000 pcs", 22),
    ],
    "Books": [
        ("Cookbook: Everyday Italian", 29),
        ("Mystery Novel", 15),
        ("Travel Guide: Japan", 25),
        ("Children's Picture Book", 12),
        ("Productivity Handbook", 20),
    ],
}

FIRST_NAMES = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "Lucas",
    "Mia",
    "Mason",
    "Amelia",
    "Ethan",
    "Harper",
    "Logan",
    "Evelyn",
    "James",
    "Abigail",
    "Aiden",
    "Emily",
    "Jackson",
    "Ella",
    "Sebastian",
    "Grace",
    "Mateo",
    "Chloe",
    "Henry",
    "Zoe",
    "Leo",
    "Nora",
    "Daniel",
    "Lily",
    "Samuel",
    "Hannah",
    "David",
    "Aria",
    "Joseph",
    "Layla",
    "Wei",
    "Mei",
    "Jun",
    "Yuki",
    "Priya",
    "Arjun",
    "Fatima",
    "Omar",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Chen",
    "Wang",
    "Zhang",
    "Kumar",
    "Patel",
]
CITIES = [
    ("London", "GB", "EC1A 1BB"),
    ("Manchester", "GB", "M1 1AE"),
    ("Berlin", "DE", "10115"),
    ("Munich", "DE", "80331"),
    ("Paris", "FR", "75001"),
    ("Lyon", "FR", "69001"),
    ("Madrid", "ES", "28001"),
    ("Amsterdam", "NL", "1012 AB"),
    ("New York", "US", "10001"),
    ("Austin", "US", "73301"),
    ("Seattle", "US", "98101"),
    ("Toronto", "CA", "M5H 2N2"),
]
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Mill Road",
    "Oak Street",
    "Elm Way",
]
CARRIERS = {
    "DHL": "JD01460000{:06d}",
    "UPS": "1Z999AA1{:08d}",
    "FedEx": "7946{:08d}",
    "USPS": "9400{:012d}",
}
PAYMENT_METHODS = ("visa", "mastercard", "amex", "paypal", "apple_pay", "bank_transfer")
DELIVERY_METHODS = (("standard", 5), ("express", 2), ("next_day", 1))
RETURN_REASONS = (
    "wrong size",
    "arrived damaged",
    "not as described",
    "changed my mind",
    "better price elsewhere",
    "late delivery",
)
STATUS_WEIGHTS = (
    (OrderStatus.PROCESSING, 15),
    (OrderStatus.SHIPPED, 20),
    (OrderStatus.DELIVERED, 40),
    (OrderStatus.CANCELLED, 8),
    (OrderStatus.RETURNED, 7),
    (OrderStatus.REFUNDED, 10),
)


def is_empty(session: Session) -> bool:
    """True when the shop has no customers yet."""
    return session.execute(select(func.count(Customer.id))).scalar_one() == 0


def seed(
    session: Session,
    *,
    seed_value: int,
    customers: int,
    products: int,
    now: datetime,
) -> None:
    """Fill an empty shop with deterministic demo data laid out relative to ``now``."""
    rng = random.Random(seed_value)
    catalogue = _create_catalogue(session, products)
    people = _create_customers(session, rng, customers, now)
    session.flush()
    order_id = FIRST_ORDER_ID
    for customer in people:
        for _ in range(rng.randint(1, 5)):
            _create_order(session, rng, order_id, customer, catalogue, now)
            order_id += 1
    logger.info(
        "Seeded %d customers, %d products, %d orders",
        len(people),
        len(catalogue),
        order_id - FIRST_ORDER_ID,
    )


def _create_catalogue(session: Session, limit: int) -> List[Product]:
    """Categories and up to ``limit`` products, round-robin across categories."""
    products: List[Product] = []
    categories = {name: Category(name=name) for name in CATALOGUE}
    session.add_all(categories.values())
    columns = [list(items) for items in CATALOGUE.values()]
    names = list(CATALOGUE)
    row = 0
    while len(products) < limit and any(row < len(c) for c in columns):
        for name, items in zip(names, columns, strict=True):
            if row < len(items) and len(products) < limit:
                title, price = items[row]
                products.append(
                    Product(
                        sku=f"SKU-{len(products) + 1:05d}",
                        name=title,
                        category=categories[name],
                        price=Decimal(price),
                        description=f"{title} from our {name.lower()} range.",
                        in_stock=(len(products) * 7) % 40,
                    )
                )
        row += 1
    session.add_all(products)
    return products


def _create_customers(
    session: Session, rng: random.Random, count: int, now: datetime
) -> List[Customer]:
    """``count`` customers with unique emails."""
    people = []
    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country, postcode = rng.choice(CITIES)
        people.append(
            Customer(
                id=number,
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}{number}@example.com",
                phone=f"+44 7700 9{number:05d}",
                street=f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
                city=city,
                postcode=postcode,
                country=country,
                newsletter=rng.random() < 0.4,
                created_at=now - timedelta(days=rng.randint(60, 900)),
            )
        )
    session.add_all(people)
    return people


def _create_order(
    session: Session,
    rng: random.Random,
    order_id: int,
    customer: Customer,
    catalogue: Sequence[Product],
    now: datetime,
) -> None:
    """One order of ``customer`` in a random state, with items, returns and refunds as fit."""
    status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
    method, transit_days = rng.choice(DELIVERY_METHODS)
    placed_days_ago = {
        OrderStatus.PROCESSING: rng.randint(0, 1),
        OrderStatus.SHIPPED: rng.randint(1, 3),
    }.get(status, rng.randint(8, 120))
    placed_at = now - timedelta(days=placed_days_ago, hours=rng.randint(0, 20))
    order = Order(
        id=order_id,
        customer=customer,
        status=status,
        placed_at=placed_at,
        shipping_street=customer.street,
        shipping_city=customer.city,
        shipping_postcode=customer.postcode,
        shipping_country=customer.country,
        delivery_method=method,
        payment_method=rng.choice(PAYMENT_METHODS),
        payment_status=PaymentStatus.PAID,
        total=Decimal(0),
    )
    for product in rng.sample(list(catalogue), rng.randint(1, 3)):
        order.items.append(
            OrderItem(product=product, quantity=rng.randint(1, 2), unit_price=product.price)
        )
    order.total = sum((i.unit_price * i.quantity for i in order.items), Decimal(0))
    if status is OrderStatus.PROCESSING and rng.random() < 0.25:
        order.payment_status = PaymentStatus.FAILED if rng.random() < 0.5 else PaymentStatus.PENDING
    if order.payment_status is PaymentStatus.PAID:
        order.invoice_number = f"INV-{placed_at.year}-{order_id:06d}"
    shipped_at = placed_at + timedelta(days=1)
    if status not in (OrderStatus.PROCESSING, OrderStatus.CANCELLED):
        carrier = rng.choice(list(CARRIERS))
        order.carrier = carrier
        order.tracking_number = CARRIERS[carrier].format(rng.randint(0, 10**6 - 1))
        order.shipped_at = shipped_at
        order.eta = (shipped_at + timedelta(days=transit_days)).date()
        if status is OrderStatus.SHIPPED and order.eta <= now.date():
            order.eta = now.date() + timedelta(days=rng.randint(1, transit_days + 1))
    if status in (OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.REFUNDED):
        order.delivered_at = shipped_at + timedelta(days=transit_days)
    if status is OrderStatus.CANCELLED:
        order.cancelled_at = placed_at + timedelta(hours=rng.randint(1, 20))
        if order.payment_status is PaymentStatus.PAID:
            order.payment_status = PaymentStatus.REFUNDED
            session.add(_refund(order, order.total, placed_at + timedelta(days=1), issued=True))
    session.add(order)
    if status in (OrderStatus.RETURNED, OrderStatus.REFUNDED):
        _return_item(session, rng, order, refunded=status is OrderStatus.REFUNDED)
    elif status is OrderStatus.DELIVERED and rng.random() < 0.1:
        _open_return(session, rng, order, now)


def _refund(order: Order, amount: Decimal, when: datetime, *, issued: bool) -> Refund:
    """A refund of ``amount`` for ``order``."""
    return Refund(
        order=order,
        amount=amount,
        status=RefundStatus.ISSUED if issued else RefundStatus.PENDING,
        created_at=when,
        issued_at=when + timedelta(days=3) if issued else None,
    )


def _return_item(session: Session, rng: random.Random, order: Order, *, refunded: bool) -> None:
    """A received return of one item, with its refund pending or issued."""
    item = rng.choice(order.items)
    assert order.delivered_at is not None, "only delivered orders are returned"
    when = order.delivered_at + timedelta(days=rng.randint(2, 10))
    request = ReturnRequest(
        order=order,
        item=item,
        reason=rng.choice(RETURN_REASONS),
        status=ReturnStatus.REFUNDED if refunded else ReturnStatus.RECEIVED,
        created_at=when,
    )
    refund = _refund(
        order, item.unit_price * item.quantity, when + timedelta(days=4), issued=refunded
    )
    refund.return_request = request
    if refunded:
        order.payment_status = PaymentStatus.REFUNDED
    session.add_all([request, refund])


def _open_return(session: Session, rng: random.Random, order: Order, now: datetime) -> None:
    """A return the shopper has requested but not yet sent back."""
    session.add(
        ReturnRequest(
            order=order,
            item=rng.choice(order.items),
            reason=rng.choice(RETURN_REASONS),
            status=ReturnStatus.REQUESTED,
            created_at=now - timedelta(days=rng.randint(0, 5)),
        )
    )

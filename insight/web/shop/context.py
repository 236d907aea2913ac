"""What the demo shop page shows: the signed-in customer, a few products, the widget's settings.

Plain data read from the shop database in one session, so the view and its template never
touch the ORM. :func:`widget_attributes` is the one place where the page hands the shopper's
identity to the chat widget, as a signed token (knowledge/shop/identity_token.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Dict, List, Mapping
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.web.shop.text import HTML_LANG, LANGUAGE_NAMES, page_text
from knowledge.language import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from knowledge.models import Customer, Order, Product
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from knowledge.shop.queries import get_customer

logger = logging.getLogger(__name__)

# How many of the customer's latest orders the page lists (so demo users know what to ask).
RECENT_ORDERS = 5


@dataclass(frozen=True)
class ProductCard:
    """One product tile of the shop page."""

    name: str
    category: str
    price: Decimal
    description: str
    in_stock: bool


@dataclass(frozen=True)
class OrderLine:
    """One of the signed-in customer's recent orders."""

    number: int
    placed_on: date
    total: Decimal


@dataclass(frozen=True)
class Shopper:
    """The signed-in customer as the page greets them."""

    id: int
    name: str
    orders: List[OrderLine]


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the page's language switch."""

    code: str
    name: str
    html_lang: str
    href: str
    current: bool


@dataclass(frozen=True)
class ShopPage:
    """Everything the shop page template renders."""

    shop_name: str
    currency: str
    shopper: Shopper | None
    products: List[ProductCard]
    widget: Dict[str, str]
    language: str = DEFAULT_LANGUAGE
    html_lang: str = HTML_LANG[DEFAULT_LANGUAGE]
    text: Mapping[str, str] = field(default_factory=lambda: page_text(DEFAULT_LANGUAGE))
    languages: List[LanguageLink] = field(default_factory=list)


def load_products(session: Session, limit: int) -> List[ProductCard]:
    """The first ``limit`` products in stock, by id (stable across reloads of the seed)."""
    rows = session.execute(
        select(Product).where(Product.in_stock > 0).order_by(Product.id).limit(limit)
    ).scalars()
    return [
        ProductCard(
            name=p.name,
            category=p.category.name,
            price=p.price,
            description=p.description,
            in_stock=p.in_stock > 0,
        )
        for p in rows
    ]


def load_shopper(session: Session, customer_id: int) -> Shopper:
    """The customer and their latest orders; raises ``CustomerNotFound`` for an unknown id."""
    customer: Customer = get_customer(session, customer_id)
    orders = session.execute(
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc())
        .limit(RECENT_ORDERS)
    ).scalars()
    return Shopper(
        id=customer.id,
        name=customer.name,
        orders=[OrderLine(o.id, o.placed_at.date(), o.total) for o in orders],
    )


def widget_attributes(
    settings: Settings, shopper: Shopper | None, language: str = DEFAULT_LANGUAGE
) -> Dict[str, str]:
    """The chat widget's settings as ``data-*`` attribute values of its script tag.

    The only place the page passes the shopper's identity to the widget: ``customer-id`` names
    the shopper (the widget keys its memory by it) and ``customer-token`` proves it; the widget
    sends the token as the ``customer_id`` channel metadata, and the bot trusts nothing else.
    ``lang`` is the widget's UI language, which it also sends as the ``language`` metadata.
    """
    attributes = {
        "socket-url": settings.widget_socket_url or settings.rasa_url,
        "title": page_text(language)["widget_title"].format(shop=settings.shop_name),
        "lang": language,
    }
    if shopper is not None:
        attributes["customer-id"] = str(shopper.id)
        attributes["customer-token"] = sign_customer_id(shopper.id, settings)
    return attributes


def language_links(language: str, customer: str | None) -> List[LanguageLink]:
    """The language switch: this page in every served language, keeping ``?customer=``."""
    links = []
    for code in SUPPORTED_LANGUAGES:
        query = {"customer": customer} if customer else {}
        query["lang"] = code
        links.append(
            LanguageLink(
                code,
                LANGUAGE_NAMES[code],
                HTML_LANG[code],
                "/?" + urlencode(query),
                code == language,
            )
        )
    return links


def build_shop_page(
    session: Session,
    settings: Settings,
    customer_id: int | None,
    language: str = DEFAULT_LANGUAGE,
    customer_param: str | None = None,
) -> ShopPage:
    """The page for ``customer_id`` signed in (a guest when None), in ``language``.

    ``customer_param`` is the ``?customer=`` value the page was asked with, kept by the links
    of the language switch.
    """
    shopper = load_shopper(session, customer_id) if customer_id is not None else None
    return ShopPage(
        shop_name=settings.shop_name,
        currency=settings.currency_symbol,
        shopper=shopper,
        products=load_products(session, settings.shop_page_products),
        widget=widget_attributes(settings, shopper, language),
        language=language,
        html_lang=HTML_LANG[language],
        text=page_text(language),
        languages=language_links(language, customer_param),
    )

"""Typed domain errors of the shop's query and command layer (:mod:`knowledge.shop.queries`)."""

from __future__ import annotations

import logging

from knowledge.models import OrderStatus

logger = logging.getLogger(__name__)


class ShopError(Exception):
    """A request the shop cannot fulfil; the message is safe to log, not meant for users."""


class InvalidOrderId(ShopError):  # noqa: N818 - names from the domain
    """The text holds no order number."""


class OrderNotFound(ShopError):  # noqa: N818 - names from the domain
    """No order with that number (or, for a guest, none for that email)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = order_id


class NotCustomersOrder(ShopError):  # noqa: N818 - names from the domain
    """The order belongs to somebody else."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} belongs to another customer")
        self.order_id = order_id


class OrderNotChangeable(ShopError):  # noqa: N818 - names from the domain
    """The order has left the warehouse (or ended), so it can no longer be changed."""

    def __init__(self, order_id: int, status: OrderStatus) -> None:
        super().__init__(f"order {order_id} is {status.value}")
        self.order_id = order_id
        self.status = status


class OrderNotCancellable(OrderNotChangeable):
    """Only orders still being processed can be cancelled."""


class NotReturnable(ShopError):  # noqa: N818 - names from the domain
    """The order is not delivered yet, or the return window has closed."""

    def __init__(self, order_id: int, status: OrderStatus, window_closed: bool) -> None:
        super().__init__(f"order {order_id} ({status.value}) not returnable")
        self.order_id = order_id
        self.status = status
        self.window_closed = window_closed


class ItemNotInOrder(ShopError):  # noqa: N818 - names from the domain
    """The product named is not an item of the order."""


class AlreadyReturned(ShopError):  # noqa: N818 - names from the domain
    """A return for that item exists already."""


class LastItem(ShopError):  # noqa: N818 - names from the domain
    """Removing the order's only item would empty it; cancel instead."""


class NoInvoice(ShopError):  # noqa: N818 - names from the domain
    """The order is not paid, so there is no invoice yet."""


class InvalidAddress(ShopError):  # noqa: N818 - names from the domain
    """The address text is empty, too long or missing parts."""


class InvalidEmail(ShopError):  # noqa: N818 - names from the domain
    """Not an email address."""


class EmailTaken(ShopError):  # noqa: N818 - names from the domain
    """Another account uses that email address."""


class CustomerNotFound(ShopError):  # noqa: N818 - names from the domain
    """No customer with that id."""

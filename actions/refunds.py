"""Refund status of an order: pending or issued, amount and dates."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.localise import format_day, format_money, in_brackets, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order, RefundStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class ValidateRefundStatusForm(OrderFormValidator):
    """Which order's refund to look up."""

    def name(self) -> str:
        """Validator of ``refund_status_form``."""
        return "validate_refund_status_form"


class ActionTrackRefund(OrderAction):
    """Tell the shopper where their refund is."""

    reset_slots = ("order_eligible",)

    def name(self) -> str:
        """Submit action of ``refund_status_form``."""
        return "action_track_refund"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """One line per refund, plus returns still on their way; or say there is none."""
        language = shopper_language(tracker)
        refunds = shop.refunds(session, order.id, requester)
        for refund in refunds:
            item_part = in_brackets(refund.item_name, language)
            if refund.status is RefundStatus.ISSUED:
                dispatcher.utter_message(
                    response="utter_refund_issued",
                    order_id=order.id,
                    amount=format_money(refund.amount, language),
                    item_part=item_part,
                    issued_on=format_day(refund.issued_at, language),
                )
            else:
                dispatcher.utter_message(
                    response="utter_refund_pending",
                    order_id=order.id,
                    amount=format_money(refund.amount, language),
                    item_part=item_part,
                    created_on=format_day(refund.created_at, language),
                )
        waiting = shop.open_returns(session, order.id, requester)
        for request in waiting:
            dispatcher.utter_message(
                response="utter_refund_return_open", order_id=order.id, item=request.item_name
            )
        if not refunds and not waiting:
            dispatcher.utter_message(response="utter_no_refund", order_id=order.id)
        return None

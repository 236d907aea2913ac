"""Refund status of an order: pending or issued, amount and dates."""

from __future__ import annotations

import logging

from actions.localise import format_day, format_money, in_brackets
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderFormAction, OrderTurn
from knowledge.models import RefundStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class ValidateRefundStatusForm(OrderFormValidator):
    """Which order's refund to look up."""

    def name(self) -> str:
        """Validator of ``refund_status_form``."""
        return "validate_refund_status_form"


class ActionTrackRefund(OrderFormAction):
    """Tell the shopper where their refund is."""

    def name(self) -> str:
        """Submit action of ``refund_status_form``."""
        return "action_track_refund"

    def answer(self, turn: OrderTurn) -> None:
        """One line per refund, plus returns still on their way; or say there is none."""
        language = turn.language
        refunds = shop.refunds(turn.session, turn.order.id, turn.requester)
        for refund in refunds:
            amount = format_money(refund.amount, language)
            item_part = in_brackets(refund.item_name, language)
            if refund.status is RefundStatus.ISSUED:
                issued_on = format_day(refund.issued_at, language)
                turn.say(
                    "utter_refund_issued", amount=amount, item_part=item_part, issued_on=issued_on
                )
            else:
                created_on = format_day(refund.created_at, language)
                turn.say(
                    "utter_refund_pending",
                    amount=amount,
                    item_part=item_part,
                    created_on=created_on,
                )
        waiting = shop.open_returns(turn.session, turn.order.id, turn.requester)
        for request in waiting:
            turn.say("utter_refund_return_open", item=request.item_name)
        if not refunds and not waiting:
            turn.say("utter_no_refund")

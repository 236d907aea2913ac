"""Newsletter subscription: subscribe or unsubscribe sets ``Customer.newsletter``."""

from __future__ import annotations

import logging
import re
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.shop_action import AccountAction
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)

UNSUBSCRIBE = re.compile(
    r"\b(unsubscrib\w*|opt(?:ing)?[ -]?out|stop|cancel\w*|remove|no longer|don'?t want|"
    r"do not want|turn off|leave|end)\b",
    re.IGNORECASE,
)
# The same in Chinese ("退订", "取消订阅", "不想再收到", "别再发了"); no word boundaries in Chinese.
UNSUBSCRIBE_ZH = re.compile(
    r"退订|取消|停止|关闭|关掉|退出|别再|不再|"
    r"不(?:想|要|用|需要)(?:再)?(?:收|接收|订|订阅|发|要了|看)"
)


def wants_unsubscribe(text: str) -> bool:
    """True when the message asks to stop the newsletter rather than to get it."""
    text = text or ""
    return bool(UNSUBSCRIBE.search(text) or UNSUBSCRIBE_ZH.search(text))


class ActionNewsletter(AccountAction):
    """Subscribe or unsubscribe the signed-in customer, as their message asks."""

    sign_in_response = "utter_newsletter_sign_in"

    def name(self) -> str:
        """Answers ``newsletter_subscription``."""
        return "action_newsletter"

    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Set the newsletter flag and say what changed."""
        subscribe = not wants_unsubscribe((tracker.latest_message or {}).get("text") or "")
        changed = shop.set_newsletter(session, self.customer_id(tracker), subscribe)
        if subscribe:
            response = "utter_subscribed" if changed else "utter_already_subscribed"
        else:
            response = "utter_unsubscribed" if changed else "utter_already_unsubscribed"
        dispatcher.utter_message(response=response)
        return []

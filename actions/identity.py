"""Who the shopper is: the signed-in customer from a signed channel claim, or a guest's email.

The shop page sends ``{"customer_id": <token>}`` as message metadata (REST: the ``metadata``
field of the POST body; socket.io: ``customData``), where the token comes from
:func:`knowledge.shop.identity_token.sign_customer_id`. Rasa stores the first message's metadata in
the ``session_started_metadata`` slot; later messages carry it in ``latest_message``. A claim
that is not a valid, unexpired token (a bare number, another key's signature, a changed id) is
refused: the shopper is a guest and is told once per session that their sign-in could not be
verified, so a forged claim never shows another customer's orders.

The shop page also sends its page language (``{"language": "zh-CN"}``); session start sets the
``language`` slot from it, so the first answer is already in the shopper's language.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, BotUttered, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.localise import shopper_language
from knowledge.language import LANGUAGE_SLOT, SUPPORTED_LANGUAGES, normalise_language
from knowledge.shop import queries as shop
from knowledge.shop.identity_token import Verified, verify_customer_token

logger = logging.getLogger(__name__)

CUSTOMER_ID_SLOT = "customer_id"
EMAIL_SLOT = "email"
SESSION_METADATA_SLOT = "session_started_metadata"
METADATA_KEY = "customer_id"
#: Metadata key of the shop page's language (``"zh"``, ``"zh-CN"``, ``"en-GB"``).
LANGUAGE_METADATA_KEY = "language"
# Told to a shopper whose customer-id claim was refused (plain text: no domain change needed).
SIGN_IN_NOT_VERIFIED = (
    "I couldn't verify your sign-in, so I'll help you as a guest for now. "
    "Please reload the shop page or sign in again to see your account."
)
SIGN_IN_NOT_VERIFIED_ZH = (
    "抱歉，暂时无法验证您的登录状态，我先以游客身份为您服务。"
    "请刷新商城页面或重新登录后查看您的账户。"
)
#: :data:`SIGN_IN_NOT_VERIFIED` in each supported language.
SIGN_IN_NOT_VERIFIED_TEXTS = {"en": SIGN_IN_NOT_VERIFIED, "zh": SIGN_IN_NOT_VERIFIED_ZH}


def sign_in_not_verified(language: str) -> str:
    """The "couldn't verify your sign-in" notice in ``language`` (English if unsupported)."""
    return SIGN_IN_NOT_VERIFIED_TEXTS.get(language, SIGN_IN_NOT_VERIFIED)


def metadata_language(metadata: Any) -> str | None:
    """The supported language a metadata dict names (``"zh-CN"`` -> ``"zh"``), else None."""
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(LANGUAGE_METADATA_KEY)
    if not isinstance(value, str) or not value.strip():
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return normalise_language(value) if primary in SUPPORTED_LANGUAGES else None


def parse_customer_id(value: Any) -> int | None:
    """A positive integer customer id from a metadata value, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def verify_claim(metadata: Any) -> Verified | None:
    """The outcome of the customer-id claim in a metadata dict; None when it makes none."""
    if not isinstance(metadata, dict) or metadata.get(METADATA_KEY) in (None, ""):
        return None
    verified = verify_customer_token(metadata[METADATA_KEY], deps.settings())
    if verified.problem is not None:
        logger.info("Refused a customer-id claim: %s", verified.problem.value)
    return verified


def _latest_metadata(tracker: Tracker) -> Any:
    return (tracker.latest_message or {}).get("metadata")


def customer_id_from(tracker: Tracker) -> int | None:
    """The signed-in customer's id: the latest message's claim, the slot, the session's claim.

    A claim on the latest message decides on its own (a refused one makes the shopper a guest);
    without one, the ``customer_id`` slot that session start set from a verified claim counts.
    """
    latest = verify_claim(_latest_metadata(tracker))
    if latest is not None:
        return latest.customer_id
    slot = tracker.get_slot(CUSTOMER_ID_SLOT)
    if slot is not None:
        return parse_customer_id(slot)
    session = verify_claim(tracker.get_slot(SESSION_METADATA_SLOT))
    return session.customer_id if session is not None else None


def refused_claim(tracker: Tracker) -> bool:
    """True when the latest message (or, before any, the session) makes a refused claim."""
    verified = verify_claim(_latest_metadata(tracker))
    if verified is None:
        verified = verify_claim(tracker.get_slot(SESSION_METADATA_SLOT))
    return verified is not None and verified.customer_id is None


def _told_this_session(tracker: Tracker) -> bool:
    """Whether the bot already said :data:`SIGN_IN_NOT_VERIFIED` (in any language) this session.

    Only events after ``session_started`` count: that is all a form's validation action gets
    (Rasa's temporary tracker starts there), so session start tells it after that event.
    """
    notices = set(SIGN_IN_NOT_VERIFIED_TEXTS.values())
    for event in reversed(tracker.events or []):
        if event.get("event") == "session_started":
            return False
        if event.get("event") == "bot" and event.get("text") in notices:
            return True
    return False


def explain_refused_claim(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Tell the shopper, once per session and in their language, that sign-in failed."""
    if not refused_claim(tracker) or _told_this_session(tracker):
        return
    notices = set(SIGN_IN_NOT_VERIFIED_TEXTS.values())
    if all(message.get("text") not in notices for message in dispatcher.messages):
        dispatcher.utter_message(text=sign_in_not_verified(shopper_language(tracker)))


def requester_from(tracker: Tracker) -> shop.Requester | None:
    """Who asks: the logged-in customer, else a guest with the email they gave, else None."""
    customer_id = customer_id_from(tracker)
    if customer_id is not None:
        return shop.Requester(customer_id=customer_id)
    email = tracker.get_slot(EMAIL_SLOT)
    if email:
        return shop.Requester(email=str(email))
    return None


def is_signed_in(tracker: Tracker) -> bool:
    """True when the channel told us which customer is chatting."""
    return customer_id_from(tracker) is not None


class ActionSessionStart(Action):
    """Start a session; remember the logged-in customer and the page language from metadata."""

    def name(self) -> str:
        """Rasa's session start action, overridden."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Emit SessionStarted, carry over slots, set ``customer_id`` from a verified claim
        and ``language`` from the page language (a supported one; messages override it)."""
        events: List[EventType] = [SessionStarted()]
        carried = self._carried_slots(tracker, domain)
        metadata = tracker.get_slot(SESSION_METADATA_SLOT)
        if metadata is not None:
            carried[SESSION_METADATA_SLOT] = metadata
        language = metadata_language(metadata)
        if language is not None:
            carried[LANGUAGE_SLOT] = language
        verified = verify_claim(metadata)
        customer_id = verified.customer_id if verified is not None else None
        if verified is not None:
            # A new claim replaces whatever the previous session carried over.
            carried.pop(CUSTOMER_ID_SLOT, None)
        notice: List[EventType] = []
        if verified is not None and customer_id is None:
            # As an event after SessionStarted, not a dispatcher message: Rasa logs an action's
            # messages *before* its events, where the session's later actions would not see it
            # (and repeat it). Rasa sends a returned BotUttered to the channel all the same.
            text = sign_in_not_verified(normalise_language(carried.get(LANGUAGE_SLOT)))
            notice.append(BotUttered(text=text))
        elif customer_id is not None and self._exists(customer_id):
            carried[CUSTOMER_ID_SLOT] = customer_id
        elif customer_id is not None:
            logger.warning("Metadata names unknown customer %s; treating as guest", customer_id)
        events.extend(SlotSet(k, v) for k, v in carried.items())
        events.extend(notice)
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def _carried_slots(tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        """Slots to keep from the previous session when the domain asks for it."""
        config = domain.get("session_config", {})
        if not config.get("carry_over_slots_to_new_session", True):
            return {}
        skip = {SESSION_METADATA_SLOT, "requested_slot"}
        return {
            name: value
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in skip
        }

    @staticmethod
    def _exists(customer_id: int) -> bool:
        """Whether the customer exists (a database error counts as unknown, and is logged)."""
        try:
            with deps.session_factory()() as session:
                return shop.customer_exists(session, customer_id)
        except SQLAlchemyError:
            logger.exception("Could not look up customer %s at session start", customer_id)
            return False

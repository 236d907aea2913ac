"""Stopping a form: "never mind" ends the flow with a short confirmation, never a dead end.

While a form waits for an answer, a message that only says stop ("no", "never mind", "forget
it", "算了", "不用了") ends the form, whatever slot it was asking for and whatever intent the NLU
gave it: free-text answers (a return reason, an item, an address) would otherwise take "no" as
the answer, and the order-number question would answer "that doesn't look like an order number".
Messages that say more than stop ("no, they don't fit") stay answers. A ``deny`` that is not a
bare stop phrase makes the form reject and the ``deny`` rule runs ``action_stop_flow``, which
ends the form the same way (:func:`stop_form_events`).

:class:`StoppableFormValidator` is the base of every form validator here: it checks the answer
before validating it, and on a stop it deactivates the form, clears the flow's slots (the
shopper's identity, order number and email, stays) and ends the turn with ``action_listen`` so
that the form's submit rule (which matches any deactivation) does not run the flow's action.
"""

from __future__ import annotations

import abc
import logging
import re
from typing import Any, List, Mapping

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict

from actions.shop_action import ELIGIBLE_SLOT

logger = logging.getLogger(__name__)

#: Response confirming that the form was stopped (English and Chinese variations).
STOPPED_RESPONSE = "utter_flow_stopped"
#: Slots a stopped flow keeps: who the shopper is and the order the conversation is about.
KEPT_SLOTS = frozenset({"email", "order_id"})
#: Slots the order flows set besides their required slots.
EXTRA_RESET_SLOTS = (ELIGIBLE_SLOT,)
ACTION_LISTEN = "action_listen"

_EN_STOP = (
    r"no+|nope|nah|no no|no thanks|no thank you|no need|not now|never ?mind|nvm|"
    r"forget (it|about it|that|this)|stop|stop (it|this|that|asking|here)|please stop|"
    r"(i('ve| have)? )?changed my mind|don'?t bother|leave it|skip it|quit|exit|abort|"
    r"i don'?t want to (anymore|continue|go on)|i don'?t want (it|this|that|to do (it|this|that))"
    r" any ?more|let'?s (stop|leave it|forget it)|(i'?ll|let me) do it later"
)
_EN_PREFIX = r"((oh|ah|um+|hm+|actually|ok|okay|well|sorry|hmm)[\s,]+)*"
_EN_SUFFIX = r"([\s,]+(please|thanks|thank you|then|for now|after all))*"
EN_STOP = re.compile(rf"^{_EN_PREFIX}({_EN_STOP}){_EN_SUFFIX}$", re.IGNORECASE)

# Not "取消" or "不要了": in the cancel flow and as a return reason they are answers.
_ZH_STOP = (
    r"算了|不用了|不了|不退了|不用退了|不想退了|不退货了|不换了|不改了|不查了|不取消了|"
    r"没事了|不需要了|停|停止|别问了|不要问了|(我)?改主意了|(先|暂时)不用了|先这样|不办了|"
    r"等会再说|以后再说"
)
_ZH_SUFFIX = r"(吧|啦|了|呢|哈)*([，,、]?谢谢(你)?)?"
ZH_STOP = re.compile(rf"^(那|哦|嗯|呃|还是|那就)*({_ZH_STOP}){_ZH_SUFFIX}$")
_TRIM = re.compile(r"[\s.!?。！？~～,，…]+$")


def is_stop_request(text: object) -> bool:
    """True when ``text`` only says stop (English or Chinese), with nothing else in it."""
    words = " ".join(str(text or "").split())
    words = _TRIM.sub("", words).strip()
    if not words or len(words) > 60:
        return False
    return bool(EN_STOP.match(words) or ZH_STOP.match(words.replace(" ", "")))


def form_slots(form_name: str, domain: Mapping[str, Any]) -> List[str]:
    """The required slots of ``form_name`` in ``domain`` (empty for an unknown form)."""
    forms = domain.get("forms") or {}
    return list((forms.get(form_name) or {}).get("required_slots") or [])


def stop_form_events(form_name: str | None, domain: Mapping[str, Any]) -> List[EventType]:
    """Events that end ``form_name``: its slots cleared (identity kept), loop and question off."""
    if not form_name:
        return []
    known = set((domain.get("slots") or {}).keys())
    cleared = [s for s in form_slots(form_name, domain) if s not in KEPT_SLOTS]
    cleared += [s for s in EXTRA_RESET_SLOTS if s in known and s not in cleared]
    return [
        *(SlotSet(slot, None) for slot in cleared),
        ActiveLoop(None),
        SlotSet(REQUESTED_SLOT, None),
    ]


def _answers_yes_no_question(tracker: Tracker, slot: str, domain: Mapping[str, Any]) -> bool:
    """True when ``slot`` is a yes/no slot the NLU already filled from this message ("no")."""
    mappings = ((domain.get("slots") or {}).get(slot) or {}).get("mappings") or []
    yes_no = bool(mappings) and all(m.get("type") == "from_intent" for m in mappings)
    return yes_no and tracker.slots_to_validate().get(slot) is not None


def _answering_now(tracker: Tracker) -> bool:
    """True when no action but the form itself ran since the latest user message.

    False when the form asks again after an interruption (the greeting was answered first).
    The validator sees the form's own action as the latest one, not ``action_listen``.
    """
    form = tracker.active_loop_name
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in (form, ACTION_LISTEN):
            return False
    return False


def wants_to_stop(tracker: Tracker, domain: Mapping[str, Any]) -> bool:
    """True when the latest message answers the form's question with a bare stop phrase."""
    requested = tracker.get_slot(REQUESTED_SLOT)
    if not requested or not _answering_now(tracker):
        # Activation, or the form asking again after an interruption: nothing was answered.
        return False
    if not is_stop_request((tracker.latest_message or {}).get("text")):
        return False
    # "no" to "cancel order 1001?" is an answer: the flow's action says nothing changed.
    return not _answers_yes_no_question(tracker, str(requested), domain)


class StoppableFormValidator(FormValidationAction, abc.ABC):
    """A form validator that ends its form when the shopper's answer only says stop."""

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form name>``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Stop the form on a bare stop phrase; otherwise validate as usual."""
        if not wants_to_stop(tracker, domain):
            return await super().run(dispatcher, tracker, domain)
        logger.info(
            "%s: the shopper stopped at %s",
            self.form_name(),
            tracker.get_slot(REQUESTED_SLOT),
        )
        dispatcher.utter_message(response=STOPPED_RESPONSE)
        # The turn ends here: the submit rule would otherwise run the flow's action.
        return [*stop_form_events(self.form_name(), domain), FollowupAction(ACTION_LISTEN)]

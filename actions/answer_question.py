"""Informational questions answered from the FAQ answer templates (FAISS retrieval).

The best template is sent (filled with the shop's facts) when its cosine score clears the
threshold of the index's encoder (``SHOP_ANSWER_THRESHOLD``, or the one tuned for the
multilingual encoder); when a different template scores within the margin of it the shopper
picks one of the two (buttons whose payload ``/product_question{"faq_id": "<id>"}`` answers the
chosen template directly, plus a button that starts the matching flow where a template's topic
has one: the returns FAQ offers "Start a return"); below the threshold the assistant says it is
not sure and offers a person. Answers and button titles are in the shopper's language (the
``language`` slot); a template without that language answers in English. Retrieval runs in a
worker thread so the action server's loop stays free.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, Dict, List, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import deps
from actions.clarify import title
from knowledge.faq.index import AnswerIndex, Candidate, Decision, clean_text, decide
from knowledge.faq.templates import AnswerTemplate, shop_slots
from knowledge.language import LANGUAGE_SLOT, normalise_language
from nlu.routing import (
    FLOW_OF_FAQ,
    ORDER_ENTITY,
    TRANSACTIONAL,
    entities_of,
    intent_payload,
    latest_typed,
)

logger = logging.getLogger(__name__)

FAQ_ID_ENTITY = "faq_id"
FAQ_ANSWER_SLOT = "faq_answer_id"
CHOICE_INTENT = "product_question"
# Between two close templates, the NLU intent settles it when it is at least this confident and
# tags exactly one of them.
INTENT_TIEBREAK_CONFIDENCE = 0.8

_load_lock = threading.Lock()


def choice_payload(template_id: int) -> str:
    """The button payload that answers template ``template_id`` directly."""
    return f"/{CHOICE_INTENT}{json.dumps({FAQ_ID_ENTITY: str(template_id)})}"


def chosen_template_id(message: Dict[str, Any]) -> int | None:
    """The ``faq_id`` entity of a "which one" button press, when it is a valid integer."""
    for entity in message.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == FAQ_ID_ENTITY:
            try:
                return int(str(entity.get("value")).strip())
            except ValueError:
                logger.info("Ignoring a non-integer faq_id %r", entity.get("value"))
    return None


def template_flow(template: AnswerTemplate) -> str | None:
    """The flow a template's topic leads to ("Start a return" for the returns FAQ), if any."""
    for tag in template.tags:
        if tag in TRANSACTIONAL:
            return tag
    for tag in template.tags:
        if tag in FLOW_OF_FAQ:
            return FLOW_OF_FAQ[tag]
    return None


def flow_buttons(
    candidates: Sequence[Candidate], message: Dict[str, Any], language: str
) -> List[Dict[str, str]]:
    """Buttons that start the flows of the candidate templates (carrying the order number)."""
    orders = entities_of(message, ORDER_ENTITY)[:1]
    flows: List[str] = []
    for candidate in candidates:
        flow = template_flow(candidate.template)
        if flow is not None and flow not in flows:
            flows.append(flow)
    return [{"title": title(f, language), "payload": intent_payload(f, orders)} for f in flows]


def break_tie(decision: Decision, message: Dict[str, Any]) -> Decision:
    """Answer one of two close templates when a confident NLU intent tags only that one."""
    if decision.kind != "choose":
        return decision
    intent = message.get("intent") or {}
    if float(intent.get("confidence") or 0.0) < INTENT_TIEBREAK_CONFIDENCE:
        return decision
    tagged = [c for c in decision.candidates if intent.get("name") in c.template.tags]
    if len(tagged) == 1:
        return Decision("answer", (tagged[0],))
    return decision


def shopper_language(tracker: Tracker) -> str:
    """The conversation's language from the ``language`` slot (``"en"`` when unset or unknown)."""
    return normalise_language(tracker.get_slot(LANGUAGE_SLOT))


def answer_text(template: AnswerTemplate, settings: Any, language: str) -> str:
    """The template's answer in ``language`` (English when it has none), filled with the shop's
    facts in the language the answer is written in."""
    written_in = template.answer_language(language)
    return template.fill(shop_slots(settings, written_in), written_in)


def _answers() -> AnswerIndex:
    with _load_lock:  # the first call loads the encoder and index once, not once per thread
        return deps.answer_index()


def _search(text: str, language: str) -> tuple[List[Candidate], tuple[float, float]]:
    answers = _answers()
    return answers.search(text), answers.thresholds(deps.settings(), text, language)


class ActionAnswerQuestion(Action):
    """Answer a question from the best FAQ template, ask which one, or offer a person."""

    def name(self) -> str:
        """Answers the informational intents and questions no flow handles."""
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Send the answer (or the choice, or the offer of a person) for the latest message."""
        message = tracker.latest_message or {}
        settings = deps.settings()
        chosen = chosen_template_id(message)
        if chosen is not None:
            try:
                answers = await asyncio.get_running_loop().run_in_executor(None, _answers)
            except Exception:
                logger.exception("FAQ index unavailable")
                return self._not_sure(dispatcher)
            template = answers.templates.get(chosen)
            if template is not None:
                return self._answer(dispatcher, template, settings, shopper_language(tracker))
            logger.info("Button chose unknown template %s", chosen)
            return self._not_sure(dispatcher)
        answered = await answer_if_confident(dispatcher, tracker)
        return answered if answered is not None else self._not_sure(dispatcher)

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher, template: AnswerTemplate, settings: Any, language: str
    ) -> List[EventType]:
        dispatcher.utter_message(text=answer_text(template, settings, language))
        return [SlotSet(FAQ_ANSWER_SLOT, str(template.id))]

    @staticmethod
    def _not_sure(dispatcher: CollectingDispatcher) -> List[EventType]:
        dispatcher.utter_message(response="utter_faq_not_sure")
        return [SlotSet(FAQ_ANSWER_SLOT, None)]


async def answer_if_confident(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    text: str | None = None,
    allow_choice: bool = True,
) -> List[EventType] | None:
    """Answer (or offer the two close candidates) when a template clears the threshold.

    ``text`` is what to look up (default: the latest message's text); without
    ``allow_choice`` only a clear answer is given. ``None`` when nothing was said (no template
    fits, retrieval failed, or a choice was not allowed), so that callers (this module's
    action, the fallback action) decide what to say instead.
    """
    message = tracker.latest_message or {}
    if text is None:
        text = str(message.get("text") or "")
        if text.lstrip().startswith("/"):
            # A guess button ("/check_refund_policy"): look up the words the shopper typed; the
            # payload's intent (confidence 1) settles a close call between two templates.
            typed = latest_typed(tracker.events or [])
            text = str((typed or {}).get("text") or "")
    text = clean_text(text)
    if not text or text.startswith("/"):
        return None
    settings = deps.settings()
    language = shopper_language(tracker)
    try:
        candidates, (threshold, margin) = await asyncio.get_running_loop().run_in_executor(
            None, _search, text, language
        )
    except Exception:
        logger.exception("FAQ retrieval failed")
        return None
    decision = break_tie(decide(candidates, threshold, margin), message)
    logger.info(
        "FAQ %s for %r (%s): %s",
        decision.kind,
        text[:80],
        language,
        [(c.template.id, round(c.score, 3)) for c in decision.candidates],
    )
    best = decision.best
    if decision.kind == "answer" and best is not None:
        return ActionAnswerQuestion._answer(dispatcher, best.template, settings, language)
    if decision.kind == "choose" and allow_choice:
        buttons = [
            {"title": c.template.title_for(language), "payload": choice_payload(c.template.id)}
            for c in decision.candidates
        ]
        buttons.extend(flow_buttons(decision.candidates, message, language))
        dispatcher.utter_message(response="utter_faq_which_one", buttons=buttons)
        return [SlotSet(FAQ_ANSWER_SLOT, None)]
    return None

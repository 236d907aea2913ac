"""Which flow a shopper's message is really after: pure functions over NLU parse data.

The NLU reads some messages wrong in ways the words themselves settle: "I want to return the
shoes from order 1043" tagged as the refund-policy FAQ, "has the refund for order 1187 been
paid?" falling back, a bare "1043" typed after the bot asked for a number tagged as anything.
:func:`route` decides, from the latest message's parse data and the previous user message's,
whether the message should start a transactional flow instead of what the NLU said:

* a bare order number, e-mail or item name goes to the flow the previous message was about (a
  bare order number with no such context: tracking);
* a message with an order number whose intent is not transactional (fallback, an FAQ, small
  talk, a complaint) goes to the flow its cue words imply (:func:`cue_flow`: late / where ->
  track, cancel, return, refund status, invoice, in English and Chinese), else, only when the
  NLU was unsure (fallback or confidence below :data:`UNSURE_CONFIDENCE`), to the best
  transactional intent of its ranking, else to the previous message's flow;
* a report of a late or missing parcel, or a request to track, without a number (fallback, a
  delivery or product FAQ, placing an order, a complaint) goes to tracking, which lists a
  signed-in shopper's orders on their way;
* a message that says outright it is a complaint (投诉, "I want to complain"), read unsure as an
  FAQ or fallback, goes to the complaint flow.

:func:`guesses` picks the intents offered as buttons when the bot is unsure. Part of the NLU
contract layer (like ``nlu/output_keys.py``): both the dialogue policy (``nlu/routing_policy.py``,
in Rasa) and the actions (rasa-sdk) import it, so it imports neither ``rasa`` nor ``rasa_sdk``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from nlu.chinese_script import to_simplified

logger = logging.getLogger(__name__)

#: Key of the rewritten message's parse data that records the routing (and stops a second one).
ROUTED_KEY = "routed_from"
FALLBACK_INTENT = "nlu_fallback"
ORDER_ENTITY = "order_id"
EMAIL_ENTITY = "email"
PRODUCT_ENTITY = "product"

TRACK = "track_order"
CANCEL = "cancel_order"
RETURN = "get_refund"
REFUND_STATUS = "track_refund"
INVOICE = "get_invoice"
PAYMENT = "payment_issue"
ADDRESS = "change_shipping_address"
CHANGE = "change_order"

#: Intents whose flow needs an order number (each starts a form).
TRANSACTIONAL = frozenset(
    {TRACK, CANCEL, CHANGE, ADDRESS, RETURN, REFUND_STATUS, INVOICE, "check_invoice", PAYMENT}
)
#: Intents answered from the FAQ templates (action_answer_question).
FAQ_INTENTS = frozenset(
    {
        "product_question",
        "check_refund_policy",
        "delivery_options",
        "delivery_period",
        "check_payment_methods",
        "check_cancellation_fee",
        "contact_customer_service",
    }
)
#: Small talk and non-answers: never offered as a guess.
NOT_GUESSES = frozenset(
    {
        FALLBACK_INTENT,
        "out_of_scope",
        "greet",
        "goodbye",
        "affirm",
        "deny",
        "thank",
        "bot_challenge",
        "contact_human_agent",
    }
)
#: The flow an FAQ intent leads to when the shopper wants to act, not read (FAQ buttons, context).
FLOW_OF_FAQ = {
    "check_refund_policy": RETURN,
    "check_cancellation_fee": CANCEL,
    "delivery_period": TRACK,
}
#: Below this confidence an intent with an order number may be overruled by the ranking.
UNSURE_CONFIDENCE = 0.5
#: Small talk the bot acts on only when the NLU is sure (affirm and deny are answers to the
#: bot's questions and stay as they are); unsure, the message goes to the staged fallback.
UNSURE_SMALL_TALK = frozenset({"greet", "goodbye", "thank", "bot_challenge"})
#: Replies to the bot (yes, no, thanks, bye): as the first message of a session they answer
#: nothing, so the bot acts on them only from this confidence ("about my thing from before" was
#: read as goodbye at 0.52, "the stuff" as affirm at 0.27); below it, the staged fallback.
OPENING_REPLIES = frozenset({"affirm", "deny", "goodbye", "thank"})
OPENING_REPLY_CONFIDENCE = 0.8
#: A ranked transactional intent must reach this to be routed to without a cue word (below it
#: the guesses are offered as buttons: "1001; DROP TABLE orders;--" was sent into change_order
#: at 0.21).
RANKING_MIN_CONFIDENCE = 0.3
#: Guesses offered as buttons: at most this many, each at least this confident.
MAX_GUESSES = 3
GUESS_MIN_CONFIDENCE = 0.02


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


# Cue words, most specific first (see cue_flow). English allows common typos ("recieved",
# "arived"); Chinese needs no word boundaries.
REFUND_WORD = _words(r"\brefund", r"\bmoney back\b", r"\breimburs", "退款", "退钱", "钱退")
REFUND_STATUS_WORD = _words(
    r"\bpaid\b",
    r"\bstatus\b",
    r"\byet\b",
    r"\bbeen\b",
    r"\bissued\b",
    r"\bprocess",
    r"\bre?cie?ved?\b",
    r"\breceived\b",
    r"\barrived?\b",
    r"\bwhen\b",
    r"\bwhere\b",
    r"\bstill\b",
    r"\bdid\b",
    "到账",
    "进度",
    "到了",
    "了吗",
    "没收到",
    "还没",
    "什么时候",
    "多久",
    "状态",
)
RETURN_WORD = _words(
    r"\breturn",
    r"\bsend (it |them )?back\b",
    r"\bsending (it |them )?back\b",
    r"\bexchange\b",
    r"\b(broken|damaged|faulty|defective|wrong size|too (small|big|large)|doesn'?t fit)\b",
    "退货",
    "退回",
    "退掉",
    "换货",
    "坏了",
    "破损",
    "不合适",
)
CANCEL_WORD = _words(
    r"\bcan[cs]el+", r"\bcan[cs]le?l?\b", r"\bcall off\b", r"\bstop the order\b", "取消", "不要了"
)
INVOICE_WORD = _words(r"\binvoice", r"\breceipt", r"\bbill\b", r"\bvat\b", "发票", "收据", "账单")
PAYMENT_WORD = _words(
    r"\bpayment (failed|declined|issue|problem)",
    r"\b(payment|card|paypal)\b.{0,30}\b(failed|declined|didn'?t go through|did not go through|"
    r"was rejected|bounced)",
    r"\bcharged twice\b",
    r"\bdouble charge",
    r"\bcard (was )?declined\b",
    "付款失败",
    "扣款",
    "支付失败",
)
ADDRESS_WORD = _words(
    r"\b(change|update|wrong|new) (the |my )?(shipping |delivery )?address\b", "改地址", "收货地址"
)
LATE_WORD = _words(
    r"\bwhere(?:'?s| is| are)?\b",
    r"\blate\b",
    r"\bdelay",
    r"\b(has|have|hasn'?t|haven'?t|did|didn'?t|is|isn'?t|not|never|still)\b.{0,30}"
    r"\b(arrive|arived|arrived|come|came|deliver|delivered|recei?ve|recie?ve|received|"
    r"recieved|show(n|ed)? up|turn(ed)? up|here)\b",
    r"\bstill (waiting|nothing|no\b)",
    r"\bnothing (arrived|came|yet)\b",
    r"\bno sign of\b",
    r"\bmissing\b",
    r"\blost\b",
    r"\btrack(ing)?\b",
    r"\bwher\b",
    r"\bparcel\b.{0,40}\b(not|never|yet)\b",
    "到哪",
    "在哪",
    "没有?到",
    "没有?收到",
    "未收到",
    "(什么时候|几时|多久)(能|才|可以)?(到|送到|发货)",
    "物流",
    "快递",
    "催",
    "怎么还没",
    "迟迟",
)
# A parcel report (no number): stricter than LATE_WORD, so "where do you ship to" stays an FAQ.
PARCEL_REPORT_WORD = _words(
    r"\b(parcel|package|order|delivery|shipment|stuff|item|items|it)\b.{0,40}"
    r"\b(late|delayed|missing|lost|not (yet )?(arrived|come|here|delivered|received)|never "
    r"(arrived|came|came through|showed up)|"
    r"hasn'?t (arrived|come|shown up|turned up|been delivered)|"
    r"has not (arrived|come)|haven'?t (got|received|had)|still (not|hasn'?t|isn'?t))",
    r"\b(hasn'?t|has not|haven'?t|have not|didn'?t|did not|never|still not|not yet)\b.{0,20}"
    r"\b(arrived?|arived|come|came|received|recieved|recei?ved?|got|get|delivered|here|"
    r"shown up)\b.{0,30}"
    r"\b(parcel|package|order|delivery|shipment|stuff|items?|it)\b",
    r"\bwhere(?:'?s| is)\b.{0,15}\b(my|the)\b.{0,15}"
    r"\b(parcel|package|order|delivery|shipment|stuff)\b",
    r"\bstill waiting\b",
    r"\bno sign of\b",
    "没有?到",
    "没有?收到",
    "未收到",
    "到哪",
    "怎么还没",
    "迟迟",
)
# Asking to track with no number ("I want to track an order"), read as placing an order or an FAQ.
TRACK_REQUEST_WORD = _words(
    r"\btrack(ing)?\b.{0,12}\b(my|an|the|a|our)\b.{0,12}\b(orders?|parcels?|packages?|"
    r"deliver(y|ies)|shipments?)\b",
    r"\bwhere(?:'?s| is| are)\b.{0,12}\b(my|our)\b.{0,12}\b(orders?|parcels?|packages?|"
    r"deliver(y|ies)|shipments?)\b",
    "查一下订单",
    "查订单",
    "查询订单",
    "订单到哪",
    "包裹到哪",
    "快递到哪",
)
# Saying outright that this is a complaint ("我要投诉一下这个充电宝" read as product_question 0.40).
COMPLAINT_WORD = _words(
    r"\b(make|file|lodge|raise|submit|register) an? (formal )?complaint\b",
    r"\bi (want|would like|wanna|need) to complain\b",
    r"\bi'?m complaining\b",
    "投诉",
)
COMPLAINT = "complaint"
#: Intents an outright complaint is taken away from when the NLU is unsure.
COMPLAINT_INSTEAD_OF = FAQ_INTENTS | {FALLBACK_INTENT}

#: Intents a tracking request or parcel report (no number) is taken away from.
TRACK_INSTEAD_OF = frozenset(
    {
        FALLBACK_INTENT,
        "delivery_period",
        "delivery_options",
        "complaint",
        "place_order",
        "product_question",
    }
)
# Chat spellings and IME slips of cue words, matched as the standard word; longer spellings
# first. Only those that read back one way: nlu/chinese_noise.py's training table also has
# spellings that are words of their own (没, 这, 在, 能), so it is not inverted here.
CHAT_SPELLING_OF = (
    ("肿么", "怎么"),
    ("怎莫", "怎么"),
    ("咋", "怎么"),
    ("神马", "什么"),
    ("啥", "什么"),
    ("木有", "没有"),
    ("没得", "没有"),
    ("定单", "订单"),
    ("以经", "已经"),
    ("帐", "账"),
    ("快滴", "快递"),
)


def cue_text(text: str) -> str:
    """``text`` as the cue words are written: traditional characters simplified, Chinese chat
    spellings standardised (为什么我的定单1052还木有到 -> ...订单1052还没有到). Digits and
    Latin text are kept (every mapping is between Han characters)."""
    text = to_simplified(text)
    for spelling, word in CHAT_SPELLING_OF:
        text = text.replace(spelling, word)
    return text


BARE_ORDER = re.compile(
    r"^\s*(?:(?:order|ordr|no\.?|number|nr\.?|#|订单号?|单号)\s*[:：#]?\s*)?#?(\d{3,12})\s*[.!?。！？]*\s*$",
    re.IGNORECASE,
)
BARE_EMAIL = re.compile(
    r"^\s*([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\s*\.?\s*$"
)
# Share of the message an item name must cover to count as a bare item name.
BARE_PRODUCT_SHARE = 0.6


@dataclass(frozen=True)
class Route:
    """Where a message goes: the intent to run and the entities it carries."""

    intent: str
    entities: Tuple[Dict[str, Any], ...]
    reason: str

    def payload(self) -> str:
        """The button payload that runs this route (``/track_order{"order_id": "1043"}``)."""
        return intent_payload(self.intent, self.entities)


def intent_payload(intent: str, entities: Sequence[Mapping[str, Any]] = ()) -> str:
    """``/intent`` with the order number or e-mail of ``entities`` as Rasa's payload JSON."""
    carried = {
        str(e["entity"]): str(e["value"])
        for e in entities
        if e.get("entity") in (ORDER_ENTITY, EMAIL_ENTITY) and e.get("value") not in (None, "")
    }
    return f"/{intent}{json.dumps(carried, ensure_ascii=False)}" if carried else f"/{intent}"


def intent_name(message: Mapping[str, Any] | None) -> str | None:
    """The intent name of a parse data dict."""
    intent = (message or {}).get("intent") or {}
    return intent.get("name") if isinstance(intent, Mapping) else None


def intent_confidence(message: Mapping[str, Any] | None) -> float:
    """The intent confidence of a parse data dict (0 when missing)."""
    intent = (message or {}).get("intent") or {}
    try:
        return float(intent.get("confidence") or 0.0) if isinstance(intent, Mapping) else 0.0
    except (TypeError, ValueError):
        return 0.0


def entities_of(message: Mapping[str, Any] | None, entity: str) -> List[Dict[str, Any]]:
    """The message's entities of type ``entity``."""
    return [
        dict(e)
        for e in (message or {}).get("entities") or []
        if isinstance(e, Mapping) and e.get("entity") == entity and e.get("value") not in (None, "")
    ]


def _entity(entity: str, value: str, text: str) -> Dict[str, Any]:
    start = text.find(value)
    return {
        "entity": entity,
        "value": value,
        "start": max(start, 0),
        "end": max(start, 0) + len(value),
        "extractor": "routing",
    }


def bare_value(message: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]] | None:
    """``(entity, entity dict)`` when the message is only an order number, e-mail or item name."""
    text = str(message.get("text") or "")
    match = BARE_ORDER.match(text)
    if match:
        return ORDER_ENTITY, _entity(ORDER_ENTITY, match.group(1), text)
    match = BARE_EMAIL.match(text)
    if match:
        return EMAIL_ENTITY, _entity(EMAIL_ENTITY, match.group(1), text)
    stripped = text.strip()
    for product in entities_of(message, PRODUCT_ENTITY):
        try:
            covered = int(product["end"]) - int(product["start"])
        except (KeyError, TypeError, ValueError):
            continue
        if stripped and covered >= BARE_PRODUCT_SHARE * len(stripped):
            return PRODUCT_ENTITY, product
    return None


def cue_flow(text: str) -> str | None:
    """The transactional intent the message's cue words imply, most specific first."""
    text = cue_text(text)
    if REFUND_WORD.search(text):
        if RETURN_WORD.search(text) and not REFUND_STATUS_WORD.search(text):
            return RETURN
        return REFUND_STATUS if REFUND_STATUS_WORD.search(text) else RETURN
    if RETURN_WORD.search(text):
        return RETURN
    if CANCEL_WORD.search(text):
        return CANCEL
    if INVOICE_WORD.search(text):
        return INVOICE
    if PAYMENT_WORD.search(text):
        return PAYMENT
    if ADDRESS_WORD.search(text):
        return ADDRESS
    if LATE_WORD.search(text):
        return TRACK
    return None


def reports_missing_parcel(text: str) -> bool:
    """True for a report that a parcel is late, missing or has not come (no number needed)."""
    return bool(PARCEL_REPORT_WORD.search(cue_text(text)))


def mostly_small_talk(message: Mapping[str, Any] | None) -> bool:
    """Whether the small-talk intents together reach :data:`UNSURE_CONFIDENCE` ("thank you,
    bye": thank 0.45 + goodbye 0.20): small talk, only unsure which kind."""
    share = sum(c for name, c in ranked(message) if name in UNSURE_SMALL_TALK)
    return share >= UNSURE_CONFIDENCE


def ranked(message: Mapping[str, Any] | None) -> List[Tuple[str, float]]:
    """``(intent, confidence)`` of the message's ranking, best first, without nlu_fallback."""
    out: List[Tuple[str, float]] = []
    for entry in (message or {}).get("intent_ranking") or []:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        name = str(entry["name"])
        if name == FALLBACK_INTENT:
            continue
        try:
            out.append((name, float(entry.get("confidence") or 0.0)))
        except (TypeError, ValueError):
            continue
    out.sort(key=lambda pair: -pair[1])
    return out


def best_transactional(message: Mapping[str, Any] | None, minimum: float) -> str | None:
    """The best-ranked transactional intent with at least ``minimum`` confidence."""
    for name, confidence in ranked(message):
        if name in TRANSACTIONAL and confidence >= minimum:
            return name
    return None


def flow_of(message: Mapping[str, Any] | None) -> str | None:
    """The flow a (previous) message was about: its transactional intent, the flow of its FAQ
    intent, or for a fallback its cue words or best transactional guess."""
    if not message:
        return None
    name = intent_name(message)
    if name in TRANSACTIONAL:
        return name
    if name in FLOW_OF_FAQ:
        return FLOW_OF_FAQ[name]
    if name == FALLBACK_INTENT:
        text = str(message.get("text") or "")
        return cue_flow(text) or best_transactional(message, RANKING_MIN_CONFIDENCE)
    return None


def route(message: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> Route | None:
    """The flow ``message`` should start instead of what the NLU said, or None to keep it.

    ``previous`` is the parse data of the shopper's message before this one (context for bare
    values). Button payloads (``/intent``) and messages already routed are never rerouted.
    """
    text = str(message.get("text") or "")
    if not text.strip() or text.lstrip().startswith("/") or message.get(ROUTED_KEY):
        return None
    name = intent_name(message)
    context = flow_of(previous)
    bare = bare_value(message)
    if bare is not None:
        kind, entity = bare
        target = context or (TRACK if kind == ORDER_ENTITY else None)
        if target is None or target == name:
            return None
        return Route(target, (entity,), f"bare {kind} after {context or 'nothing'}")
    orders = entities_of(message, ORDER_ENTITY)
    unsure = name == FALLBACK_INTENT or intent_confidence(message) < UNSURE_CONFIDENCE
    if name in TRANSACTIONAL:
        # "return the shoes from order 1043" read as change_order at 30%: the words decide.
        cue = cue_flow(text) if orders and unsure else None
        if cue is None or cue == name:
            return None
        return Route(cue, (orders[0],), f"order number with cue words over an unsure {name}")
    if name in UNSURE_SMALL_TALK and unsure and not orders and not mostly_small_talk(message):
        # A guessed "goodbye" at 26% would end a conversation the shopper meant to start.
        return Route(FALLBACK_INTENT, (), f"unsure small talk ({name})")
    if (
        previous is None
        and name in OPENING_REPLIES
        and intent_confidence(message) < OPENING_REPLY_CONFIDENCE
        and not orders
    ):
        return Route(FALLBACK_INTENT, (), f"unsure {name} opening the session")
    if orders:
        target = cue_flow(text)
        reason = "cue words"
        if target is None and unsure:
            target, reason = best_transactional(message, RANKING_MIN_CONFIDENCE), "ranking"
        if target is None and unsure:
            target, reason = context, "context"
        if target is None:
            return None
        return Route(target, (orders[0],), f"order number with {reason} ({name})")
    if name in TRACK_INSTEAD_OF and (
        reports_missing_parcel(text) or TRACK_REQUEST_WORD.search(cue_text(text))
    ):
        return Route(TRACK, (), f"tracking request or missing parcel report ({name})")
    if name in COMPLAINT_INSTEAD_OF and unsure and COMPLAINT_WORD.search(text):
        return Route(COMPLAINT, (), f"outright complaint ({name})")
    return None


def guesses(message: Mapping[str, Any] | None, limit: int = MAX_GUESSES) -> List[str]:
    """Up to ``limit`` intents worth offering as buttons, best first.

    Cue words put their flow first; small talk, out-of-scope and fallback never appear.
    """
    picked: List[str] = []
    cue = cue_flow(str((message or {}).get("text") or ""))
    if cue is not None:
        picked.append(cue)
    for name, confidence in ranked(message):
        if len(picked) >= limit:
            break
        if name in NOT_GUESSES or name in picked or confidence < GUESS_MIN_CONFIDENCE:
            continue
        if (name == "check_invoice" and INVOICE in picked) or (
            name == INVOICE and "check_invoice" in picked
        ):
            continue
        picked.append(name)
    return picked[:limit]


def user_messages(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The parse data of the session's user messages, oldest first, without reverted ones."""
    messages: List[Mapping[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            messages = []
        elif kind == "rewind" and messages:
            messages.pop()
        elif kind == "user":
            parse = dict(event.get("parse_data") or {})
            parse.setdefault("text", event.get("text"))
            messages.append(parse)
    return messages


def latest_and_previous(
    events: Sequence[Mapping[str, Any]],
) -> Tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The latest user message's parse data and the one before it (None where missing)."""
    messages = user_messages(events)
    latest = messages[-1] if messages else None
    previous = messages[-2] if len(messages) > 1 else None
    return latest, previous


def latest_typed(events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The parse data of the latest user message that was typed (not a ``/intent`` payload)."""
    for message in reversed(user_messages(events)):
        if not str(message.get("text") or "").lstrip().startswith("/"):
            return message
    return None

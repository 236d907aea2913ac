"""Churn risk of a conversation and of a customer, with the reasons that drove it.

The score is a transparent noisy-OR: every signal that fired contributes its weight ``w`` (from
``Settings.churn_weights`` / ``churn_intent_weights``) and ``risk = 1 - prod(1 - w)``, so each
reason raises the risk independently, the result stays in [0, 1], and the reasons listed with a
score are exactly the terms of that product.

Conversation signals (the user turns since the last hand-back): negative turns (weighted by their
confidence), a streak of confident negative turns, a drop in sentiment, churn intents
(``cancel_order``, ``delete_account``, ``get_refund``, ``complaint``), not understood messages,
failed lookups, and phrase patterns (English and Chinese) for threats to leave, disputing a charge
and repeated contact.
Customer signals (``knowledge.graph.queries.churn_inputs``): past escalations, a mostly negative
history, late and problem orders, open returns. A turn's risk combines both, the history with
``churn_history_share`` so it can raise but never alone cross the threshold.

The hand-over rule (:func:`handoff_trigger`) fires on an explicit request, on
``handoff_fallbacks`` not understood messages in a row, on ``handoff_negative_streak`` confident
negative turns in a row, or when the risk reaches ``churn_threshold``. Pure functions; no I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Pattern, Sequence

from knowledge.graph.queries import ChurnInputs
from knowledge.models import EscalationPriority
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

NEGATIVE = "negative"
FALLBACK_INTENT = "nlu_fallback"
HUMAN_INTENT = "contact_human_agent"

# Trigger names, stored with each escalation.
TRIGGER_REQUEST = "request"
TRIGGER_FALLBACKS = "fallbacks"
TRIGGER_NEGATIVE_STREAK = "negative_streak"
TRIGGER_CHURN_RISK = "churn_risk"
TRIGGERS = (TRIGGER_REQUEST, TRIGGER_FALLBACKS, TRIGGER_NEGATIVE_STREAK, TRIGGER_CHURN_RISK)

# A negative turn below this confidence is not counted at all.
MIN_NEGATIVE_CONFIDENCE = 0.5
# Sentiment drop (first to last signed score) that counts as a decline.
SENTIMENT_DROP = 0.6
# How many times one signal may contribute (diminishing evidence beyond that).
CAPS: Mapping[str, int] = {
    "negative_turn": 3,
    "fallback": 3,
    "failed_lookup": 2,
    "threat_to_leave": 2,
    "dispute": 2,
    "repeated_contact": 2,
    "past_escalation": 2,
    "late_order": 2,
    "problem_order": 3,
    "open_return": 2,
}


def _patterns(*expressions: str) -> tuple[Pattern[str], ...]:
    return tuple(re.compile(e, re.IGNORECASE) for e in expressions)


# Asking to close the account: a threat to leave, but the same evidence as the
# ``delete_account`` intent, so not counted again on a turn read as that intent.
ACCOUNT_CLOSURE: tuple[Pattern[str], ...] = _patterns(
    r"\b(cancel|close|delete|terminate)\s+(my\s+)?(account|membership|subscription)\b",
    r"(注销|删除|删掉|销)(掉)?(我的)?(账号|账户|会员)",
    r"(账号|账户|会员)(给我)?(注销|删除|删掉|销掉)",
)
DELETE_ACCOUNT_INTENT = "delete_account"

# Phrase patterns per signal (matched on the shopper's text).
PHRASES: Mapping[str, tuple[Pattern[str], ...]] = {
    "threat_to_leave": ACCOUNT_CLOSURE
    + _patterns(
        r"\bnever\s+(again\s+)?(order|buy|shop|use|come back|purchas)",
        r"\b(won'?t|will not|not going to)\s+(ever\s+)?(order|buy|shop|use \w+)\s.*\bagain\b",
        # "another shop", not "another account / card / size" (a request, not a threat)
        r"\b(switch|switching|go|going|move|moving)\s+(over\s+)?to\s+"
        r"((another|a different)(?!\s+(account|address|card|payment|size|colou?r|e-?mail|plan"
        r"|item|one|product|model|delivery|courier|phone|number|language))"
        r"|a competitor|your competitor|amazon|ebay)",
        r"\b(take|taking)\s+my\s+(business|money|custom)\s+elsewhere\b",
        r"\bshop(ping)?\s+(somewhere\s+)?elsewhere\b",
        r"\b(last|final)\s+time\s+i\s+(order|buy|shop|use)",
        r"\b(i'?m|i am)\s+done\s+with\s+(you|this|your)\b",
        r"\blost\s+a\s+(loyal\s+)?customer\b",
        # Chinese (no word boundaries in Chinese text)
        r"再也不(会)?(在|来|买|用|下单|光顾)",
        r"(不会|不再)再?(在你们家)?(买|来|下单|光顾)",
        r"以后(都|再|也)?不(会|再)?(在|来)?(你们家|这家|这里|你们这)(买|下单|光顾)",
        r"(换|去)(一)?(别|其他|另一)家",
        r"去(淘宝|京东|拼多多|天猫|别的平台|别的店)买",
        r"最后一次(在你们家)?(买|下单)",
        r"拉黑(你们|这家)",
    ),
    "dispute": _patterns(
        r"\bdisput(e|ing)\b",
        r"\bcharge\s*-?\s*backs?\b",
        r"\b(call|contact|tell|ring|phone)(ing)?\s+my\s+(bank|card (issuer|company))\b",
        r"\b(lawyer|solicitor|legal action|sue you|small claims|trading standards"
        r"|consumer (protection|rights)|ombudsman|better business bureau)\b",
        r"\breport(ing)?\s+you\b",
        r"\b(fraud|scam|scammers|stole my money)\b",
        r"12315|消费者协会|消协|工商局|市场监管",
        r"起诉|告你们|律师|法院|报警",
        r"骗子|诈骗|黑店",
        r"拒付",
        r"(曝光|举报)(你们)?",
        r"投诉(到|你们到)?(平台|消协|12315|工商)",
    ),
    "repeated_contact": _patterns(
        r"\b(second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th)\s+time\b",
        r"\bhow\s+many\s+times\b",
        r"\b(already|i'?ve|i have)\s+(already\s+)?(asked|told you|written|called|contacted|emailed"
        r"|chased)\b",
        r"\bstill\s+(no|not|nothing|waiting|haven'?t|hasn'?t)\b",
        r"\bagain\s+and\s+again\b",
        r"\bwaiting\s+(for\s+)?(weeks|ages|a month|months)\b",
        r"\bkeep\s+(asking|chasing|writing)\b",
        r"第[二三四五六七八九十几\d]+次",
        r"(说|问|讲|催)了(好|无数)?(几|多少)?(遍|次)",
        r"(一直|还是|到现在都?)(没|不)(有)?人?(回|理|回复|处理|解决)",
        r"也不回",
        r"等了(好|整整)?[几一二三四五六七八九十两\d]+(天|周|个星期|个月)",
    ),
}


@dataclass(frozen=True)
class Turn:
    """What the scorer needs of one user turn (from tracker events or knowledge Message rows)."""

    text: str = ""
    intent: str | None = None
    sentiment_label: str | None = None
    sentiment_confidence: float | None = None
    # Signed sentiment: P(positive) - P(negative), in [-1, 1].
    sentiment_score: float | None = None
    # The bot failed a lookup answering this turn (order/customer not found ...).
    failed_lookup: bool = False


@dataclass(frozen=True)
class Reason:
    """One signal that contributed to a risk: its name, the weight it added and why."""

    signal: str
    weight: float
    detail: str

    def as_dict(self) -> dict[str, object]:
        """JSON form (stored with escalations, shown in the console)."""
        return {"signal": self.signal, "weight": round(self.weight, 3), "detail": self.detail}


@dataclass(frozen=True)
class ChurnScore:
    """A risk in [0, 1] and the reasons (largest first) it combines."""

    risk: float
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"risk": round(self.risk, 3), "reasons": [r.as_dict() for r in self.reasons]}


@dataclass(frozen=True)
class ChurnConfig:
    """Weights and thresholds of the scorer (``from_settings`` reads them from Settings)."""

    weights: Mapping[str, float]
    intent_weights: Mapping[str, float]
    history_share: float = 0.5
    threshold: float = 0.6
    negative_confidence: float = 0.8
    negative_streak: int = 3
    fallbacks: int = 3
    high_value_spend: float = 500.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ChurnConfig:
        """The configuration in ``settings`` (``SHOP_CHURN_*`` / ``SHOP_HANDOFF_*``)."""
        return cls(
            weights=dict(settings.churn_weights),
            intent_weights=dict(settings.churn_intent_weights),
            history_share=settings.churn_history_share,
            threshold=settings.churn_threshold,
            negative_confidence=settings.handoff_negative_confidence,
            negative_streak=settings.handoff_negative_streak,
            fallbacks=settings.handoff_fallbacks,
            high_value_spend=settings.handoff_high_value_spend,
        )


@dataclass(frozen=True)
class Assessment:
    """The churn picture after a turn and whether (and why) to hand over."""

    risk: float
    conversation: ChurnScore
    customer: ChurnScore | None
    trigger: str | None
    priority: int
    reasons: tuple[Reason, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "risk": round(self.risk, 3),
            "trigger": self.trigger,
            "priority": self.priority,
            "conversation": self.conversation.as_dict(),
            "customer": self.customer.as_dict() if self.customer else None,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def noisy_or(reasons: Iterable[Reason]) -> float:
    """``1 - prod(1 - weight)`` over ``reasons`` (weights clipped to [0, 1])."""
    remaining = 1.0
    for reason in reasons:
        remaining *= 1.0 - min(1.0, max(0.0, reason.weight))
    return 1.0 - remaining


def phrase_signals(text: str, skip: tuple[Pattern[str], ...] = ()) -> list[tuple[str, str]]:
    """``(signal, matched phrase)`` for each phrase family that ``text`` matches (patterns in
    ``skip`` not tried)."""
    found = []
    for signal, patterns in PHRASES.items():
        for pattern in patterns:
            if pattern in skip:
                continue
            match = pattern.search(text or "")
            if match:
                found.append((signal, match.group(0)))
                break
    return found


def conversation_risk(turns: Sequence[Turn], config: ChurnConfig) -> ChurnScore:
    """The churn risk the turns of one conversation show, with its reasons."""
    weights = config.weights
    reasons: list[Reason] = []
    counts: dict[str, int] = {}

    def add(signal: str, weight: float, detail: str) -> None:
        if weight <= 0 or counts.get(signal, 0) >= CAPS.get(signal, 1):
            return
        counts[signal] = counts.get(signal, 0) + 1
        reasons.append(Reason(signal, weight, detail))

    seen_intents: set[str] = set()
    for number, turn in enumerate(turns, start=1):
        confidence = turn.sentiment_confidence or 0.0
        if turn.sentiment_label == NEGATIVE and confidence >= MIN_NEGATIVE_CONFIDENCE:
            add(
                "negative_turn",
                weights.get("negative_turn", 0.0) * confidence,
                f"turn {number} negative ({confidence:.2f})",
            )
        intent = turn.intent or ""
        if intent == FALLBACK_INTENT:
            add("fallback", weights.get("fallback", 0.0), f"turn {number} not understood")
        elif intent in config.intent_weights and intent not in seen_intents:
            seen_intents.add(intent)
            add(
                f"intent:{intent}",
                config.intent_weights[intent],
                f"turn {number} asks to {intent.replace('_', ' ')}",
            )
        if turn.failed_lookup:
            add("failed_lookup", weights.get("failed_lookup", 0.0), f"turn {number} lookup failed")
        skip = ACCOUNT_CLOSURE if intent == DELETE_ACCOUNT_INTENT else ()
        for signal, phrase in phrase_signals(turn.text, skip):
            add(signal, weights.get(signal, 0.0), f'turn {number}: "{phrase}"')

    streak = negative_streak(turns, config.negative_confidence)
    if streak >= 2:
        add(
            "negative_streak",
            weights.get("negative_streak", 0.0),
            f"{streak} confident negative turns in a row",
        )
    scores = [t.sentiment_score for t in turns if t.sentiment_score is not None]
    if len(scores) >= 2 and scores[0] - scores[-1] >= SENTIMENT_DROP:
        add(
            "sentiment_drop",
            weights.get("sentiment_drop", 0.0),
            f"sentiment fell from {scores[0]:+.2f} to {scores[-1]:+.2f}",
        )
    return _score(reasons)


def customer_risk(inputs: ChurnInputs, config: ChurnConfig) -> ChurnScore:
    """The churn risk the customer's history in the knowledge graph shows, with its reasons."""
    weights = config.weights
    reasons: list[Reason] = []

    def add_each(signal: str, count: int, detail: str) -> None:
        for _ in range(min(count, CAPS.get(signal, 1))):
            if weights.get(signal, 0.0) > 0:
                reasons.append(Reason(signal, weights[signal], detail))

    add_each("past_escalation", inputs.escalations, f"{inputs.escalations} past escalation(s)")
    mostly_negative = inputs.messages >= 3 and inputs.negative_messages / inputs.messages >= 0.5
    if mostly_negative and weights.get("negative_history", 0.0) > 0:
        reasons.append(
            Reason(
                "negative_history",
                weights["negative_history"],
                f"{inputs.negative_messages} of {inputs.messages} past messages negative",
            )
        )
    add_each("late_order", inputs.late_orders, f"{inputs.late_orders} late order(s)")
    add_each("problem_order", inputs.problem_orders, f"{inputs.problem_orders} problem order(s)")
    add_each("open_return", inputs.open_returns, f"{inputs.open_returns} open return(s)")
    return _score(reasons)


def combined_risk(conversation: ChurnScore, customer: ChurnScore | None, share: float) -> float:
    """A turn's risk: the conversation's, raised by ``share`` of the customer's history."""
    history = customer.risk * share if customer else 0.0
    return 1.0 - (1.0 - conversation.risk) * (1.0 - history)


def negative_streak(turns: Sequence[Turn], min_confidence: float) -> int:
    """How many of the latest turns in a row are negative with at least ``min_confidence``."""
    streak = 0
    for turn in reversed(turns):
        if turn.sentiment_label != NEGATIVE or (turn.sentiment_confidence or 0.0) < min_confidence:
            break
        streak += 1
    return streak


def fallback_streak(turns: Sequence[Turn]) -> int:
    """How many of the latest turns in a row were not understood."""
    streak = 0
    for turn in reversed(turns):
        if turn.intent != FALLBACK_INTENT:
            break
        streak += 1
    return streak


def handoff_trigger(turns: Sequence[Turn], risk: float, config: ChurnConfig) -> str | None:
    """Why the latest turn should go to a person (a ``TRIGGER_*``), or ``None``."""
    if not turns:
        return None
    if turns[-1].intent == HUMAN_INTENT:
        return TRIGGER_REQUEST
    if fallback_streak(turns) >= config.fallbacks:
        return TRIGGER_FALLBACKS
    if negative_streak(turns, config.negative_confidence) >= config.negative_streak:
        return TRIGGER_NEGATIVE_STREAK
    if risk >= config.threshold:
        return TRIGGER_CHURN_RISK
    return None


def priority(
    risk: float, inputs: ChurnInputs | None, config: ChurnConfig, trigger: str | None
) -> int:
    """Escalation priority (1-4) from the risk, raised one step for a high-value customer."""
    if risk >= 0.8:
        level = EscalationPriority.URGENT
    elif risk >= config.threshold:
        level = EscalationPriority.HIGH
    elif risk >= 0.3 or trigger is not None:
        level = EscalationPriority.NORMAL
    else:
        level = EscalationPriority.LOW
    if inputs is not None and float(inputs.spend) >= config.high_value_spend:
        level = EscalationPriority(min(int(EscalationPriority.URGENT), int(level) + 1))
    return int(level)


def assess(turns: Sequence[Turn], inputs: ChurnInputs | None, config: ChurnConfig) -> Assessment:
    """Score the conversation and customer and decide on a hand-over after the latest turn."""
    conversation = conversation_risk(turns, config)
    customer = customer_risk(inputs, config) if inputs is not None else None
    risk = combined_risk(conversation, customer, config.history_share)
    trigger = handoff_trigger(turns, risk, config)
    reasons = list(conversation.reasons)
    if customer is not None:
        reasons += [
            Reason(r.signal, r.weight * config.history_share, r.detail) for r in customer.reasons
        ]
    reasons.sort(key=lambda r: -r.weight)
    return Assessment(
        risk=risk,
        conversation=conversation,
        customer=customer,
        trigger=trigger,
        priority=priority(risk, inputs, config, trigger),
        reasons=tuple(reasons),
    )


def _score(reasons: list[Reason]) -> ChurnScore:
    ordered = tuple(sorted(reasons, key=lambda r: -r.weight))
    return ChurnScore(risk=noisy_or(ordered), reasons=ordered)

"""Writes ``data/event_log.json``: the fixed Rasa event log the analytics tests fold.

Run ``python -m tests.analytics.build_event_log`` to regenerate it. Every event is built with
Rasa's own event classes and stored as ``Event.as_dict()`` (what the tracker store and the
event brokers carry), so the fixture has exactly Rasa's shape. The hand-computed expectations in
``test_measures.py`` describe this log; change both together.

Conversations (UTC):

* ``c1`` 2026-11-16, rest, customer 1: late Trail Runner delivery, asks for a person, agent
  replies after 90 s, hand-back after 300 s, rates 4 stars.
* ``c2`` 2026-11-17, rest, customer 2: returns question answered from the FAQ, says thanks.
* ``c3`` 2026-11-18, socketio, guest: not understood question (no FAQ answer), then a payment
  question answered after a choice between two templates.
* ``c4`` 2026-11-19, rest, customer 1: two complaints, automatic hand-over (negative streak),
  no agent yet.
* ``c5`` 2026-11-20, rest, customer 3: happy Denim Jacket price question answered; gives a phone
  number and an e-mail.
* ``c6`` 2026-11-11, rest, customer 2: tracks an order (previous week).
* ``c7`` 2026-11-12, rest, guest: parcel late complaint (previous week).
* ``c8``: only a session start, never a user message (not a conversation).
* ``c9`` 2026-11-23, socketio, guest: Chinese order tracking; the ``language`` slot says ``zh``.
* ``c10`` 2026-11-23, rest, guest: Chinese returns question, no ``language`` slot event (the
  language comes from the text).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "data" / "event_log.json"


def ts(day: int, hour: int, minute: int = 0, second: float = 0.0) -> float:
    """Epoch seconds of 2026-11-<day> <hour>:<minute>:<second> UTC."""
    base = datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc).timestamp()
    return base + second


def build() -> list[dict[str, Any]]:
    """The whole log, as ``{"sender_id", **event.as_dict()}`` dicts in order."""
    from rasa.shared.core.events import (
        ActionExecuted,
        BotUttered,
        ConversationPaused,
        ConversationResumed,
        SessionStarted,
        SlotSet,
        UserUttered,
    )

    log: list[dict[str, Any]] = []

    class Conv:
        def __init__(self, sender: str, start: float) -> None:
            self.sender = sender
            self.t = start

        def add(self, event: Any, gap: float = 1.0) -> None:
            self.t += gap
            event.timestamp = round(self.t, 3)
            log.append({"sender_id": self.sender, **event.as_dict()})

        def start(self, customer: int | None) -> None:
            self.add(ActionExecuted("action_session_start"))
            self.add(SessionStarted())
            if customer is not None:
                self.add(SlotSet("customer_id", customer))
            self.add(ActionExecuted("action_listen"))

        def user(
            self,
            text: str,
            intent: str,
            confidence: float,
            scores: tuple[float, float, float] | None,
            demands: list[dict[str, Any]] = (),  # type: ignore[assignment]
            products: list[str] = (),  # type: ignore[assignment]
            ranking: list[dict[str, Any]] | None = None,
            channel: str = "rest",
            gap: float = 5.0,
        ) -> None:
            parse: dict[str, Any] = {
                "intent": {"name": intent, "confidence": confidence},
                "entities": [
                    {
                        "entity": "product",
                        "value": p,
                        "start": 0,
                        "end": len(p),
                        "extractor": "RegexEntityExtractor",
                    }
                    for p in products
                ],
                "text": text,
                "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
            }
            if scores is not None:
                labels = ("negative", "neutral", "positive")
                best = max(range(3), key=lambda i: scores[i])
                parse["sentiment"] = {
                    "label": labels[best],
                    "confidence": scores[best],
                    "scores": dict(zip(labels, scores, strict=True)),
                }
            parse["demands"] = list(demands)
            self.add(
                UserUttered(
                    text,
                    parse["intent"],
                    parse["entities"],
                    parse,
                    input_channel=channel,
                    message_id=f"{self.sender}-m{sum(e['event'] == 'user' for e in log)}",
                    metadata={"customer_id": "signed-token-not-trusted"},
                ),
                gap,
            )

        def act(self, name: str, gap: float = 0.2) -> None:
            self.add(ActionExecuted(name), gap)

        def slot(self, name: str, value: Any) -> None:
            self.add(SlotSet(name, value), 0.1)

        def bot(self, text: str | None, buttons: list | None = None, **metadata: Any) -> None:
            self.add(BotUttered(text, {"buttons": buttons} if buttons else {}, metadata), 0.1)

        def agent(self, kind: str, agent: str, text: str, gap: float) -> None:
            payload = {"text": text, "custom": {"type": kind, "agent": agent, "text": text}}
            self.add(
                BotUttered(
                    None,
                    {"custom": {"data": payload}},
                    {"agent": agent, "handoff": kind, "agent_text": text},
                ),
                gap,
            )

    def demand(aspect: str, confidence: float, product: str | None = None) -> dict[str, Any]:
        return {"aspect": aspect, "confidence": confidence, "product": product}

    # --- c1: escalated on request, agent answers, hand-back, rating 4 ---
    c = Conv("c1", ts(16, 10))
    c.start(1)
    c.user(
        "my Trail Runner shoes arrived two weeks late",
        "complaint",
        0.95,
        (0.9, 0.08, 0.02),
        [demand("delivery", 0.9, "Trail Runner")],
        ["Trail Runner"],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.slot("churn_risk", 0.4)
    c.act("utter_apologise")
    c.bot("I'm sorry about that.")
    c.act("action_listen")
    c.user(
        "this is ridiculous, I want a person",
        "contact_human_agent",
        0.97,
        (0.95, 0.04, 0.01),
        [demand("customer_service", 0.8)],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.slot("churn_risk", 0.6)
    c.act("action_request_human")
    c.slot("handoff_requested", True)
    c.bot("I'm connecting you with a colleague.")
    c.slot("handoff_event", None)
    c.add(ConversationPaused(), 0.1)
    escalated = c.t
    c.act("action_listen")
    c.agent("agent_joined", "Alex Agent", "Alex Agent from our team has joined the chat.", 60)
    c.t = escalated
    c.agent(
        "agent_message",
        "Alex Agent",
        "So sorry! I refunded the shipping to 4111 1111 1111 1111.",
        90,
    )
    c.user("thanks", "thank_you", 0.9, (0.05, 0.15, 0.8), gap=30)
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.t = escalated
    c.agent("agent_left", "Alex Agent", "Alex Agent has left the chat.", 300)
    c.add(ConversationResumed(), 0.1)
    c.act("utter_ask_handoff_rating")
    c.bot("How would you rate the help you got (1-5)?")
    c.act("action_listen")
    c.user(
        "4",
        "inform",
        0.6,
        (0.2, 0.7, 0.1),
        ranking=[{"name": "inform", "confidence": 0.6}, {"name": "affirm", "confidence": 0.3}],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", "rated")
    c.act("utter_thanks_for_rating")
    c.bot("Thank you for your rating!")
    c.act("action_listen")

    # --- c2: FAQ answered ---
    c = Conv("c2", ts(17, 9))
    c.start(2)
    c.user(
        "how long do returns take for the Trail Runner?",
        "check_refund_policy",
        0.92,
        (0.1, 0.8, 0.1),
        [demand("returns_refunds", 0.85, "Trail Runner")],
        ["Trail Runner"],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_answer_question")
    c.bot("You can return items within 30 days.")
    c.slot("faq_answer_id", "12")
    c.act("action_listen")
    c.user("great, thanks!", "thank_you", 0.98, (0.02, 0.08, 0.9))
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("utter_welcome")
    c.bot("You're welcome!")
    c.act("action_listen")

    # --- c3: guest on socket.io; not understood (no answer), then a choice ---
    c = Conv("c3", ts(18, 15))
    c.start(None)
    c.user(
        "do you sell gift cards for weddings",
        "nlu_fallback",
        0.7,
        (0.3, 0.6, 0.1),
        ranking=[
            {"name": "nlu_fallback", "confidence": 0.7},
            {"name": "product_question", "confidence": 0.45},
        ],
        channel="socketio",
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_handle_fallback")
    c.bot("I'm not sure I can answer that.")
    c.act("action_listen")
    c.user(
        "what payment options do you have",
        "check_payment_methods",
        0.93,
        (0.1, 0.8, 0.1),
        [demand("payment", 0.7)],
        channel="socketio",
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_answer_question")
    c.bot(
        "Which of these do you mean?",
        [
            {"title": "Payment methods", "payload": '/product_question{"faq_id": "31"}'},
            {"title": "Paying in instalments", "payload": '/product_question{"faq_id": "32"}'},
        ],
    )
    c.slot("faq_answer_id", None)
    c.act("action_listen")
    c.user(
        '/product_question{"faq_id": "31"}',
        "product_question",
        1.0,
        (0.1, 0.8, 0.1),
        channel="socketio",
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_answer_question")
    c.bot("We accept cards, PayPal and Apple Pay.")
    c.slot("faq_answer_id", "31")
    c.act("action_listen")

    # --- c4: negative streak, automatic hand-over, nobody answers yet ---
    c = Conv("c4", ts(19, 20))
    c.start(1)
    c.user(
        "the Trail Runner sole came off after a week",
        "complaint",
        0.9,
        (0.92, 0.05, 0.03),
        [demand("quality", 0.9, "Trail Runner")],
        ["Trail Runner"],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.slot("churn_risk", 0.45)
    c.act("utter_apologise")
    c.bot("I'm sorry about that.")
    c.act("action_listen")
    c.user(
        "and the delivery was late too",
        "complaint",
        0.88,
        (0.9, 0.07, 0.03),
        [demand("delivery", 0.85)],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", "escalate:negative_streak")
    c.slot("churn_risk", 0.7)
    c.act("action_escalate")
    c.bot("A colleague will take over shortly.")
    c.slot("handoff_event", None)
    c.slot("churn_risk", 0.7)
    c.add(ConversationPaused(), 0.1)
    c.act("action_listen")

    # --- c5: happy price question, answered; personal data in the text ---
    c = Conv("c5", ts(20, 11))
    c.start(3)
    c.user(
        "is the Denim Jacket worth the price? love it. call me on +44 7700 900123 "
        "or jane.doe@example.com",
        "product_question",
        0.85,
        (0.05, 0.25, 0.7),
        [demand("price", 0.8, "Denim Jacket")],
        ["Denim Jacket"],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_answer_question")
    c.bot("It is our best-selling jacket.")
    c.slot("faq_answer_id", "7")
    c.act("action_listen")

    # --- previous week ---
    c = Conv("c6", ts(11, 12))
    c.start(2)
    c.user(
        "where is my order 1003", "track_order", 0.96, (0.1, 0.8, 0.1), [demand("delivery", 0.6)]
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_check_order_status")
    c.bot("Order 1003 is on its way.")
    c.act("action_listen")

    c = Conv("c7", ts(12, 8))
    c.start(None)
    c.user("my parcel is late", "complaint", 0.9, (0.85, 0.1, 0.05), [demand("delivery", 0.9)])
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("utter_apologise")
    c.bot("I'm sorry about that.")
    c.act("action_listen")

    c = Conv("c8", ts(21, 7))
    c.start(None)

    # --- Chinese shoppers, after the test week (the week's figures stay as they were) ---
    c = Conv("c9", ts(23, 8))
    c.start(None)
    c.user(
        "亲，我的快递到哪了？一直没收到",
        "track_order",
        0.93,
        (0.55, 0.4, 0.05),
        [demand("delivery", 0.8)],
        channel="socketio",
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.slot("language", "zh")
    c.act("utter_ask_order_id")
    c.bot("亲，请提供一下您的订单号哦～")
    c.act("action_listen")
    c.user("1003", "inform", 0.88, (0.1, 0.8, 0.1), channel="socketio")
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_check_order_status")
    c.bot("亲，您的订单 1003 正在配送中，预计 11 月 25 日送达。")
    c.act("action_listen")
    c.user("好的，谢谢！", "thank_you", 0.97, (0.02, 0.08, 0.9), channel="socketio")
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("utter_welcome")
    c.bot("不客气，祝您购物愉快！")
    c.act("action_listen")

    c = Conv("c10", ts(23, 9))
    c.start(None)
    c.user(
        "请问怎么退货？",
        "check_refund_policy",
        0.9,
        (0.1, 0.8, 0.1),
        [demand("returns_refunds", 0.8)],
    )
    c.act("action_extract_slots")
    c.slot("handoff_event", None)
    c.act("action_answer_question")
    c.bot("You can return items within 30 days.")
    c.slot("faq_answer_id", "12")
    c.act("action_listen")
    return log


def main() -> None:
    """Write the fixture file."""
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()

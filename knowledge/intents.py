"""The assistant's intents: one list that the answer templates, tests and tools share."""

from __future__ import annotations

# The Bitext customer-service taxonomy (27 intents), named exactly as Bitext names them.
BITEXT_INTENTS = (
    "cancel_order",
    "change_order",
    "change_shipping_address",
    "check_cancellation_fee",
    "check_invoice",
    "check_payment_methods",
    "check_refund_policy",
    "complaint",
    "contact_customer_service",
    "contact_human_agent",
    "create_account",
    "delete_account",
    "delivery_options",
    "delivery_period",
    "edit_account",
    "get_invoice",
    "get_refund",
    "newsletter_subscription",
    "payment_issue",
    "place_order",
    "recover_password",
    "registration_problems",
    "review",
    "set_up_shipping_address",
    "switch_account",
    "track_order",
    "track_refund",
)
# Conversation management.
SMALL_TALK_INTENTS = ("greet", "goodbye", "affirm", "deny", "thank", "bot_challenge")
# All 35 intents of the domain (plus Rasa's nlu_fallback, which is not trained).
INTENTS = frozenset((*BITEXT_INTENTS, *SMALL_TALK_INTENTS, "product_question", "out_of_scope"))

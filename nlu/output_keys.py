"""Keys the NLU publishes in a parse result beyond Rasa's own.

Imported by nlu/, actions/ and insight/.

Kept free of heavy imports so the action server (which never imports rasa) can use it.
"""

# {"label": "negative"|"neutral"|"positive", "confidence": float, "scores": {label: float}}
SENTIMENT = "sentiment"
# [{"aspect": str, "confidence": float, "product": str | None}, ...]
DEMANDS = "demands"
# {"label": bool, "confidence": float}: whether the message should go to a person (learned head)
HANDOFF = "handoff"

SENTIMENT_LABELS = ("negative", "neutral", "positive")
DEMAND_ASPECTS = (
    "price",
    "quality",
    "delivery",
    "size_fit",
    "packaging",
    "customer_service",
    "product_feature",
    "payment",
    "returns_refunds",
    "account_website",
)

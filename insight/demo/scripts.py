"""Scripts of simulated shoppers: who they are, what they say, how they rate a hand-over.

Deterministic: :func:`build_shoppers` depends only on its seed, the corpus and the shop data.
Personas (share of conversations):

* ``happy`` — praise and a question, thanks;
* ``angry`` — several complaints about one thing (often a streak that hands over);
* ``churn_risk`` — one of the hand-written churn conversations (disputes, threats to leave);
* ``faq`` — policy questions the FAQ answers (paraphrases the index never saw);
* ``order`` — a signed-in customer asks about one of their real orders;
* ``human`` — a question, then an explicit request for a person;
* ``product`` — a question about a product by name.

About two thirds of shoppers are signed-in seeded customers (the driver sends their id as a
signed ``customer_id`` token in the channel metadata, as the shop page does); the rest are
guests. Some customers come back more than once. Shoppers who reach a person may send a line
while they wait and rate the help 1-5 after the hand-back when the demo agent took the
conversation.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

from insight.demo.corpus import Corpus, Utterance
from insight.demo.shop_data import ShopCustomer, ShopData

logger = logging.getLogger(__name__)

T = TypeVar("T")

PERSONA_WEIGHTS: dict[str, float] = {
    "happy": 0.18,
    "angry": 0.2,
    "churn_risk": 0.12,
    "faq": 0.2,
    "order": 0.12,
    "human": 0.08,
    "product": 0.1,
}
# Ratings after a hand-back, per persona.
RATINGS: dict[str, tuple[int, ...]] = {
    "happy": (4, 5, 5),
    "angry": (1, 2, 2, 3, 4),
    "churn_risk": (1, 1, 2, 3),
    "faq": (3, 4, 5),
    "order": (3, 4, 5),
    "human": (3, 4, 4, 5),
    "product": (3, 4, 5),
}
SIGNED_IN_SHARE = 0.65
# Share of the customers that ever chat (so that some of them come back).
CHATTING_CUSTOMERS_SHARE = 0.6
# Share of hand-overs the demo agent takes (the rest stay in the queue).
AGENT_ANSWERS_SHARE = 0.8
# Share of demand messages that name a product ("about the <product>, ...").
PRODUCT_MENTION_SHARE = 0.5

# Lines the held-out files have no examples of: asking for a person and about one's own order.
HUMAN_REQUESTS = (
    "can I speak to a real person please",
    "I want to talk to a human agent",
    "please connect me with someone from customer service",
    "let me talk to a person",
)
ORDER_QUESTIONS = (
    "where is my order {order_id}?",
    "can you track order {order_id} for me",
    "what's the status of order {order_id}",
    "I need the invoice for order {order_id}",
)
AGENT_REPLIES = (
    "Hi, I'm sorry for the trouble. I've looked into it and I'm sorting it out now.",
    "Thanks for waiting. I can see what happened and I've fixed it for you.",
    "Sorry about this. I've asked our warehouse team to check and added a voucher for you.",
    "I understand. I've arranged a replacement and you'll get an email confirmation shortly.",
)


@dataclass(frozen=True)
class Shopper:
    """One simulated conversation."""

    sender_id: str
    persona: str
    customer_id: int | None
    turns: tuple[str, ...]
    # Said while waiting for a person (when the conversation was handed over).
    wait_message: str | None
    # Rating 1-5 after the hand-back (when the demo agent took the conversation).
    rating: int
    # Whether the demo agent claims the hand-over (otherwise it stays in the queue).
    agent_answers: bool
    agent_reply: str
    # Said after rating.
    closing: str | None


class _Writer:
    """Builds the turns of one persona with one random generator."""

    def __init__(self, rng: random.Random, corpus: Corpus, shop: ShopData) -> None:
        self.rng = rng
        self.corpus = corpus
        self.shop = shop

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def say(self, utterance: Utterance, customer: ShopCustomer | None) -> str:
        """The utterance, sometimes about a product the customer bought (or any product)."""
        if not utterance.demands or not self.chance(PRODUCT_MENTION_SHARE):
            return utterance.text
        names = customer.product_names if customer and customer.product_names else None
        product = self.pick(names or self.shop.product_names)
        return f"about the {product.lower()}, {utterance.text}"

    def happy(self, customer: ShopCustomer | None) -> list[str]:
        turns = [self.pick(self.corpus.small_talk("neutral")).text] if self.chance(0.5) else []
        for _ in range(self.rng.randint(1, 2)):
            turns.append(self.say(self.pick(self.corpus.with_demand("positive")), customer))
        if self.chance(0.5):
            turns.append(self.say(self.pick(self.corpus.with_demand("neutral")), customer))
        turns.append(self.pick(self.corpus.small_talk("positive")).text)
        return turns

    def angry(self, customer: ShopCustomer | None) -> list[str]:
        complaints = self.corpus.with_demand("negative")
        aspect = self.pick(self.pick(complaints).demands)
        about = [u for u in complaints if aspect in u.demands] or list(complaints)
        turns = [self.pick(self.corpus.small_talk("neutral")).text] if self.chance(0.3) else []
        for _ in range(self.rng.randint(2, 4)):
            turns.append(self.say(self.pick(about), customer))
        if self.chance(0.4):
            turns.append(self.pick(self.corpus.small_talk("negative")).text)
        return turns

    def churn_risk(self, customer: ShopCustomer | None) -> list[str]:
        return list(self.pick(self.corpus.churn_scripts))

    def faq(self, customer: ShopCustomer | None) -> list[str]:
        turns = [self.pick(self.corpus.faq_questions) for _ in range(self.rng.randint(1, 3))]
        if self.chance(0.6):
            turns.append(self.pick(self.corpus.small_talk("positive")).text)
        return turns

    def order(self, customer: ShopCustomer | None) -> list[str]:
        assert customer is not None and customer.order_ids
        turns = [self.pick(ORDER_QUESTIONS).format(order_id=self.pick(customer.order_ids))]
        if self.chance(0.5):
            sentiment = self.pick(("negative", "neutral", "positive"))
            turns.append(self.say(self.pick(self.corpus.with_demand(sentiment)), customer))
        turns.append(self.pick(self.corpus.small_talk("positive")).text)
        return turns

    def human(self, customer: ShopCustomer | None) -> list[str]:
        first = self.pick(self.corpus.with_demand(self.pick(("negative", "neutral"))))
        return [self.say(first, customer), self.pick(HUMAN_REQUESTS)]

    def product(self, customer: ShopCustomer | None) -> list[str]:
        questions = [
            u
            for u in self.corpus.with_demand("neutral")
            if {"product_feature", "size_fit", "quality"} & set(u.demands)
        ] or list(self.corpus.with_demand("neutral"))
        product = self.pick(self.shop.product_names).lower()
        turns = [f"about the {product}, {self.pick(questions).text}"]
        if self.chance(0.5):
            turns.append(self.pick(self.corpus.small_talk("positive")).text)
        return turns


def build_shoppers(
    count: int, seed: int, run_id: str, corpus: Corpus, shop: ShopData
) -> list[Shopper]:
    """``count`` shoppers; the same seed, corpus and shop data give the same scripts."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = random.Random(seed)
    writer = _Writer(rng, corpus, shop)
    chatting = [c for c in shop.customers if c.order_ids]
    rng.shuffle(chatting)
    chatting = chatting[: max(1, int(len(chatting) * CHATTING_CUSTOMERS_SHARE))]
    personas = list(PERSONA_WEIGHTS)
    weights = [PERSONA_WEIGHTS[p] for p in personas]
    scripts: dict[str, Callable[[ShopCustomer | None], list[str]]] = {
        name: getattr(writer, name) for name in personas
    }
    shoppers = []
    for index in range(count):
        persona = rng.choices(personas, weights)[0]
        signed_in = persona == "order" or rng.random() < SIGNED_IN_SHARE
        customer = writer.pick(chatting) if signed_in and chatting else None
        if persona == "order" and customer is None:
            persona = "faq"
        shoppers.append(
            Shopper(
                sender_id=f"demo-{run_id}-{index:04d}",
                persona=persona,
                customer_id=customer.id if customer else None,
                turns=tuple(scripts[persona](customer)),
                wait_message=(
                    writer.pick(corpus.with_demand("negative")).text
                    if persona in ("angry", "churn_risk") and writer.chance(0.5)
                    else None
                ),
                rating=writer.pick(RATINGS[persona]),
                agent_answers=writer.chance(AGENT_ANSWERS_SHARE),
                agent_reply=writer.pick(AGENT_REPLIES),
                closing=writer.pick(corpus.small_talk("positive")).text
                if writer.chance(0.5)
                else None,
            )
        )
    return shoppers

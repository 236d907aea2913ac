"""Churn risk: transparent noisy-OR scores with reasons, the hand-over rule, priorities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.graph.queries import ChurnInputs
from knowledge.scoring.churn import (
    ChurnConfig,
    Turn,
    assess,
    conversation_risk,
    customer_risk,
    handoff_trigger,
    phrase_signals,
)
from knowledge.settings import Settings

CONFIG = ChurnConfig.from_settings(Settings())


def neg(text: str = "", intent: str = "complaint", confidence: float = 0.9) -> Turn:
    return Turn(text, intent, "negative", confidence, -confidence)


def neutral(text: str = "", intent: str = "track_order") -> Turn:
    return Turn(text, intent, "neutral", 0.8, 0.0)


def inputs(**values: int) -> ChurnInputs:
    base = dict(
        customer_id=1,
        messages=0,
        negative_messages=0,
        negative_streak=0,
        mean_sentiment=None,
        late_orders=0,
        problem_orders=0,
        open_returns=0,
        escalations=0,
        orders=2,
        spend=Decimal("120.00"),
        days_since_last_order=None,
        days_since_last_contact=None,
    )
    base.update(values)
    return ChurnInputs(**base)  # type: ignore[arg-type]


def test_the_issue_example_hands_over_with_reasons() -> None:
    turn = Turn(
        "this is the third time I ask, where is my refund, I'll dispute the charge",
        "get_refund",
        "negative",
        0.9,
        -0.85,
    )
    result = assess([turn], None, CONFIG)
    assert result.trigger == "churn_risk" and result.risk >= CONFIG.threshold
    signals = [r.signal for r in result.reasons]
    assert signals[:2] == ["dispute", "repeated_contact"]
    assert "intent:get_refund" in signals and "negative_turn" in signals
    assert result.priority >= 3


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("I'm going to file a chargeback", "dispute"),
        ("I'll call my bank", "dispute"),
        ("I will never order from you again", "threat_to_leave"),
        ("close my account", "threat_to_leave"),
        ("switching to amazon", "threat_to_leave"),
        ("how many times do I have to ask", "repeated_contact"),
        ("still no refund", "repeated_contact"),
        ("我再也不在你们家买了", "threat_to_leave"),
        ("帮我把账号注销掉", "threat_to_leave"),
        ("以后去京东买", "threat_to_leave"),
        ("取消！以后不在你们家买了", "threat_to_leave"),
        ("我要打12315投诉你们", "dispute"),
        ("我要申请信用卡拒付", "dispute"),
        ("这是我第三次问了", "repeated_contact"),
        ("客服一直没人回", "repeated_contact"),
        ("等了两个星期了", "repeated_contact"),
    ],
)
def test_phrase_patterns(text: str, signal: str) -> None:
    assert signal in [s for s, _ in phrase_signals(text)]


@pytest.mark.parametrize("text", ["我的快递到哪了", "怎么退货", "这件衣服有M码吗", "谢谢，再见"])
def test_ordinary_chinese_messages_fire_no_phrase(text: str) -> None:
    assert phrase_signals(text) == []


def test_angry_chinese_shopper_who_threatens_to_leave_is_handed_over() -> None:
    text = "什么垃圾服务！快递一个星期都没到，客服也不回，再也不在你们家买了！"
    assert assess([neg(text, "complaint")], None, CONFIG).trigger == "churn_risk"


def test_hard_negatives_stay_below_the_threshold() -> None:
    polite = [neutral("hi, I'd like a refund for the mug I returned", "get_refund")]
    resolved = [neg("where is my parcel, it's late!", "track_order"), neutral("oh it arrived")]
    assert assess(polite, None, CONFIG).trigger is None
    assert assess(resolved, None, CONFIG).trigger is None
    assert "already returned" not in str(phrase_signals("I've already returned it"))


def test_negative_streak_and_fallbacks_trigger() -> None:
    streak = [neg("late", "track_order")] * CONFIG.negative_streak
    assert handoff_trigger(streak, 0.0, CONFIG) == "negative_streak"
    weak = [neg("late", "track_order", confidence=0.6)] * 5
    assert handoff_trigger(weak, 0.0, CONFIG) is None
    fallbacks = [Turn("?", "nlu_fallback")] * CONFIG.fallbacks
    assert handoff_trigger(fallbacks, 0.0, CONFIG) == "fallbacks"
    assert handoff_trigger([Turn("human", "contact_human_agent")], 0.0, CONFIG) == "request"


def test_history_raises_but_never_alone_crosses_the_threshold() -> None:
    heavy = inputs(
        escalations=5,
        late_orders=5,
        problem_orders=5,
        open_returns=5,
        messages=10,
        negative_messages=9,
    )
    customer = customer_risk(heavy, CONFIG)
    assert customer.risk > 0.6 and {r.signal for r in customer.reasons} >= {
        "past_escalation",
        "negative_history",
        "late_order",
    }
    calm = assess([neutral("where is my order")], heavy, CONFIG)
    assert calm.trigger is None and calm.risk < CONFIG.threshold
    upset = [neg("my parcel is late", "track_order")]
    assert assess(upset, heavy, CONFIG).risk > assess(upset, None, CONFIG).risk


def test_high_value_customer_raises_priority() -> None:
    turns = [neg("never again", "complaint")]
    normal = assess(turns, inputs(spend=Decimal("50")), CONFIG)
    vip = assess(turns, inputs(spend=Decimal("5000")), CONFIG)
    assert vip.priority == min(4, normal.priority + 1)


def test_weights_are_configurable() -> None:
    config = ChurnConfig.from_settings(Settings(churn_weights={"dispute": 0.0}))
    assert conversation_risk([neutral("I'll dispute it")], config).risk == 0.0


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["complaint", "get_refund", "nlu_fallback", "greet", None]),
            st.sampled_from(["negative", "neutral", "positive", None]),
            st.floats(0, 1),
            st.sampled_from(["", "dispute", "third time", "never order again", "thanks"]),
        ),
        max_size=12,
    )
)
def test_risk_is_a_probability_and_reasons_explain_it(turns_spec: list) -> None:
    turns = [Turn(text, intent, label, conf, None) for intent, label, conf, text in turns_spec]
    score = conversation_risk(turns, CONFIG)
    assert 0.0 <= score.risk <= 1.0
    remaining = 1.0
    for reason in score.reasons:
        remaining *= 1 - reason.weight
    assert score.risk == pytest.approx(1 - remaining)


@pytest.mark.parametrize(
    "text", ["switch to another account pls", "move me to a different payment card"]
)
def test_switching_to_another_account_is_not_a_threat_to_leave(text: str) -> None:
    assert phrase_signals(text) == []
    assert "threat_to_leave" in [s for s, _ in phrase_signals("i'm switching to another shop")]


@pytest.mark.parametrize("text", ["i want to delete my account", "删除账号", "帮我把账号注销掉"])
def test_account_closure_counts_once_with_the_delete_account_intent(text: str) -> None:
    """The phrase and the intent are the same evidence: a calm request is no hand-over."""
    calm = assess([neutral(text, "delete_account")], None, CONFIG)
    assert calm.trigger is None
    assert [r.signal for r in calm.reasons] == ["intent:delete_account"]
    # Read as another intent, the phrase still counts as a threat to leave.
    other = assess([neutral(text, "complaint")], None, CONFIG)
    assert "threat_to_leave" in [r.signal for r in other.reasons]


def test_account_closure_with_another_threat_still_counts_the_other() -> None:
    text = "delete my account, i will never order from you again"
    result = assess([neutral(text, "delete_account")], None, CONFIG)
    assert "threat_to_leave" in [r.signal for r in result.reasons]

"""Account requests, newsletter, asking for a person, fallbacks and stopping a flow."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.account import (
    ActionChangeEmail,
    ActionDeleteAccount,
    ValidateDeleteAccountForm,
    ValidateEmailChangeForm,
)
from actions.fallback import ActionHandleFallback, ActionStopFlow
from actions.human import ActionRequestHuman
from actions.newsletter import ActionNewsletter, wants_unsubscribe
from knowledge.models import Customer
from tests.actions.conftest import make_tracker, responses, run_action, slot_events


async def test_delete_account_is_recorded_not_executed(domain, session_factory) -> None:
    tracker = make_tracker({"customer_id": 3, "confirm_delete": True})
    events, messages = await run_action(ActionDeleteAccount(), tracker, domain)
    assert responses(messages) == ["utter_delete_recorded"]
    assert slot_events(events) == {"confirm_delete": None}
    with session_factory() as s:
        assert s.get(Customer, 3) is not None


async def test_delete_account_declined_or_guest(domain) -> None:
    _, messages = await run_action(
        ActionDeleteAccount(), make_tracker({"customer_id": 3, "confirm_delete": False}), domain
    )
    assert responses(messages) == ["utter_delete_kept"]
    _, messages = await run_action(ActionDeleteAccount(), make_tracker({}), domain)
    assert responses(messages) == ["utter_sign_in_for_account"]
    assert (
        await ValidateDeleteAccountForm().required_slots(
            ["confirm_delete"], None, make_tracker({}), domain
        )
        == []
    )


async def test_change_email(domain, session_factory) -> None:
    validator = ValidateEmailChangeForm()
    tracker = make_tracker({"customer_id": 5})
    dispatcher = CollectingDispatcher()
    with session_factory() as s:
        taken = s.get(Customer, 6).email
    assert validator.validate_new_email("nope", dispatcher, tracker, domain) == {"new_email": None}
    assert validator.validate_new_email(taken, dispatcher, tracker, domain) == {"new_email": None}
    assert responses(dispatcher.messages) == ["utter_invalid_email", "utter_email_taken"]
    assert validator.validate_new_email("Me@New.example", dispatcher, tracker, domain) == {
        "new_email": "me@new.example"
    }
    tracker = make_tracker({"customer_id": 5, "new_email": "me@new.example"})
    events, messages = await run_action(ActionChangeEmail(), tracker, domain)
    assert responses(messages) == ["utter_email_changed"]
    assert slot_events(events) == {"new_email": None}
    with session_factory() as s:
        assert s.get(Customer, 5).email == "me@new.example"


async def test_newsletter_subscribe_and_unsubscribe(domain, session_factory) -> None:
    for text, flag, response in [
        ("please unsubscribe me from the newsletter", False, "utter_unsubscribed"),
        ("stop sending me newsletters", False, "utter_already_unsubscribed"),
        ("sign me up for the newsletter", True, "utter_subscribed"),
        ("I want the newsletter", True, "utter_already_subscribed"),
    ]:
        tracker = make_tracker({"customer_id": 2}, text=text, intent="newsletter_subscription")
        _, messages = await run_action(ActionNewsletter(), tracker, domain)
        assert responses(messages) == [response], text
        with session_factory() as s:
            assert s.get(Customer, 2).newsletter is flag
    _, messages = await run_action(ActionNewsletter(), make_tracker({}, text="subscribe"), domain)
    assert responses(messages) == ["utter_newsletter_sign_in"]
    assert not wants_unsubscribe("subscribe me") and wants_unsubscribe("opt out please")


async def test_request_human_records_and_stops_forms(domain) -> None:
    # The hand-over itself (escalation, pause, agents online or not) is tested in
    # tests/actions/test_escalation.py.
    events, messages = await run_action(ActionRequestHuman(), make_tracker({}), domain)
    assert responses(messages) == ["utter_handoff_no_agent"]
    assert events[0] == {
        "event": "slot",
        "name": "handoff_requested",
        "value": True,
        "timestamp": None,
    }
    assert events[-1] == {"event": "pause", "timestamp": None}
    events, _ = await run_action(
        ActionRequestHuman(), make_tracker({}, active_loop="return_form"), domain
    )
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


def fallback_tracker(intents):
    events = [{"event": "user", "parse_data": {"intent": {"name": i}}} for i in intents]
    return make_tracker({}, intent=intents[-1], events=events)


async def test_fallback_rephrase_then_offer_a_person(domain) -> None:
    _, messages = await run_action(
        ActionHandleFallback(), fallback_tracker(["greet", "nlu_fallback"]), domain
    )
    assert responses(messages) == ["utter_faq_not_sure"]
    _, messages = await run_action(
        ActionHandleFallback(), fallback_tracker(["nlu_fallback", "nlu_fallback"]), domain
    )
    assert responses(messages) == ["utter_fallback_offer_human"]
    assert messages[0]["buttons"] is not None


async def test_stop_flow_deactivates_the_form(domain) -> None:
    events, messages = await run_action(ActionStopFlow(), make_tracker({}), domain)
    assert (events, responses(messages)) == ([], ["utter_ok_anything_else"])
    events, messages = await run_action(
        ActionStopFlow(), make_tracker({}, active_loop="cancel_order_form"), domain
    )
    assert responses(messages) == ["utter_flow_stopped"]
    assert slot_events(events) == {
        "confirm_cancel": None,
        "order_eligible": None,
        "requested_slot": None,
    }

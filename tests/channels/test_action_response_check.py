"""The cached check of action-server responses accepts and rejects exactly as Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from channels import action_response_check

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
    {},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": {"text": "a dict, not a list"}},
]


@pytest.fixture()
def action() -> RemoteAction:
    """A remote action as Rasa builds one for a custom action name."""
    return RemoteAction("action_anything", EndpointConfig("http://localhost:1/webhook"))


@pytest.mark.parametrize("result", GOOD)
def test_good_responses_pass(action: RemoteAction, result: dict) -> None:
    assert action_response_check.validate_action_result(action, result) is True


@pytest.mark.parametrize("result", BAD)
def test_bad_responses_raise_rasas_error(action: RemoteAction, result: dict) -> None:
    with pytest.raises(ValidationError) as expected:
        validate(result, action.action_response_format_spec())
    with pytest.raises(ValidationError) as ours:
        action_response_check.validate_action_result(action, result)
    assert ours.value.message.startswith(expected.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_install_is_idempotent_and_used_by_rasa(action: RemoteAction) -> None:
    original = RemoteAction._validate_action_result
    try:
        action_response_check.install()
        action_response_check.install()
        assert RemoteAction._validate_action_result is action_response_check.validate_action_result
        assert action._validate_action_result({"events": []}) is True
        with pytest.raises(ValidationError):
            action._validate_action_result({"events": "x"})
    finally:
        RemoteAction._validate_action_result = original  # type: ignore[method-assign]

"""A faster check of action-server responses inside the Rasa server (same schema, same errors).

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
action-server reply, and that checks the response *schema* against jsonschema's meta-schema
again each time: 32.7 ms of a call on the loaded 2-core machine, 1.2 ms with a validator built
once (``docs/performance.md``). :func:`install` swaps in a method that builds the validator once
per schema and raises the error ``jsonschema.validate`` would (its ``best_match``), with Rasa's
own hint appended. Our input channels call it when Rasa builds their blueprints, at start-up.
Upstream Rasa 3.6 is frozen (no fix to take), hence this small patch of our own.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any, Dict

logger = logging.getLogger(__name__)

_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the "
    "Action endpoint is valid. For more information about the format visit "
)


@lru_cache(maxsize=8)
def _validator(schema_json: str) -> Any:
    """A checked validator for one schema (the meta-schema check runs once per schema)."""
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """Replacement for ``RemoteAction._validate_action_result``: True, or raise like Rasa."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    schema = self.action_response_format_spec()
    error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(result))
    if error is None:
        return True
    error.message += f"{_HINT}{DOCS_BASE_URL}/custom-actions"
    raise error


def install() -> None:
    """Use :func:`validate_action_result` in Rasa's RemoteAction (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, "_validate_action_result", None) is not validate_action_result:
        RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
        logger.debug("action responses are checked with a cached jsonschema validator")

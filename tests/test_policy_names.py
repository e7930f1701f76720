"""Every action the policy table can pick is registered; a misspelt one stops start-up."""

from __future__ import annotations

from typing import Any

import pytest

from actions.registry import registry
from bot.dialogue.engine import Engine
from bot.dialogue.policy import FALLBACK_ACTION, action_names
from bot.errors import ConfigError


def test_the_registry_has_every_action_the_policy_names() -> None:
    assert action_names() <= registry().keys()


def test_an_engine_without_an_action_the_policy_names_does_not_start() -> None:
    actions = {name: action for name, action in registry().items() if name != FALLBACK_ACTION}
    unused: Any = None
    with pytest.raises(ConfigError, match=FALLBACK_ACTION):
        Engine(nlu=unused, knowledge=unused, conversations=unused, contacts=unused,
               leads=unused, actions=actions, fallbacks=unused, counters=unused,
               clock=unused, eraser=unused, notices=unused)

"""Every Redis key the bot uses, in one place.

Keys carry a project prefix so several deployments (or the test suite) can share one server, and
per-contact keys put the contact in a hash tag (`{...}`) so everything about one person lives in
one Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key builders under one prefix."""

    prefix: str = "sp"

    def _contact(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:{{c:{channel}:{user_id}}}"

    def state(self, channel: str, user_id: str) -> str:
        """Conversation state of one contact (JSON string, expires after the idle TTL)."""
        return f"{self._contact(channel, user_id)}:state"

    def profile(self, channel: str, user_id: str) -> str:
        """Contact profile hash: channel, first/last seen, occupation, area, consent."""
        return f"{self._contact(channel, user_id)}:profile"

    def lead(self, channel: str, user_id: str) -> str:
        """Registration-interest (pendataan) record of one contact, a hash."""
        return f"{self._contact(channel, user_id)}:lead"

    def leads_index(self) -> str:
        """Sorted set of contact ids with a lead, scored by the time it was left."""
        return f"{self.prefix}:leads"

    def contacts_index(self) -> str:
        """Sorted set of every contact id (`channel:user_id`), scored by last seen."""
        return f"{self.prefix}:contacts"

    def kb_document(self) -> str:
        """The current knowledge base (answers, facts, branches) as one JSON document."""
        return f"{self.prefix}:kb:current"

    def kb_version(self) -> str:
        """Counter bumped on every knowledge-base change; processes poll it to reload."""
        return f"{self.prefix}:kb:version"

    def model_blob(self) -> str:
        """The current trained NLU model (bytes), shared by every process."""
        return f"{self.prefix}:nlu:model"

    def model_version(self) -> str:
        """Fingerprint of the current model; processes poll it to hot-swap."""
        return f"{self.prefix}:nlu:model_version"

    def fallbacks(self) -> str:
        """Stream of messages the bot did not understand (NIKs masked), for the admin inbox."""
        return f"{self.prefix}:fallbacks"

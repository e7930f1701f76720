"""Every Redis key the bot uses, in one place, with its Redis Cluster slot and its lifetime.

Keys carry a project prefix so several deployments (or the test suite) can share one server. On a
Redis Cluster a key's slot is the CRC16 of its hash tag (the first `{...}`), and a script, a
MULTI or a multi-key command must stay within one slot, so keys that change together share a tag:

- a contact's state, turn, profile and lead: `{c:<channel>:<id>}` (Telegram and WhatsApp
  shortened to `t` and `w`, see CHANNEL_TAGS), one slot per contact.
  State: the idle TTL; turn: a lock of milliseconds; profile: the anonymous TTL, renewed by
  each message, until the worker gives data; then none: the contacts sweep (CONTACT_SWEEP_EVERY)
  deletes it `dialogue.profile_ttl_days` after its last message or import (a TTL would cost
  each of millions of profiles an entry in Redis's expiry table); lead:
  `dialogue.lead_retention_days` (config.yml), renewed when the worker updates it. The
  contact's other keys share the tag so erasure finds each by name: the flood notice, the
  per-chat send pacing (seconds), unsent replies (TELEGRAM_UPDATE_SEEN_TTL), and the indexes
  of their inbox entries, delivery statuses and handoffs.
- contacts index of the channels a broadcast reaches: CONTACT_INDEX_SHARDS sets per channel,
  `{ci:<channel tag>:<n>}`, of the user ids of contacts who gave data (an anonymous sender is
  never indexed); an entry goes with its profile (deleted together; readers drop entries whose
  profile expired). No TTL: an entry lives as long as its profile.
- the contacts sweep's turn: `contacts:sweep`, untagged, one key, CONTACT_SWEEP_EVERY.
- leads index: `{leads}`; an entry goes with its lead (readers drop entries whose lead expired).
- knowledge base (document, version, history, snapshots, write lock): `{kb}`. The current
  document has no TTL (it is the live KB); history keeps the last KB_HISTORY_KEEP versions.
- NLU model (blob, version, training state and lock): `{nlu}`; no TTL, it is the live model.
- console (users, sessions, a user's sessions, login failures, audit): `{admin}`, small traffic.
  Users: none (deleted by an admin); sessions: ADMIN_SESSION_TTL; failures:
  LOGIN_FAILURE_WINDOW; audit: a capped stream.
- a campaign (definition, outcomes, counts, queue): `{b:<campaign id>}`, one slot per campaign.
  None while it runs; `broadcast.outcome_days` (config.yml) once it ends.
- campaigns index and active set: `{campaigns}`; an id leaves with its campaign.
- a rate-limit bucket, or a cap's log with its waiting senders: `{r:<bucket>}`; expires shortly
  after its last use.
- a handoff to staff (hash, messages): `{h:<id>}`; none while open or taken (staff close it),
  HANDOFF_KEEP_DAYS once closed. The handoff indexes by status (`handoffs:<status>`, untagged,
  one key each) lose an id when it moves or is erased, and the closed one its expired ids (the
  oldest few are looked at on every close); the counter that numbers them is one integer.
- broadcast workers' heartbeats and channels: two untagged keys, renewed by each beat and
  expiring 2 * WORKER_SEEN_SECONDS after the last; a worker not seen for ten times that leaves
  both.
- seen markers, delivery statuses, daily counts: one key each, untagged, with the TTLs below;
  the fallbacks stream: one key, capped (MAXLEN).

Operations across two tags (a contact's profile and its index shard, a campaign and the campaigns
index) are separate single-slot steps ordered so a process dying between them leaves nothing a
reader trusts (each says why where it happens).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# The contacts index is split into this many sets per channel, each in its own slot, so no key
# or Redis Cluster shard holds every contact. A set holds user ids only (the channel is in its
# key): numeric ids (every Telegram and WhatsApp id) make it an intset, 8 bytes an entry, up to
# the server's set-max-intset-entries (512 by default: about 450,000 contacts a channel; the
# docker-compose Redis, the embedded one and the test servers set 8192, for 8 million: see
# SERVER_ARGS), beyond which a set becomes a hash table, 70-80 bytes an entry.
CONTACT_INDEX_SHARDS = 1024
# What the redis-servers this project starts are given (docker-compose.yml says the same).
SERVER_ARGS = ("--set-max-intset-entries", "8192")

# Contact keys are the most numerous: one profile per contact, so a few bytes of key are worth
# saving (a key of up to 28 characters takes a 32-byte allocation, up to 44 a 48-byte one).
CHANNEL_TAGS = {"telegram": "t", "whatsapp": "w"}
_CHANNELS_BY_TAG = {tag: channel for channel, tag in CHANNEL_TAGS.items()}
# Channels whose contacts are indexed: the ones a broadcast can reach (bot/broadcast/segments.py).
INDEXED_CHANNELS = tuple(CHANNEL_TAGS)


@dataclass(frozen=True)
class Keys:
    """Key builders under one prefix."""

    prefix: str = "sp"

    def _contact(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:{{c:{CHANNEL_TAGS.get(channel, channel)}:{user_id}}}"

    def state(self, channel: str, user_id: str) -> str:
        """Conversation state of one contact (JSON string, expires after the idle TTL)."""
        return f"{self._contact(channel, user_id)}:state"

    def turn(self, channel: str, user_id: str) -> str:
        """Held while one message of the contact is answered, so the next waits its turn."""
        return f"{self._contact(channel, user_id)}:turn"

    def profile(self, channel: str, user_id: str) -> str:
        """Contact profile hash: first/last seen, occupation, area, consent (short names)."""
        return f"{self._contact(channel, user_id)}:p"

    def profiles(self) -> str:
        """A SCAN pattern that matches every contact profile (and no other key).

        The prefix's own glob characters are escaped: `sp[x]` must match itself, not `spx`.
        """
        prefix = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix)
        return f"{prefix}:{{c:*}}:p"

    def profile_owner(self, key: str) -> tuple[str, str]:
        """The channel and user id of a contact profile's key."""
        tag, _, user_id = key[len(self.prefix) + 4:-3].partition(":")
        return _CHANNELS_BY_TAG.get(tag, tag), user_id

    def contacts_sweep(self) -> str:
        """Held by the process that sweeps expired contact profiles, until the next sweep is due."""
        return f"{self.prefix}:contacts:sweep"

    def lead(self, channel: str, user_id: str) -> str:
        """Registration-interest (pendataan) record of one contact, a hash."""
        return f"{self._contact(channel, user_id)}:lead"

    def _handoff(self, handoff_id: str) -> str:
        return f"{self.prefix}:{{h:{handoff_id}}}"

    def handoff(self, handoff_id: str) -> str:
        """Hash of one handoff: contact, branch, status, who took it, timestamps."""
        return f"{self._handoff(handoff_id)}:handoff"

    def handoff_messages(self, handoff_id: str) -> str:
        """List of a handoff's messages (JSON: who, text, at), in order."""
        return f"{self._handoff(handoff_id)}:messages"

    def handoffs_index(self) -> str:
        """Sorted set of handoff ids, scored by creation time (one key: no cross-slot reads)."""
        return f"{self.prefix}:handoffs"

    def handoff_counter(self) -> str:
        """Counter that numbers handoffs."""
        return f"{self.prefix}:handoffs:next"

    def workers_seen(self) -> str:
        """Broadcast workers' heartbeats: worker name -> time last seen.

        A sorted set whose TTL each beat renews, so it vanishes when no worker runs.
        """
        return f"{self.prefix}:workers"

    def workers_channels(self) -> str:
        """Hash of broadcast worker name -> the channels it sends on ("telegram,whatsapp")."""
        return f"{self.prefix}:workers:channels"

    def busy_notice(self, channel: str, user_id: str) -> str:
        """Set when a flooding contact was told to wait, so they are told once (SET NX EX)."""
        return f"{self._contact(channel, user_id)}:busy"

    def contact_inbox(self, channel: str, user_id: str) -> str:
        """Set of the contact's entries in the fallback stream, so erasure finds them."""
        return f"{self._contact(channel, user_id)}:inbox"

    def contact_deliveries(self, channel: str, user_id: str) -> str:
        """Message ids whose delivery status names the contact, so erasure finds them.

        A sorted set scored by when each status last moved, trimmed once the status expired.
        """
        return f"{self._contact(channel, user_id)}:deliveries"

    def contact_handoffs(self, channel: str, user_id: str) -> str:
        """Set of the contact's handoff ids, open or closed, so erasure finds them all."""
        return f"{self._contact(channel, user_id)}:handoffs"

    def chat_pace(self, channel: str, user_id: str) -> str:
        """Rate-limiter state of the sends to one chat (Telegram's per-chat limit)."""
        return f"{self._contact(channel, user_id)}:pace"

    def unsent(self, channel: str, user_id: str) -> str:
        """Hash of update id -> replies (JSON) answered but not yet delivered to the contact."""
        return f"{self._contact(channel, user_id)}:unsent"

    def leads_index(self) -> str:
        """Sorted set of contact ids with a lead, scored by the time it was left."""
        return f"{self.prefix}:{{leads}}"

    def contacts_index(self, channel: str, shard: int) -> str:
        """One shard of the set of the user ids of a channel's contacts who gave data."""
        return f"{self.prefix}:{{ci:{CHANNEL_TAGS[channel]}:{shard}}}"

    def contacts_shard(self, channel: str, user_id: str) -> str | None:
        """The index shard that holds a contact's user id; None for a channel not indexed."""
        if channel not in CHANNEL_TAGS:
            return None
        return self.contacts_index(channel, zlib.crc32(user_id.encode()) % CONTACT_INDEX_SHARDS)

    def contacts_shards(self) -> list[tuple[str, str]]:
        """Every shard of the contacts index, with its channel."""
        return [(channel, self.contacts_index(channel, shard))
                for channel in INDEXED_CHANNELS for shard in range(CONTACT_INDEX_SHARDS)]

    def kb_document(self) -> str:
        """The current knowledge base (answers, facts, branches) as one JSON document."""
        return f"{self.prefix}:{{kb}}:current"

    def kb_version(self) -> str:
        """Counter bumped on every knowledge-base change; processes poll it to reload."""
        return f"{self.prefix}:{{kb}}:version"

    def model_blob(self) -> str:
        """The current trained NLU model (bytes), shared by every process."""
        return f"{self.prefix}:{{nlu}}:model"

    def model_version(self) -> str:
        """Fingerprint of the current model; processes poll it to hot-swap."""
        return f"{self.prefix}:{{nlu}}:model_version"

    def fallbacks(self) -> str:
        """Stream of messages the bot did not understand (NIKs masked), for the admin inbox."""
        return f"{self.prefix}:fallbacks"

    def inbound_seen(self, channel: str, message_id: str) -> str:
        """Marker that an incoming update or message id was taken (SET NX EX): process once."""
        return f"{self.prefix}:seen:{channel}:{message_id}"

    def delivery_status(self, channel: str, message_id: str) -> str:
        """Hash with the furthest delivery status of one sent message (WhatsApp statuses)."""
        return f"{self.prefix}:delivery:{channel}:{message_id}"

    def rate(self, bucket: str) -> str:
        """Rate-limiter state of a bucket ("telegram:123", "whatsapp:456"), shared by processes."""
        return f"{self.prefix}:{{r:{bucket}}}"

    def cap_log(self, bucket: str) -> str:
        """Sorted set of the requests holding a place under a bucket's cap (µs scores)."""
        return self.rate(f"{bucket}:log")

    def cap_waiting(self, bucket: str) -> str:
        """Sorted set of the senders waiting for a place under a cap, in the log's slot."""
        return f"{self.cap_log(bucket)}:waiting"

    def daily_counts(self, day: str) -> str:
        """Hash of one day's counters (`m:<channel>`, `i:<intent>`) for the dashboard."""
        return f"{self.prefix}:stats:{day}"

    def kb_write_lock(self) -> str:
        """Lock held while an admin change reads, edits and saves the knowledge base."""
        return f"{self.prefix}:{{kb}}:write_lock"

    def kb_history(self) -> str:
        """Sorted set of knowledge-base versions kept for diff and rollback, scored by version."""
        return f"{self.prefix}:{{kb}}:history"

    def kb_snapshot(self, version: int) -> str:
        """Hash with one stored knowledge-base version (zlib JSON), who saved it, when and why."""
        return f"{self.prefix}:{{kb}}:snapshot:{version}"

    def nlu_training(self) -> str:
        """Hash describing the last or running background retrain (state, KB version, error)."""
        return f"{self.prefix}:{{nlu}}:training"

    def nlu_training_lock(self) -> str:
        """Lock held by the process that is retraining, so processes train one at a time."""
        return f"{self.prefix}:{{nlu}}:training_lock"

    def admin_user(self, username: str) -> str:
        """Hash of one console user: role, argon2 password hash, created, last login."""
        return f"{self.prefix}:{{admin}}:user:{username}"

    def admin_users(self) -> str:
        """Set of console usernames."""
        return f"{self.prefix}:{{admin}}:users"

    def admin_session(self, token_hash: str) -> str:
        """Hash of one console session (user, role, CSRF token), keyed by the cookie's SHA-256."""
        return f"{self.prefix}:{{admin}}:session:{token_hash}"

    def admin_user_sessions(self, username: str) -> str:
        """Set of a user's session hashes, so a password change or deletion ends them all."""
        return f"{self.prefix}:{{admin}}:user_sessions:{username}"

    def admin_login_failures(self, scope: str, value: str) -> str:
        """Login-attempt counter of a username, IP or pair (`scope`), expiring with its window."""
        return f"{self.prefix}:{{admin}}:login_failures:{scope}:{value}"

    def admin_known_ips(self, username: str) -> str:
        """Set of digests of the IPs a user logged in from, exempt from the account's delay."""
        return f"{self.prefix}:{{admin}}:known_ips:{username}"

    def admin_audit(self) -> str:
        """Capped stream of console changes: who, when, what, on which item."""
        return f"{self.prefix}:{{admin}}:audit"

    def _campaign(self, campaign_id: str) -> str:
        return f"{self.prefix}:{{b:{campaign_id}}}"

    def campaign(self, campaign_id: str) -> str:
        """Broadcast campaign hash: definition (JSON), status, enqueue progress, timestamps."""
        return f"{self._campaign(campaign_id)}:campaign"

    def campaign_outcomes(self, campaign_id: str) -> str:
        """Hash of recipient (`channel:user_id`) -> state: queued, sending, sent, skipped ..."""
        return f"{self._campaign(campaign_id)}:outcomes"

    def campaign_counts(self, campaign_id: str) -> str:
        """Hash of a campaign's counters: queued, finished, sent, failed, unknown, skipped:<why>."""
        return f"{self._campaign(campaign_id)}:counts"

    def campaign_taps(self, campaign_id: str) -> str:
        """Hash of recipient (`channel:user_id`) -> the title of the campaign button they tapped."""
        return f"{self._campaign(campaign_id)}:taps"

    def campaign_queue(self, campaign_id: str) -> str:
        """Stream of a campaign's pending recipients, shared by workers through a consumer group."""
        return f"{self._campaign(campaign_id)}:queue"

    def campaigns_index(self) -> str:
        """Sorted set of campaign ids, scored by creation time."""
        return f"{self.prefix}:{{campaigns}}"

    def campaigns_active(self) -> str:
        """Set of started campaign ids that workers watch (running or paused)."""
        return f"{self.prefix}:{{campaigns}}:active"


# How long the channel keys live, in seconds.
TELEGRAM_UPDATE_SEEN_TTL = 2 * 86400  # Telegram keeps an undelivered update for 24 hours.
WHATSAPP_MESSAGE_SEEN_TTL = 8 * 86400  # Meta retries a failed webhook for up to 7 days.
DELIVERY_STATUS_TTL = 30 * 86400  # long enough for a campaign's delivery report.

# How long the console's keys live, in seconds.
DAILY_COUNTS_TTL = 400 * 86400  # a year of dashboard history, plus a month to compare with.
ADMIN_SESSION_TTL = 8 * 3600  # idle time before a console session ends (a working day).
LOGIN_FAILURE_WINDOW = 15 * 60  # failed logins are counted over this window.
KB_HISTORY_KEEP = 100  # knowledge-base versions kept for diff and rollback.
# Default days a campaign's definition, outcomes, counters and taps are kept once it ends
# (config.yml broadcast.outcome_days), and a lead is kept after its last change
# (dialogue.lead_retention_days): long enough to export the report and follow the leads up.
OUTCOME_DAYS = 90
LEAD_RETENTION_DAYS = 365
# Contact profiles that gave data are swept this often (by one process, whichever takes the
# turn), so one is deleted at most this long after `dialogue.profile_ttl_days`.
CONTACT_SWEEP_EVERY = 86400

# Handoffs to staff.
HANDOFF_KEEP_DAYS = 90  # a closed handoff's messages are kept this long, then expire.
WORKER_SEEN_SECONDS = 60  # a broadcast worker not seen for this long counts as stopped.

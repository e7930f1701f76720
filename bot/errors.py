"""The three kinds of failure, grouped by what the caller should do about them, and refusals.

A send fails transiently, for one recipient, or for the deployment (the first three). A request
the core refuses raises one of the `Refused` kinds, which say why and carry the message for the
person who asked; an edge turns them into its own terms (an HTTP status, a CLI exit).
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.exceptions import RedisClusterException, RedisError

# What a caller meets while Redis is away (a restart, a pause, a failover): redis-py's RedisError
# and, on a Redis Cluster, the cluster client's own errors ("cannot be connected", slots not
# covered while they move), which do not derive from it. Every edge answers these alike.
REDIS_AWAY: tuple[type[Exception], ...] = (RedisError, RedisClusterException)


class TransientError(Exception):
    """Try again later (rate limit, 5xx, timeout); `retry_after` in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# A failure worth trying again later: Redis away, or a transient error of a platform.
RETRY_LATER: tuple[type[Exception], ...] = (*REDIS_AWAY, TransientError)


class RecipientError(Exception):
    """This recipient cannot be reached (blocked, opted out, outside the window): skip it."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConfigError(Exception):
    """The deployment is wrong (bad token, missing setting): stop and tell an operator."""


class BadRequest(Exception):
    """A request an HTTP edge refuses before the core sees it (not JSON, no CSRF token).

    Raised only by the edges themselves (bot/web.py, bot/admin/api.py, bot/admin/http.py); the
    core says what went wrong with a `Refused` kind, and the edge picks the status.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Refused(Exception):
    """A request the core refuses, with a message for the person who made it.

    The kinds say why, never how a transport shows it: the console's edge maps each to an
    HTTP status and a page in one table (bot/admin/http.py), the CLI prints the message.
    """


class Invalid(Refused):
    """The input cannot be used: one message per field (`""` for the input as a whole).

    Given a plain message instead of fields, the input as a whole is refused.
    """

    def __init__(self, problems: Mapping[str, str] | str) -> None:
        fields = {} if isinstance(problems, str) else dict(problems)
        super().__init__(problems if isinstance(problems, str) else
                         "; ".join(f"{k or 'form'}: {v}" for k, v in fields.items()))
        self.fields = fields


class NotFound(Refused):
    """What the request names does not exist (or no longer does)."""


class Conflict(Refused):
    """Its state does not allow this now (changed meanwhile, closed, not ready to send)."""


class Denied(Refused):
    """Wrong credentials."""


class Throttled(Refused):
    """Too many attempts: try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(Refused):
    """Something the request needs is down for now (a channel's API): try again later."""

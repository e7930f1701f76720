"""The three kinds of failure, grouped by what the caller should do about them."""


class TransientError(Exception):
    """Try again later (rate limit, 5xx, timeout); `retry_after` in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecipientError(Exception):
    """This recipient cannot be reached (blocked, opted out, outside the window): skip it."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConfigError(Exception):
    """The deployment is wrong (bad token, missing setting): stop and tell an operator."""


class BadRequest(Exception):
    """Input from outside that we refuse with a clear message (maps to a 4xx at the edge)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

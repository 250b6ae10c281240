"""Domain errors: each says which input field is at fault and why. The API maps them to HTTP."""


class DomainError(Exception):
    """Base of the errors a user can cause."""

    def __init__(self, reason: str, field: str | None = None, context: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.context = context  # what the client may act on (the API's ``ctx``)


class InvalidInput(DomainError):
    """The request is well-formed but its content cannot be accepted (HTTP 422)."""


class NotFound(DomainError):
    """The thing asked for does not exist, or is not visible to the asker (HTTP 404)."""


class Conflict(DomainError):
    """The request contradicts what is stored (HTTP 409)."""


class Forbidden(DomainError):
    """The asker's role may not do this (HTTP 403)."""


class Refused(DomainError):
    """Items of a batch refused, each for a reason of its own (``refusals``: the item's place
    in the batch's ``field`` and its error), so that nothing of the batch was done. Answered with
    the status of the first item refused."""

    def __init__(self, field: str, refusals: list[tuple[int, DomainError]]):
        super().__init__("; ".join(f"{field}[{place}]: {error.reason}"
                                   for place, error in refusals), field=field)
        self.refusals = refusals

"""Domain errors that services raise; pages and the API map them to one shape."""


class BatonError(Exception):
    """A business rule refused the request. `code` is stable and machine-readable."""

    code = "invalid"
    http_status = 409  # what the API answers (config.api); a subclass may say otherwise (412, 428)

    def __init__(self, message, *, code=None, fields=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class TransitionError(BatonError):
    code = "illegal_transition"


class NotFoundError(BatonError):
    """What a well-formed request names does not exist (a path id is Http404's)."""

    code = "not_found"
    http_status = 404


class NotAllowed(BatonError):
    code = "not_allowed"

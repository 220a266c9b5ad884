"""Logging filters (LOGGING in config/settings.py)."""

import logging


class OneLineClientErrors(logging.Filter):
    """A refused request (403 permission denied, 404, 400) is logged as one line with the reason,
    not a traceback: it is an answer Baton chose to give, not a failure. Server errors (5xx) keep
    their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.exc_info and status is not None and 400 <= status < 500:
            exception = record.exc_info[1]
            reason = str(exception) if exception is not None else ""
            record.msg = f"{record.getMessage()}" + (f" ({reason})" if reason else "")
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True

"""Logging: the level (set at start-up, changeable at run time by any worker), plain or JSON lines,
and the request id every line of a request carries (also returned as ``X-Request-ID``)."""

import contextvars
import json
import logging
import re
import time
import uuid

_LOGGER_NAME = "signal_rest"
REQUEST_ID_HEADER = "X-Request-ID"
#: a client's own request id is kept if it looks like one
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request)."""

    def filter(self, record):
        record.request_id = _request_id.get()
        return True


#: what may not appear raw in a plain log line: C0 and C1 control characters (newline, carriage
#: return, ESC of terminal sequences…) and the Unicode line and paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match[0]
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_controls(text):
    """``text`` with every control character shown as a visible escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return _CONTROL.sub(_escape, text)


class PlainFormatter(logging.Formatter):
    """One line per record: ``time LEVEL logger [request id] message``, whatever the message holds.

    Client text (group and contact names, profile text, quotes) reaches messages through the logged
    argv and signal-cli's stderr, so the whole formatted line is escaped: no record can span lines
    or carry terminal sequences, and no line can begin with client text. A traceback keeps its
    lines, each indented (and escaped), so none can be taken for a record. ``fmt`` and ``datefmt``
    are for gunicorn's own lines, which keep their layout.
    """

    def __init__(self, fmt="%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", datefmt=None):
        super().__init__(fmt, datefmt)

    def formatMessage(self, record):
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei):
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info):
        return _indented(super().formatStack(stack_info))


def _indented(text):
    return "\n".join("    " + escape_controls(line) for line in text.splitlines())


#: what json.dumps leaves raw that readers may take for a line break (NEL, the Unicode line and
#: paragraph separators) or a terminal command (the other C1 controls, DEL): written as \\u escapes
_JSON_UNSAFE = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029)}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (and the exception).

    Text other than ASCII stays readable, but no character a reader could take for a line break or
    a terminal command is written raw.
    """

    def format(self, record):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False).translate(_JSON_UNSAFE)


def formatter(log_format, fmt=None, datefmt=None):
    """The formatter of ``log_format`` ("plain" or "json"); ``fmt``/``datefmt`` lay out plain lines."""
    if log_format == "json":
        return JsonFormatter()
    return PlainFormatter(fmt, datefmt) if fmt else PlainFormatter()


def configure(level, log_format="plain"):
    """Give the service's logger a handler (unless the host app did), the format and ``level``."""
    logger = logging.getLogger(_LOGGER_NAME)
    if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
        logger.addFilter(RequestIdFilter())
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter(log_format))
    set_level(level)


def set_level(level):
    """Set the level (``"DEBUG"`` … ``"CRITICAL"``) of the service's logger."""
    logging.getLogger(_LOGGER_NAME).setLevel(level.upper())


def current_level():
    """The level in force, by name."""
    return logging.getLevelName(logging.getLogger(_LOGGER_NAME).getEffectiveLevel())


def start_request(client_value=None):
    """Set the current request's id: the client's ``X-Request-ID`` if sensible, else a new one."""
    request_id = client_value if client_value and _CLIENT_REQUEST_ID.match(client_value) else uuid.uuid4().hex
    _request_id.set(request_id)
    return request_id


def current_request_id():
    """The id of the request being served (``-`` outside one)."""
    return _request_id.get()

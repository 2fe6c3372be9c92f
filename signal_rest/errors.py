"""The one error model: which exception becomes which HTTP status, and the one JSON error body.

Every error the service answers with, from a validation failure to a signal-cli crash, has the
same shape (API.md §1)::

    {"error": "<what to do>", "message": "<same>", "status": 400, "description": "Bad Request"}

``error`` is what pysignalclirestapi and n8n show; ``status``/``description``/``message`` is the
seed API's shape. Validation errors add ``errors`` (field -> problems), failed sends add the
per-recipient results, rate limits add the challenge tokens.
"""

import json
import logging
from http import HTTPStatus

import marshmallow as ma
from flask import current_app, jsonify
from werkzeug.datastructures import Headers

from . import signal_cli as sc
from .attachments import DiskFull, StorageError
from .receiving import push

log = logging.getLogger(__name__)


class NoAccount(Exception):
    """Raised when a request names no account, none is configured and none can be chosen."""


class RefusedBody(Exception):
    """Raised when a request body is JSON the service will not take in: nested too deep, or holding a
    number too large (its message says which)."""


class BadIdempotencyKey(Exception):
    """Raised for an ``Idempotency-Key`` header that is not 1 to 255 printable ASCII characters."""


class IdempotencyKeyInUse(Exception):
    """Raised when a request repeats one with the same ``Idempotency-Key`` that is still running."""


class IdempotencyKeyReused(Exception):
    """Raised when an ``Idempotency-Key`` comes again with another route or body."""


class IdempotencyUnavailable(Exception):
    """Raised when the idempotency keys' database cannot be read or written."""


class ServiceUnhealthy(Exception):
    """Raised when a deep health check fails; ``checks`` says how each check went."""

    def __init__(self, checks):
        super().__init__("A health check failed.")
        self.checks = checks


#: failure -> HTTP status. The most specific class in an exception's MRO wins.
STATUS_FOR_ERROR = {
    NoAccount: 400,
    RefusedBody: 400,
    BadIdempotencyKey: 400,
    IdempotencyKeyInUse: 409,
    IdempotencyKeyReused: 422,
    IdempotencyUnavailable: 503,
    ServiceUnhealthy: 503,
    DiskFull: 507,
    push.NotServed: 400,
    push.UnknownAccount: 404,
    push.PushFull: 503,
    StorageError: 503,
    sc.NotFound: 404,
    sc.UserError: 400,
    sc.UnsafeArgument: 400,
    sc.Untrusted: 409,
    sc.RateLimited: 429,
    sc.ServerError: 502,
    sc.UnexpectedError: 502,
    sc.BadOutput: 502,
    sc.SignalCliNotFound: 503,
    sc.ConfigDirUnusable: 503,
    sc.Busy: 503,
    sc.SignalCliTimeout: 504,
    sc.NotSupported: 501,
    sc.SignalCliError: 502,
}

#: the message for statuses whose werkzeug default says nothing about what to do
_HTTP_MESSAGES = {
    404: "No such endpoint. The API is described at /docs.",
    405: "This endpoint does not accept that method. The API is described at /docs.",
    413: "The request body is too large.",
    500: "Internal error; the service log has the details.",
}

_CAPTCHA_HELP = (
    "Signal requires a captcha. Open https://signalcaptchas.org/registration/generate.html, solve it, "
    "copy the 'Open Signal' link (it starts with signalcaptcha://) and send it again as \"captcha\"."
)

_CAPTCHA_REJECTED = (
    "Signal rejected the captcha: it may be outdated, already used or solved from a different IP address. "
    "Solve a new one at https://signalcaptchas.org/challenge/generate.html from the network this service "
    "uses and submit it again with POST /v1/accounts/{number}/rate-limit-challenge."
)


class ErrorSchema(ma.Schema):
    """The one error body of the service (documented on every operation)."""

    error = ma.fields.String(metadata={"description": "What went wrong and what to do"})
    message = ma.fields.String(metadata={"description": "The same sentence (the seed API's name)"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status"})
    description = ma.fields.String(metadata={"description": "The HTTP status's name"})
    errors = ma.fields.Dict(metadata={"description": "Problems per field, or the recipients a send failed for"})
    challenge_tokens = ma.fields.List(ma.fields.String(), metadata={"description": "With 429: captcha challenges"})
    account = ma.fields.String(allow_none=True, metadata={"description": "With 429: the rate-limited account"})


def error_response(status, message, *, errors=None, headers=None, **extra):
    """The one error body, as a Flask response tuple."""
    body = {
        "error": message,
        "message": message,
        "status": status,
        "description": HTTPStatus(status).phrase,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return jsonify(body), status, headers or {}


def status_for(error):
    """The HTTP status of a failure: a :class:`signal_cli.SignalCliError` or one of this module's."""
    for cls in type(error).__mro__:
        if cls in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[cls]
    return 502


def recipient_failures(result):
    """The failed entries of a send result as ``{"number", "uuid", "username", "reason"}`` dicts."""
    failures = []
    for entry in (result or {}).get("results") or []:
        if entry.get("type") == "SUCCESS":
            continue
        address = entry.get("recipientAddress") or {}
        failure = {
            "number": address.get("number"),
            "uuid": address.get("uuid"),
            "username": address.get("username"),
            "reason": entry.get("type"),
        }
        if entry.get("groupId"):
            failure["group_id"] = entry["groupId"]
        failures.append(failure)
    return failures


def handle_signal_cli_error(error):
    """Turn a :class:`signal_cli.SignalCliError` into the error body with its status.

    (A missing group is a :class:`signal_cli.NotFound`, 404, only where the operation acts on it by
    name; a group missing among a send's recipients is an ordinary user error, 400.)
    """
    headers = {}
    extra = {}
    failures = recipient_failures(error.result)
    if isinstance(error, sc.RateLimited):
        extra["challenge_tokens"] = error.challenge_tokens
        extra["account"] = getattr(error, "account", None)
        if error.retry_after:
            headers["Retry-After"] = str(int(error.retry_after))
    elif isinstance(error, sc.Busy):
        headers["Retry-After"] = str(error.retry_after)
    # (the wrapper has logged the failure with signal-cli's whole stderr)
    return error_response(
        status_for(error),
        signal_cli_error_message(error),
        headers=headers,
        errors={"recipients": failures} if failures else None,
        **extra,
    )


def signal_cli_error_message(error):
    """The sentence the API answers a :class:`signal_cli.SignalCliError` with: what went wrong and what to do."""
    message = error.message
    if isinstance(error, sc.CaptchaRequired):
        message = _CAPTCHA_HELP
    elif isinstance(error, sc.CaptchaRejected):
        message = _CAPTCHA_REJECTED
    elif isinstance(error, sc.NoVerificationSession):
        message = (
            "There is no registration to verify: ask for a code with POST /v1/register/{number} first, "
            "then verify with the code Signal sent."
        )
    elif isinstance(error, sc.Untrusted):
        who = ", ".join(r.get("number") or r.get("uuid") or "?" for r in error.recipients) or "the recipients"
        message = (
            f"The identity of {who} is not trusted, so nothing was sent. Check the safety number, then "
            "trust it with PUT /v1/identities/{number}/trust/{recipient}."
        )
    elif isinstance(error, sc.RateLimited) and error.challenge_tokens:
        message = (
            f"{message} Solve a captcha at https://signalcaptchas.org/challenge/generate.html and submit "
            "it with POST /v1/accounts/{number}/rate-limit-challenge, using a challenge token from "
            "'challenge_tokens'."
        )
    return message


def flatten_messages(messages, prefix=""):
    """marshmallow's nested error dict as ``{"a.b[0]": ["problem"]}``."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                name = prefix or "body"
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "body"] = messages
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


def handle_http_exception(error):
    """Turn any werkzeug HTTP error (including webargs' validation errors) into the error body."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    # the exception's own headers (Allow of a 405, WWW-Authenticate of a 401), then webargs' ones
    headers = Headers([(name, value) for name, value in error.get_headers() if name.lower() != "content-type"])
    headers.extend(data.get("headers") or {})
    if messages:
        # webargs nests the problems under the location ("json", "query"); users know fields only
        if isinstance(messages, dict) and set(messages) <= {"json", "query", "view_args", "headers"}:
            merged = {}
            for value in messages.values():
                merged.update(value if isinstance(value, dict) else {"body": value})
            messages = merged
        errors = flatten_messages(messages)
        message = " ".join(f"{field}: {' '.join(problems)}" for field, problems in errors.items())
        return error_response(400 if error.code in (400, 422) else error.code, message, errors=errors, headers=headers)
    message = data.get("message") or _HTTP_MESSAGES.get(error.code) or error.description
    return error_response(error.code, message, headers=headers)


def handle_no_account(error):
    """No account to act as: the error body with its status."""
    return error_response(status_for(error), str(error))


def handle_refused_body(error):
    """A request body too deep or with too large a number: the error body, naming the problem."""
    return error_response(status_for(error), str(error), errors={"body": [str(error)]})


def handle_idempotency_error(error):
    """A key that cannot be used (now): the error body with its status; "come back" ones say when."""
    status = status_for(error)
    retry = {409: "2", 503: "5"}.get(status)
    return error_response(status, str(error), headers={"Retry-After": retry} if retry else None)


def handle_service_unhealthy(error):
    """A failed deep health check: its own body (every check's outcome, as /v1/health gives it), not the error body."""
    return health_response("failing", error.checks, status_for(error))


def health_response(status, checks, code):
    """The body of a deep health check: ``status`` ("ok" or "failing") and how each check went."""
    return current_app.response_class(
        json.dumps({"status": status, "checks": checks}), status=code, mimetype="application/json"
    )


def handle_storage_error(error):
    """An attachment could not be written: 507 when the disk is full, else 503 (the table says)."""
    log.error("%s", error)
    return error_response(status_for(error), str(error))


def handle_push_error(error):
    """A push connection that cannot be opened (before any upgrade); a full worker says when to retry."""
    status = status_for(error)
    return error_response(status, str(error), headers={"Retry-After": "5"} if status == 503 else None)


def handle_unexpected_error(error):
    """Last resort: log the traceback, answer 500 in the one shape."""
    log.exception("unhandled error", exc_info=error)
    return error_response(500, _HTTP_MESSAGES[500])


def register_error_handlers(app):
    """Install the handlers (HTTP errors reach :func:`handle_http_exception` through the Api)."""
    app.register_error_handler(sc.SignalCliError, handle_signal_cli_error)
    app.register_error_handler(NoAccount, handle_no_account)
    app.register_error_handler(RefusedBody, handle_refused_body)
    app.register_error_handler(ServiceUnhealthy, handle_service_unhealthy)
    for idempotency_error in (BadIdempotencyKey, IdempotencyKeyInUse, IdempotencyKeyReused, IdempotencyUnavailable):
        app.register_error_handler(idempotency_error, handle_idempotency_error)
    app.register_error_handler(StorageError, handle_storage_error)
    app.register_error_handler(push.PushError, handle_push_error)
    app.register_error_handler(Exception, handle_unexpected_error)

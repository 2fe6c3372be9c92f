"""Idempotency keys: a retried send with the same ``Idempotency-Key`` answers the first answer again.

Automations retry: a webhook sender or a script that timed out sends the same request again. With
an ``Idempotency-Key`` header (any text of 1 to 255 printable ASCII characters, a UUID for
example) the first request with a key is carried out and its answer kept; a repeat within
``SIGNAL_REST_IDEMPOTENCY_RETENTION`` seconds gets that answer again, with
``Idempotent-Replayed: true``, and sends nothing. The keys live in one SQLite file in the data
dir, so they hold across workers and restarts.

A key belongs to the account the request acts as and, when tokens are required, to the token it
presents: two accounts (or two tokens) never see each other's answers. What is remembered:

* a success, and a refusal that would be given again (4xx: an unknown group, a bad recipient);
* not an answer that says "nothing was done, try again" (408, 409, 423, 425, 429, every 5xx): the
  key is let go and a retry is carried out.

While the first request with a key is still running a repeat is answered 409 with
``Retry-After``; the same key with another method, path or body is 422. A claim whose worker was
killed mid-request is given up after the longest a request can take (lock wait plus run time).
"""

import contextlib
import functools
import hashlib
import json
import logging
import re
import sqlite3
import time
from pathlib import Path

from flask import current_app, g, request

from . import auth, errors
from .database import Database
from .extensions import account_or_default, request_json

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: a key: printable ASCII, at most 255 characters (what Stripe and the IETF draft allow)
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
#: answers that say "nothing was done, try again": never remembered
_RETRYABLE = {408, 409, 423, 425, 429}
#: the header as an OpenAPI parameter (on every route that takes it)
PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
    "description": (
        "Any unique text (a UUID): a repeat with the same key within the retention window "
        "(SIGNAL_REST_IDEMPOTENCY_RETENTION, default 24 h) answers the first answer again, with "
        "`Idempotent-Replayed: true`, and sends nothing. While the first is still running a repeat "
        "is answered 409; the same key with another body is 422. Keys belong to the account (and "
        "token) and survive restarts."
    ),
}

#: the replay header as an OpenAPI response header
REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
#: the answers the header adds to an operation
RESPONSES = {
    "409": {"description": "A request with this Idempotency-Key is still running.", "content": _ERROR},
    "422": {"description": "This Idempotency-Key was used for another request.", "content": _ERROR},
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- NULL while the first request runs
    status INTEGER,
    content_type TEXT,
    body BLOB,
    expires REAL NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answers_expires ON answers (expires);
"""


class Replay(Exception):
    """A request's key has a remembered answer."""

    def __init__(self, status, content_type, body):
        super().__init__(status)
        self.status = status
        self.content_type = content_type
        self.body = body


class Store(Database):
    """The remembered answers, in one SQLite file.

    ``retention``: seconds an answer is kept; ``abandon_after``: seconds after which a claim whose
    request never finished (its worker was killed) is given up.
    """

    def __init__(self, path, *, retention, abandon_after):
        super().__init__(path)
        self.retention = retention
        self.abandon_after = abandon_after

    def _migrate(self, connection):
        connection.executescript(_SCHEMA)

    def claim(self, scope, key, fingerprint):
        """Take ``key`` for a new request; raises :class:`Replay` when it has an answer, and
        ``IdempotencyKeyInUse`` or ``IdempotencyKeyReused`` when it cannot be taken."""
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM answers WHERE expires < ?", (now,))
            row = db.execute(
                "SELECT fingerprint, status, content_type, body FROM answers WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO answers (scope, key, fingerprint, expires) VALUES (?, ?, ?, ?)",
                    (scope, key, fingerprint, now + self.abandon_after),
                )
                return
        first_fingerprint, status, content_type, body = row
        if first_fingerprint != fingerprint:
            raise errors.IdempotencyKeyReused(
                f"This {HEADER} was used for a different request (another route or body); "
                f"use a new key for a new request."
            )
        if status is None:
            raise errors.IdempotencyKeyInUse(
                f"A request with this {HEADER} is still being carried out; repeat it in a moment to get its answer."
            )
        raise Replay(status, content_type, body)

    def finish(self, scope, key, status, content_type, body):
        """Remember the answer of the request that claimed ``key``."""
        with self._transaction() as db:
            db.execute(
                "UPDATE answers SET status = ?, content_type = ?, body = ?, expires = ? "
                "WHERE scope = ? AND key = ? AND status IS NULL",
                (status, content_type, body, time.time() + self.retention, scope, key),
            )

    def release(self, scope, key):
        """Let ``key`` go: its request did nothing a retry should not do again."""
        with self._transaction() as db:
            db.execute("DELETE FROM answers WHERE scope = ? AND key = ? AND status IS NULL", (scope, key))


def remembered(status):
    """Whether an answer of ``status`` is kept for repeats."""
    return 200 <= status < 500 and status not in _RETRYABLE


def _store():
    return current_app.extensions["signal_rest.idempotency"]


def _fingerprint():
    """The request as a digest: method, path and the body as canonical JSON."""
    body = request_json()
    canonical = "" if not isinstance(body, (dict, list)) else json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(canonical.encode())
    return digest.hexdigest()


def _scope(account):
    """Whose key it is: the account and, when tokens are required, the presented token (a digest)."""
    token = ""
    if current_app.extensions.get("signal_rest.idempotency_by_token"):
        presented = auth.presented_token(request.headers.get("Authorization")) or ""
        token = hashlib.sha256(presented.encode()).hexdigest()
    return f"{account or ''} {token}"


def idempotent(func):
    """Make a sending view honour ``Idempotency-Key``: put it between ``arguments`` and ``response``
    (it needs the validated body for the account and gives ``response``'s answer back as is)."""

    @functools.wraps(func)
    def wrapper(data, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return func(data, *args, **kwargs)
        if not _KEY.fullmatch(key):
            raise errors.BadIdempotencyKey(
                f"The {HEADER} header must be 1 to 255 printable ASCII characters, not starting or "
                f"ending with a space (a UUID is a good key)."
            )
        scope = _scope(account_or_default(kwargs.get("number") or data.get("number")))
        try:
            _store().claim(scope, key, _fingerprint())
        except sqlite3.Error as error:
            log.exception("the idempotency keys cannot be read")
            raise errors.IdempotencyUnavailable(
                f"The {HEADER} cannot be checked: {_store().path} cannot be used ({error}). Nothing was "
                f"sent; make SIGNAL_REST_DATA_DIR writable, or repeat the request without the header."
            ) from None
        except Replay as replay:
            response = current_app.response_class(replay.body, status=replay.status, content_type=replay.content_type)
            response.headers[REPLAYED_HEADER] = "true"
            return response
        g.signal_rest_idempotency = (scope, key)
        return func(data, *args, **kwargs)

    wrapper._apidoc = {**getattr(wrapper, "_apidoc", {})}
    manual = wrapper._apidoc.get("manual_doc", {})
    # the success answers say when they are a replay
    successes = {
        code: {"headers": {REPLAYED_HEADER: REPLAYED}} for code in wrapper._apidoc.get("success_status_codes", ())
    }
    wrapper._apidoc["manual_doc"] = {
        **manual,
        "parameters": [*manual.get("parameters", []), PARAMETER],
        "responses": {**manual.get("responses", {}), **successes, **RESPONSES},
    }
    return wrapper


def init_app(app, data_dir, *, by_token):
    """Keep answers in ``data_dir``; ``by_token``: keys belong to the presented token too."""
    retention = app.config["SIGNAL_REST_IDEMPOTENCY_RETENTION"]
    # the longest a request can run: waiting for the account, then signal-cli's time limit
    abandon_after = app.config["SIGNAL_CLI_LOCK_TIMEOUT"] + app.config["SIGNAL_CLI_CMD_TIMEOUT"] + 30
    app.extensions["signal_rest.idempotency"] = Store(
        Path(data_dir) / "idempotency.sqlite3", retention=retention, abandon_after=abandon_after
    )
    app.extensions["signal_rest.idempotency_by_token"] = by_token

    @app.after_request
    def remember_answer(response):
        claimed = g.pop("signal_rest_idempotency", None)
        if claimed is not None:
            try:
                if remembered(response.status_code):
                    _store().finish(*claimed, response.status_code, response.content_type, response.get_data())
                else:
                    _store().release(*claimed)
            except sqlite3.Error:
                # the request was carried out: its answer goes to the client all the same; the key
                # stays claimed until it is given up (repeats meanwhile get 409)
                log.exception("the answer to %s %r could not be kept", HEADER, claimed[1])
        return response

    @app.teardown_request
    def let_go(exc):
        # the answer never got as far as after_request: nothing is remembered, a retry is carried out
        claimed = g.pop("signal_rest_idempotency", None)
        if claimed is not None:
            with contextlib.suppress(sqlite3.Error):
                _store().release(*claimed)

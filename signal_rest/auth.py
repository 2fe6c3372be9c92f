"""Authentication: API tokens, off until one is configured.

A token is accepted as ``Authorization: Bearer <token>`` and as the password of HTTP Basic (any
user name), so pysignalclirestapi's basic auth, Apprise's ``user:pass@`` and n8n's bearer token
all work unchanged. Tokens come from ``SIGNAL_REST_API_TOKENS`` and ``SIGNAL_REST_API_TOKENS_FILE``:
entries separated by whitespace, each ``[ro:]TOKEN[@+49…,+49…]`` — ``ro:`` makes it read-only
(no request that sends, changes or consumes anything), ``@…`` limits it to those accounts.
Comparison takes the same time whichever token (if any) matches; tokens are never logged.
``/v1/health`` stays open.
"""

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from flask import request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from .extensions import account_or_default, request_json
from .schemas import parse_phone_number

_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}\Z")
#: reachable without a token
OPEN_ENDPOINTS = {"General.health", "static"}
#: blueprints that check their visitors themselves: the web console signs in with a token once and
#: keeps it in a session (signal_rest.console.access)
SESSION_BLUEPRINTS = {"console", "console_enrol"}
#: reachable by an account-limited token although they name no account
ACCOUNTLESS_READS = {
    "General.about",
    "Configuration.get_configuration",
    "api-docs.openapi_json",
    "api-docs.openapi_swagger_ui",
    "swagger_ui_assets",
    "swagger_redirect",
    "metrics",
}
#: GET endpoints that change something (a read-only token may not use them)
CONSUMING_GETS = {
    "Receive.receive",
    "Receive.receive_websocket",
    "Receive.events",
    "Devices.qrcodelink",
    "Devices.qrcodelink_raw",
}
#: the schemes a 401 offers (each with realm "signal_rest")
CHALLENGES = ("bearer", "basic")


@dataclass(frozen=True)
class Token:
    """One API token and what it may do."""

    secret: str
    accounts: frozenset = None
    read_only: bool = False


def parse_tokens(text, source="SIGNAL_REST_API_TOKENS"):
    """The tokens of ``text``; raises ``ValueError`` naming ``source`` for a malformed entry."""
    tokens = []
    for line in text.splitlines():
        for entry in line.split("#", 1)[0].split():
            read_only = entry.startswith("ro:")
            secret, limited_to, accounts = entry.removeprefix("ro:").partition("@")
            if not _TOKEN.match(secret):
                raise ValueError(
                    f"{source}: a token must be 16 to 512 characters of letters, digits and ._~+/=- "
                    f"(entries are [ro:]TOKEN[@+49…,+49…])."
                )
            limited = None
            if limited_to:
                limited = frozenset(parse_phone_number(a) or "" for a in accounts.split(","))
                if "" in limited:
                    raise ValueError(f"{source}: the accounts after '@' must be phone numbers like +4915112345678.")
            tokens.append(Token(secret, limited, read_only))
    return tokens


def load_tokens(config):
    """Every configured token (none: authentication is off); raises ``ValueError`` naming the setting."""
    tokens = parse_tokens(config.get("SIGNAL_REST_API_TOKENS") or "")
    path = config.get("SIGNAL_REST_API_TOKENS_FILE")
    if path:
        source = f"SIGNAL_REST_API_TOKENS_FILE ({path})"
        try:
            from_file = parse_tokens(Path(path).read_text("utf-8"), source)
        except OSError as exc:
            raise ValueError(f"{source}: cannot be read: {exc.strerror}.") from None
        if not from_file:
            # an empty file must not silently turn authentication off
            raise ValueError(f"{source}: holds no token.")
        tokens += from_file
    secrets = [token.secret for token in tokens]
    if len(set(secrets)) != len(secrets):
        raise ValueError("SIGNAL_REST_API_TOKENS: a token is listed twice; give each token once, with all its rights.")
    return tokens


def presented_token(authorization):
    """The token in an ``Authorization`` header value (Bearer, or Basic's password), or None."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def find_token(tokens, presented):
    """The token equal to ``presented``, comparing against every one in constant time, or None."""
    found = None
    candidate = (presented or "").encode("utf-8")
    for token in tokens:
        if hmac.compare_digest(candidate, token.secret.encode("utf-8")) and presented:
            found = token
    return found


def _request_accounts():
    """Every account a request names: in its path, its query and its body (or the default one)."""
    named = set()
    if (request.view_args or {}).get("number"):
        named.add(request.view_args["number"])
    if request.args.get("number"):
        named.add(parse_phone_number(request.args["number"]) or request.args["number"])
    try:
        body = request_json()
    except ValueError:
        # not JSON: the views' parser refuses it (a body too deep or with too large a number is
        # refused here already, errors.RefusedBody, as it is everywhere)
        body = None
    if isinstance(body, dict) and isinstance(body.get("number"), str) and body["number"]:
        named.add(parse_phone_number(body["number"]) or body["number"])
    elif request.endpoint and request.endpoint.startswith("Messages.send") and account_or_default():
        # a send body may leave out "number": it then goes out from the default account
        named.add(account_or_default())
    return named


def init_app(app, tokens):
    """Require a token on every request but the open ones, when ``tokens`` is not empty."""
    if not tokens:
        return

    @app.before_request
    def authenticate():
        # the refusals are werkzeug's 401 and 403: the one error handler gives them the error body
        if request.endpoint in OPEN_ENDPOINTS or request.blueprint in SESSION_BLUEPRINTS:
            return
        token = find_token(tokens, presented_token(request.headers.get("Authorization")))
        if token is None:
            raise Unauthorized(
                "A valid API token is required: send it as 'Authorization: Bearer <token>'.",
                www_authenticate=[WWWAuthenticate(scheme, {"realm": "signal_rest"}) for scheme in CHALLENGES],
            )
        if token.read_only and (request.method not in ("GET", "HEAD", "OPTIONS") or request.endpoint in CONSUMING_GETS):
            raise Forbidden("This token is read-only; it cannot send, change or receive messages.")
        if token.accounts is not None and request.endpoint not in ACCOUNTLESS_READS:
            accounts = _request_accounts()
            if not accounts:
                raise Forbidden("This token is limited to some accounts; this endpoint names none.")
            forbidden = sorted(accounts - token.accounts)
            if forbidden:
                raise Forbidden(f"This token may not be used for account {', '.join(forbidden)}.")

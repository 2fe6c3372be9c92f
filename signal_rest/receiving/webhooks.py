"""Webhooks: every received envelope POSTed to the configured URLs, signed, in order, at least once.

A webhook is a URL, an HMAC secret, and optionally the accounts and kinds of envelope it wants
(``data``, ``reaction``, ``receipt``, ``typing``, ``sync``, ``call``, ``story``, ``other``). Each
envelope is POSTed as signal-cli printed it (``{"envelope": …, "account": …}``) with a delivery id
header (the same on every retry, so receivers can drop duplicates) and
``X-Signal-Rest-Signature: sha256=<hex HMAC-SHA256 of the body>``. Delivery runs in the receiver
process, never on a request thread. Failures are retried with exponential back-off and jitter until
the delivery is ``max_age`` seconds old; per webhook and account, an envelope is only sent once
every earlier one was delivered or given up.
"""

import base64
import hashlib
import hmac
import json
import logging
import random
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import VERSION

log = logging.getLogger(__name__)

KINDS = ("data", "reaction", "receipt", "typing", "sync", "call", "story", "other")
DELIVERY_HEADER = "X-Signal-Rest-Delivery"
SIGNATURE_HEADER = "X-Signal-Rest-Signature"
#: an HTTP header name (RFC 9110 token) and a value without line breaks or other controls
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]{0,4096}")
#: headers the service sets itself
_OWN_HEADERS = {
    "content-type",
    "content-length",
    "host",
    "user-agent",
    DELIVERY_HEADER.lower(),
    SIGNATURE_HEADER.lower(),
}
#: first retry after this many seconds, doubling each time up to MAX_BACKOFF
BASE_BACKOFF = 2.0
MAX_BACKOFF = 600.0


@dataclass(frozen=True)
class Webhook:
    """One webhook target."""

    url: str
    secret: str = ""
    accounts: frozenset = None
    kinds: frozenset = None
    #: extra request headers, as (name, value) pairs (a token a receiver checks)
    headers: tuple = ()

    @property
    def safe_url(self):
        """The URL without its user name and password: where a delivery is sent."""
        return _split_user_info(self.url)[0]

    def request_headers(self):
        """The extra headers of each delivery: the configured ones, and Basic authentication when
        the URL holds a user name and password (``https://user:password@host/…``)."""
        headers = dict(self.headers)
        credentials = _split_user_info(self.url)[1]
        if credentials is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        return headers

    def wants(self, account, kind=None):
        """Whether an envelope of ``kind`` for ``account`` goes to this webhook (``kind=None``: any kind)."""
        return (self.accounts is None or account in self.accounts) and (
            kind is None or self.kinds is None or kind in self.kinds
        )


def targets(webhooks, account, kind=None):
    """The URLs of the ``webhooks`` that take envelopes of ``kind`` for ``account`` (``kind=None``: any kind)."""
    return [webhook.url for webhook in webhooks if webhook.wants(account, kind)]


def load_webhooks(config):
    """The webhooks of the configuration (``SIGNAL_REST_WEBHOOK_URL`` and ``SIGNAL_REST_WEBHOOKS``).

    Raises ``ValueError`` with a sentence saying what is wrong with the setting.
    """
    secret = config.get("SIGNAL_REST_WEBHOOK_SECRET") or ""
    webhooks = []
    if config.get("SIGNAL_REST_WEBHOOK_URL"):
        webhooks.append(Webhook(url=_checked_url(config["SIGNAL_REST_WEBHOOK_URL"]), secret=secret))
    raw = config.get("SIGNAL_REST_WEBHOOKS") or ""
    if raw.strip():
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"SIGNAL_REST_WEBHOOKS is not valid JSON: {exc}") from None
        if not isinstance(entries, list):
            raise ValueError('SIGNAL_REST_WEBHOOKS must be a JSON list of {"url", ...} objects.')
        for entry in entries:
            if not isinstance(entry, dict) or "url" not in entry:
                raise ValueError('Every entry of SIGNAL_REST_WEBHOOKS needs a "url".')
            kinds = entry.get("kinds")
            if kinds is not None and not set(kinds) <= set(KINDS):
                raise ValueError(f"Webhook kinds must be among {', '.join(KINDS)}.")
            accounts = entry.get("accounts")
            webhooks.append(
                Webhook(
                    url=_checked_url(entry["url"]),
                    secret=entry.get("secret", secret),
                    accounts=frozenset(accounts) if accounts is not None else None,
                    kinds=frozenset(kinds) if kinds is not None else None,
                    headers=_checked_headers(entry.get("headers")),
                )
            )
    return webhooks


def _checked_url(url):
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = masked_url(url) if isinstance(url, str) else url
        raise ValueError(f"Webhook URL {shown!r} must start with http:// or https://.")
    return url


def _checked_headers(headers):
    """The ``headers`` of a SIGNAL_REST_WEBHOOKS entry as (name, value) pairs."""
    if headers is None:
        return ()
    if not isinstance(headers, dict):
        raise ValueError('A webhook\'s "headers" must be a JSON object of header names and values.')
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(
                f"Webhook header {name[:40]!r}: a name must be letters, digits and -, a value text without line breaks."
            )
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"Webhook header {name!r} is set by the service itself and cannot be configured.")
    return tuple(headers.items())


def masked_url(url):
    """``url`` with the secret of its user part masked (for logs, the console, the status): the
    password, or a user name alone, which is sent as Basic authentication too (often a token)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    user, colon, _ = user_info.partition(":")
    shown = f"{user}:••••••" if colon else "••••••"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


def _split_user_info(url):
    """``url`` without ``user:password@``, and ``"user:password"`` (unquoted) or None."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    user_info, _, host = parts.netloc.rpartition("@")
    user, _, password = user_info.partition(":")
    credentials = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), credentials


def signature(secret, body):
    """The signature header's value for ``body`` (bytes)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def backoff(attempts):
    """Seconds until the next attempt after ``attempts`` failures: exponential, capped, with jitter."""
    return min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.5)


class Deliverer:
    """Delivers due webhook deliveries from the inbox until ``stop`` is set."""

    def __init__(self, inbox, webhooks, *, max_age=86400.0, timeout=10.0, parallel=4):
        self.inbox = inbox
        self.webhooks = {webhook.url: webhook for webhook in webhooks}
        self.max_age = max_age
        self.timeout = timeout
        self.parallel = parallel
        self.wake = threading.Event()

    def run(self, stop):
        """Deliver until ``stop`` (a threading.Event) is set."""
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="webhook") as pool:
            while not stop.is_set():
                try:
                    due = self.inbox.due_deliveries()
                    if due:
                        list(pool.map(self.attempt, due))
                        continue
                    next_at = self.inbox.next_delivery_at()
                except sqlite3.Error:
                    # the inbox is busy or unwell for a moment: delivery must go on afterwards
                    log.exception("reading the webhook deliveries failed; trying again shortly")
                    next_at = time.time() + 1.0
                wait = 5.0 if next_at is None else min(5.0, max(0.05, next_at - time.time()))
                self.wake.wait(wait)
                self.wake.clear()

    def attempt(self, row):
        """POST one delivery; record the outcome."""
        delivery, target, delivery_id, account, attempts, created_at, line = row
        webhook = self.webhooks.get(target)
        if webhook is None:
            self.inbox.delivery_failed(delivery, target, "this webhook is no longer configured")
            return
        body = line.encode("utf-8")
        request = urllib.request.Request(
            webhook.safe_url,
            data=body,
            method="POST",
            headers={
                **webhook.request_headers(),
                "Content-Type": "application/json",
                "User-Agent": f"signal-rest/{VERSION}",
                DELIVERY_HEADER: delivery_id,
                SIGNATURE_HEADER: signature(webhook.secret, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) only)
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                error = f"HTTP {exc.code} {exc.reason}"
            else:
                error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            next_at = time.time() + backoff(attempts + 1)
            if next_at - created_at > self.max_age:
                log.error(
                    "giving up delivery %s to %s after %d attempts: %s",
                    delivery_id,
                    masked_url(target),
                    attempts + 1,
                    error,
                )
                self.inbox.delivery_failed(delivery, target, error)
            else:
                log.warning("delivery %s to %s failed (%s); retrying", delivery_id, masked_url(target), error)
                self.inbox.delivery_failed(delivery, target, error, next_at)
            return
        self.inbox.delivered(delivery, target)
        log.debug("delivered %s to %s", delivery_id, masked_url(target))

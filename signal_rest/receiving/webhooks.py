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

import hashlib
import hmac
import json
import logging
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import VERSION

log = logging.getLogger(__name__)

KINDS = ("data", "reaction", "receipt", "typing", "sync", "call", "story", "other")
DELIVERY_HEADER = "X-Signal-Rest-Delivery"
SIGNATURE_HEADER = "X-Signal-Rest-Signature"
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
                )
            )
    return webhooks


def _checked_url(url):
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"Webhook URL {url!r} must start with http:// or https://.")
    return url


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
            target,
            data=body,
            method="POST",
            headers={
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
                log.error("giving up delivery %s to %s after %d attempts: %s", delivery_id, target, attempts + 1, error)
                self.inbox.delivery_failed(delivery, target, error)
            else:
                log.warning("delivery %s to %s failed (%s); retrying", delivery_id, target, error)
                self.inbox.delivery_failed(delivery, target, error, next_at)
            return
        self.inbox.delivered(delivery, target)
        log.debug("delivered %s to %s", delivery_id, target)

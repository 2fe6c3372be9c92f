"""Prometheus metrics, correct across gunicorn workers.

Under gunicorn the package's gunicorn configuration points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory before the workers start, so every worker writes its samples there and ``/metrics``
(served by any worker) adds them up. Without it (tests, ``flask run``) the process's own registry
is used. The inbox depth is read from the inbox when ``/metrics`` is scraped.
"""

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("signal_rest_requests", "HTTP requests answered", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "signal_rest_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
SIGNAL_CLI_RUNS = Counter("signal_rest_signal_cli_runs", "signal-cli runs", ["command", "exit_code"])
SIGNAL_CLI_SECONDS = Histogram(
    "signal_rest_signal_cli_duration_seconds",
    "Duration of a signal-cli run",
    ["command"],
    buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 120),
)
LOCK_WAIT_SECONDS = Histogram(
    "signal_rest_lock_wait_seconds",
    "Time spent waiting for an account's lock or a free signal-cli slot",
    ["kind"],
    buckets=(0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
BUSY_REJECTIONS = Counter("signal_rest_busy_rejections", "Requests refused with 503 because of load", ["reason"])


class SignalCliObserver:
    """What :class:`signal_cli.SignalCli` reports about its runs, recorded as metrics."""

    def run_finished(self, command, exit_code, seconds):
        """A signal-cli run ended (``exit_code`` is ``"timeout"`` when it was stopped)."""
        SIGNAL_CLI_RUNS.labels(command, str(exit_code)).inc()
        SIGNAL_CLI_SECONDS.labels(command).observe(seconds)

    def waited(self, kind, seconds):
        """A run waited ``seconds`` for its account's lock (``kind="account"``) or a slot."""
        LOCK_WAIT_SECONDS.labels(kind).observe(seconds)

    def rejected(self, reason):
        """A run was refused: ``"account_busy"`` or ``"service_busy"``."""
        BUSY_REJECTIONS.labels(reason).inc()


class InboxCollector:
    """The inbox depth per account, read at scrape time."""

    def __init__(self, inbox):
        self.inbox = inbox

    def collect(self):
        """Yield the ``signal_rest_inbox_waiting`` gauge."""
        gauge = GaugeMetricFamily(
            "signal_rest_inbox_waiting", "Received envelopes not handed out yet", labels=["account"]
        )
        for account, waiting in self.inbox.waiting_by_account().items():
            gauge.add_metric([account], waiting)
        yield gauge


#: methods counted by name; any other (a client may send anything) counts as "other"
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def observe_request(route, method, status, started):
    """Record one answered request."""
    method = method if method in KNOWN_METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(time.monotonic() - started)


def exposition(inbox):
    """The ``/metrics`` body and its Content-Type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scraped_now = CollectorRegistry()
    scraped_now.register(InboxCollector(inbox))
    return body + generate_latest(scraped_now), CONTENT_TYPE_LATEST

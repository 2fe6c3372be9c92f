"""The receiver, the inbox and the webhooks: nothing received is lost, handed out twice or delayed.

The receiver runs as a real process (``signal-rest receiver``) where the test kills it, and in a
thread where the test drives it; the webhook target is a real HTTP server on 127.0.0.1.
"""

import hashlib
import hmac
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import conftest
import pytest
from fake_signal_cli import message_line

from signal_rest import create_app, webhooks
from signal_rest.inbox import Inbox, envelope_kind

ACCOUNT = conftest.ACCOUNT
OTHER_ACCOUNT = "+4915199999999"
SENDER = "+4915100000001"
SECRET = "webhook-secret"
ROOT = Path(__file__).resolve().parent.parent


class WebhookTarget:
    """A webhook receiver on 127.0.0.1 that records every POST; it can be switched down (503)."""

    def __init__(self):
        self.received = []
        self.down = False
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if target.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                with target.lock:
                    target.received.append(
                        {
                            "delivery": self.headers[webhooks.DELIVERY_HEADER],
                            "signature": self.headers[webhooks.SIGNATURE_HEADER],
                            "body": body,
                            "path": self.path,
                        }
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def messages(self):
        """(delivery id, account, message text) of every POST, in arrival order."""
        with self.lock:
            items = list(self.received)
        result = []
        for item in items:
            line = json.loads(item["body"])
            result.append((item["delivery"], line["account"], line["envelope"]["dataMessage"]["message"]))
        return result

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target():
    server = WebhookTarget()
    yield server
    server.close()


def _queue(fake, account, count, prefix):
    texts = [f"{prefix}-{index}" for index in range(count)]
    fake.queue_messages(
        account, [message_line(account, SENDER, text, timestamp=10_000 + i) for i, text in enumerate(texts)]
    )
    return texts


def _receiver_app(fake_bin, config_dir, target=None, **extra):
    settings = {
        "SIGNAL_CLI_BIN": str(fake_bin),
        "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
        "SIGNAL_CLI_CMD_TIMEOUT": 20,
        "SIGNAL_CLI_LOCK_TIMEOUT": 20,
        "SIGNAL_REST_RECEIVER": True,
        "SIGNAL_REST_RECEIVE_INTERVAL": 0.05,
        "SIGNAL_REST_RECEIVE_WINDOW": 0.2,
        "SIGNAL_REST_RECEIVE_MAX_MESSAGES": 5,
        "SIGNAL_REST_RECEIVE_ACCOUNTS": ACCOUNT,
    }
    if target is not None:
        settings["SIGNAL_REST_WEBHOOKS"] = json.dumps([{"url": target.url, "secret": SECRET}])
    settings.update(extra)
    return create_app(settings)


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _valid_signature(item):
    expected = "sha256=" + hmac.new(SECRET.encode(), item["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, item["signature"])


# --- the inbox ------------------------------------------------------------------------------------


def test_inbox_stores_each_line_once_and_hands_out_in_order(tmp_path):
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    lines = [json.dumps(message_line(ACCOUNT, SENDER, f"m{i}", timestamp=i + 1)) for i in range(3)]
    assert [inbox.store(ACCOUNT, line) for line in lines + lines[:1]] == [True, True, True, False]
    assert inbox.waiting(ACCOUNT) == 3
    assert inbox.hand_out(ACCOUNT, 2) == lines[:2]
    assert inbox.hand_out(ACCOUNT) == lines[2:]
    assert inbox.hand_out(ACCOUNT) == []
    assert inbox.waiting(OTHER_ACCOUNT) == 0


def test_inbox_waits_for_a_database_another_process_holds(tmp_path):
    import sqlite3

    path = tmp_path / "inbox.sqlite3"
    # another process is creating the file (not in WAL mode yet) and holds its write lock: switching
    # to WAL then fails at once instead of waiting, so the inbox has to retry
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE unrelated (x)")
    result = {}

    def first_use():
        try:
            result["waiting"] = Inbox(path).waiting(ACCOUNT)
        except sqlite3.Error as error:
            result["error"] = error

    thread = threading.Thread(target=first_use)
    thread.start()
    time.sleep(0.5)
    other.execute("COMMIT")
    other.close()
    thread.join(30)
    assert result == {"waiting": 0}


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ({"dataMessage": {"message": "hi"}}, "data"),
        ({"dataMessage": {"reaction": {"emoji": "👍"}}}, "reaction"),
        ({"editMessage": {"dataMessage": {}}}, "data"),
        ({"receiptMessage": {"isRead": True}}, "receipt"),
        ({"typingMessage": {"action": "STARTED"}}, "typing"),
        ({"syncMessage": {}}, "sync"),
        ({"callMessage": {}}, "call"),
        ({"storyMessage": {}}, "story"),
        ({}, "other"),
    ],
)
def test_envelope_kinds(content, kind):
    assert envelope_kind(json.dumps({"envelope": {"source": SENDER, **content}, "account": ACCOUNT})) == kind


def test_spool_files_left_behind_are_taken_in_once_free(tmp_path):
    import fcntl

    inbox = Inbox(tmp_path / "inbox.sqlite3")
    spool = inbox.new_spool(ACCOUNT)
    good = json.dumps(message_line(ACCOUNT, SENDER, "left behind", timestamp=5))
    with open(spool, "w") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)
        writer.write(good + "\n" + '{"truncated": ')
        writer.flush()
        # still locked: a running signal-cli is writing it
        assert inbox.take_in_spools() == 0
    assert inbox.take_in_spools() == 1
    assert not spool.exists()
    assert inbox.hand_out(ACCOUNT) == [good]


def test_prune_forgets_old_handed_out_envelopes_and_their_attachments(tmp_path):
    attachments = tmp_path / "attachments"
    attachments.mkdir()
    (attachments / "a1.jpg").write_bytes(b"x")
    (attachments / "keep.jpg").write_bytes(b"y")
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    old = message_line(ACCOUNT, SENDER, "old", timestamp=1)
    old["envelope"]["dataMessage"]["attachments"] = [{"id": "a1.jpg"}]
    new = message_line(ACCOUNT, SENDER, "new", timestamp=2)
    new["envelope"]["dataMessage"]["attachments"] = [{"id": "keep.jpg"}]
    inbox.store(ACCOUNT, json.dumps(old))
    inbox.hand_out(ACCOUNT)
    inbox.store(ACCOUNT, json.dumps(new))
    time.sleep(0.05)
    assert inbox.prune(max_age=0.01, attachments_dir=attachments) == 1
    assert not (attachments / "a1.jpg").exists()
    # waiting envelopes are never pruned
    assert (attachments / "keep.jpg").exists()
    assert inbox.waiting(ACCOUNT) == 1
    inbox.hand_out(ACCOUNT)
    for index in range(3):
        inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, SENDER, f"n{index}", timestamp=10 + index)))
    inbox.hand_out(ACCOUNT)
    assert inbox.prune(max_count=2, attachments_dir=attachments) == 2


# --- webhooks ---------------------------------------------------------------------------------------


def test_webhook_settings(monkeypatch):
    hooks = webhooks.load_webhooks(
        {
            "SIGNAL_REST_WEBHOOK_URL": "http://127.0.0.1:1/all",
            "SIGNAL_REST_WEBHOOK_SECRET": "s",
            "SIGNAL_REST_WEBHOOKS": json.dumps(
                [{"url": "https://ha.local/api/webhook/x", "accounts": [ACCOUNT], "kinds": ["data", "reaction"]}]
            ),
        }
    )
    assert [h.url for h in hooks] == ["http://127.0.0.1:1/all", "https://ha.local/api/webhook/x"]
    assert hooks[0].wants(OTHER_ACCOUNT, "typing")
    assert hooks[1].wants(ACCOUNT, "reaction") and not hooks[1].wants(ACCOUNT, "typing")
    assert not hooks[1].wants(OTHER_ACCOUNT, "data")
    assert hooks[1].secret == "s"


@pytest.mark.parametrize(
    "raw",
    ["not json", '{"url": "x"}', '[{"no": "url"}]', '[{"url": "ftp://x"}]', '[{"url": "http://x", "kinds": ["nope"]}]'],
)
def test_bad_webhook_settings_are_refused(raw):
    with pytest.raises(ValueError, match="SIGNAL_REST_WEBHOOKS|Webhook"):
        webhooks.load_webhooks({"SIGNAL_REST_WEBHOOKS": raw})


def test_backoff_grows_with_jitter_and_a_cap():
    first = [webhooks.backoff(1) for _ in range(50)]
    assert min(first) >= webhooks.BASE_BACKOFF * 0.5 and max(first) <= webhooks.BASE_BACKOFF * 1.5
    assert len(set(first)) > 1
    assert webhooks.backoff(3) > webhooks.BASE_BACKOFF
    assert webhooks.backoff(50) <= webhooks.MAX_BACKOFF * 1.5


def test_webhook_down_then_up_gets_everything_in_order_and_signed(fake_bin, config_dir, fake, target, monkeypatch):
    monkeypatch.setattr(webhooks, "BASE_BACKOFF", 0.1)
    fake.add_account(OTHER_ACCOUNT)
    texts = {ACCOUNT: _queue(fake, ACCOUNT, 12, "a"), OTHER_ACCOUNT: _queue(fake, OTHER_ACCOUNT, 8, "b")}
    target.down = True
    app = _receiver_app(fake_bin, config_dir, target, SIGNAL_REST_RECEIVE_ACCOUNTS=f"{ACCOUNT},{OTHER_ACCOUNT}")
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        client = app.test_client()
        _wait_for(
            lambda: client.get(f"/v1/receive/{ACCOUNT}/status").json["webhooks"][0]["last_error"], 10, "a failure"
        )
        status = client.get(f"/v1/receive/{ACCOUNT}/status").json
        assert status["webhooks"][0]["pending"] > 0 and "503" in status["webhooks"][0]["last_error"]
        target.down = False
        _wait_for(lambda: len({m[2] for m in target.messages()}) == 20, 20, "every envelope at the webhook")
    finally:
        receiver.stop()
        thread.join()
    for account, expected in texts.items():
        first_arrivals = []
        for _, owner, text in target.messages():
            if owner == account and text not in first_arrivals:
                first_arrivals.append(text)
        assert first_arrivals == expected, f"order of {account}"
    assert all(_valid_signature(item) for item in target.received)
    assert client.get(f"/v1/receive/{ACCOUNT}/status").json["webhooks"][0]["pending"] == 0


def test_kinds_filter_what_a_webhook_gets(fake_bin, config_dir, fake, target):
    lines = [
        message_line(ACCOUNT, SENDER, "text", timestamp=1),
        {
            "envelope": {"source": SENDER, "timestamp": 2, "typingMessage": {"action": "STARTED", "timestamp": 2}},
            "account": ACCOUNT,
        },
    ]
    fake.queue_messages(ACCOUNT, lines)
    app = _receiver_app(
        fake_bin,
        config_dir,
        SIGNAL_REST_WEBHOOKS=json.dumps([{"url": target.url, "secret": SECRET, "kinds": ["data"]}]),
    )
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        _wait_for(lambda: len(target.received) == 1, 10, "the data message")
        _wait_for(lambda: fake.inbox(ACCOUNT) == [], 10, "the typing message to be received")
        time.sleep(0.3)
    finally:
        receiver.stop()
        thread.join()
    assert [m[2] for m in target.messages()] == ["text"]
    assert len(app.test_client().get(f"/v1/receive/{ACCOUNT}?timeout=0").json) == 2


# --- the receiver process, killed at any point --------------------------------------------------------


def _receiver_env(fake_bin, config_dir, target):
    env = dict(os.environ)
    env.update(
        SIGNAL_CLI_BIN=str(fake_bin),
        SIGNAL_CLI_CONFIG_DIR=str(config_dir),
        SIGNAL_REST_RECEIVER="true",
        SIGNAL_REST_RECEIVE_INTERVAL="0.05",
        SIGNAL_REST_RECEIVE_WINDOW="0.2",
        SIGNAL_REST_RECEIVE_MAX_MESSAGES="4",
        SIGNAL_REST_RECEIVE_ACCOUNTS=f"{ACCOUNT},{OTHER_ACCOUNT}",
        SIGNAL_REST_WEBHOOKS=json.dumps([{"url": target.url, "secret": SECRET}]),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def _start_receiver(env):
    return subprocess.Popen(
        [sys.executable, "-m", "signal_rest.cli", "receiver"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )


def test_receiver_killed_at_any_point_loses_nothing(fake_bin, config_dir, fake, target):
    fake.add_account(OTHER_ACCOUNT)
    # signal-cli takes a while per run, so kills land before, during and after runs
    fake.set_delay(0.15)
    expected = {ACCOUNT: _queue(fake, ACCOUNT, 40, "a"), OTHER_ACCOUNT: _queue(fake, OTHER_ACCOUNT, 24, "b")}
    env = _receiver_env(fake_bin, config_dir, target)
    rng = random.Random(20261126)
    for _ in range(8):
        process = _start_receiver(env)
        time.sleep(rng.uniform(0.2, 1.2))
        process.kill()
        process.wait()
    process = _start_receiver(env)
    try:
        _wait_for(lambda: not fake.inbox(ACCOUNT) and not fake.inbox(OTHER_ACCOUNT), 60, "the fake's queues to empty")
        _wait_for(lambda: {m[2] for m in target.messages()} >= set(sum(expected.values(), [])), 60, "every webhook")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    # signal-cli runs orphaned by the kills have ended; the spool files they left are taken in
    _wait_for(
        lambda: not [p for p in fake.log(events=True) if p.get("event") == "start" and _alive(p["pid"])], 20, "orphans"
    )
    app = _receiver_app(fake_bin, config_dir)
    app.extensions["signal_rest.inbox"].take_in_spools()
    client = app.test_client()
    for account, texts in expected.items():
        handed = [
            line["envelope"]["dataMessage"]["message"] for line in client.get(f"/v1/receive/{account}?timeout=0").json
        ]
        assert handed == texts, f"the HTTP poller got every message of {account} once, in order"
        assert client.get(f"/v1/receive/{account}?timeout=0").json == []
    assert all(_valid_signature(item) for item in target.received)
    deliveries = {}
    for delivery, _, text in target.messages():
        deliveries.setdefault(text, set()).add(delivery)
    # at least once, and a retried delivery keeps its id
    assert all(len(ids) == 1 for ids in deliveries.values())
    assert not list((config_dir / "signal-rest" / "spool").glob("*.jsonl"))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- sends and receives share the account ------------------------------------------------------------


def test_a_send_waits_at_most_one_receive_window(fake_bin, config_dir, fake):
    fake.set_delay(0.3)
    _queue(fake, ACCOUNT, 30, "a")
    app = _receiver_app(fake_bin, config_dir, SIGNAL_REST_RECEIVE_WINDOW=0.5, SIGNAL_REST_RECEIVE_MAX_MESSAGES=3)
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    client = app.test_client()
    waits = []
    try:
        for index in range(6):
            time.sleep(0.17 * index % 0.5)
            started = time.time()
            response = client.post("/v2/send", json={"number": ACCOUNT, "recipients": [SENDER], "message": f"s{index}"})
            assert response.status_code == 201
            waits.append((started, time.time()))
    finally:
        receiver.stop()
        thread.join()
    runs = [r for r in fake.log() if r.get("account") == ACCOUNT and r.get("command") in ("send", "receive")]
    runs.sort(key=lambda r: r["start"])
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier["end"] <= later["start"], "two signal-cli runs for one account overlapped"
    receive_runs = [r["end"] - r["launched"] for r in runs if r["command"] == "receive"]
    longest_receive = max(receive_runs)
    sends = [r for r in runs if r["command"] == "send"]
    assert len(sends) == 6
    for (started, _), send in zip(waits, sends, strict=True):
        assert send["launched"] - started <= longest_receive + 0.5, "a send waited longer than one receive run"


# --- make run starts and stops both --------------------------------------------------------------------


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_run_starts_and_stops_the_receiver_with_gunicorn(fake_bin, config_dir, fake):
    _queue(fake, ACCOUNT, 3, "a")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        SIGNAL_CLI_BIN=str(fake_bin),
        SIGNAL_CLI_CONFIG_DIR=str(config_dir),
        SIGNAL_REST_RECEIVER="true",
        SIGNAL_REST_RECEIVE_INTERVAL="0.2",
        SIGNAL_REST_RECEIVE_ACCOUNTS=ACCOUNT,
    )
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", "WORKERS=1", "THREADS=2"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _health(port) == 204, 60, "gunicorn")
        _wait_for(lambda: _status(port)["waiting"] == 3, 30, "the receiver to store the messages")
        received = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/receive/{ACCOUNT}?timeout=0").read())
        assert [m["envelope"]["dataMessage"]["message"] for m in received] == ["a-0", "a-1", "a-2"]
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(make.pid, signal.SIGINT)
        make.wait(30)
    _wait_for(lambda: not _group_alive(make.pid), 20, "every process of make run to stop")


def _status(port):
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/receive/{ACCOUNT}/status").read())


def _health(port):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2).status
    except OSError:
        return None


def _group_alive(pgid):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def test_signature_check_from_the_readme():
    body = json.dumps({"envelope": {"source": SENDER}, "account": ACCOUNT}).encode()
    header = webhooks.signature(SECRET, body)
    namespace = {}
    readme = (ROOT / "README.rst").read_text("utf-8")
    block = []
    for line in readme.split(".. code-block:: python", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    exec(textwrap.dedent("\n".join(block)), namespace)
    assert namespace["is_genuine"](body, header, SECRET)
    assert not namespace["is_genuine"](body + b" ", header, SECRET)


def test_receiver_backs_off_after_failures_and_recovers(fake_bin, config_dir, fake):
    texts = _queue(fake, ACCOUNT, 2, "a")
    fake.add_fault(command="receive", times=2, exit=3, stderr="Error while checking account: Closed unexpectedly")
    app = _receiver_app(fake_bin, config_dir, SIGNAL_REST_RECEIVE_INTERVAL=0.3)
    receiver = app.extensions["signal_rest.receiver"]
    client = app.test_client()
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        _wait_for(lambda: client.get(f"/v1/receive/{ACCOUNT}/status").json["waiting"] == 2, 20, "the messages")
    finally:
        receiver.stop()
        thread.join()
    status = client.get(f"/v1/receive/{ACCOUNT}/status").json
    assert "Closed unexpectedly" in status["last_receive_error"]
    assert status["last_receive_at"] is not None
    runs = sorted(r["launched"] for r in fake.log() if r.get("command") == "receive")
    # after the first failure it waits one interval, after the second two
    assert runs[1] - runs[0] >= 0.3 - 0.05
    assert runs[2] - runs[1] >= 0.6 - 0.05
    handed = client.get(f"/v1/receive/{ACCOUNT}?timeout=0").json
    assert [line["envelope"]["dataMessage"]["message"] for line in handed] == texts


def test_a_delivery_failing_past_its_age_is_given_up_and_the_next_one_goes(tmp_path, target):
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: [target.url])
    deliverer = webhooks.Deliverer(inbox, [webhooks.Webhook(target.url, SECRET)], max_age=0.0)
    first, second = (json.dumps(message_line(ACCOUNT, SENDER, text, timestamp=n)) for n, text in ((1, "x"), (2, "y")))
    inbox.store(ACCOUNT, first)
    target.down = True
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    status = inbox.status(ACCOUNT, [target.url])
    assert status["abandoned_deliveries"] == 1
    assert status["webhooks"][0]["pending"] == 0 and "503" in status["webhooks"][0]["last_error"]
    # giving one up does not block the envelopes behind it
    target.down = False
    inbox.store(ACCOUNT, second)
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    assert [text for _, _, text in target.messages()] == ["y"]
    assert inbox.status(ACCOUNT, [target.url])["webhooks"][0]["last_delivered_at"] is not None


def test_a_delivery_to_a_webhook_no_longer_configured_is_given_up(tmp_path, target):
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: ["http://127.0.0.1:9/gone"])
    inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, SENDER, "x", timestamp=1)))
    deliverer = webhooks.Deliverer(inbox, [webhooks.Webhook(target.url, SECRET)])
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    assert inbox.status(ACCOUNT)["abandoned_deliveries"] == 1
    assert inbox.due_deliveries() == []
    assert target.received == []

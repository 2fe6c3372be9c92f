"""The receiver: every account received on an interval, nothing lost when it is killed, sends never
wait long, back-off after failures.

The receiver runs as a real process (``signal-rest receiver``) where the test kills it, and in a
thread where the test drives it; the webhook target is a real HTTP server on 127.0.0.1.
"""

import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from receiving_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    ROOT,
    SECRET,
    SENDER,
    WebhookTarget,
    queue_texts,
    receiver_app,
    valid_signature,
    wait_for,
)

from signal_rest.receiving import spool

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


@pytest.mark.server
def test_receiver_killed_at_any_point_loses_nothing(fake_bin, config_dir, fake):
    with WebhookTarget() as target:
        fake.add_account(OTHER_ACCOUNT)
        # signal-cli takes a while per run, so kills land before, during and after runs
        fake.set_delay(0.15)
        expected = {
            ACCOUNT: queue_texts(fake, ACCOUNT, 40, "a"),
            OTHER_ACCOUNT: queue_texts(fake, OTHER_ACCOUNT, 24, "b"),
        }
        env = _receiver_env(fake_bin, config_dir, target)
        rng = random.Random(20261126)
        for _ in range(8):
            process = _start_receiver(env)
            time.sleep(rng.uniform(0.2, 1.2))
            process.kill()
            process.wait()
        process = _start_receiver(env)
        try:
            wait_for(
                lambda: not fake.inbox(ACCOUNT) and not fake.inbox(OTHER_ACCOUNT), 60, "the fake's queues to empty"
            )
            wait_for(lambda: {m[2] for m in target.messages()} >= set(sum(expected.values(), [])), 60, "every webhook")
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
        # signal-cli runs orphaned by the kills have ended; the spool files they left are taken in
        wait_for(
            lambda: not [p for p in fake.log(events=True) if p.get("event") == "start" and _alive(p["pid"])],
            20,
            "orphans",
        )
        app = receiver_app(fake_bin, config_dir)
        spool.take_in(app.extensions["signal_rest.inbox"])
        client = app.test_client()
        for account, texts in expected.items():
            handed = [
                line["envelope"]["dataMessage"]["message"]
                for line in client.get(f"/v1/receive/{account}?timeout=0").json
            ]
            assert handed == texts, f"the HTTP poller got every message of {account} once, in order"
            assert client.get(f"/v1/receive/{account}?timeout=0").json == []
        assert all(valid_signature(item) for item in target.received)
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


def _held_spool(config_dir, lines):
    """A spool file still written by a running signal-cli (its flock held) with ``lines`` lines, or None."""
    for path in (config_dir / "signal-rest" / "spool").glob("*.jsonl"):
        try:
            with open(path, "rb") as handle:
                if handle.read().count(b"\n") < lines:
                    continue
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return path
        except FileNotFoundError:
            continue
    return None


def _first_seen(items):
    """``items`` without repeats (a delivery retried after a kill), in the order of their first appearance."""
    return list(dict.fromkeys(items))


@pytest.mark.server
def test_receiver_killed_during_a_streaming_receive_keeps_the_order(fake_bin, config_dir, fake):
    # signal-cli streams slowly and takes its time to stop: the orphan of each killed receiver goes
    # on writing older messages while the next receiver starts its own receive
    with WebhookTarget() as target:
        fake.add_account(OTHER_ACCOUNT)
        fake.set_receive_pace(0.1, linger=3.0)
        expected = {
            ACCOUNT: queue_texts(fake, ACCOUNT, 40, "a"),
            OTHER_ACCOUNT: queue_texts(fake, OTHER_ACCOUNT, 40, "b"),
        }
        env = _receiver_env(fake_bin, config_dir, target)
        env.update(
            SIGNAL_REST_RECEIVE_WINDOW="1.0", SIGNAL_REST_RECEIVE_MAX_MESSAGES="100", SIGNAL_CLI_CMD_TIMEOUT="60"
        )
        kills = []
        process = _start_receiver(env)
        try:
            for _ in range(3):
                wait_for(lambda: _held_spool(config_dir, 2) is not None, 30, "a receive streaming into its spool")
                process.kill()
                process.wait()
                kills.append(time.time())
                process = _start_receiver(env)
            everything = set(sum(expected.values(), []))
            wait_for(lambda: {m[2] for m in target.messages()} >= everything, 90, "every webhook")
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        # the case this is about happened: signal-cli wrote on after its receiver was killed
        deliveries = fake.deliveries()
        orphans = {d["pid"] for d in deliveries if any(d["time"] > kill > d["time"] - 3.5 for kill in kills)}
        assert any(d["pid"] in orphans and d["time"] > kill for d in deliveries for kill in kills), (
            "no signal-cli wrote after its receiver was killed"
        )
        for account, texts in expected.items():
            posted = [text for _, line_account, text in target.messages() if line_account == account]
            assert _first_seen(posted) == texts, f"the webhook got {account}'s messages out of order"
        client = receiver_app(fake_bin, config_dir).test_client()
        for account, texts in expected.items():
            handed = [
                line["envelope"]["dataMessage"]["message"]
                for line in client.get(f"/v1/receive/{account}?timeout=0").json
            ]
            assert handed == texts, f"the HTTP poller got {account}'s messages out of order, or not all"
        assert not list((config_dir / "signal-rest" / "spool").glob("*.jsonl"))


def test_killing_signal_cli_during_a_receive_loses_nothing(fake_bin, config_dir, fake):
    # signal-cli drops a message from its cache only once it is written (SIGNAL_CLI_0.14.md §6.6, and
    # so does the fake): what a SIGKILL cuts off comes with the next receive
    fake.set_receive_pace(0.05)
    texts = queue_texts(fake, ACCOUNT, 30, "a")
    app = receiver_app(fake_bin, config_dir, SIGNAL_REST_RECEIVE_WINDOW=1.0, SIGNAL_REST_RECEIVE_MAX_MESSAGES=100)
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    killed = set()
    try:
        while len(killed) < 4 and fake.inbox(ACCOUNT):
            running = [
                event["pid"]
                for event in fake.log(events=True)
                if event.get("event") == "start" and event["pid"] not in killed and _alive(event["pid"])
            ]
            delivered = {d["pid"] for d in fake.deliveries()}
            for pid in running:
                if pid in delivered:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.05)
        wait_for(lambda: receiver.inbox.waiting(ACCOUNT) >= len(texts), 30, "every message in the inbox")
    finally:
        receiver.stop()
        thread.join()
    assert len(killed) == 4, "signal-cli was not killed in the middle of its receives"
    handed = [
        line["envelope"]["dataMessage"]["message"]
        for line in app.test_client().get(f"/v1/receive/{ACCOUNT}?timeout=0").json
    ]
    assert handed == texts


# --- sends and receives share the account ------------------------------------------------------------


def test_a_send_waits_at_most_one_receive_window(fake_bin, config_dir, fake):
    fake.set_delay(0.3)
    queue_texts(fake, ACCOUNT, 30, "a")
    app = receiver_app(fake_bin, config_dir, SIGNAL_REST_RECEIVE_WINDOW=0.5, SIGNAL_REST_RECEIVE_MAX_MESSAGES=3)
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


@pytest.mark.server
@pytest.mark.fake_signal_cli("0.14.6")
@pytest.mark.parametrize(
    ("mode", "settings"),
    [
        ("normal", {"SIGNAL_REST_RECEIVER": "true", "SIGNAL_REST_RECEIVE_INTERVAL": "0.2"}),
        # json-rpc mode: signal-rest daemon beside gunicorn instead of the receiver
        ("json-rpc", {"SIGNAL_REST_MODE": "json-rpc"}),
    ],
)
def test_make_run_starts_and_stops_the_receiver_or_the_daemon_with_gunicorn(fake_bin, config_dir, fake, mode, settings):
    queue_texts(fake, ACCOUNT, 3, "a")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        SIGNAL_CLI_BIN=str(fake_bin),
        SIGNAL_CLI_CONFIG_DIR=str(config_dir),
        SIGNAL_REST_RECEIVE_ACCOUNTS=ACCOUNT,
        **settings,
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
        wait_for(lambda: _health(port) == 204, 60, "gunicorn")
        about = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/about").read())
        # the websocket is served in both: clients are told json-rpc, and how signal-cli runs apart
        assert (about["mode"], about["signal_cli_mode"]) == ("json-rpc", mode)
        wait_for(lambda: _status(port)["waiting"] == 3, 30, "the receiver to store the messages")
        received = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/receive/{ACCOUNT}?timeout=0").read())
        assert [m["envelope"]["dataMessage"]["message"] for m in received] == ["a-0", "a-1", "a-2"]
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(make.pid, signal.SIGINT)
        make.wait(30)
    wait_for(lambda: not _group_alive(make.pid), 20, "every process of make run to stop")


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


def test_receiver_backs_off_after_failures_and_recovers(fake_bin, config_dir, fake):
    texts = queue_texts(fake, ACCOUNT, 2, "a")
    fake.add_fault(command="receive", times=2, exit=3, stderr="Error while checking account: Closed unexpectedly")
    app = receiver_app(fake_bin, config_dir, SIGNAL_REST_RECEIVE_INTERVAL=0.3)
    receiver = app.extensions["signal_rest.receiver"]
    client = app.test_client()
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        wait_for(lambda: client.get(f"/v1/receive/{ACCOUNT}/status").json["waiting"] == 2, 20, "the messages")
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

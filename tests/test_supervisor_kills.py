"""json-rpc mode killed at any point: messages keep arriving and sends keep going out while the
supervisor (``signal-rest daemon``), a gunicorn worker and signal-cli's daemon are SIGKILLed at
random moments; afterwards every message handed out is in the inbox once, none is lost, and every
send that was answered 201 went out exactly once. The spool of a killed supervisor's daemon that
is still finishing its calls when the next daemon starts is taken in while that one runs.

Every process is a real one: gunicorn with two workers, the supervisor as systemd runs it (started
again after it is killed), and the fake signal-cli 0.14.6's daemon below it.
"""

import collections
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_signal_cli import message_line, write_executable
from gunicorn_server import REPO, Gunicorn
from processes import alive, child_pids
from receiving_support import ACCOUNT, SENDER, queue_texts, wait_for

from signal_rest import create_app
from signal_rest.receiving import spool
from signal_rest.signal_cli import daemon

pytestmark = pytest.mark.server

#: rounds of kills; each round kills the supervisor, a worker and the daemon once, in a random order
ROUNDS = 3
#: the share of the kills that wait until the service runs again (the others land while it recovers)
RECOVERED = 0.75
#: incoming messages arrive in batches of this many
BATCH_SIZE = 3
#: client threads posting /v2/send
SENDERS = 3


class Supervisor:
    """``signal-rest daemon`` as a process of its own, started again after each kill."""

    def __init__(self, environment, log_path):
        self.environment = {**environment, "PYTHONPATH": str(REPO)}
        self.log_path = log_path
        self.process = None

    def start(self):
        """Start a new supervisor."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "signal_rest.cli", "daemon"],
                cwd=REPO,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def kill(self):
        """SIGKILL the supervisor (its daemon gets SIGTERM from the kernel) and reap it."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        """SIGTERM, as systemd stops it; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def serving(self, since, timeout=30.0):
        """Wait until this supervisor says its daemon runs, in a status written after ``since`` (a time)."""
        deadline = time.monotonic() + timeout
        while True:
            status = daemon.read_status(self.environment["SIGNAL_CLI_CONFIG_DIR"]) or {}
            if status.get("pid") == self.process.pid and status.get("state") == "running":
                if status.get("since", 0) > since:
                    return
            assert time.monotonic() < deadline, f"the daemon did not come back:\n{self.log()}"
            time.sleep(0.02)

    def daemon(self, timeout=20.0):
        """The pid of the running signal-cli daemon (waiting while the supervisor starts one)."""
        deadline = time.monotonic() + timeout
        while True:
            for pid in child_pids(self.process.pid):
                if alive(pid) and "daemon" in _argv(pid) and "--socket" in _argv(pid):
                    return pid
            assert time.monotonic() < deadline, f"no signal-cli daemon ran:\n{self.log()}"
            time.sleep(0.02)

    def log(self):
        """What every supervisor wrote so far."""
        return self.log_path.read_text("utf-8", "replace")


def _argv(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def _sigkill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _feed(fake, stop, texts_by_timestamp, rng):
    """Queue incoming messages in batches, a short pause apart, until ``stop``."""
    batch = 0
    while not stop.is_set():
        lines = []
        for index in range(BATCH_SIZE):
            timestamp = 1_760_000_000_000 + batch * BATCH_SIZE + index
            text = f"in-{batch}-{index}"
            texts_by_timestamp[timestamp] = text
            lines.append(message_line(ACCOUNT, SENDER, text, timestamp=timestamp))
        fake.queue_messages(ACCOUNT, lines)
        batch += 1
        time.sleep(rng.uniform(0.2, 0.6))


def _send(server, name, stop, answers):
    """POST /v2/send with a new text each time until ``stop``; records each text's status (None: no answer)."""
    count = 0
    while not stop.is_set():
        text = f"out-{name}-{count}"
        count += 1
        body = json.dumps({"number": ACCOUNT, "recipients": [SENDER], "message": text}).encode()
        try:
            status = server.request("POST", "/v2/send", {"Content-Type": "application/json"}, body)[0]
        except (OSError, http.client.HTTPException):
            status = None  # the worker was killed while it had the request
        answers[text] = status
        # a refusal (503 while the daemon restarts) comes at once: no need to ask again at that pace
        time.sleep(0.03 if status == 201 else 0.1)


def _running_fakes(fake):
    """The fake signal-cli processes (the daemons orphaned by a supervisor's kill among them) still alive."""
    started = [record["pid"] for record in fake.log(events=True) if record.get("event") == "start"]
    return [pid for pid in started if alive(pid)]


def test_json_rpc_mode_killed_at_any_point_loses_and_repeats_nothing(tmp_path, config_dir, fake):
    fake_bin = write_executable(tmp_path / "bin", version="0.14.6")
    settings = {
        "SIGNAL_REST_MODE": "json-rpc",
        "SIGNAL_CLI_BIN": fake_bin,
        "SIGNAL_CLI_CONFIG_DIR": config_dir,
        "SIGNAL_CLI_CMD_TIMEOUT": 20,
        "LOG_LEVEL": "WARNING",
    }
    rng = random.Random(20261203)
    texts_by_timestamp = {}
    answers = {}
    with Gunicorn(tmp_path / "gunicorn", workers=2, threads=4, **settings) as server:
        supervisor = Supervisor(server.environment, tmp_path / "supervisor.log")
        supervisor.start()
        try:
            supervisor.serving(0.0)
            stop = threading.Event()
            feeder = threading.Thread(target=_feed, args=(fake, stop, texts_by_timestamp, random.Random(rng.random())))
            senders = [threading.Thread(target=_send, args=(server, name, stop, answers)) for name in range(SENDERS)]
            for thread in [feeder, *senders]:
                thread.start()
            try:
                # when the daemon (or its supervisor) was last killed
                daemon_killed = 0.0
                for _ in range(ROUNDS):
                    for target in rng.sample(["supervisor", "worker", "daemon"], 3):
                        # most kills land while the service runs again, the others while it recovers
                        if rng.random() < RECOVERED:
                            supervisor.serving(daemon_killed)
                        time.sleep(rng.uniform(0.1, 0.8))
                        if target == "supervisor":
                            supervisor.kill()
                            supervisor.start()
                        elif target == "worker":
                            _sigkill(rng.choice(sorted(pid for pid in server.worker_pids() if alive(pid))))
                        else:
                            _sigkill(supervisor.daemon())
                        if target != "worker":
                            daemon_killed = time.time()
            finally:
                stop.set()
                for thread in [feeder, *senders]:
                    thread.join()
            # given time, the fake hands out everything queued, and the supervisor stores it
            wait_for(
                lambda: not fake.inbox(ACCOUNT) and not fake.load()["accounts"][ACCOUNT].get("msg_cache"),
                30,
                f"the fake to hand out every queued message:\n{supervisor.log()}",
            )
            inbox = create_app({"SIGNAL_CLI_CONFIG_DIR": str(config_dir)}).extensions["signal_rest.inbox"]
            wait_for(
                lambda: inbox.waiting(ACCOUNT) >= len(texts_by_timestamp),
                20,
                f"the inbox to hold every message handed out:\n{supervisor.log()}",
            )
        finally:
            assert supervisor.stop() == 0, supervisor.log()
        assert server.stop() == 0, server.stderr()
    wait_for(lambda: not _running_fakes(fake), 20, "the fake signal-cli processes to end")

    delivered = fake.deliveries(ACCOUNT)
    assert all("stdout" in delivery["handlers"] for delivery in delivered)
    handed_out = collections.Counter(texts_by_timestamp[delivery["timestamp"]] for delivery in delivered)
    assert set(handed_out) == set(texts_by_timestamp.values()), "a queued message was never handed out"
    app = create_app({"SIGNAL_CLI_CONFIG_DIR": str(config_dir), "SIGNAL_REST_MODE": "json-rpc"})
    stored = collections.Counter(
        line["envelope"]["dataMessage"]["message"]
        for line in app.test_client().get(f"/v1/receive/{ACCOUNT}?timeout=0").json
    )
    assert stored == collections.Counter(set(texts_by_timestamp.values())), "each message is in the inbox once"
    assert not list(spool.directory(app.extensions["signal_rest.inbox"]).glob("*.jsonl"))

    sent = collections.Counter(message["message"] for message in fake.sent_messages(ACCOUNT))
    assert [text for text, times in sent.items() if times > 1] == [], "a message was sent twice"
    accepted = {text for text, status in answers.items() if status == 201}
    assert accepted - set(sent) == set(), "a send answered 201 did not go out"
    assert set(sent) <= set(answers)
    statuses = collections.Counter(answers.values())
    # sends went through between the kills; the others were refused while the daemon restarted, or
    # lost their answer with a killed worker (None)
    assert len(accepted) >= 10 and set(statuses) <= {201, 503, None}, statuses


def test_a_spool_its_daemon_finishes_after_the_next_daemon_started_is_taken_in(tmp_path, config_dir, fake):
    # the daemon of a killed supervisor gets SIGTERM and finishes its calls first; the supervisor
    # started after it finds that daemon's spool still locked, and starts its own daemon meanwhile
    fake_bin = write_executable(tmp_path / "bin", version="0.14.6")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SIGNAL_REST_", "SIGNAL_CLI_", "PROMETHEUS_"))
    }
    environment.update(
        SIGNAL_REST_MODE="json-rpc",
        SIGNAL_CLI_BIN=str(fake_bin),
        SIGNAL_CLI_CONFIG_DIR=str(config_dir),
        LOG_LEVEL="WARNING",
    )
    inbox = create_app({"SIGNAL_CLI_CONFIG_DIR": str(config_dir)}).extensions["signal_rest.inbox"]
    supervisor = Supervisor(environment, tmp_path / "supervisor.log")
    supervisor.start()
    first = supervisor.daemon()
    wait_for(lambda: (daemon.read_status(config_dir) or {}).get("state") == "running", 20, "the first daemon")
    fake.add_fault(command="listGroups", sleep=4, times=1)
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        busy.connect(str(daemon.socket_path(config_dir)))
        busy.sendall(b'{"jsonrpc":"2.0","method":"listGroups","params":{"account":"%s"},"id":1}\n' % ACCOUNT.encode())
        # messages the daemon writes while its supervisor cannot store them, and then dies
        supervisor.process.send_signal(signal.SIGSTOP)
        texts = queue_texts(fake, ACCOUNT, 3, "a")
        wait_for(lambda: len(fake.deliveries(ACCOUNT)) == 3, 20, "the first daemon to hand out the messages")
        supervisor.kill()
        supervisor.start()
        try:
            second = supervisor.daemon()
            assert alive(first), "the first daemon ended before the second started"
            wait_for(lambda: inbox.waiting(ACCOUNT) == 3, 20, f"the messages in the inbox:\n{supervisor.log()}")
            assert alive(second), "the second daemon was restarted meanwhile"
        finally:
            assert supervisor.stop() == 0, supervisor.log()
    finally:
        busy.close()
    wait_for(lambda: not _running_fakes(fake), 20, "the fake signal-cli processes to end")
    handed = [json.loads(line)["envelope"]["dataMessage"]["message"] for line in inbox.hand_out(ACCOUNT)]
    assert handed == texts
    assert not list(spool.directory(inbox).glob("*.jsonl"))

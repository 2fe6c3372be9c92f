"""gunicorn's configuration (signal_rest/gunicorn_conf.py): values from the environment, time limits
above signal-cli's, and an access log with each request's id and duration."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from fake_signal_cli import write_executable
from gunicorn_server import REPO, Gunicorn
from helpers import ACCOUNT
from processes import alive

pytestmark = pytest.mark.server

#: imports the configuration in a fresh process (it changes the environment) and prints its values
CONF_DRIVER = r"""
import json, os
from signal_rest import gunicorn_conf as conf

names = ("bind", "workers", "threads", "worker_class", "timeout", "graceful_timeout", "accesslog", "access_log_format")
values = {name: getattr(conf, name) for name in names}
from gunicorn.util import load_class
from gunicorn.workers.gthread import ThreadWorker
values["thread_worker"] = issubclass(load_class(conf.worker_class), ThreadWorker)
values["metrics_dir"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
values["metrics_dir_made"] = os.path.isdir(values["metrics_dir"])
conf.on_exit(None)
values["metrics_dir_after_exit"] = os.path.isdir(values["metrics_dir"])
print(json.dumps(values))
"""


def configuration(tmp_path, **settings):
    """The configuration's values with ``settings`` (and nothing else of ours) in the environment;
    its TMPDIR is ``tmp_path/gunicorn-tmp``."""
    (tmp_path / "gunicorn-tmp").mkdir(exist_ok=True)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SIGNAL_REST_", "SIGNAL_CLI_", "PROMETHEUS_"))
    }
    environment["TMPDIR"] = str(tmp_path / "gunicorn-tmp")
    environment.update({key: str(value) for key, value in settings.items()})
    done = subprocess.run(
        [sys.executable, "-c", CONF_DRIVER],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_defaults(tmp_path):
    values = configuration(tmp_path)
    assert values["bind"] == "127.0.0.1:8080"
    assert values["workers"] == 2
    assert values["threads"] == 8
    # gthread's worker, with a quick shutdown that cannot deadlock (test_ctrl_c_stops_gunicorn_at_once)
    assert values["worker_class"] == "signal_rest.gunicorn_conf.ThreadWorker" and values["thread_worker"]
    # signal-cli's 120 s plus the 60 s lock wait, plus a margin; a running signal-cli may finish
    assert values["timeout"] == 210
    assert values["graceful_timeout"] == 135
    assert values["accesslog"] == "-"


def test_values_from_the_environment(tmp_path):
    values = configuration(
        tmp_path,
        SIGNAL_REST_BIND="127.0.0.1:9123",
        SIGNAL_REST_WORKERS=3,
        SIGNAL_REST_THREADS=5,
        SIGNAL_CLI_CMD_TIMEOUT=45,
        SIGNAL_CLI_LOCK_TIMEOUT=20,
    )
    assert values["bind"] == "127.0.0.1:9123"
    assert values["workers"] == 3
    assert values["threads"] == 5
    assert values["timeout"] > 45 + 20
    assert values["graceful_timeout"] > 45


@pytest.mark.parametrize(
    ("command_timeout", "lock_timeout"),
    [(120, 60), (5, 0), (0.5, 0.4), (29.9, 0.6), (300, 600), (1000, 1)],
)
def test_worker_timeouts_exceed_signal_clis(tmp_path, command_timeout, lock_timeout):
    values = configuration(tmp_path, SIGNAL_CLI_CMD_TIMEOUT=command_timeout, SIGNAL_CLI_LOCK_TIMEOUT=lock_timeout)
    # the service's own time limit (which stops signal-cli cleanly) must fire before gunicorn's
    assert values["timeout"] > command_timeout + lock_timeout
    # on shutdown, a running signal-cli may finish
    assert values["graceful_timeout"] > command_timeout
    assert isinstance(values["timeout"], int) and isinstance(values["graceful_timeout"], int)


def test_metrics_directory_is_made_and_removed(tmp_path):
    values = configuration(tmp_path)
    assert values["metrics_dir"].startswith(str(tmp_path / "gunicorn-tmp" / "signal-rest-metrics-"))
    assert values["metrics_dir_made"] is True
    assert values["metrics_dir_after_exit"] is False
    assert list((tmp_path / "gunicorn-tmp").iterdir()) == []


def test_a_given_metrics_directory_is_kept(tmp_path):
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"")
    values = configuration(tmp_path, PROMETHEUS_MULTIPROC_DIR=given)
    assert values["metrics_dir"] == str(given)
    assert values["metrics_dir_after_exit"] is True
    assert list(given.iterdir()) == [given / "counter_1.db"]
    assert list((tmp_path / "gunicorn-tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [("SIGNAL_REST_WORKERS", "two"), ("SIGNAL_REST_THREADS", "8.5"), ("SIGNAL_CLI_CMD_TIMEOUT", "soon")],
)
def test_a_malformed_setting_is_named(tmp_path, setting, value):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNAL_REST_", "SIGNAL_CLI_"))}
    environment.update({"TMPDIR": str(tmp_path), setting: value})
    done = subprocess.run(
        [sys.executable, "-c", CONF_DRIVER],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ValueError") and setting in last_line, last_line


ACCESS_LINE = re.compile(
    r'^127\.0\.0\.1 "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>-|\d+) (?P<ms>\d+)ms request_id=(?P<id>\S+)$'
)


def test_access_log_has_request_id_and_duration(tmp_path, fake_bin, config_dir, fake):
    fake.set_delay(0.4)
    with Gunicorn(
        tmp_path / "gunicorn",
        workers=1,
        threads=2,
        SIGNAL_CLI_BIN=fake_bin,
        SIGNAL_CLI_CONFIG_DIR=config_dir,
        SIGNAL_CLI_CMD_TIMEOUT=10,
    ) as server:
        assert server.request("GET", "/v1/health", {"X-Request-ID": "access-health"})[0] == 204
        status, headers, _ = server.request("GET", f"/v1/groups/{ACCOUNT}?x=1", {"X-Request-ID": "access-slow"})
        assert status == 200
        assert headers["X-Request-ID"] == "access-slow"
        status, headers, _ = server.request("GET", "/no/such/route")
        assert status == 404
        generated = headers["X-Request-ID"]
        assert re.match(r"^[0-9a-f]{32}$", generated)
        assert server.stop() == 0
        log = server.stdout()

    lines = {}
    for line in log.splitlines():
        match = ACCESS_LINE.match(line)
        assert match, f"not an access log line: {line!r}"
        lines[match["id"]] = match
    assert set(lines) >= {"access-health", "access-slow", generated}

    health = lines["access-health"]
    assert (health["request"], health["status"]) == ("GET /v1/health HTTP/1.1", "204")
    assert health["bytes"] in ("-", "0")
    assert int(health["ms"]) < 5000
    slow = lines["access-slow"]
    assert (slow["request"], slow["status"]) == (f"GET /v1/groups/{ACCOUNT}?x=1 HTTP/1.1", "200")
    # the fake signal-cli took at least 0.4 s
    assert 400 <= int(slow["ms"]) < 20000
    assert int(slow["bytes"]) > 0
    missing = lines[generated]
    assert (missing["request"], missing["status"]) == ("GET /no/such/route HTTP/1.1", "404")


@pytest.mark.parametrize(("version", "warned"), [("0.13.19", True), ("0.14.6", False)])
def test_the_start_warns_when_signal_cli_cannot_work_with_signals_servers(tmp_path, config_dir, version, warned):
    signal_cli = write_executable(tmp_path / "bin", version=version)
    with Gunicorn(
        tmp_path / "gunicorn", workers=1, SIGNAL_CLI_BIN=signal_cli, SIGNAL_CLI_CONFIG_DIR=config_dir
    ) as server:
        assert server.request("GET", "/v1/about")[0] == 200
        server.stop()
    warnings = [line for line in server.stderr().splitlines() if "[WARNING]" in line]
    expected = f"signal-cli {version} can serve tests and offline work but cannot register or stay registered"
    assert any(expected in line and "SIGNAL_CLI_VERSION=0.14.6" in line for line in warnings) is warned


def test_ctrl_c_stops_gunicorn_at_once(tmp_path, fake_bin, config_dir):
    # the terminal signals master and workers alike, and the master then sends each worker SIGQUIT;
    # a signal that lands while a worker hands a request to its thread pool must not deadlock it
    # (that held the shutdown up until the graceful timeout). Requests keep coming while Ctrl-C is
    # pressed, and it is pressed a few times, to give the race its chances.
    for attempt in range(4):
        server = Gunicorn(
            tmp_path / f"gunicorn-{attempt}",
            workers=2,
            threads=4,
            session=True,
            SIGNAL_CLI_BIN=fake_bin,
            SIGNAL_CLI_CONFIG_DIR=config_dir,
        )
        with server:
            stop = threading.Event()

            def keep_asking(server=server, stop=stop):
                while not stop.is_set():
                    try:
                        server.request("GET", "/v1/health")
                    except OSError:
                        pass

            askers = [threading.Thread(target=keep_asking) for _ in range(3)]
            for asker in askers:
                asker.start()
            try:
                time.sleep(0.3)
                server.ctrl_c()
                assert server.process.wait(timeout=15) == 0, server.stderr()[-2000:]
            finally:
                stop.set()
                for asker in askers:
                    asker.join()


def _started(fake, command):
    """The pids of the fake's runs of ``command`` that have started."""
    events = fake.log(events=True)
    return [event["pid"] for event in events if event.get("event") == "start" and command in event["argv"]]


def test_a_worker_killed_mid_request_leaves_no_signal_cli_running(tmp_path, fake_bin, config_dir, fake):
    # a request thread of gthread's pool outlives its request: a link started by a request (it waits
    # for the scan in the background) is still there after the answer, and dies with the worker
    fake.set_link_timeout(60)
    with Gunicorn(
        tmp_path / "gunicorn", workers=1, threads=4, SIGNAL_CLI_BIN=fake_bin, SIGNAL_CLI_CONFIG_DIR=config_dir
    ) as server:
        (worker,) = server.worker_pids()
        assert server.request("GET", "/v1/qrcodelink/raw?device_name=kitchen")[0] == 200
        (link,) = _started(fake, "link")
        fake.set_delay(60)
        answers = []

        def send_and_lose_the_worker():
            body = json.dumps({"number": ACCOUNT, "recipients": ["+4915100000001"], "message": "hi"})
            try:
                answers.append(server.request("POST", "/v2/send", {"Content-Type": "application/json"}, body)[0])
            except OSError as exc:
                answers.append(type(exc).__name__)

        sender = threading.Thread(target=send_and_lose_the_worker)
        sender.start()
        deadline = time.monotonic() + 20
        while not _started(fake, "send"):
            assert time.monotonic() < deadline, "the send never reached signal-cli"
            time.sleep(0.05)
        (send,) = _started(fake, "send")
        time.sleep(1.0)
        assert alive(link) and alive(send)
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        while (alive(link) or alive(send)) and time.monotonic() - killed < 1.0:
            time.sleep(0.02)
        assert not alive(link), "signal-cli link outlived its worker by a second"
        assert not alive(send), "signal-cli send outlived its worker by a second"
        sender.join(30)
        assert answers == ["RemoteDisconnected"], "the request died with its worker"
        # the account is free at once: the next worker's send does not wait for a leftover
        fake.set_delay(0)
        deadline = time.monotonic() + 30
        while len(server.worker_pids() - {worker}) != 1:
            assert time.monotonic() < deadline, "gunicorn started no new worker"
            time.sleep(0.05)
        started = time.monotonic()
        body = json.dumps({"number": ACCOUNT, "recipients": ["+4915100000001"], "message": "again"})
        status, _, _ = server.request("POST", "/v2/send", {"Content-Type": "application/json"}, body)
        assert status == 201 and time.monotonic() - started < 10


def test_a_worker_with_every_thread_busy_leaves_new_connections_to_another(tmp_path, fake_bin, config_dir, fake):
    # gthread on its own accepts a connection with every thread busy and lets it wait for one, while
    # the other worker is idle: about half of these health checks would wait for the slow read
    fake.set_delay(4)
    with Gunicorn(
        tmp_path / "gunicorn",
        workers=2,
        threads=1,
        SIGNAL_REST_PUSH_CONNECTIONS=0,
        SIGNAL_CLI_BIN=fake_bin,
        SIGNAL_CLI_CONFIG_DIR=config_dir,
    ) as server:
        answers = []
        slow = threading.Thread(target=lambda: answers.append(server.request("GET", f"/v1/groups/{ACCOUNT}")[0]))
        slow.start()
        deadline = time.monotonic() + 20
        while not _started(fake, "listGroups"):
            assert time.monotonic() < deadline, "the slow read never reached signal-cli"
            time.sleep(0.05)
        for _ in range(8):
            assert server.request("GET", "/v1/health")[0] == 204
            assert slow.is_alive(), "a health check waited for the worker busy with the slow read"
        slow.join(30)
        assert answers == [200]

"""Faults: signal-cli dying, hanging, babbling or missing, a full disk, clients that hang up.

After every fault the service must answer with the documented JSON error (API.md §1), leave no
temporary file and no child process behind, and serve the next request normally. Most faults hit
a send with an attachment, so that a temporary file exists while signal-cli runs. The client
disconnects are played against a real gunicorn (the package's own settings) on 127.0.0.1.
"""

import base64
import errno
import json
import os
import signal
import socket
import time
import types

import pytest
from fake_signal_cli import FakeState, message_line, write_executable
from helpers import ACCOUNT, OTHER, assert_error, b64
from processes import alive, child_pids, exits_within
from service_process import GunicornService

from signal_rest import attachments

ATTACHMENT = b"attachment bytes " * 64
SEND = {
    "number": ACCOUNT,
    "recipients": [OTHER],
    "message": "hi",
    "base64_attachments": [f"data:text/plain;filename=notes.txt;base64,{b64(ATTACHMENT)}"],
}
GROUPS = f"/v1/groups/{ACCOUNT}"


def wait_for(condition, timeout=15.0, what="condition"):
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def started_pids(fake):
    """The pids of every signal-cli the fake saw start."""
    return [event["pid"] for event in fake.log(events=True) if event.get("event") == "start"]


def assert_clean(temp, fake):
    """No temporary file, no child process, no signal-cli still alive."""
    assert list(temp.iterdir()) == [], "temporary files left behind"
    assert child_pids() == [], "child processes left behind"
    assert not [pid for pid in started_pids(fake) if alive(pid)], "a signal-cli is still running"


def assert_next_request_works(client, fake):
    """A send with an attachment goes through: 201, and signal-cli got the file."""
    sent = len(fake.sent_messages())
    response = client.post("/v2/send", json=SEND)
    assert response.status_code == 201, response.get_json()
    message = fake.sent_messages()[-1]
    assert len(fake.sent_messages()) == sent + 1
    assert [base64.b64decode(item["data"]) for item in message["attachments"]] == [ATTACHMENT]


# --- signal-cli fails while sending ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "fragment"),
    [
        ({"kill_self": True}, 502, "unexpectedly"),
        ({"garbage": True}, 502, "not the expected JSON"),
        ({"truncate": True}, 502, "not the expected JSON"),
        ({"exit": 1, "stderr": "INFO  Manager - noise\nSending failed: invalid input"}, 400, "invalid input"),
        ({"exit": 2}, 502, "unexpectedly"),
        ({"exit": 3, "stderr": f"Error while checking account {ACCOUNT}: Closed unexpectedly"}, 502, "Closed"),
        ({"exit": 4, "stderr": "Failed to send message due to untrusted identities"}, 409, "/v1/identities/"),
        ({"exit": 5, "stderr": "Failed to send message due to rate limiting"}, 429, "rate limiting"),
        ({"exit": 143, "stderr": ""}, 502, "143"),
    ],
    ids=["killed", "garbage", "truncated-json", "exit-1", "exit-2", "exit-3", "exit-4", "exit-5", "exit-143"],
)
def test_failing_signal_cli(client, fake, no_leftovers, fault, status, fragment):
    fake.add_fault(command="send", times=1, **fault)
    body = assert_error(client.post("/v2/send", json=SEND), status, fragment)
    # one short sentence: no log lines, no stack trace
    assert "noise" not in body["message"] and "\tat " not in body["message"] and len(body["message"]) < 500
    assert [run["command"] for run in fake.log()] in ([], ["send"])  # a killed run leaves no end record
    assert_clean(no_leftovers, fake)
    assert_next_request_works(client, fake)
    assert_clean(no_leftovers, fake)


@pytest.fixture
def signal_cli_with_helper(tmp_path, fake_bin):
    """A signal-cli whose first run leaves a helper process in its process group that ignores
    SIGTERM (like a JVM thread stuck in native code). Yields (executable, pid file of the helper)."""
    pid_file = tmp_path / "helper.pid"
    marker = tmp_path / "helper-started"
    wrapper = tmp_path / "wrapped" / "signal-cli"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then\n'
        f'  touch "{marker}"\n'
        f'  sh -c \'trap "" TERM; echo $$ > "{pid_file}"; exec sleep 300\' &\n'
        "fi\n"
        f'exec "{fake_bin}" "$@"\n'
    )
    wrapper.chmod(0o755)
    yield wrapper, pid_file
    if pid_file.exists():
        # only if the test failed: do not leave the helper behind
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_hanging_signal_cli_is_504_and_its_process_group_is_gone(make_app, fake, no_leftovers, signal_cli_with_helper):
    executable, helper_pid_file = signal_cli_with_helper
    fake.add_fault(command="send", sleep=60, times=1)
    client = make_app(SIGNAL_CLI_BIN=str(executable), SIGNAL_CLI_CMD_TIMEOUT=1).test_client()
    started = time.monotonic()
    assert_error(client.post("/v2/send", json=SEND), 504, "1 seconds")
    # SIGTERM, a grace period, then SIGKILL for what ignored it
    assert time.monotonic() - started < 15
    (pid,) = started_pids(fake)
    helper = int(helper_pid_file.read_text())
    assert exits_within(pid), "signal-cli is still running"
    assert exits_within(helper), "the process signal-cli started is still running"
    helper_pid_file.unlink()
    # stopped with SIGTERM (exit 143) before it sent anything
    assert [run["exit"] for run in fake.log()] == [143]
    assert fake.sent_messages() == []
    assert_clean(no_leftovers, fake)
    assert_next_request_works(client, fake)


# --- signal-cli or its config dir missing ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "directory", "not executable", "in a missing directory"])
def test_signal_cli_that_cannot_run_is_503_until_it_is_there(make_app, fake, tmp_path, no_leftovers, kind):
    path = tmp_path / "opt" / "signal-cli"
    if kind == "in a missing directory":
        path = tmp_path / "nowhere" / "signal-cli"
    else:
        path.parent.mkdir()
    if kind == "directory":
        path.mkdir()
    elif kind == "not executable":
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o644)
    client = make_app(SIGNAL_CLI_BIN=str(path)).test_client()
    assert_error(client.post("/v2/send", json=SEND), 503, "SIGNAL_CLI_BIN")
    assert_error(client.get(GROUPS), 503, "SIGNAL_CLI_BIN")
    assert_clean(no_leftovers, fake)
    # once signal-cli is where the setting says, the same service works
    if path.is_dir():
        path.rmdir()
    elif path.exists():
        path.unlink()
    write_executable(path.parent, path.name)
    assert_next_request_works(client, fake)


@pytest.mark.parametrize("kind", ["a file", "below a file"])
def test_unusable_config_dir_is_503_until_it_is_usable(make_app, fake_bin, tmp_path, no_leftovers, kind):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    config_dir = blocker if kind == "a file" else blocker / "signal-cli"
    client = make_app(SIGNAL_CLI_CONFIG_DIR=str(config_dir)).test_client()
    body = assert_error(client.post("/v2/send", json=SEND), 503)
    assert "SIGNAL_CLI_CONFIG_DIR" in body["message"] or "SIGNAL_REST_DATA_DIR" in body["message"], body
    assert_error(client.get(GROUPS), 503)
    assert list(no_leftovers.iterdir()) == [] and child_pids() == []
    blocker.unlink()
    fake = FakeState(config_dir)
    fake.add_account(ACCOUNT)
    assert_next_request_works(client, fake)
    assert_clean(no_leftovers, fake)


# --- the disk fills up while attachments are written -------------------------------------------------


class FullDisk:
    """Files opened by the attachment writer take ``room`` bytes, then fail like a full disk (ENOSPC).

    Only the writer's own ``os`` module is replaced, so nothing else in the process is affected.
    """

    def __init__(self, monkeypatch, room=100):
        self.monkeypatch = monkeypatch
        self.room = room
        #: how many writes failed: the simulation really happened
        self.failed_writes = 0
        self.real_os = attachments.os
        names = [name for name in dir(self.real_os) if not name.startswith("__")]
        full = types.SimpleNamespace(**{name: getattr(self.real_os, name) for name in names})
        full.fdopen = lambda *args, **kwargs: _FullDiskFile(self, self.real_os.fdopen(*args, **kwargs), room)
        monkeypatch.setattr(attachments, "os", full)

    def free_space(self):
        """The disk has room again."""
        self.monkeypatch.setattr(attachments, "os", self.real_os)


class _FullDiskFile:
    def __init__(self, disk, real, room):
        self.disk = disk
        self.real = real
        self.room = room

    def write(self, data):
        if len(data) > self.room:
            self.real.write(data[: self.room])
            self.room = 0
            self.disk.failed_writes += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.real.close()

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def full_disk(monkeypatch):
    """Attachments cannot be written: the disk is full after 100 bytes."""
    return FullDisk(monkeypatch)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v2/send", SEND),
        ("put", f"/v1/profiles/{ACCOUNT}", {"name": "Ann", "base64_avatar": b64(b"\x89PNG\r\n\x1a\n" + bytes(400))}),
        ("post", GROUPS, {"name": "Team", "members": [OTHER], "base64_avatar": b64(bytes(400))}),
    ],
    ids=["send-attachment", "profile-avatar", "group-avatar"],
)
def test_full_disk_while_writing_attachments(client, fake, no_leftovers, full_disk, method, path, body):
    response = getattr(client, method)(path, json=body)
    assert full_disk.failed_writes == 1
    # the half-written file is gone, and nothing was started with it
    assert_clean(no_leftovers, fake)
    assert fake.log() == []
    # ENOSPC: 507 Insufficient Storage, saying where to free space
    body = assert_error(response, 507, "Free space")
    full_disk.free_space()
    assert_next_request_works(client, fake)
    assert_clean(no_leftovers, fake)


# --- clients that hang up (a real gunicorn on 127.0.0.1) ---------------------------------------------


@pytest.fixture
def server(tmp_path, fake_bin, config_dir, fake):
    """signal_rest under gunicorn with the package's settings: one worker, four threads."""
    with GunicornService(tmp_path / "server", fake_bin, config_dir, workers=1, threads=4) as service:
        yield service
    assert service.process.returncode == 0, service.log()[-3000:]


def raw_request(method, path, body):
    """The bytes of an HTTP/1.1 request with a JSON body."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def assert_server_clean(server):
    """The service is idle: no signal-cli running below its workers, no temporary file."""
    wait_for(lambda: not server.stray_processes() and not server.temp_files(), what="the service to clean up")


def assert_server_works(server, fake):
    """The next request is served: a send with an attachment reaches signal-cli."""
    sent = len(fake.sent_messages())
    status, body = server.request("POST", "/v2/send", json.dumps(SEND))
    assert status == 201, body
    assert len(fake.sent_messages()) == sent + 1
    assert_server_clean(server)


@pytest.mark.server
def test_client_hangs_up_halfway_through_the_body(server, fake):
    body = json.dumps({**SEND, "message": "never complete"}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(raw_request("POST", "/v2/send", body)[: -len(body) // 2])
        time.sleep(0.3)
    time.sleep(0.5)
    assert_server_clean(server)
    assert fake.log() == [], "a half-received request reached signal-cli"
    assert_server_works(server, fake)
    assert "never complete" not in [message["message"] for message in fake.sent_messages()]


@pytest.mark.server
def test_client_hangs_up_while_signal_cli_sends(server, fake):
    fake.add_fault(command="send", sleep=1.5, times=1)
    body = json.dumps({**SEND, "message": "sent although nobody waits"}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(raw_request("POST", "/v2/send", body))
        wait_for(lambda: started_pids(fake), what="signal-cli to start")
    # the send completes once (it cannot be taken back), and the service cleans up after it
    wait_for(fake.log, what="signal-cli to finish")
    assert_server_clean(server)
    assert [message["message"] for message in fake.sent_messages()] == ["sent although nobody waits"]
    assert_server_works(server, fake)


@pytest.mark.server
def test_client_hangs_up_while_messages_are_received(server, fake):
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, OTHER, f"incoming {n}") for n in range(3)])
    fake.add_fault(command="receive", sleep=1.5, times=1)
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(f"GET /v1/receive/{ACCOUNT}?timeout=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        wait_for(lambda: started_pids(fake), what="signal-cli to start")
        # close with a reset, as a client that gave up does
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    wait_for(fake.log, what="signal-cli to finish")
    assert_server_clean(server)
    assert fake.inbox(ACCOUNT) == [], "signal-cli did not fetch the messages"
    # the messages signal-cli fetched for the client that hung up are not lost: the next call has them
    status, body = server.request("GET", f"/v1/receive/{ACCOUNT}?timeout=0")
    assert status == 200, body
    texts = [item["envelope"]["dataMessage"]["message"] for item in json.loads(body)]
    assert texts == ["incoming 0", "incoming 1", "incoming 2"], texts
    assert_server_works(server, fake)

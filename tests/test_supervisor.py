"""json-rpc mode: the supervised daemon, what it receives, linking and registering through it, and its faults.

The API suite runs in json-rpc mode too (``service_modes`` in each topic module); these are the
things only json-rpc mode has. The daemon is the fake's (tests/fake_signal_cli/daemon.py).
"""

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from fake_signal_cli import FakeState, message_line, write_executable
from helpers import ACCOUNT, OTHER, assert_error, running_supervisor
from receiving_support import WebhookTarget, wait_for

from signal_rest import create_app
from signal_rest.signal_cli import daemon

pytestmark = pytest.mark.service_modes("json-rpc")

SENDER = "+4915100000001"
LINKED = "+4915133333333"
NEW_NUMBER = "+4915177777777"


def send(client, message="hi", account=ACCOUNT):
    return client.post("/v2/send", json={"number": account, "recipients": [OTHER], "message": message})


@contextlib.contextmanager
def supervising(app, max_pause=0.2):
    """Run ``app``'s supervisor in a thread, without waiting for the daemon (it may never answer)."""
    supervisor = app.extensions["signal_rest.supervisor"]
    supervisor.max_pause = max_pause
    thread = threading.Thread(target=supervisor.run, name="supervisor")
    thread.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()
        thread.join()


def json_rpc_app(signal_cli_bin, config_dir, **settings):
    return create_app(
        {
            "TESTING": True,
            "SIGNAL_REST_MODE": "json-rpc",
            "SIGNAL_CLI_BIN": str(signal_cli_bin),
            "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
            "SIGNAL_CLI_CMD_TIMEOUT": 20,
            **settings,
        }
    )


def state_of(config_dir):
    return (daemon.read_status(config_dir) or {}).get("state")


# --- the mode --------------------------------------------------------------------------------------


def test_about_says_json_rpc(client, fake, fake_version):
    body = client.get("/v1/about").get_json()
    assert body["mode"] == "json-rpc"
    assert body["signal_cli"] == fake_version


def test_every_call_goes_to_the_one_daemon(client, fake):
    for text in ("one", "two", "three"):
        assert send(client, text).status_code == 201
    calls = fake.log()
    assert [call["command"] for call in calls] == ["send"] * 3
    # one process served them all, as JSON-RPC calls
    assert len({call["pid"] for call in calls}) == 1
    assert all(call["jsonrpc"]["params"]["account"] == ACCOUNT for call in calls)
    assert [m["message"] for m in fake.sent_messages()] == ["one", "two", "three"]


def test_the_daemon_serves_every_account_of_the_config_dir(client, fake):
    fake.add_account(LINKED)
    assert send(client, account=LINKED).status_code == 201
    assert fake.sent_messages(LINKED)[-1]["message"] == "hi"


def test_a_timestamp_the_daemon_cannot_take_is_400(client, fake):
    response = client.post(
        f"/v1/reactions/{ACCOUNT}",
        json={"reaction": "👍", "recipient": OTHER, "target_author": OTHER, "timestamp": 5},
    )
    assert_error(response, 400, "2147483648")


# --- receiving -------------------------------------------------------------------------------------


def test_a_message_is_in_the_inbox_as_soon_as_the_daemon_has_it(client, fake):
    line = message_line(ACCOUNT, SENDER, "hello")
    fake.queue_messages(ACCOUNT, [line])
    response = client.get(f"/v1/receive/{ACCOUNT}?timeout=10")
    assert response.status_code == 200
    [received] = response.get_json()
    assert received["envelope"]["dataMessage"]["message"] == "hello"
    assert received["account"] == ACCOUNT
    # handed out once, and signal-cli handed it out once
    assert client.get(f"/v1/receive/{ACCOUNT}?timeout=0").get_json() == []
    assert len(fake.deliveries(ACCOUNT)) == 1


def test_messages_of_every_account_come_in_order(make_app, fake):
    fake.add_account(LINKED)
    client = make_app().test_client()  # the daemon starts with both accounts
    fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, SENDER, f"a{i}") for i in range(3)])
    fake.queue_messages(LINKED, [message_line(LINKED, SENDER, "b0")])
    texts = []
    deadline = time.monotonic() + 10
    while len(texts) < 3 and time.monotonic() < deadline:
        texts += [m["envelope"]["dataMessage"]["message"] for m in client.get(f"/v1/receive/{ACCOUNT}?timeout=1").json]
    assert texts == ["a0", "a1", "a2"]
    other = client.get(f"/v1/receive/{LINKED}?timeout=10").get_json()
    assert [m["envelope"]["dataMessage"]["message"] for m in other] == ["b0"]


def test_received_messages_go_to_the_webhook(fake_bin, config_dir, fake):
    with WebhookTarget() as target:
        app = json_rpc_app(fake_bin, config_dir, SIGNAL_REST_WEBHOOK_URL=target.url)
        with running_supervisor(app):
            fake.queue_messages(ACCOUNT, [message_line(ACCOUNT, SENDER, "to the hook")])
            wait_for(target.messages, 10, "the webhook delivery")
    [(_, account, text)] = target.messages()
    assert (account, text) == (ACCOUNT, "to the hook")


def test_what_a_killed_supervisor_left_in_its_spool_is_taken_in(fake_bin, config_dir, fake):
    app = json_rpc_app(fake_bin, config_dir)
    inbox = app.extensions["signal_rest.inbox"]
    spool_dir = inbox.path.parent / "spool"
    spool_dir.mkdir(parents=True)
    left = message_line(ACCOUNT, SENDER, "left behind")
    (spool_dir / "daemon.1.2.jsonl").write_text(json.dumps(left) + "\n")
    with running_supervisor(app):
        messages = app.test_client().get(f"/v1/receive/{ACCOUNT}?timeout=0").get_json()
    assert [m["envelope"]["dataMessage"]["message"] for m in messages] == ["left behind"]
    assert list(spool_dir.iterdir()) == []


# --- linking and registering through the daemon ----------------------------------------------------


def test_link_a_device_and_use_the_new_account_at_once(app, client, fake):
    response = client.get("/v1/qrcodelink/raw?device_name=my-server")
    assert response.status_code == 200
    assert response.get_json()["device_link_uri"].startswith("sgnl://linkdevice?")
    # finishLink waits in the daemon for the scan (no process of its own)
    assert app.extensions["signal_rest.signal_cli"].pending_links == 1
    fake.scan_link(LINKED)
    wait_for(lambda: LINKED in client.get("/v1/accounts").get_json(), 10, "the linked account")
    wait_for(lambda: app.extensions["signal_rest.signal_cli"].pending_links == 0, 10, "finishLink to end")
    assert fake.account(LINKED)["devices"][-1]["name"] == "my-server"
    # the daemon has the new account: it sends, and what arrives for it reaches the inbox
    assert send(client, account=LINKED).status_code == 201
    fake.queue_messages(LINKED, [message_line(LINKED, SENDER, "welcome")])
    [received] = client.get(f"/v1/receive/{LINKED}?timeout=10").get_json()
    assert received["envelope"]["dataMessage"]["message"] == "welcome"


def test_register_and_verify_through_the_daemon(client, fake):
    assert client.post(f"/v1/register/{NEW_NUMBER}").status_code == 201
    assert client.post(f"/v1/register/{NEW_NUMBER}/verify/123-456").status_code == 201
    assert [call["command"] for call in fake.log()] == ["register", "verify"]
    assert send(client, account=NEW_NUMBER).status_code == 201


# --- faults ----------------------------------------------------------------------------------------


def test_no_supervisor_is_503_saying_what_to_start(fake_bin, config_dir, fake):
    client = json_rpc_app(fake_bin, config_dir).test_client()
    response = send(client)
    body = assert_error(response, 503, "signal-rest daemon")
    assert response.headers["Retry-After"]
    assert "not running" in body["message"]


def test_missing_binary_is_503_until_it_is_there(tmp_path, config_dir, fake):
    binary = tmp_path / "later" / "signal-cli"
    app = json_rpc_app(binary, config_dir)
    client = app.test_client()
    with supervising(app):
        wait_for(lambda: state_of(config_dir) == "restarting", 10, "the failed start")
        response = send(client)
        body = assert_error(response, 503, "SIGNAL_CLI_BIN")
        assert response.headers["Retry-After"]
        assert str(binary) in body["message"]
        # the binary appears: the supervisor's next start finds it, and the service works again
        write_executable(binary.parent, version="0.14.6")
        wait_for(lambda: state_of(config_dir) == "running", 15, "the daemon to run")
        assert send(client).status_code == 201


def test_a_daemon_that_exits_at_start_is_503_and_restarted(fake_bin, config_dir, fake):
    fake.add_fault(command="daemon", exit=1, stderr="Config file is in use by another instance", times=2)
    app = json_rpc_app(fake_bin, config_dir)
    client = app.test_client()
    with supervising(app) as supervisor:
        wait_for(lambda: supervisor.starts >= 1 and state_of(config_dir) != "starting", 10, "a failed start")
        wait_for(lambda: state_of(config_dir) == "running", 15, "the third start")
        assert supervisor.starts == 3
        assert send(client).status_code == 201
    log = [entry for entry in fake.log() if entry["command"] == "daemon"]
    assert [entry["exit"] for entry in log] == [1, 1, 0]


def test_while_the_daemon_restarts_requests_are_503(fake_bin, config_dir, fake):
    fake.add_fault(command="daemon", exit=1, stderr="Config file is in use by another instance")
    app = json_rpc_app(fake_bin, config_dir)
    with supervising(app, max_pause=30) as supervisor:
        wait_for(lambda: state_of(config_dir) == "restarting", 10, "the failed start")
        response = send(app.test_client())
        assert_error(response, 503, "exited with 1", "Config file is in use")
        assert response.headers["Retry-After"]
        assert supervisor.starts == 1


def test_a_call_that_hangs_is_504_and_blocks_nothing_else(make_app, fake):
    client = make_app(SIGNAL_CLI_CMD_TIMEOUT=1.5).test_client()
    fake.add_fault(command="send", sleep=30, times=1)
    answers = {}
    hanging = threading.Thread(target=lambda: answers.update(send=send(client)))
    started = time.monotonic()
    hanging.start()
    time.sleep(0.2)
    # meanwhile other calls go through the same daemon at once
    assert client.get(f"/v1/groups/{ACCOUNT}").status_code == 200
    assert time.monotonic() - started < 1.4
    hanging.join()
    assert_error(answers["send"], 504, "1.5 seconds")
    # the daemon is still there for the next send
    fake.update(lambda state: state.update(faults=[]))
    assert send(client).status_code == 201


def test_a_daemon_that_dies_mid_call_is_503_and_comes_back(make_app, config_dir, fake):
    client = make_app().test_client()
    supervisor_starts = daemon.read_status(config_dir)["starts"]
    fake.add_fault(command="send", kill_self=True, times=1)
    response = send(client)
    body = assert_error(response, 503, "may or may not have been carried out")
    assert response.headers["Retry-After"]
    assert "restart" in body["message"]
    wait_for(
        lambda: state_of(config_dir) == "running" and daemon.read_status(config_dir)["starts"] > supervisor_starts,
        15,
        "the restarted daemon",
    )
    assert send(client, "again").status_code == 201
    assert fake.sent_messages()[-1]["message"] == "again"


def test_a_stale_socket_is_removed_before_the_daemon_starts(fake_bin, config_dir, fake):
    app = json_rpc_app(fake_bin, config_dir)
    socket_file = daemon.socket_path(config_dir)
    socket_file.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_file))
    stale.close()  # bound, never listened on: what a SIGKILLed daemon leaves
    with running_supervisor(app):
        assert send(app.test_client()).status_code == 201
    assert not socket_file.exists()


@pytest.mark.parametrize(("length", "in_config_dir"), [(106, True), (107, False)])
def test_the_socket_is_in_the_config_dir_while_its_path_fits_a_java_socket_address(length, in_config_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    suffix = "/signal-rest/daemon/socket"
    config_dir = Path("/srv/") / ("c" * (length - len("/srv/") - len(suffix)))
    preferred = daemon.directory(config_dir) / "socket"
    assert len(str(preferred)) == length
    path = daemon.socket_path(config_dir)
    if in_config_dir:
        assert path == preferred
    else:
        digest = hashlib.sha256(str(config_dir).encode()).hexdigest()[:16]
        assert path == Path("/run/user/1000/signal-rest") / digest / "socket"


def test_where_xdg_runtime_dir_is_too_deep_as_well_the_socket_goes_to_tmp(monkeypatch):
    config_dir = Path("/srv/") / ("c" * 100)
    digest = hashlib.sha256(str(config_dir).encode()).hexdigest()[:16]
    runtime = "/run/" + "r" * (106 - len("/run//signal-rest//socket") - len(digest))
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    assert daemon.socket_path(config_dir) == Path(runtime) / "signal-rest" / digest / "socket"
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime + "r")
    assert daemon.socket_path(config_dir) == Path(f"/tmp/signal-rest-{os.getuid()}") / digest / "socket"  # noqa: S108


def deep_config_dir(tmp_path):
    """The shallowest config dir in ``tmp_path`` whose socket path is one byte too long for Java (or
    a deeper one, from a deep ``tmp_path``), with the fake's account."""
    depth = max(1, 107 - len(str(tmp_path)) - len("//signal-rest/daemon/socket"))
    config_dir = tmp_path / ("c" * depth)
    config_dir.mkdir()
    FakeState(config_dir).add_account(ACCOUNT)
    assert len(str(daemon.directory(config_dir) / "socket")) >= 107
    return config_dir


def test_a_config_dir_too_deep_for_a_socket_address_has_its_socket_in_a_private_folder(tmp_path, fake_bin, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    config_dir = deep_config_dir(tmp_path)
    socket_file = daemon.socket_path(config_dir)
    assert socket_file.parent.parent == Path(f"/tmp/signal-rest-{os.getuid()}")  # noqa: S108
    app = json_rpc_app(fake_bin, config_dir)
    with running_supervisor(app):
        assert socket_file.is_socket()
        assert stat.S_IMODE(socket_file.parent.stat().st_mode) == 0o700
        assert send(app.test_client()).status_code == 201
    assert not socket_file.parent.exists(), "the private folder goes with the daemon"


def test_the_private_folder_goes_with_a_killed_daemons_socket_but_not_from_under_a_live_one(
    tmp_path, fake_bin, monkeypatch
):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    process = json_rpc_app(fake_bin, deep_config_dir(tmp_path)).extensions["signal_rest.supervisor"].process
    folder = process.socket_path.parent
    daemon.private_folder(folder)
    try:
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.closing(listening):
            listening.bind(str(process.socket_path))
            listening.listen()
            process.remove_private_folder()
            assert process.socket_path.is_socket(), "a daemon listens there"
        # closed, its file stays, as a SIGKILLed daemon's does
        assert process.socket_path.is_socket()
        process.remove_private_folder()
        assert not folder.exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_private_folder_others_can_write_is_503_saying_what_to_do_and_no_daemon_starts(
    tmp_path, fake_bin, fake, monkeypatch
):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    config_dir = deep_config_dir(tmp_path)
    folder = daemon.socket_path(config_dir).parent
    daemon.private_folder(folder)
    try:
        folder.chmod(0o777)  # someone could replace the socket
        app = json_rpc_app(fake_bin, config_dir)
        with supervising(app):
            wait_for(lambda: state_of(config_dir) == "restarting", 10, "the refused start")
            body = assert_error(send(app.test_client()), 503, "others can write it")
            assert str(folder) in body["message"] and "shorter SIGNAL_CLI_CONFIG_DIR" in body["message"]
        assert not any(call["command"] == "daemon" for call in FakeState(config_dir).log())
        assert folder.is_dir(), "a folder the service did not make safely is not removed"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_attachments_are_written_where_the_daemon_reads_them_and_removed(client, config_dir, fake):
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
    body = {"number": ACCOUNT, "recipients": [OTHER], "message": "a picture", "base64_attachments": [data]}
    assert client.post("/v2/send", json=body).status_code == 201
    outgoing = config_dir / "signal-rest" / "outgoing"
    call = fake.log()[-1]
    [path] = call["options"]["attachment"]
    assert path.startswith(str(outgoing) + "/"), path
    # the daemon read the file while it was there
    assert call["attachments"][0]["data"] == data
    assert list(outgoing.iterdir()) == []

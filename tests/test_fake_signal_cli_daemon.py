"""The fake's ``daemon --socket`` and ``jsonRpc``: JSON-RPC as in SIGNAL_CLI.md §6 and SIGNAL_CLI_0.14.md §6."""

import json
import os
import shutil
import signal
import socket
import tempfile
import time

import fake_signal_cli as fake
import pytest
from fake_signal_cli_runner import ACCOUNT, ANN, BOB, OTHER_ACCOUNT, registered_cli

OLDEST, NEWEST = "0.13.19", "0.14.6"
MESSAGE = {
    "envelope": {
        "source": ANN,
        "sourceNumber": ANN,
        "sourceUuid": "a1b2c3d4-0000-4000-8000-000000000001",
        "sourceName": "Ann",
        "sourceDevice": 1,
        "timestamp": 1732630000123,
        "serverReceivedTimestamp": 1732630000200,
        "serverDeliveredTimestamp": 1732630000300,
        "dataMessage": {"timestamp": 1732630000123, "message": "Hello", "expiresInSeconds": 0, "viewOnce": False},
    },
    "account": ACCOUNT,
}
LOCK_WAIT = "INFO  SignalAccount - Config file is in use by another instance, waiting…"


@pytest.fixture(params=[OLDEST, NEWEST])
def cli(request, tmp_path):
    """The fake (both ends of the releases modelled) with one registered account."""
    runner = registered_cli(tmp_path, request.param)
    yield next(runner)
    next(runner, None)


@pytest.fixture
def short_dir():
    """A directory with a short path: a Unix socket path has at most 107 bytes."""
    path = tempfile.mkdtemp(prefix="fsd-")
    if len(path) > 80:
        shutil.rmtree(path)
        path = tempfile.mkdtemp(prefix="fsd-", dir="/tmp")  # noqa: S108 (private, removed afterwards)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Client:
    """One JSON-RPC connection to the daemon's socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buffer = b""
        self.pending = []  # notifications that came while a call waited for its answer

    def send(self, message):
        line = message if isinstance(message, str) else json.dumps(message)
        self.sock.sendall((line + "\n").encode())

    def request(self, method, params=None, request_id=1):
        message = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self.send(message)

    def _line(self, timeout):
        """The next line, b"" at EOF; TimeoutError if none comes within *timeout*."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = self.sock.recv(65536)
            if not data:
                return b""
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def read(self, timeout=10):
        if self.pending:
            return self.pending.pop(0)
        return self._message(timeout)

    def _message(self, timeout=10):
        line = self._line(timeout)
        assert line.endswith(b"\n"), line
        return json.loads(line)

    def call(self, method, params=None):
        """The answer to *method*; a notification sent before it (the daemon's threads write in any
        order) is kept for the next read."""
        self.request(method, params, "call")
        while True:
            message = self._message()
            if message.get("id") == "call":
                return message
            assert "id" not in message, message
            self.pending.append(message)

    def nothing_within(self, seconds):
        """True if no line arrives within *seconds*."""
        if self.pending:
            return False
        try:
            return self._line(seconds) == b""
        except TimeoutError:
            return True

    def close(self):
        self.sock.close()


class Daemon:
    """A fake ``signal-cli daemon --socket`` in the background."""

    def __init__(self, cli, directory, *args, account=None, output="json", name="socket"):
        self.path = os.path.join(directory, name)
        self.proc = cli.popen("daemon", "--socket", self.path, *args, account=account, output=output)
        self.clients = []
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path):
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "the daemon did not open its socket"
            time.sleep(0.02)

    def connect(self):
        client = Client(self.path)
        self.clients.append(client)
        return client

    def stop(self, signum=signal.SIGTERM):
        """Signal the daemon and return (exit code, stdout, stderr)."""
        self.proc.send_signal(signum)
        return self.wait()

    def wait(self):
        """Wait for the daemon to end and return (exit code, stdout, stderr)."""
        out, err = self.proc.communicate(timeout=10)
        for client in self.clients:
            client.close()
        return self.proc.returncode, out, err


@pytest.fixture
def start(cli, short_dir):
    """``start(*daemon_args, account=None)``: a daemon of the ``cli`` fixture's fake."""
    daemons = []

    def make(*args, **kwargs):
        daemons.append(Daemon(cli, short_dir, *args, **kwargs))
        return daemons[-1]

    yield make
    for daemon in daemons:
        for client in daemon.clients:
            client.close()


def _printed(cli):
    """MESSAGE as the release prints it."""
    return fake.as_printed(MESSAGE, cli.version, ACCOUNT)


def _wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- methods and results ---------------------------------------------------------------------------


def test_version_and_list_accounts(cli, start):
    daemon = start()
    client = daemon.connect()
    client.request("version", request_id=1)
    assert client.read() == {"jsonrpc": "2.0", "result": {"version": cli.version}, "id": 1}
    client.request("listAccounts", request_id="two")
    assert client.read() == {"jsonrpc": "2.0", "result": [{"number": ACCOUNT}], "id": "two"}
    # a batch gets one array; a notification (no id) no answer at all
    client.send([{"jsonrpc": "2.0", "method": "version", "id": 7}, {"jsonrpc": "2.0", "method": "version"}])
    assert client.read() == [{"jsonrpc": "2.0", "result": {"version": cli.version}, "id": 7}]
    assert client.nothing_within(0.3)
    assert daemon.stop()[0] == 0


def test_a_send_is_recorded_like_a_cli_send(cli, start):
    cli.state.add_user(ANN)
    assert cli.run("send", "-m", "by cli", ANN).returncode == 0
    daemon = start()
    client = daemon.connect()
    # a list param takes a single string, or a list under the singular or the plural key
    for params in ({"recipient": ANN}, {"recipient": [ANN]}, {"recipients": [ANN]}):
        answer = client.call("send", {"account": ACCOUNT, "message": "by rpc", **params})
        assert [r["type"] for r in answer["result"]["results"]] == ["SUCCESS"]
    by_cli, *by_rpc = cli.state.sent_messages(ACCOUNT, "send")
    assert len(by_rpc) == 3
    assert [m["message"] for m in by_rpc] == ["by rpc"] * 3
    assert {k for k in by_rpc[0] if by_rpc[0][k] != by_cli[k]} <= {"message", "timestamp"}
    # the call is in the log, as a run of the same command would be
    record = next(r for r in cli.state.log() if r.get("jsonrpc"))
    assert (record["command"], record["account"], record["exit"]) == ("send", ACCOUNT, 0)
    (daemon_run,) = [e for e in cli.state.log(events=True) if e.get("event") == "start" and "daemon" in e["argv"]]
    assert record["pid"] == daemon_run["pid"]
    # a command that prints nothing answers {}
    assert client.call("updateProfile", {"givenName": "Me"})["result"] == {}
    assert daemon.stop()[0] == 0


def test_errors_map_onto_json_rpc_codes(cli, start):
    cli.state.add_account(OTHER_ACCOUNT)
    cli.state.add_user(ANN, untrusted=True)
    cli.state.add_user(BOB, registered=False)
    daemon = start()
    client = daemon.connect()

    def error(method, params=None):
        answer = client.call(method, params)
        return answer["error"]["code"], answer["error"]["message"], answer["error"]["data"]

    assert error("nope") == (-32601, "Method not implemented", None)
    assert error("listGroups") == (-32602, "Method requires valid account parameter", None)
    assert error("listGroups", {"account": "+4915100000009"}) == (-32602, "Specified account does not exist", None)
    code, message, data = error("send", {"account": ACCOUNT, "recipient": ANN})
    assert (code, data) == (-1, None)
    assert message.startswith("Sending empty message is not allowed")
    # the send family's partial result comes along in data.response
    code, message, data = error("send", {"account": ACCOUNT, "recipient": ANN, "message": "x"})
    assert (code, message) == (-4, "Failed to send message due to untrusted identities")
    assert [r["type"] for r in data["response"]["results"]] == ["IDENTITY_FAILURE"]
    code, message, data = error("send", {"account": ACCOUNT, "recipient": BOB, "message": "x"})
    assert (code, message) == (-1, "Failed to send message")
    assert [r["type"] for r in data["response"]["results"]] == ["UNREGISTERED_FAILURE"]
    # a small integer where the code wants a Long, a flag that is no boolean
    code, message, _ = error("remoteDelete", {"account": ACCOUNT, "recipient": ANN, "targetTimestamp": 5})
    assert (code, message.endswith("(ClassCastException)")) == (-32603, True)
    assert error("send", {"account": ACCOUNT, "recipient": ANN, "message": "x", "noteToSelf": "yes"})[0] == -32603
    # register and verify take typed params: another key is refused
    assert error("register", {"account": OTHER_ACCOUNT, "bogus": 1})[0] == -32600
    client.send("{not json")
    assert client.read()["error"]["code"] == -32700
    client.send("   ")
    assert client.read() == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Empty input line", "data": None},
        "id": None,
    }
    client.send({"jsonrpc": "1.0", "method": "version", "id": 6})
    assert client.read()["error"] == {"code": -32600, "message": "only jsonrpc version 2.0 is supported", "data": None}
    client.send({"jsonrpc": "2.0", "id": 12})
    assert client.read()["error"]["message"] == "method field must be set"
    client.send('"just a string"')
    assert client.read() == {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "unexpected type: STRING", "data": None},
        "id": None,
    }
    assert daemon.stop()[0] == 0


def test_captcha_rejected_is_minus_6_from_0_14_3(cli, start):
    daemon = start()
    answer = daemon.connect().call("submitRateLimitChallenge", {"challenge": "c", "captcha": "x"})
    assert answer["error"]["code"] == (-6 if cli.version == NEWEST else -1)
    assert daemon.stop()[0] == 0


def test_registration_methods_need_the_account_param_with_the_release_text(cli, start):
    daemon = start()
    answer = daemon.connect().call("register")
    expected = "Method requires " + ("account parameter" if cli.version == NEWEST else "valid account parameter")
    assert answer["error"] == {"code": -32602, "message": expected, "data": None}
    assert daemon.stop()[0] == 0


def test_register_and_verify_load_the_new_account(cli, start):
    daemon = start()
    client = daemon.connect()
    assert client.call("register", {"account": OTHER_ACCOUNT})["result"] == {}
    assert client.call("verify", {"account": OTHER_ACCOUNT, "verificationCode": "123-456"})["result"] == {}
    assert client.call("listGroups", {"account": OTHER_ACCOUNT})["result"] == []
    assert daemon.stop()[0] == 0


def test_an_account_added_on_disk_is_loaded_on_demand_from_0_13_20(cli, start):
    daemon = start()
    cli.state.add_account(OTHER_ACCOUNT)
    answer = daemon.connect().call("listGroups", {"account": OTHER_ACCOUNT})
    if cli.version == OLDEST:
        assert answer["error"]["message"] == "Specified account does not exist"
    else:
        assert answer["result"] == []
    assert daemon.stop()[0] == 0


def test_single_account_mode(cli, start):
    daemon = start(account=ACCOUNT)
    client = daemon.connect()
    assert client.call("listAccounts")["error"]["code"] == -32601
    assert client.call("register", {"account": ACCOUNT})["error"]["code"] == -32601
    assert client.call("listGroups")["result"] == []
    assert daemon.stop()[0] == 0


def test_json_rpc_on_stdin_answers_and_exits_0_at_eof(cli):
    requests = [
        {"jsonrpc": "2.0", "method": "version", "id": 1},
        {"jsonrpc": "2.0", "method": "listGroups", "params": {"account": ACCOUNT}, "id": 2},
    ]
    proc = cli.run("jsonRpc", account=None, input="".join(json.dumps(r) + "\n" for r in requests))
    answers = sorted((json.loads(line) for line in proc.stdout.splitlines()), key=lambda a: a["id"])
    assert proc.returncode == 0
    assert answers == [
        {"jsonrpc": "2.0", "result": {"version": cli.version}, "id": 1},
        {"jsonrpc": "2.0", "result": [], "id": 2},
    ]


# -- concurrency -----------------------------------------------------------------------------------


def test_requests_run_concurrently_and_answer_in_completion_order(cli, start):
    cli.state.add_fault(command="listGroups", sleep=1.5)
    daemon = start()
    first, second = daemon.connect(), daemon.connect()
    began = time.monotonic()
    first.request("listGroups", {"account": ACCOUNT}, request_id=1)
    first.request("version", request_id=2)
    second.request("version", request_id=3)
    assert second.read()["id"] == 3
    assert first.read()["id"] == 2
    assert time.monotonic() - began < 1.0
    assert first.read() == {"jsonrpc": "2.0", "result": [], "id": 1}
    assert time.monotonic() - began >= 1.5
    assert daemon.stop()[0] == 0


# -- received messages -----------------------------------------------------------------------------


def test_messages_go_to_every_connection_and_stdout_once(cli, start):
    daemon = start()
    first, second = daemon.connect(), daemon.connect()
    _wait_for(lambda: first.call("version") and second.call("version"))
    cli.state.queue_messages(ACCOUNT, [MESSAGE])
    expected = {"jsonrpc": "2.0", "method": "receive", "params": _printed(cli)}
    assert first.read() == expected
    assert second.read() == expected
    _wait_for(cli.state.deliveries)
    code, out, _ = daemon.stop()
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [_printed(cli)]
    [delivery] = cli.state.deliveries(ACCOUNT)
    assert delivery["timestamp"] == MESSAGE["envelope"]["timestamp"]
    assert sorted(delivery["handlers"]) == ["connection 1", "connection 2", "stdout"]
    assert cli.state.inbox(ACCOUNT) == []
    assert cli.state.account(ACCOUNT)["msg_cache"] == []


def test_on_start_receives_with_no_client_and_no_receive_stdout_prints_nothing(cli, start):
    cli.state.queue_messages(ACCOUNT, [MESSAGE])
    daemon = start("--no-receive-stdout")
    _wait_for(cli.state.deliveries)
    code, out, _ = daemon.stop()
    assert (code, out) == (0, "")
    # acknowledged and handed to nobody: lost, as with the real daemon
    assert [d["handlers"] for d in cli.state.deliveries()] == [[]]
    assert cli.state.inbox(ACCOUNT) == []


def test_on_connection_receives_only_while_a_client_is_attached(cli, start):
    cli.state.queue_messages(ACCOUNT, [MESSAGE])
    daemon = start("--receive-mode", "on-connection")
    time.sleep(0.3)
    assert len(cli.state.inbox(ACCOUNT)) == 1
    client = daemon.connect()
    assert client.read()["params"] == _printed(cli)
    assert daemon.stop()[0] == 0
    assert len(cli.state.deliveries()) == 1


def test_manual_mode_delivers_to_subscriptions(cli, start):
    cli.state.queue_messages(ACCOUNT, [MESSAGE])
    daemon = start("--receive-mode", "manual")
    client = daemon.connect()
    assert client.nothing_within(0.3)
    subscription = client.call("subscribeReceive")["result"]
    assert isinstance(subscription, int)
    notification = client.read()
    assert notification["params"] == {"subscription": subscription, "result": _printed(cli)}
    assert client.call("unsubscribeReceive", {"subscription": subscription})["result"] == {}
    cli.state.queue_messages(ACCOUNT, [MESSAGE])
    assert client.nothing_within(0.3)
    assert daemon.stop()[0] == 0
    assert len(cli.state.inbox(ACCOUNT)) == 1


def test_an_acknowledged_message_not_yet_handled_is_handed_out_again(cli):
    # a daemon killed between the acknowledgement and the end of its handlers leaves it in the cache
    cli.state.update(lambda state: state["accounts"][ACCOUNT].update(msg_cache=[MESSAGE]))
    proc = cli.run("receive", "-t", "0.2")
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [_printed(cli)]
    assert cli.state.account(ACCOUNT)["msg_cache"] == []
    assert [d["via"] for d in cli.state.deliveries()] == ["receive"]


# -- life cycle ------------------------------------------------------------------------------------


def test_sigterm_finishes_calls_in_flight_then_exits_0_and_removes_the_socket(cli, start):
    cli.state.add_fault(command="listGroups", sleep=0.8)
    daemon = start()
    client = daemon.connect()
    client.request("listGroups", {"account": ACCOUNT}, request_id=1)
    time.sleep(0.2)
    daemon.proc.send_signal(signal.SIGTERM)
    assert client.read() == {"jsonrpc": "2.0", "result": [], "id": 1}
    code, _, err = daemon.wait()
    assert code == 0
    assert "INFO  Shutdown - Received SIGTERM signal, shutting down ..." in err
    assert not os.path.exists(daemon.path)
    assert cli.state.log()[-1]["exit"] == 0


def test_a_socket_path_of_107_bytes_is_too_long_as_for_java(cli, short_dir, start):
    fits = os.path.join(short_dir, "s" * (105 - len(os.fsencode(short_dir))))
    longer = f"{fits}x"
    assert (len(os.fsencode(fits)), len(os.fsencode(longer))) == (106, 107)
    proc = cli.run("daemon", "--socket", longer, account=None)
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[-1] == f"Failed to bind socket {longer}: Unix domain path too long"
    assert not os.path.lexists(longer)
    daemon = start(name=os.path.basename(fits))
    assert daemon.path == fits
    assert daemon.stop()[0] == 0


def test_a_stale_socket_file_makes_the_next_daemon_exit_3(cli, start):
    daemon = start()
    daemon.stop(signal.SIGKILL)
    assert os.path.exists(daemon.path)
    proc = cli.run("daemon", "--socket", daemon.path, account=None)
    assert proc.returncode == 3
    assert "Address already in use" in proc.stderr


def test_the_daemon_holds_the_account_lock_for_its_whole_life(cli, start):
    daemon = start()
    one_shot = cli.popen("listGroups")
    time.sleep(0.5)
    assert one_shot.poll() is None
    daemon.stop()
    out, err = one_shot.communicate(timeout=10)
    assert (one_shot.returncode, out) == (0, "[]\n")
    assert LOCK_WAIT in err
    assert cli.state.log()[-1]["waited_for_lock"] is True


def test_daemon_without_a_channel(cli):
    proc = cli.run("daemon", account=None, timeout=10)
    if cli.version == NEWEST:
        assert (proc.returncode, proc.stderr.splitlines()[-1]) == (
            1,
            "At least one channel parameter is required, e.g. --socket or --dbus.",
        )
    else:
        # 0.13.19 falls back to --dbus, which the fake does not model
        assert (proc.returncode, "not implemented" in proc.stderr) == (2, True)


def test_faults_apply_to_each_call(cli, start):
    cli.state.add_fault(command="listGroups", exit=3, stderr="Error while checking account +49: Closed", times=1)
    cli.state.add_fault(command="listContacts", garbage=True, times=1)
    daemon = start()
    client = daemon.connect()
    assert client.call("listGroups")["error"] == {
        "code": -3,
        "message": "Error while checking account +49: Closed",
        "data": None,
    }
    assert client.call("listGroups")["result"] == []
    # garbage on the line instead of an answer
    client.request("listContacts", request_id=9)
    assert client._line(10).startswith(b'Exception in thread "main" <html>')
    assert daemon.stop()[0] == 0


def test_tcp_speaks_the_same_protocol(cli):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = cli.popen("daemon", "--tcp", f"127.0.0.1:{port}", account=None)
    deadline = time.monotonic() + 10
    while True:
        try:
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    with connection:
        connection.sendall(b'{"jsonrpc":"2.0","method":"version","id":1}\n')
        assert json.loads(connection.makefile("rb").readline())["result"] == {"version": cli.version}
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_start_link_and_finish_link_add_a_usable_account(cli, start):
    cli.state.set_link_timeout(5)
    daemon = start()
    client = daemon.connect()
    uri = client.call("startLink")["result"]["deviceLinkUri"]
    assert uri.startswith("sgnl://linkdevice?uuid=")
    client.request("finishLink", {"deviceLinkUri": uri, "deviceName": "gateway"}, request_id=2)
    assert client.nothing_within(0.3)
    cli.state.scan_link(OTHER_ACCOUNT)
    assert client.read() == {"jsonrpc": "2.0", "result": {"number": OTHER_ACCOUNT}, "id": 2}
    assert cli.state.account(OTHER_ACCOUNT)["devices"][1]["name"] == "gateway"
    assert client.call("listDevices", {"account": OTHER_ACCOUNT})["result"][1]["name"] == "gateway"
    assert daemon.stop()[0] == 0


def test_an_account_added_during_a_connection_is_delivered_twice_there_from_0_14_4(cli, start):
    daemon = start()
    client = daemon.connect()
    client.call("register", {"account": OTHER_ACCOUNT})
    client.call("verify", {"account": OTHER_ACCOUNT, "verificationCode": "123456"})
    line = fake.as_printed(dict(MESSAGE, account=OTHER_ACCOUNT), cli.version, OTHER_ACCOUNT)
    cli.state.queue_messages(OTHER_ACCOUNT, [line])
    params = [client.read()["params"]]
    if cli.version == NEWEST:
        params.append(client.read()["params"])
        assert params == [line, {"subscription": 0, "result": line}]
    else:
        assert params == [line]
        assert client.nothing_within(0.3)
    assert daemon.stop()[0] == 0
    [delivery] = cli.state.deliveries(OTHER_ACCOUNT)
    assert delivery["handlers"].count("connection 1") == (2 if cli.version == NEWEST else 1)

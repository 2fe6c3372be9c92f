"""signal_rest.signal_cli.jsonrpc: JSON-RPC answers read as the exit codes they stand for, and the connection."""

import contextlib
import json
import socket
import threading
import time

import pytest

from signal_rest.signal_cli import commands, errors, jsonrpc

LABEL = ["json-rpc", "send"]
SEND = commands.send_command(["+4915100000001"], "hi")


def error(code, message, response=None):
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message, "data": response and {"response": response}}}


def failed_send(kind, **extra):
    return {
        "timestamp": 1700000000000,
        "results": [{"recipientAddress": {"number": "+4915100000001"}, "type": kind, **extra}],
    }


def test_a_result_is_the_printed_output():
    answer = {"jsonrpc": "2.0", "result": {"timestamp": 1700000000000, "results": []}, "id": 1}
    assert jsonrpc.interpret(SEND, answer, "+4915112345678", LABEL) == answer["result"]


def test_nothing_printed_is_an_empty_object():
    command = commands.typing_command("+4915100000001")
    assert jsonrpc.interpret(command, {"result": {}}, "+4915112345678", LABEL) is None


def test_version_reads_as_the_text_of_signal_cli_version():
    answer = {"result": {"version": "0.14.6"}}
    assert jsonrpc.interpret(commands.version_command(), answer, None, LABEL) == "signal-cli 0.14.6"


@pytest.mark.parametrize(
    ("answer", "exception"),
    [
        (error(-1, "Invalid group id"), errors.UserError),
        (error(-3, "Failed to send message: Connection closed"), errors.ServerError),
        (error(-4, "Untrusted", failed_send("IDENTITY_FAILURE")), errors.Untrusted),
        (
            error(-5, "Rate limited", failed_send("RATE_LIMIT_FAILURE", token="t", retryAfterSeconds=60)),
            errors.RateLimited,
        ),
        (error(-6, "Captcha rejected"), errors.CaptchaRejected),
        (error(-32603, "boom (NullPointerException)"), errors.UnexpectedError),
        (error(-32602, "Specified account does not exist"), errors.NotRegistered),
        (error(-32601, "Method not implemented"), errors.UnexpectedError),
        (error(-32600, "method field must be set"), errors.UnexpectedError),
    ],
)
def test_each_error_code_is_the_exception_of_its_exit_code(answer, exception):
    with pytest.raises(exception) as raised:
        jsonrpc.interpret(SEND, answer, "+4915112345678", LABEL)
    assert type(raised.value) is exception
    assert raised.value.argv == LABEL


def test_a_rate_limit_keeps_its_challenge_and_wait():
    answer = error(-5, "Rate limited", failed_send("RATE_LIMIT_FAILURE", token="tok", retryAfterSeconds=60))
    with pytest.raises(errors.RateLimited) as raised:
        jsonrpc.interpret(SEND, answer, "+4915112345678", LABEL)
    assert (raised.value.challenge_tokens, raised.value.retry_after) == (["tok"], 60)


def test_a_send_that_failed_for_everyone_for_network_reasons_is_a_server_error():
    answer = error(-1, "Failed to send", failed_send("NETWORK_FAILURE"))
    with pytest.raises(errors.ServerError):
        jsonrpc.interpret(SEND, answer, "+4915112345678", LABEL)


def test_an_unknown_account_says_which():
    with pytest.raises(errors.NotRegistered, match=r"\+4915112345678 is not registered"):
        jsonrpc.interpret(SEND, error(-32602, "Specified account does not exist"), "+4915112345678", LABEL)


def test_a_small_timestamp_is_the_callers_error():
    message = "class java.lang.Integer cannot be cast to class java.lang.Long (ClassCastException)"
    with pytest.raises(errors.UserError, match="2147483648"):
        jsonrpc.interpret(SEND, error(-32603, message), "+4915112345678", LABEL)


# --- the connection ------------------------------------------------------------------------------


class ScriptedDaemon:
    """A Unix socket server that answers each request line with ``reply(request)`` (None: never)."""

    def __init__(self, path, reply):
        self.path = str(path)
        self.reply = reply
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(4)
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        # each request in a thread of its own, as the daemon runs them
        for line in connection.makefile("rb"):
            threading.Thread(target=self._answer, args=(connection, json.loads(line)), daemon=True).start()

    def _answer(self, connection, request):
        answer = self.reply(request)
        if answer is not None:
            connection.sendall(json.dumps(answer).encode() + b"\n")

    def close(self):
        self.server.close()
        for connection in self.connections:
            # (shut down: the reader's file object keeps the socket itself open)
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture
def socket_path(tmp_path):
    return tmp_path / "d.sock"


def test_answers_in_any_order_reach_their_callers(socket_path):
    def reply(request):
        # answered in reverse order of the requests' numbers
        time.sleep(0.1 * (3 - request["params"]["n"]))
        return {"jsonrpc": "2.0", "result": request["params"]["n"], "id": request["id"]}

    daemon = ScriptedDaemon(socket_path, reply)
    transport = jsonrpc.Transport(socket_path)
    try:
        results = {}
        threads = [
            threading.Thread(
                target=lambda n=n: results.update({n: transport.request({"method": "x", "params": {"n": n}}, 5)})
            )
            for n in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {n: answer["result"] for n, answer in results.items()} == {0: 0, 1: 1, 2: 2}
    finally:
        transport.close()
        daemon.close()


def test_notifications_are_skipped(socket_path):
    def reply(request):
        return None

    daemon = ScriptedDaemon(socket_path, reply)
    transport = jsonrpc.Transport(socket_path)
    try:
        connection = transport._connect()
        while not daemon.connections:
            time.sleep(0.01)
        peer = daemon.connections[0]
        answers = []
        waiter = threading.Thread(target=lambda: answers.append(connection.call({"method": "m"}, 5)))
        waiter.start()
        time.sleep(0.1)
        notification = {"jsonrpc": "2.0", "method": "receive", "params": {"envelope": {}, "account": "+49"}}
        peer.sendall(json.dumps(notification).encode() + b"\n")
        peer.sendall(json.dumps({"jsonrpc": "2.0", "result": "done", "id": 1}).encode() + b"\n")
        waiter.join(5)
        assert [answer["result"] for answer in answers] == ["done"]
    finally:
        transport.close()
        daemon.close()


def test_a_call_past_its_time_limit_times_out_and_the_connection_stays(socket_path):
    def reply(request):
        if request["method"] == "hang":
            return None
        return {"jsonrpc": "2.0", "result": "ok", "id": request["id"]}

    daemon = ScriptedDaemon(socket_path, reply)
    transport = jsonrpc.Transport(socket_path)
    try:
        with pytest.raises(TimeoutError):
            transport.request({"method": "hang"}, 0.2)
        assert transport.request({"method": "fine"}, 5)["result"] == "ok"
        assert len(daemon.connections) == 1
    finally:
        transport.close()
        daemon.close()


def test_a_daemon_that_goes_away_mid_call_is_daemon_gone(socket_path):
    daemon = ScriptedDaemon(socket_path, lambda request: daemon.close())
    transport = jsonrpc.Transport(socket_path)
    try:
        with pytest.raises(errors.DaemonGone, match="may or may not"):
            transport.request({"method": "send"}, 5)
    finally:
        transport.close()


def test_no_daemon_is_daemon_unavailable_with_the_supervisors_account(socket_path):
    transport = jsonrpc.Transport(socket_path, describe=lambda: "signal-cli's daemon is starting.")
    with pytest.raises(errors.DaemonUnavailable, match="is starting") as raised:
        transport.request({"method": "send"}, 5)
    assert raised.value.retry_after > 0

"""Push receive against a real gunicorn: the websocket of GET /v1/receive/{number}, SSE on
GET /v1/events/{number}, their delivery semantics beside the pollers, bad clients, and replays of
the push clients of n8n and Node-RED (signalbot and pysignalclirestapi run for real in
test_push_clients.py).

Each test runs in both modes: normal mode with the receiver on, and json-rpc mode with
``signal-rest daemon`` beside gunicorn; the inbox is filled here directly, as the receiver or the
daemon's supervisor would.
"""

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fake_signal_cli import message_line
from gunicorn_server import Gunicorn, beside
from receiving_support import ACCOUNT, OTHER_ACCOUNT, SENDER, wait_for
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from signal_rest.receiving.inbox import Inbox

pytestmark = [
    pytest.mark.server,
    pytest.mark.fake_signal_cli("0.14.6"),
    pytest.mark.service_modes("normal", "json-rpc"),
]

TOKEN = "push-token-0123456789"
OTHER_TOKEN = "other-token-0123456789"
READ_ONLY = "read-only-token-0123456789"
TOKENS = f"{TOKEN} {OTHER_TOKEN}@{OTHER_ACCOUNT} ro:{READ_ONLY}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def start(tmp_path, fake_bin, config_dir, mode, *, threads=2, **settings):
    """A gunicorn of one worker that serves push: in normal mode with the receiver on (nothing runs
    it: the test fills the inbox), in json-rpc mode with ``signal-rest daemon`` running beside it."""
    settings = {
        **({"SIGNAL_REST_RECEIVER": "true"} if mode == "normal" else {"SIGNAL_REST_MODE": "json-rpc"}),
        "SIGNAL_REST_API_TOKENS": TOKENS,
        "SIGNAL_REST_PUSH_KEEPALIVE": 1,
        "SIGNAL_REST_PUSH_SEND_TIMEOUT": 2,
        **settings,
    }
    server = Gunicorn(
        tmp_path / "gunicorn",
        workers=1,
        threads=threads,
        SIGNAL_CLI_BIN=fake_bin,
        SIGNAL_CLI_CONFIG_DIR=config_dir,
        **settings,
    )
    with server:
        if mode == "normal":
            yield server
            return
        with beside(server, "daemon"):
            # the daemon answers once it is up: the accounts it serves are what a handshake checks
            wait_for(lambda: server.request("GET", "/v1/accounts", AUTH)[0] == 200, 30, "the daemon")
            yield server


@pytest.fixture
def inbox(config_dir):
    """The service's inbox, as the receiver writes it."""
    return Inbox(config_dir / "signal-rest" / "inbox.sqlite3")


def store(inbox, *texts, account=ACCOUNT):
    """Store a text message from SENDER for each of ``texts``; returns their lines."""
    lines = [json.dumps(message_line(account, SENDER, text)) for text in texts]
    for line in lines:
        assert inbox.store(account, line)
    return lines


def websocket(server, query="", token=TOKEN, account=ACCOUNT, **options):
    """A websocket client on GET /v1/receive/{account}."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"ws://127.0.0.1:{server.port}/v1/receive/{account}{query}"
    # legacy: a ClientConnection at once, so that a test may also hold one without a `with`
    return connect(url, additional_headers=headers, open_timeout=10, legacy=True, **options)


def websocket_when_free(server, query=""):
    """A websocket client, once the service's one push connection is free again (503 until then)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return websocket(server, query)
        except InvalidStatus as refused:
            if refused.response.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def text_of(frame):
    return json.loads(frame)["envelope"]["dataMessage"]["message"]


def received(ws, count, timeout=10):
    """The next ``count`` frames, parsed."""
    return [json.loads(ws.recv(timeout=timeout)) for _ in range(count)]


def refusal(server, **kwargs):
    """The status (and body) a websocket handshake is refused with."""
    with pytest.raises(InvalidStatus) as refused:
        websocket(server, **kwargs).close()
    return refused.value.response.status_code, json.loads(refused.value.response.body or b"{}")


def resources(pid):
    """(threads, open file descriptors) of a process."""
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


def served(server, port):
    """Whether the service still holds its end of the connection from local ``port`` open
    (/proc/net/tcp: established, or the client closed and the service has not yet: CLOSE_WAIT)."""
    wanted = (f"{server.port:04X}", f"{port:04X}")
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return any((row[1].split(":")[1], row[2].split(":")[1]) == wanted and row[3] in ("01", "08") for row in rows)


def fill_the_pool(server, threads=2):
    """Make the worker's thread pool as large as it can grow (its REST threads plus the one push
    connection: a websocket and ``threads`` long-polls at once), so that what is counted afterwards
    cannot grow by a pool thread started late. Needs an empty poll queue for ACCOUNT."""
    with websocket(server):
        with ThreadPoolExecutor(threads) as polls:
            answers = [
                polls.submit(server.request, "GET", f"/v1/receive/{ACCOUNT}?timeout=2", headers=AUTH)
                for _ in range(threads)
            ]
            assert [answer.result()[0] for answer in answers] == [200] * threads


def settled(pid, baseline, timeout=15):
    """Wait until ``pid`` is back to ``baseline`` threads and fds (at most); fail otherwise."""
    wait_for(
        lambda: all(now <= then for now, then in zip(resources(pid), baseline, strict=True)),
        timeout,
        "threads and fds back",
    )


def test_frames_are_the_lines_with_their_inbox_id_and_since_resumes(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        lines = store(inbox, "one", "two")
        with websocket(server) as ws:
            frames = received(ws, 2)
            # a message arriving while connected comes at once
            lines += store(inbox, "three")
            frames += received(ws, 1)
        assert [frame.pop("inbox_id") for frame in frames] == [1, 2, 3]
        assert frames == [json.loads(line) for line in lines]
        # since=1: everything after id 1, again
        with websocket(server, "?since=1&timeout=5&ignore_attachments=true") as ws:
            assert [f["inbox_id"] for f in received(ws, 2)] == [2, 3]
        # the pollers' queue is their own: they get all three too
        status, _, body = server.request("GET", f"/v1/receive/{ACCOUNT}?timeout=0", headers=AUTH)
        assert status == 200 and [text_of(json.dumps(m)) for m in json.loads(body)] == ["one", "two", "three"]


def test_without_since_a_client_gets_what_arrived_while_none_was_connected(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        store(inbox, "one")
        with websocket(server) as ws:
            assert [text_of(f) for f in [ws.recv(timeout=10)]] == ["one"]
        store(inbox, "two", "three")
        with websocket(server) as ws:
            # what the last client got is not sent again; what came meanwhile is
            assert [f["envelope"]["dataMessage"]["message"] for f in received(ws, 2)] == ["two", "three"]
            with pytest.raises(TimeoutError):
                ws.recv(timeout=1.5)
        # another account's messages go to its own clients only
        store(inbox, "elsewhere", account=OTHER_ACCOUNT)
        with websocket(server, "?since=0") as ws:
            assert len(received(ws, 3)) == 3
            with pytest.raises(TimeoutError):
                ws.recv(timeout=1.5)


def test_two_clients_of_one_account_each_get_every_message(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    with (
        start(tmp_path, fake_bin, config_dir, service_mode) as server,
        websocket(server) as bot,
        websocket(server) as other,
    ):
        store(inbox, "for both")
        assert text_of(bot.recv(timeout=10)) == text_of(other.recv(timeout=10)) == "for both"


def test_pings_are_answered_and_client_frames_ignored(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server, websocket(server) as ws:
        ws.ping(b"are you there").wait(5)
        ws.send("garbage that is no command")
        ws.send(b"\x00\xff binary garbage")
        store(inbox, "still served")
        assert text_of(ws.recv(timeout=10)) == "still served"
        ws.ping().wait(5)


def test_the_server_pings_and_keeps_an_idle_connection(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server, websocket(server, ping_interval=None) as ws:
        # the client never pings; the server's pings (every second) are answered by the client
        time.sleep(3.5)
        store(inbox, "after a quiet while")
        assert text_of(ws.recv(timeout=10)) == "after a quiet while"


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"token": None}, 401, "token is required"),
        ({"token": "wrong-token-0123456789"}, 401, "token is required"),
        ({"token": OTHER_TOKEN}, 403, f"may not be used for account {ACCOUNT}"),
        ({"token": READ_ONLY}, 403, "read-only"),
        ({"account": "+4915187654321"}, 404, "not an account"),
        ({"query": "?since=abc"}, 400, "since"),
        ({"query": "?since=-1"}, 400, "since"),
        ({"query": "?timeout=99"}, 400, "timeout"),
    ],
)
def test_handshakes_refused_before_the_upgrade(
    tmp_path, fake_bin, config_dir, fake, service_mode, kwargs, status, fragment
):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        code, body = refusal(server, **kwargs)
        assert code == status and fragment in body["error"]


def test_basic_auth_and_account_limited_tokens_of_the_account_open_the_websocket(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    fake.add_account(OTHER_ACCOUNT)
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        store(inbox, "hi", account=OTHER_ACCOUNT)
        with websocket(server, token=OTHER_TOKEN, account=OTHER_ACCOUNT) as ws:
            assert text_of(ws.recv(timeout=10)) == "hi"
        basic = base64.b64encode(f"user:{TOKEN}".encode()).decode()
        url = f"ws://127.0.0.1:{server.port}/v1/receive/{OTHER_ACCOUNT}?since=0"
        with connect(url, additional_headers={"Authorization": f"Basic {basic}"}) as ws:
            assert text_of(ws.recv(timeout=10)) == "hi"


@pytest.mark.service_modes("normal")
def test_without_the_receiver_the_websocket_is_refused(tmp_path, fake_bin, config_dir, fake, service_mode):
    with start(tmp_path, fake_bin, config_dir, service_mode, SIGNAL_REST_RECEIVER="false") as server:
        code, body = refusal(server)
        assert code == 400 and "SIGNAL_REST_RECEIVER=true" in body["error"]


def test_push_connections_are_bounded_and_rest_threads_stay_free(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    with start(tmp_path, fake_bin, config_dir, service_mode, threads=1, SIGNAL_REST_PUSH_CONNECTIONS=2) as server:
        (worker,) = server.worker_pids()
        with websocket(server) as first, websocket(server) as second:
            code, body = refusal(server)
            assert code == 503 and "push connections" in body["error"]
            # the one REST thread is free although both push connections are held
            started = time.monotonic()
            assert server.request("GET", "/v1/about", headers=AUTH)[0] == 200
            assert time.monotonic() - started < 2
            store(inbox, "to both")
            assert text_of(first.recv(timeout=10)) == text_of(second.recv(timeout=10)) == "to both"
        # the slots are given back (each push loop sees its client gone within a second or two)
        with websocket_when_free(server, "?since=0") as third:
            assert text_of(third.recv(timeout=10)) == "to both"
        assert worker in server.worker_pids()


def stuck_client(server):
    """A raw client with a tiny receive buffer that performs the handshake, reads the 101 and then
    never reads again (once the service's one push connection is free: a 503 is tried again)."""
    deadline = time.monotonic() + 10
    while True:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /v1/receive/{ACCOUNT}?since=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        status_line = sock.recv(12)
        if status_line.startswith(b"HTTP/1.1 101"):
            return sock
        sock.close()
        assert status_line.startswith(b"HTTP/1.1 503") and time.monotonic() < deadline, status_line
        time.sleep(0.05)


def test_a_client_that_never_reads_is_dropped_and_nothing_is_lost(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    # one push connection: the worker's pool (whose threads stay, each with its SQLite connection)
    # cannot grow past its REST threads plus one, so growth from one stuck client to the next is a leak
    with start(tmp_path, fake_bin, config_dir, service_mode, SIGNAL_REST_PUSH_CONNECTIONS=1) as server:
        (worker,) = server.worker_pids()
        fill_the_pool(server)
        store(inbox, "warm-up")
        texts = [f"big-{n}-" + "x" * 20000 for n in range(60)]
        store(inbox, *texts)
        # the server gives up on such a client after its send timeout (2 s): its connection is closed
        for round_ in range(3):
            sock = stuck_client(server)
            port = sock.getsockname()[1]
            wait_for(lambda port=port: not served(server, port), 20, "the stuck client to be dropped")
            sock.close()
            if round_ == 0:
                baseline = resources(worker)
        settled(worker, baseline)
        # everything is still in the inbox for a client that resumes
        with websocket_when_free(server, "?since=1") as ws:
            assert [text_of(ws.recv(timeout=10)) for _ in texts] == texts


def bad_clients(server):
    """Clients that send garbage frames, then clients that vanish without a close frame, one at a
    time; waits until the service has closed its end of each."""
    for junk in (b"\xff\xff\xff\xff not a websocket frame", b"\x81\x7f" + b"\xff" * 8, os.urandom(4096)):
        with websocket_when_free(server) as ws:
            port = ws.socket.getsockname()[1]
            ws.socket.sendall(junk)
            with pytest.raises((ConnectionClosed, TimeoutError)):
                for _ in range(10):
                    ws.recv(timeout=3)
            wait_for(lambda port=port: not served(server, port), 15, "the service to close a garbage client")
    for _ in range(5):
        ws = websocket_when_free(server)
        port = ws.socket.getsockname()[1]
        ws.socket.shutdown(socket.SHUT_RDWR)
        wait_for(lambda port=port: not served(server, port), 15, "the service to close a vanished client")
        ws.socket.close()


def test_garbage_frames_close_the_connection_and_leak_nothing(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    # one push connection: each client waits for the last one's session to end, so the worker's pool
    # (whose threads stay, each with its SQLite connection) cannot grow past its REST threads plus one
    with start(tmp_path, fake_bin, config_dir, service_mode, SIGNAL_REST_PUSH_CONNECTIONS=1) as server:
        (worker,) = server.worker_pids()
        fill_the_pool(server)
        bad_clients(server)
        # what stays after one round must not grow with more rounds
        baseline = resources(worker)
        for _ in range(3):
            bad_clients(server)
        settled(worker, baseline)
        store(inbox, "two")
        with websocket_when_free(server, "?since=0") as ws:
            assert text_of(ws.recv(timeout=10)) == "two"


def sse(server, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={**AUTH, **(headers or {})})
    return connection, connection.getresponse()


def events_of(response, count):
    """The next ``count`` events (id, data) and the comments seen on the way."""
    events, comments, lines = [], [], []
    while len(events) < count:
        line = response.readline().decode().rstrip("\n")
        if line.startswith(":"):
            comments.append(line)
        elif line:
            lines.append(line)
        elif lines:
            fields = dict(entry.split(": ", 1) for entry in lines)
            events.append((int(fields["id"]), json.loads(fields["data"])))
            lines = []
    return events, comments


def test_server_sent_events_resume_with_last_event_id(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        store(inbox, "one", "two")
        connection, response = sse(server, f"/v1/events/{ACCOUNT}")
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        events, _ = events_of(response, 2)
        assert [(i, d["inbox_id"], d["envelope"]["dataMessage"]["message"]) for i, d in events] == [
            (1, 1, "one"),
            (2, 2, "two"),
        ]
        # idle: keep-alive comments (every second here)
        time.sleep(2.5)
        store(inbox, "three")
        events, comments = events_of(response, 1)
        assert events[0][0] == 3 and ": keep-alive" in comments
        connection.close()
        connection, response = sse(server, f"/v1/events/{ACCOUNT}", {"Last-Event-ID": "1"})
        assert [i for i, _ in events_of(response, 2)[0]] == [2, 3]
        connection.close()
        status, _, body = server.request("GET", f"/v1/events/{ACCOUNT}", headers={**AUTH, "Last-Event-ID": "x"})
        assert status == 400 and b"Last-Event-ID" in body


def test_a_worker_killed_loses_nothing_and_sigterm_ends_push_sessions(
    tmp_path, fake_bin, config_dir, fake, service_mode, inbox
):
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        (worker,) = server.worker_pids()
        ws = websocket(server)
        store(inbox, "before")
        last = json.loads(ws.recv(timeout=10))["inbox_id"]
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        store(inbox, "during", "the restart")
        wait_for(lambda: server.worker_pids() - {worker}, 30, "a new worker")
        wait_for(lambda: _answers(server), 30, "the new worker")
        with websocket(server, f"?since={last}") as ws:
            frames = received(ws, 2)
            assert [frame["envelope"]["dataMessage"]["message"] for frame in frames] == ["during", "the restart"]
        newest = frames[-1]["inbox_id"]
        ws = websocket(server)
        started = time.monotonic()
        assert server.stop() == 0
        # the push session ends at once, not after the graceful timeout
        assert time.monotonic() - started < 10
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                # at least once: the last frame again (its push was being recorded as this client
                # connected), nothing new
                assert json.loads(ws.recv(timeout=5))["inbox_id"] <= newest
        assert closed.value.rcvd is None or closed.value.rcvd.code == 1001


def _answers(server):
    try:
        return server.request("GET", "/v1/health")[0] == 204
    except OSError:
        return False


# -- replays of push clients of the automation tools -------------------------------------------
# Each replays what the tool's source sends in the handshake and what it does with a frame; the
# websocket library here offers permessage-deflate with client_max_window_bits, as Node's `ws`
# (which both tools use) does by default.


def typing_line(account, source):
    """A received typing indicator: an envelope without a dataMessage."""
    envelope = {"source": source, "sourceNumber": source, "sourceDevice": 1, "timestamp": 1, "typingMessage": {}}
    return json.dumps({"envelope": envelope, "account": account})


def n8n_trigger_items(frames):
    """What an n8n Signal Trigger community node (SignalTrigger.node.js, on Node's `ws`) does:
    JSON.parse of each frame; only envelopes with ``dataMessage.message``, and none whose source is
    the account itself; each item is the whole parsed frame."""
    items = []
    for raw in frames:
        payload = json.loads(raw)
        envelope, account = payload["envelope"], payload["account"]
        if not (envelope.get("dataMessage") or {}).get("message") or envelope.get("source") == account:
            continue
        items.append(payload)
    return items


def test_replay_of_the_n8n_signal_trigger(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    # its credentials hold a URL and an account, no token: a service without tokens; the account is
    # put in the path with encodeURIComponent, so "+" arrives as %2B
    with start(tmp_path, fake_bin, config_dir, service_mode, SIGNAL_REST_API_TOKENS="") as server:
        store(inbox, "first")
        assert inbox.store(ACCOUNT, typing_line(ACCOUNT, SENDER))
        assert inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, ACCOUNT, "from this account")))
        store(inbox, "second")
        url = f"ws://127.0.0.1:{server.port}/v1/receive/%2B{ACCOUNT[1:]}"
        with connect(url, open_timeout=10, user_agent_header=None) as ws:
            frames = [ws.recv(timeout=10) for _ in range(4)]
        items = n8n_trigger_items(frames)
        assert [item["envelope"]["dataMessage"]["message"] for item in items] == ["first", "second"]
        assert all(item["account"] == ACCOUNT for item in items)


def test_replay_of_node_red_websocket_in(tmp_path, fake_bin, config_dir, fake, service_mode, inbox):
    # Node-RED's websocket-client config (core node 22-websocket.js): new ws(path, subprotocol,
    # {headers}) with no subprotocol and the configured headers (a token here); its optional heartbeat
    # pings every few seconds and drops a connection whose pong does not come back before the next one;
    # websocket-in hands each frame on as msg.payload, a string (a JSON node parses it)
    with start(tmp_path, fake_bin, config_dir, service_mode) as server:
        url = f"ws://127.0.0.1:{server.port}/v1/receive/{ACCOUNT}"
        with connect(url, additional_headers=AUTH, open_timeout=10, ping_interval=None) as ws:
            for _ in range(3):
                assert ws.ping().wait(timeout=5), "no pong within the heartbeat"
            store(inbox, "hello flow")
            payload = ws.recv(timeout=10)
            assert isinstance(payload, str)
            assert json.loads(payload)["envelope"]["dataMessage"]["message"] == "hello flow"
            assert ws.ping().wait(timeout=5), "no pong within the heartbeat"

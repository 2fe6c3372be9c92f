"""Contract tests: every operation's JSON-RPC request, sent to the real ``signal-cli daemon``.

One daemon (multi-account, ``--socket``, a new config dir) serves the whole module. Each operation
case of tests/operation_cases.py is built as the client builds it, rendered with
:meth:`Command.jsonrpc` and sent over the socket. The answer must show that signal-cli knows the
method: never -32600 (invalid request) or -32601 (method not implemented) for a command the
release has, but for ``link``, which the daemon does in two calls of its own (``startLink`` and
``finishLink``, checked with the link Command's device name). The account is not registered, so
an account's method answers -32602 "Specified account does not exist"; the multi-account methods
answer as they do offline (the version, no accounts, a network error for ``register`` and
``startLink``). The JVM resolves no host names (an empty ``jdk.net.hosts.file``), so nothing
leaves the machine.

signal-cli looks the account up before it reads any other param (``SignalJsonRpcCommandHandler``:
the account's manager first, then the params), so for an account's method these answers prove the
method, not its params. The params of the multi-account methods (``register``, ``verify``,
``finishLink``, ``deleteLocalAccountData``) are read, and the typed ones refuse an unknown key with
-32600: that is checked too, so the check can fail. The others read a map of dests and ignore a key
they do not know, so only tests/test_commands.py (signal-cli's option table) catches a misnamed one.

The daemon's life as a supervisor sees it is checked here as well: how soon it accepts a
connection, what a second daemon on the same socket does, the socket a SIGKILL leaves behind, and
SIGTERM (exit 0, its log line, no process left).

These tests need the real signal-cli: ``make test`` provisions it and sets ``SIGNAL_CLI_BIN``.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from operation_cases import ACCOUNT, CASES, NEWER_CASES, built_commands
from processes import descendant_pids, gone
from test_contract import REFUSED_BY_VERSION, _fill_files

from signal_rest.signal_cli import NotSupported, grammar
from signal_rest.signal_cli import daemon as signal_cli_daemon
from signal_rest.signal_cli.grammar import version_tuple

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("signal-cli-daemon")]

ALL_CASES = CASES + NEWER_CASES
#: seconds the daemon may take to accept its first connection (it takes about one here)
START_TIMEOUT = 60
#: seconds it may take to exit after SIGTERM
STOP_TIMEOUT = 20
#: seconds one call may take (``register`` and ``startLink`` fail on the host name at once)
CALL_TIMEOUT = 30
SHUTDOWN_LINE = "INFO  Shutdown - Received SIGTERM signal, shutting down ..."

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
USER_ERROR = -1
IO_ERROR = -3
#: an account for calls that must not touch ACCOUNT's files
OTHER_ACCOUNT = "+4915112345679"
NO_SUCH_ACCOUNT = {"code": INVALID_PARAMS, "message": "Specified account does not exist", "data": None}

#: cases a multi-account daemon answers other than with "Specified account does not exist"
#: (checked one by one in test_every_operation_is_understood_by_the_daemon)
MULTI_ACCOUNT_CASES = {"register", "verify", "list_accounts", "delete_local_data", "delete_local_data-plain", "version"}
#: JSON-RPC has no ``link``: the daemon links with ``startLink`` and ``finishLink`` (checked below)
NO_SUCH_METHOD_IN_DAEMON = {"link": "startLink and finishLink"}


class JsonRpcConnection:
    """One connection to the daemon's socket: a request per line, answers matched by id."""

    def __init__(self, path, timeout=CALL_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buffer = b""
        #: answers to other ids, and notifications, seen while waiting for one
        self.others = []
        self._next_id = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self, deadline):
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the daemon in time")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the daemon closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def send(self, request):
        """Send ``request`` (a dict; an id is added if it has none); returns its id."""
        if "id" not in request:
            self._next_id += 1
            request = {**request, "id": f"call-{self._next_id}"}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        return request["id"]

    def answer(self, request_id, timeout=None):
        """The answer to ``request_id``: one seen already, or the next that comes with that id."""
        for seen in self.others:
            if isinstance(seen, dict) and seen.get("id") == request_id:
                self.others.remove(seen)
                return seen
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._line(deadline)
            if isinstance(answer, dict) and answer.get("id") == request_id:
                assert answer.get("jsonrpc") == "2.0", answer
                return answer
            self.others.append(answer)

    def call(self, request, timeout=None):
        """Send ``request`` and return the answer with its id."""
        return self.answer(self.send(request), timeout)

    def method(self, method, params=None, **kwargs):
        """Call ``method`` with ``params``; returns the whole answer."""
        request = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            request["params"] = params
        return self.call(request, **kwargs)


class Daemon:
    """A real ``signal-cli daemon --socket`` in multi-account mode, offline."""

    def __init__(self, binary, root, socket_path=None, config_dir=None):
        self.binary = binary
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_dir = Path(config_dir or self.root / "config")
        self.config_dir.mkdir(exist_ok=True)
        self.socket = Path(socket_path or self.root / "socket")
        hosts = self.root / "no-hosts"
        hosts.write_text("")
        self.env = {**os.environ, "JAVA_OPTS": f"-Djdk.net.hosts.file={hosts}"}
        self.process = None
        self.stderr_path = self.root / f"daemon-{time.monotonic_ns()}.err"
        self.startup_seconds = None

    @property
    def argv(self):
        return [self.binary, "--config", str(self.config_dir), "-o", "json", "daemon", "--socket", str(self.socket)]

    def start(self):
        """Start it; returns at once (see :meth:`wait_until_accepting`)."""
        self.started = time.monotonic()
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        return self

    def wait_until_accepting(self, timeout=START_TIMEOUT):
        """Wait until the socket accepts a connection; returns the seconds since start."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the daemon exited with {self.process.returncode}:\n{self.stderr}"
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.socket))
            except OSError:
                time.sleep(0.02)
                continue
            finally:
                probe.close()
            self.startup_seconds = time.monotonic() - self.started
            return self.startup_seconds
        raise AssertionError(f"the daemon accepted no connection within {timeout} s:\n{self.stderr}")

    def connect(self, **kwargs):
        return JsonRpcConnection(self.socket, **kwargs)

    @property
    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout):
        return self.process.wait(timeout)

    def terminate(self):
        """SIGTERM, and wait for the exit; returns the exit status."""
        assert descendant_pids(self.process.pid) == [], "the daemon started processes of its own"
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT)

    def kill(self):
        """SIGKILL (if it still runs), and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(STOP_TIMEOUT)


#: the pids of the daemons this module keeps running between tests
KEPT_RUNNING = set()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """The module's daemon, accepting connections; stopped at the end with SIGTERM (exit 0, its log
    line, no process left)."""
    binary = os.environ.get("SIGNAL_CLI_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("The contract tests need the real signal-cli: run them with `make test` (sets SIGNAL_CLI_BIN).")
    running = Daemon(binary, tmp_path_factory.mktemp("daemon")).start()
    KEPT_RUNNING.add(running.process.pid)
    try:
        seconds = running.wait_until_accepting()
        with running.connect() as first:
            first.method("version")
        answered = time.monotonic() - running.started
        print(
            f"\nsignal-cli daemon: first connection accepted {seconds:.2f} s, first answer {answered:.2f} s after start"
        )
        yield running
        pid = running.process.pid
        assert running.terminate() == 0, running.stderr
        assert SHUTDOWN_LINE in running.stderr
        assert gone(pid), "the daemon's process is still there"
    finally:
        running.kill()
        KEPT_RUNNING.discard(running.process.pid)


@pytest.fixture(scope="module")
def connection(daemon):
    with daemon.connect() as open_connection:
        yield open_connection


@pytest.fixture(scope="module")
def release(connection):
    """The running signal-cli's version, as the daemon says."""
    return connection.method("version")["result"]["version"]


@pytest.fixture(scope="module")
def case_commands(tmp_path_factory):
    files = tmp_path_factory.mktemp("case-files")
    return built_commands(ALL_CASES, lambda value: _fill_files(value, files))


def _refused_by_version(command, release):
    """The service's refusal of ``command`` for ``release``, or None if the release has it all."""
    try:
        grammar.check_supported(command, lambda: release)
    except NotSupported as refusal:
        return refusal
    return None


#: the account cases first: ``register`` writes the account into the config dir (unregistered),
#: and what a later release answers for such an account is not what this module checks
ORDERED_CASES = [case[0] for case in ALL_CASES if case[0] not in MULTI_ACCOUNT_CASES] + [
    case[0] for case in ALL_CASES if case[0] in MULTI_ACCOUNT_CASES
]


@pytest.mark.parametrize("name", ORDERED_CASES)
def test_every_operation_is_understood_by_the_daemon(connection, release, case_commands, name):
    command = case_commands[name]
    answer = connection.call(command.jsonrpc(ACCOUNT, request_id=name))
    error = answer.get("error")
    refusal = _refused_by_version(command, release)
    if refusal is not None:
        # newer than the running release: the service refuses it by version, naming both releases ...
        refused = REFUSED_BY_VERSION.search(refusal.message)
        assert refused and refused["runs"] == release, refusal.message
        assert version_tuple(release) < version_tuple(refused["needed"])
        if command.method not in grammar.commands_for(release):
            # ... and the daemon has no such method
            assert error is not None and error["code"] == METHOD_NOT_FOUND, answer
        else:
            # ... the method is there, and the daemon looks up the account before any param: a
            # param this release lacks is never refused by the daemon, only by the service
            assert error == NO_SUCH_ACCOUNT, answer
        return
    if name in NO_SUCH_METHOD_IN_DAEMON:
        assert error is not None and error["code"] == METHOD_NOT_FOUND, answer
        return
    assert error is None or error["code"] not in (INVALID_REQUEST, METHOD_NOT_FOUND), answer
    if name not in MULTI_ACCOUNT_CASES:
        assert error == NO_SUCH_ACCOUNT, answer
    elif name == "version":
        assert answer["result"] == {"version": release}
    elif name == "list_accounts":
        assert answer["result"] == []
    elif name.startswith("delete_local_data"):
        # nothing to delete: a command that prints nothing answers {}
        assert answer["result"] == {}
    elif name == "register":
        # Signal's servers come first, and offline their name does not resolve
        assert error["code"] == IO_ERROR and "Failed to register" in error["message"], answer
        assert "UnknownHostException" in error["message"]
    elif name == "verify":
        # the params were read (a typed request: see the -32600 test below); there is no
        # registration session, which 0.13.19 reports as a NullPointerException
        assert error is not None, answer
        if version_tuple(release) < (0, 13, 21):
            assert error["code"] == INTERNAL_ERROR and "sessionId (NullPointerException)" in error["message"], answer
        else:
            assert error["code"] in (-1, IO_ERROR), answer


def test_the_version_is_the_health_check(daemon, release):
    """A new connection answers ``version`` at once: the supervisor's check that the daemon serves."""
    started = time.monotonic()
    with daemon.connect(timeout=5) as fresh:
        answer = fresh.call({"jsonrpc": "2.0", "method": "version", "id": 1})
    assert answer == {"jsonrpc": "2.0", "result": {"version": release}, "id": 1}
    assert time.monotonic() - started < 2
    assert version_tuple(release) >= (0, 13, 19)


def test_the_daemon_logs_where_it_listens(daemon):
    """Its log says where it listens once it does (the supervisor may log it too)."""
    assert "INFO  DaemonCommand - Starting daemon in multi-account mode" in daemon.stderr
    assert f"INFO  SocketHandler - Started JSON-RPC server on {daemon.socket}" in daemon.stderr


def test_requests_on_one_connection_run_concurrently(connection, release):
    """A slow call does not hold up the next one on the same connection: the answers come in the
    order they finish, so a client matches them by id."""
    slow = connection.send({"jsonrpc": "2.0", "method": "register", "params": {"account": OTHER_ACCOUNT}})
    quick = connection.send({"jsonrpc": "2.0", "method": "version"})
    assert connection.answer(quick)["result"] == {"version": release}
    assert slow not in [seen.get("id") for seen in connection.others], "the slow call finished first"
    assert connection.answer(slow)["error"]["code"] == IO_ERROR


def test_the_daemon_links_with_start_link_and_finish_link(connection, case_commands):
    """JSON-RPC has no ``link`` (the Command's method, -32601 above): the daemon links in two calls."""
    started = connection.method("startLink")
    if "error" in started:
        # offline: the provisioning websocket cannot be opened
        assert started["error"]["code"] == IO_ERROR, started
        assert "Link request error" in started["error"]["message"]
    else:
        assert started["result"]["deviceLinkUri"].startswith("sgnl://linkdevice?"), started
    # the daemon finishes only a link it started itself (a restart in between loses it); the
    # link Command's "name" (argv's dest) goes in deviceName
    name = case_commands["link"].params["name"]
    finished = connection.method(
        "finishLink", {"deviceLinkUri": "sgnl://linkdevice?uuid=x&pub_key=y", "deviceName": name}
    )
    assert finished["error"]["code"] == USER_ERROR, finished
    assert finished["error"]["message"] == "Unknown device link uri."
    missing = connection.method("finishLink", {})
    assert missing["error"] == {"code": USER_ERROR, "message": "Missing deviceLinkUri.", "data": None}


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("register", {"account": ACCOUNT, "voice": True, "noSuchParam": 1}),
        ("verify", {"account": ACCOUNT, "verificationCode": "123456", "noSuchParam": 1}),
        ("finishLink", {"deviceLinkUri": "sgnl://linkdevice?uuid=x&pub_key=y", "noSuchParam": 1}),
    ],
)
def test_a_typed_request_refuses_an_unknown_param(connection, method, params):
    """What the daemon checks of the params it reads: an unknown key of a typed request is -32600."""
    answer = connection.method(method, params)
    assert answer["error"]["code"] == INVALID_REQUEST, answer
    assert "noSuchParam" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("method", "params", "result"),
    [
        ("listAccounts", {"noSuchParam": 1}, []),
        ("deleteLocalAccountData", {"account": ACCOUNT, "noSuchParam": 1}, {}),
    ],
)
def test_an_untyped_request_ignores_an_unknown_param(connection, method, params, result):
    """The other methods read their params as a map of dests: a key signal-cli does not know is
    ignored, so the daemon never says that a param is misnamed (tests/test_commands.py checks the
    keys against signal-cli's own option table)."""
    assert connection.method(method, params)["result"] == result


def test_an_account_is_looked_up_before_its_params(connection):
    """Why the account methods' params are not proven here: the unknown account is refused before
    signal-cli reads a param, even one it would fail on (a timestamp below 2^31, where the code
    expects a Long, is a ClassCastException, -32603, once the account exists)."""
    for params in ({"recipient": ["+4915100000001"], "targetTimestamp": 1, "emoji": "x", "targetAuthor": ACCOUNT}, {}):
        answer = connection.method("sendReaction", {"account": ACCOUNT, **params})
        assert answer["error"] == NO_SUCH_ACCOUNT, answer
    answer = connection.method("sendReaction", {"recipient": ["+4915100000001"]})
    assert answer["error"]["code"] == INVALID_PARAMS, answer
    assert answer["error"]["message"] == "Method requires valid account parameter"


def test_a_second_daemon_on_the_same_socket_exits_3_and_leaves_the_first_alone(daemon, connection, release):
    second = Daemon(daemon.binary, daemon.root / "second", socket_path=daemon.socket, config_dir=daemon.config_dir)
    second.start()
    try:
        assert second.wait(START_TIMEOUT) == 3, second.stderr
    finally:
        second.kill()
    assert f"Failed to bind socket {daemon.socket}: Address already in use" in second.stderr
    # the first one still has its socket and answers
    assert daemon.process.poll() is None
    assert connection.method("version")["result"] == {"version": release}
    with daemon.connect() as fresh:
        assert fresh.method("listAccounts")["result"] == []


def test_after_sigkill_the_stale_socket_makes_the_next_start_exit_3(real_signal_cli_bin, tmp_path):
    root = tmp_path / "daemons"
    # a folder that is not there yet: the daemon makes it, for its owner only
    path = root / "run" / "socket"
    first = Daemon(real_signal_cli_bin, root, socket_path=path).start()
    try:
        first.wait_until_accepting()
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        first.process.kill()
        assert first.wait(STOP_TIMEOUT) == -signal.SIGKILL
    finally:
        first.kill()
    assert path.is_socket(), "a SIGKILLed daemon leaves its socket file"
    # nothing listens: a client is refused, which tells a stale socket from a live daemon
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with pytest.raises(ConnectionRefusedError), contextlib.closing(probe):
        probe.connect(str(path))

    stale = Daemon(real_signal_cli_bin, root, socket_path=path).start()
    try:
        assert stale.wait(START_TIMEOUT) == 3, stale.stderr
    finally:
        stale.kill()
    assert f"Failed to bind socket {path}: Address already in use" in stale.stderr

    # removed, the next start works; SIGTERM then stops it with exit 0 and removes the socket
    path.unlink()
    clean = Daemon(real_signal_cli_bin, root, socket_path=path).start()
    try:
        clean.wait_until_accepting()
        with clean.connect() as connection:
            assert "version" in connection.method("version")["result"]
            pid = clean.process.pid
            assert clean.terminate() == 0, clean.stderr
            # a client still connected sees the connection end
            connection.sock.settimeout(5)
            assert connection.sock.recv(1) == b""
    finally:
        clean.kill()
    assert SHUTDOWN_LINE in clean.stderr
    assert gone(pid)
    assert not path.exists(), "a daemon stopped by SIGTERM removes its socket"


def test_a_socket_path_without_a_folder_crashes_the_daemon(real_signal_cli_bin, tmp_path, monkeypatch):
    """A bare file name as ``--socket`` is an exit 2 (a NullPointerException on its parent folder):
    the supervisor must pass an absolute path."""
    monkeypatch.chdir(tmp_path)
    bare = Daemon(real_signal_cli_bin, tmp_path / "bare", socket_path="socket").start()
    try:
        assert bare.wait(START_TIMEOUT) == 2, bare.stderr
    finally:
        bare.kill()
    assert "NullPointerException" in bare.stderr


def test_a_socket_path_of_107_bytes_is_too_long_for_the_daemon(real_signal_cli_bin, tmp_path):
    """Java binds a Unix socket path of at most 106 bytes, one less than sun_path holds for C (and
    Python): the service's limit for its own folder, and the fake's, are this one."""
    assert signal_cli_daemon.MAX_SOCKET_PATH == 106
    folder = Path(tempfile.mkdtemp(prefix="sl-", dir="/tmp"))  # noqa: S108 (private, removed afterwards)
    try:
        fits = folder / ("s" * (105 - len(os.fsencode(folder))))
        longer = Path(f"{fits}x")
        assert (len(os.fsencode(fits)), len(os.fsencode(longer))) == (106, 107)
        refused = Daemon(real_signal_cli_bin, tmp_path / "refused", socket_path=longer).start()
        try:
            assert refused.wait(START_TIMEOUT) == 3, refused.stderr
        finally:
            refused.kill()
        assert f"Failed to bind socket {longer}: Unix domain path too long" in refused.stderr
        assert not longer.exists()

        bound = Daemon(real_signal_cli_bin, tmp_path / "bound", socket_path=fits).start()
        try:
            bound.wait_until_accepting()
            assert bound.terminate() == 0, bound.stderr
        finally:
            bound.kill()
    finally:
        shutil.rmtree(folder)

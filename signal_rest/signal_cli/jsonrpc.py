"""JSON-RPC to the resident ``signal-cli daemon``: a :class:`~.commands.Command` sent as a request.

Each process keeps one connection to the daemon's Unix socket (SIGNAL_CLI.md §6). Requests on it
run concurrently in the daemon and are answered in completion order, so a reader thread hands each
answer to the call waiting for its id; a call that hangs blocks only its own caller, until its time
limit. Received-message notifications that the daemon also sends to every connection are skipped
(the daemon's stdout carries them into the inbox, see :mod:`signal_rest.receiving.supervisor`).

The answer is read the way a one-shot run's exit status and output are: each error code is the
exit code it stands for (-1 user error, -3 server or IO, -4 untrusted, -5 rate limit, -6 captcha
rejected, -32603 unexpected), and an error's ``data.response`` is what the CLI would have printed.
"""

import itertools
import json
import logging
import os
import socket
import threading
import time

from .errors import DaemonGone, DaemonUnavailable, SignalCliTimeout, UnexpectedError, UserError
from .results import result

log = logging.getLogger(__name__)

#: JSON-RPC error code -> the exit code of the same failure
EXIT_CODE_FOR_ERROR = {-1: 1, -3: 3, -4: 4, -5: 5, -6: 6, -32603: 2}
#: the protocol's own refusals: the request itself was malformed, which is a bug here, not the user's
_PROTOCOL_ERRORS = {-32700: "parse error", -32600: "invalid request", -32601: "unknown method"}


class Connection:
    """One connection to the daemon, with a reader thread matching answers to calls by id."""

    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(str(path))
            self.sock.settimeout(None)
        except OSError:
            self.sock.close()
            raise
        self.closed = False
        self._ids = itertools.count(1)
        self._pending = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="signal-cli-jsonrpc", daemon=True)
        self._reader.start()

    def call(self, request, timeout):
        """Send ``request`` (without an id) and return the answer, or raise when it does not come.

        Raises ``BrokenPipeError`` when the request could not be written at all (the daemon went
        away before it: safe to send again), :class:`DaemonGone` when the connection ended while
        the daemon had it, ``TimeoutError`` after ``timeout`` seconds.
        """
        waiter = {"event": threading.Event()}
        with self._lock:
            if self.closed:
                raise BrokenPipeError("the connection to signal-cli's daemon is closed")
            request_id = next(self._ids)
            self._pending[request_id] = waiter
        line = json.dumps({**request, "id": request_id}, separators=(",", ":")) + "\n"
        try:
            with self._write_lock:
                self.sock.sendall(line.encode("utf-8"))
        except OSError as exc:
            self._forget(request_id)
            self.close()
            raise BrokenPipeError(str(exc)) from None
        if not waiter["event"].wait(timeout):
            self._forget(request_id)
            raise TimeoutError
        if "answer" not in waiter:
            raise DaemonGone(
                "signal-cli's daemon stopped while it was handling the request; it is being restarted. "
                "The request may or may not have been carried out: check before you repeat it."
            )
        return waiter["answer"]

    def _forget(self, request_id):
        with self._lock:
            self._pending.pop(request_id, None)

    def _read(self):
        buffer = bytearray()
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while (end := buffer.find(b"\n")) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    self._answer(line)
        except OSError:
            pass
        finally:
            self.close()

    def _answer(self, line):
        if not line.strip():
            return
        try:
            answer = json.loads(line)
        except ValueError:
            log.warning("signal-cli's daemon wrote a line that is not JSON: %r", line[:300])
            return
        if not isinstance(answer, dict) or "id" not in answer:
            return  # a notification: a received message, also written to the daemon's stdout
        with self._lock:
            waiter = self._pending.pop(answer["id"], None)
        if waiter is not None:
            waiter["answer"] = answer
            waiter["event"].set()

    def close(self):
        """Close the connection; every call still waiting learns that the daemon is gone."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            waiting = list(self._pending.values())
            self._pending.clear()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for waiter in waiting:
            waiter["event"].set()


class Transport:
    """Sends commands to the daemon listening on ``socket_path``; ``describe()`` says why it is not
    there (the supervisor's status), for the 503 that answers while it starts or restarts."""

    def __init__(self, socket_path, *, describe=None, connect_timeout=5.0):
        self.socket_path = socket_path
        self.describe = describe or (lambda: None)
        self.connect_timeout = connect_timeout
        self._connection = None
        self._pid = None
        self._lock = threading.Lock()

    def _connect(self):
        with self._lock:
            if self._pid != os.getpid():
                # a forked worker must not share its parent's connection (nor its reader thread)
                self._connection, self._pid = None, os.getpid()
            if self._connection is None or self._connection.closed:
                try:
                    self._connection = Connection(self.socket_path, self.connect_timeout)
                except OSError as exc:
                    raise self.unavailable(exc) from None
            return self._connection

    def unavailable(self, exc=None):
        """The :class:`DaemonUnavailable` to raise now (the supervisor's account of the daemon)."""
        why = self.describe()
        if why is None:
            why = (
                "signal-cli's daemon is not running. In json-rpc mode `signal-rest daemon` must run beside "
                "the web server (`make run` starts both); check its log."
            )
        log.warning("signal-cli's daemon cannot be reached at %s (%s): %s", self.socket_path, exc, why)
        return DaemonUnavailable(why)

    def request(self, request, timeout):
        """Send one JSON-RPC request (a dict without id) and return the answer (a dict)."""
        for attempt in (1, 2):
            connection = self._connect()
            try:
                return connection.call(request, timeout)
            except BrokenPipeError:
                # not written at all: the daemon had restarted since the connection was made
                if attempt == 2:
                    raise self.unavailable() from None
        raise AssertionError("unreachable")

    def run(self, command, account, timeout):
        """Run ``command`` (for ``account``) in the daemon; its result, or the error it amounts to."""
        started = time.monotonic()
        label = ["json-rpc", command.method]
        try:
            answer = self.request(command.jsonrpc(account if command.account else None), timeout)
        except TimeoutError:
            log.warning("signal-cli's daemon did not answer %s within %ss", command.method, timeout)
            raise SignalCliTimeout(
                f"signal-cli did not finish within {timeout:g} seconds; the request was given up.", argv=label
            ) from None
        log.debug("signal-cli's daemon answered %s in %.3fs", command.method, time.monotonic() - started)
        return interpret(command, answer, account, label)

    def close(self):
        """Close this process's connection."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def interpret(command, answer, account, label):
    """What a JSON-RPC answer to ``command`` means: the result of the one-shot run it stands for."""
    error = answer.get("error")
    if error is None:
        value = answer.get("result")
        if command.output == "text":
            # only `version` has text output; its JSON-RPC result is {"version": "0.13.19"}
            return f"signal-cli {value.get('version')}" if isinstance(value, dict) else str(value)
        # a command that prints nothing answers {} over JSON-RPC
        return None if value in ({}, None) else value
    code = error.get("code")
    message = str(error.get("message") or "")
    data = error.get("data") or {}
    printed = data.get("response") if isinstance(data, dict) else None
    stdout = json.dumps(printed) if printed is not None else ""
    if code == -32602:
        # the account is not in the daemon, which is what "not registered" means on the command line
        who = account or "the account"
        return result(command, label, 1, stdout, f"User {who} is not registered. ({message})")
    if code == -32603 and "ClassCastException" in message:
        # signal-cli reads timestamps as Longs, and a JSON number below 2^31 arrives as an Integer
        raise UserError(
            "signal-cli's daemon takes a timestamp only from 2147483648 on (milliseconds since 1970): "
            "give the message's real timestamp.",
            argv=label,
            stderr=message,
        )
    if code in _PROTOCOL_ERRORS:
        log.error("signal-cli's daemon refused %s as a %s: %s", command.method, _PROTOCOL_ERRORS[code], message)
        raise UnexpectedError(
            f"signal-cli's daemon refused the request ({_PROTOCOL_ERRORS[code]}: {message}).",
            argv=label,
            stderr=message,
        )
    return result(command, label, EXIT_CODE_FOR_ERROR.get(code, 2), stdout, message)

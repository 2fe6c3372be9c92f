"""``daemon`` and ``jsonRpc``: signal-cli's JSON-RPC line protocol (SIGNAL_CLI.md §6, SIGNAL_CLI_0.14.md §6).

One JSON-RPC 2.0 message per line in, one JSON document per line out, on a Unix socket
(``daemon --socket``), a TCP socket (``daemon --tcp``) or stdin/stdout (``jsonRpc``).

* A request runs the handler of the subcommand of the same name, with its params mapped onto the
  handler's namespace the way ``JsonRpcNamespace`` does: dashed dest, then camelCase, then (lists)
  the plural; a single string for a list. Parser defaults and ``required`` are not applied; a
  value of the wrong Java type (a small integer where the code wants a Long) gives -32603.
* Every request runs in a thread of its own, so answers come in completion order; the state's
  delay and faults apply to the start and to each call (a fault's ``command`` is the method
  name; ``garbage`` writes its text on the line instead of an answer; ``kill_self`` kills the
  daemon mid-call). Each call appends a record to fake-log.jsonl like a run of that command,
  with ``jsonrpc: {method, id}`` and the daemon's pid.
* Multi-account mode (no ``-a``) loads every registered account; ``register``/``verify``,
  ``startLink``/``finishLink`` (the link trigger of ``link``) add one, with its receiver.
* The daemon holds the lock of every account it loaded for its whole life (taken before the
  handler runs, like every other command of the fake).
* Received messages: a receiver per loaded account takes the inbox one message at a time,
  acknowledges it (moves it to the account's ``msg_cache``), hands it to every handler (the
  daemon's stdout unless ``--no-receive-stdout``, every subscribed connection), then drops it
  from the cache and records the delivery (``FakeState.deliveries``). So a kill between the
  acknowledgement and the end of the handlers leaves it in the cache, and the next receiving
  process hands it out again (SIGNAL_CLI_0.14.md §6.6).
* SIGTERM/SIGINT: stop accepting, finish the calls in flight, remove the socket file, exit 0.
  A socket file left by a killed daemon makes the next ``daemon --socket`` on it exit 3.
"""

import errno
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback

from .argparse4j import BOOL, DOUBLE, INT, LONG, Group
from .envelopes import as_printed
from .errors import CommandError, FaultExit
from .handlers import HANDLERS
from .handlers.accounts import add_linked_account, link_uri, wait_for_scan
from .handlers.common import POLL_SECONDS
from .handlers.receive import delivery_record, plain_envelope, store_attachments
from .options import MULTI, PROVISIONING, REGISTRATION, commands_for
from .run import Run
from .state import append_log, dumps

#: CommandException exit code -> JSON-RPC error code (an UnexpectedErrorException, 2, is -32603)
_ERROR_CODES = {1: -1, 2: -32603, 3: -3, 4: -4, 5: -5, 6: -6}
#: methods only a multi-account daemon has (SIGNAL_CLI.md §6)
_MULTI_ONLY = ("register", "verify", "startLink", "finishLink", "listAccounts")
#: the typed params of the registration methods: any other key is refused with -32600
_TYPED_PARAMS = {
    "register": {"account", "voice", "captcha", "reregister"},
    "verify": {"account", "verificationCode", "pin"},
    "receive": {"account", "timeout", "maxMessages"},
}
_JAVA_TYPES = {
    bool: "Boolean",
    int: "Integer",
    float: "Double",
    str: "String",
    list: "ArrayList",
    dict: "LinkedHashMap",
}
_NODE_TYPES = {str: "STRING", int: "NUMBER", float: "NUMBER", bool: "BOOLEAN", type(None): "NULL"}
_NOTHING = object()
_CHANNELS = ("socket", "tcp")
#: the longest socket path sockaddr_un holds (108 bytes with the terminating NUL)
_MAX_SOCKET_PATH = 107
#: the longest one Java binds (the JDK keeps one more byte back): a longer one is exit 3
_JAVA_MAX_SOCKET_PATH = 106


class RpcError(Exception):
    """A JSON-RPC error response: *code*, *message* and ``data`` (None or ``{"response": …}``)."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _java_name(value):
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31:
        return "Long"
    return _JAVA_TYPES.get(type(value), "Object")


def _class_cast(value, wanted):
    found = _java_name(value)
    return RpcError(
        -32603,
        f"class java.lang.{found} cannot be cast to class java.lang.{wanted} (java.lang.{found} and "
        f"java.lang.{wanted} are in module java.base of loader 'bootstrap') (ClassCastException)",
    )


def _typed(arg, value):
    """One param value as the handler's namespace holds it, or the ClassCastException Java gives."""
    if arg.action == "store_true" or arg.type == BOOL:
        wanted = "Boolean"
        ok = isinstance(value, bool)
    elif arg.type == LONG:
        wanted = "Long"
        ok = _java_name(value) == "Long"
    elif arg.type == INT:
        wanted = "Integer"
        ok = _java_name(value) == "Integer"
    elif arg.type == DOUBLE:
        wanted = "Double"
        ok = isinstance(value, float)
    else:
        wanted = "String"
        ok = isinstance(value, str)
    if not ok:
        raise _class_cast(value, wanted)
    return value


def _camel_case(dest):
    first, *rest = dest.split("-")
    return first + "".join(part[0].upper() + part[1:].lower() for part in rest if part)


def _arguments(command):
    for item in command.args:
        yield from item.args if isinstance(item, Group) else [item]


def _rpc_message(message):
    """The message of a CommandException over JSON-RPC: a stack trace becomes ``<msg> (<Class>)``."""
    first = message.split("\n\tat ", 1)[0]
    if first != message and ": " in first:
        exception, text = first.split(": ", 1)
        return f"{text} ({exception.rsplit('.', 1)[-1]})"
    return message


class RpcCall(Run):
    """One JSON-RPC request run through a command handler: its result is kept, not printed."""

    def __init__(self, daemon, method, ns, account, request_id, params=None):
        super().__init__([], daemon.run.version)
        self.params = params
        self.daemon = daemon
        self.config_dir = daemon.run.config_dir
        self.verbose = daemon.run.verbose
        self.log_file = daemon.run.log_file
        self.ns = ns
        self.command = method
        self.account = account
        self.json = True
        self.start_logged = True
        self.request_id = request_id
        self.result = _NOTHING
        self.printed = []

    def emit(self, obj, plain=None):
        self.result = obj

    def out(self, text):
        self.printed.append(text)

    def err(self, text):
        self.stderr.append(text)
        self.daemon.run.err(text)

    def finish(self, code):
        """One record per call in fake-log.jsonl, shaped like a CLI run's, plus ``jsonrpc``."""
        record = self.log_record(code)
        record["jsonrpc"] = {"method": self.command, "id": self.request_id, "params": self.params}
        append_log(self.config_dir, record)


class Connection:
    """One client: a socket, or stdin/stdout for ``jsonRpc``. Writes are whole lines under a lock."""

    def __init__(self, daemon, reader, write, name, sock=None):
        self.daemon = daemon
        self.reader = reader
        self.write_bytes = write
        self.name = name
        self.sock = sock
        self.write_lock = threading.Lock()
        self.open = True
        # on-start and on-connection subscribe every connection to every receiving account
        self.auto_subscribed = daemon.mode != "manual"
        self.subscriptions = {}

    def send(self, obj):
        """Write one JSON line; False if the client is gone."""
        return self.send_raw(dumps(obj) + "\n")

    def send_raw(self, text):
        with self.write_lock:
            if not self.open:
                return False
            try:
                self.write_bytes(text.encode("utf-8"))
                return True
            except OSError:
                self.open = False
                return False

    def serve(self):
        """Read lines until EOF; each runs in a thread of its own."""
        try:
            for raw in self.reader:
                if self.daemon.stopping.is_set():
                    break
                self.daemon.spawn(self.handle_line, raw)
        except (OSError, ValueError):
            pass
        finally:
            self.daemon.disconnected(self)

    def handle_line(self, raw):
        text = raw.decode("utf-8", "replace")
        if not text.strip():
            self.send(_error_response(RpcError(-32700, "Empty input line"), None))
            return
        try:
            message = json.loads(text)
        except ValueError as e:
            detail = getattr(e, "msg", str(e))
            column = getattr(e, "colno", 1)
            self.send(
                _error_response(
                    RpcError(
                        -32700,
                        f"{detail}\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` "
                        f"disabled); line: 1, column: {column}]",
                    ),
                    None,
                )
            )
            return
        if isinstance(message, list):
            answers = [a for a in (self.daemon.answer(m, self) for m in message) if a is not None]
            if answers:
                self.send(answers)
            return
        answer = self.daemon.answer(message, self)
        if answer is not None:
            self.send(answer)

    def close(self):
        with self.write_lock:
            self.open = False
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


def _check_typed_params(method, params):
    """The methods whose params are a typed object refuse any other key with -32600."""
    for key in params:
        if key not in _TYPED_PARAMS[method]:
            raise RpcError(
                -32600,
                f'Unrecognized field "{key}" (class org.asamk.signal.commands.{method[0].upper()}{method[1:]}'
                "Command$Params), not marked as ignorable",
            )


def _error_response(error, request_id):
    return {
        "jsonrpc": "2.0",
        "error": {"code": error.code, "message": error.message, "data": error.data},
        "id": request_id,
    }


class Daemon:
    """The resident process: loaded accounts, connections, calls in flight, receivers."""

    def __init__(self, run, ns, stdout_handler):
        self.run = run
        self.ns = ns
        self.commands = commands_for(run.version)
        self.multi = run.account is None
        self.mode = ns.get("receive-mode") or "on-start"
        self.stdout_handler = stdout_handler
        self.ignore_attachments = bool(ns.get("ignore-attachments"))
        own = {arg.key for arg in _arguments(self.commands[run.command])}
        self.global_ns = {k: v for k, v in ns.items() if k not in own and k != "command"}
        state = run.state()
        accounts = state.get("accounts", {})
        if self.multi:
            # the run took every account's lock; the unregistered ones were skipped
            self.loaded = [n for n in sorted(accounts) if accounts[n].get("registered")]
            self.locked = set(accounts)
        else:
            self.loaded = [run.account]
            self.locked = {run.account}
        self.lock = threading.Lock()
        self.load_lock = threading.Lock()
        self.out_lock = threading.Lock()
        self.connections = []
        self.next_subscription = 0
        self.pending_links = set()
        self.stopping = threading.Event()
        self.idle = threading.Condition()
        self.in_flight = 0
        self.receivers = {}
        self.listeners = []
        self.socket_paths = []

    # -- calls ------------------------------------------------------------------

    def spawn(self, fn, *args):
        """Run *fn* in a thread counted as a call in flight."""
        with self.idle:
            self.in_flight += 1

        def body():
            try:
                fn(*args)
            finally:
                with self.idle:
                    self.in_flight -= 1
                    self.idle.notify_all()

        threading.Thread(target=body, daemon=True).start()

    def wait_idle(self):
        with self.idle:
            while self.in_flight:
                self.idle.wait(0.1)

    def answer(self, message, connection):
        """The response to one request (None for a notification)."""
        if not isinstance(message, dict):
            kind = _NODE_TYPES.get(type(message), "ARRAY")
            return _error_response(RpcError(-32600, f"unexpected type: {kind}"), None)
        request_id = message.get("id")
        try:
            if message.get("jsonrpc") != "2.0":
                raise RpcError(-32600, "only jsonrpc version 2.0 is supported")
            method = message.get("method")
            if not isinstance(method, str):
                raise RpcError(-32600, "method field must be set")
            params = message.get("params")
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise RpcError(-32600, f"unexpected type: {_NODE_TYPES.get(type(params), 'ARRAY')}")
            result = self.call(method, params, connection, request_id)
        except RpcError as e:
            return None if request_id is None else _error_response(e, request_id)
        except FaultExit as fault:
            # an injected fault: garbage on the line, or an exit code turned into an error
            if fault.stdout:
                connection.send_raw(fault.stdout)
            if fault.code == 0:
                return None
            error = RpcError(_ERROR_CODES.get(fault.code, -32603), _rpc_message(fault.stderr or ""))
            return None if request_id is None else _error_response(error, request_id)
        return None if request_id is None else {"jsonrpc": "2.0", "result": result, "id": request_id}

    def call(self, method, params, connection, request_id):
        if method in ("subscribeReceive", "unsubscribeReceive"):
            return self._subscription(method, params, connection)
        command = self.commands.get(method)
        multi_method = method in _MULTI_ONLY or (method == "version" and self.multi)
        if method in _MULTI_ONLY and not self.multi:
            raise RpcError(-32601, "Method not implemented")
        if method == "startLink":
            return self._start_link(params)
        if method == "finishLink":
            return self._finish_link(params, request_id)
        if command is None or command.kind == PROVISIONING or method in ("daemon", "jsonRpc"):
            raise RpcError(-32601, "Method not implemented")
        if method in _TYPED_PARAMS:
            _check_typed_params(method, params)
        if command.kind == REGISTRATION:
            account = self._registration_account(method, params)
            ns = self._namespace(method, command, params)
        elif multi_method or command.kind == MULTI:
            account, ns = None, self._namespace(method, command, params)
        else:
            account = self._account(params)
            ns = self._namespace(method, command, params)
        if method == "receive":
            return self._receive_call(account, params, request_id)
        return self._run_handler(method, ns, account, request_id, command.kind == REGISTRATION, params)

    def _run_handler(self, method, ns, account, request_id, registration=False, params=None):
        call = RpcCall(self, method, ns, account, request_id, params)
        code = 0
        try:
            call._begin(call.state())
            HANDLERS[method](call, ns)
        except CommandError as e:
            code = e.code
            data = None if call.result is _NOTHING else {"response": call.result}
            raise RpcError(_ERROR_CODES.get(e.code, -32603), _rpc_message(e.message), data)
        except FaultExit as fault:
            code = fault.code
            raise
        except RpcError:
            code = 2
            raise
        except Exception as e:  # the handler met a value the CLI parser would never give it
            code = 2
            self.run.err("fake signal-cli: JSON-RPC call failed:\n" + traceback.format_exc())
            raise RpcError(-32603, f"{e} ({'NullPointerException' if 'None' in str(e) else type(e).__name__})")
        finally:
            call.finish(code)
        if registration and method == "verify":
            self._loaded(account)
        return {} if call.result is _NOTHING else call.result

    # -- params and accounts ------------------------------------------------------

    def _namespace(self, method, command, params):
        """JsonRpcNamespace: dashed dest, camelCase dest, then (lists) the plural; no defaults."""
        ns = dict(self.global_ns, command=method)
        for arg in _arguments(command):
            camel = _camel_case(arg.key)
            is_list = arg.nargs in ("*", "+")
            names = [arg.key, camel] + ([camel + "s"] if is_list else [])
            value = next((params[n] for n in names if params.get(n) is not None), None)
            if value is None:
                ns[arg.key] = None
            elif is_list:
                ns[arg.key] = [_typed(arg, v) for v in (value if isinstance(value, list) else [value])]
            else:
                ns[arg.key] = _typed(arg, value)
        return ns

    def _account(self, params):
        """The account a local command runs on (single-account mode: the daemon's own)."""
        if not self.multi:
            return self.run.account
        account = params.get("account")
        with self.lock:
            loaded = list(self.loaded)
        if account is None:
            if len(loaded) == 1:
                return loaded[0]
            raise RpcError(-32602, "Method requires valid account parameter")
        if account in loaded:
            return account
        if self.run.at_least("0.13.20") and isinstance(account, str):
            # 0.13.20+: an account on disk is loaded on demand, without the "account added" hooks,
            # so no receiver hands out its messages (SIGNAL_CLI_0.14.md §6.7)
            entry = self.run.state().get("accounts", {}).get(account)
            if entry and entry.get("registered"):
                self._lock_account(account)
                with self.lock:
                    if account not in self.loaded:
                        self.loaded.append(account)
                return account
        raise RpcError(-32602, "Specified account does not exist")

    def _registration_account(self, method, params):
        if not self.multi:
            return self.run.account
        account = params.get("account")
        if not isinstance(account, str):
            text = "Method requires account parameter" if self.run.at_least("0.13.20") else None
            raise RpcError(-32602, text or "Method requires valid account parameter")
        self._lock_account(account)
        return account

    def _lock_account(self, account):
        with self.load_lock:
            if account not in self.locked:
                self.run._lock([account])
                self.locked.add(account)

    def _loaded(self, account):
        """An account added while running (verify, finishLink): loaded, with a receiver.

        From 0.14.4 (0.14.2 and 0.14.3 threw on this path) every connection then also gets a
        subscription for it, so in on-start/on-connection mode its messages arrive twice there:
        as the receive line and as ``{"subscription": N, "result": …}`` (SIGNAL_CLI_0.14.md §6.7).
        """
        with self.lock:
            if account not in self.loaded:
                self.loaded.append(account)
                if self.run.at_least("0.14.4"):
                    for connection in self.connections:
                        connection.subscriptions[self.next_subscription] = account
                        self.next_subscription += 1
        self.start_receiver(account)

    # -- linking --------------------------------------------------------------------

    def _start_link(self, params):
        uri = link_uri()
        with self.lock:
            self.pending_links.add(uri)
        return {"deviceLinkUri": uri}

    def _finish_link(self, params, request_id):
        uri = params.get("deviceLinkUri")
        with self.lock:
            known = uri in self.pending_links
            self.pending_links.discard(uri)
        if not known:
            raise RpcError(-1, "Unknown device link uri")
        call = RpcCall(self, "finishLink", dict(self.global_ns, command="finishLink"), None, request_id)
        code = 0
        try:
            number = wait_for_scan(call)
            call.account = number
            self._lock_account(number)
            add_linked_account(call, number, params.get("deviceName") or "cli")
        except CommandError as e:
            code = e.code
            raise RpcError(_ERROR_CODES.get(e.code, -32603), _rpc_message(e.message))
        finally:
            call.finish(code)
        self._loaded(number)
        return {"number": number}

    # -- receiving ------------------------------------------------------------------

    def _subscription(self, method, params, connection):
        if method == "subscribeReceive":
            account = self._account(params)
            with self.lock:
                number = self.next_subscription
                self.next_subscription += 1
                connection.subscriptions[number] = account
            self.start_receiver(account)
            return number
        number = params.get("subscription")
        with self.lock:
            if connection.subscriptions.pop(number, _NOTHING) is _NOTHING:
                raise RpcError(-1, "Unknown subscription id")
        return {}

    def _receive_call(self, account, params, request_id):
        """The receive method: only while the account is not receiving already."""
        if account in self.receivers and self._receiving(account):
            raise RpcError(-1, "Receive command cannot be used if messages are already being received.")
        timeout = params.get("timeout", 1.0)
        max_messages = params.get("maxMessages", -1)
        lines = []
        idle_since = time.monotonic()
        while max_messages is None or max_messages < 0 or len(lines) < max_messages:
            line = self._take(account, lambda line: [f"request {request_id}"])
            if line is not None:
                lines.append(line)
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= float(timeout or 0):
                break
            else:
                time.sleep(POLL_SECONDS)
        return lines

    def _receiving(self, account):
        if self.mode == "on-start":
            return True
        with self.lock:
            if self.mode == "on-connection":
                return any(c.open for c in self.connections)
            return any(account in c.subscriptions.values() for c in self.connections if c.open)

    def start_receiver(self, account):
        with self.lock:
            if account in self.receivers or self.stopping.is_set():
                return
            thread = threading.Thread(target=self._receive_loop, args=(account,), daemon=True)
            self.receivers[account] = thread
        thread.start()

    def _receive_loop(self, account):
        while not self.stopping.is_set():
            if not self._receiving(account) or self._take(account, self._hand_out) is None:
                self.stopping.wait(POLL_SECONDS)

    def _take(self, account, hand_out):
        """Acknowledge one message (inbox -> msg_cache), hand it out, then drop it from the cache."""

        def ack(state):
            acct = state.get("accounts", {}).get(account)
            if not acct:
                return None
            cache = acct.setdefault("msg_cache", [])
            if not cache:
                inbox = acct.get("inbox") or []
                if not inbox:
                    return None
                cache.append(inbox.pop(0))
            return cache[0]

        item = self.run.transact(ack)
        if item is None:
            return None
        line = as_printed(item, self.run.version, account)
        if not self.ignore_attachments:
            store_attachments(self.run.config_dir, item, line)
        handlers = hand_out(line)

        def done(state):
            cache = state["accounts"][account]["msg_cache"]
            if cache:
                cache.pop(0)
            state.setdefault("delivered", []).append(delivery_record(line, handlers, via=self.run.command))

        self.run.transact(done)
        return line

    def _hand_out(self, line):
        """Give *line* to every handler; a failing one is logged and skipped (no redelivery)."""
        reached = []
        if self.stdout_handler:
            text = dumps(line) + "\n" if self.run.json else plain_envelope(line)
            with self.out_lock:
                try:
                    sys.stdout.buffer.write(text.encode("utf-8"))
                    sys.stdout.buffer.flush()
                    reached.append("stdout")
                except OSError:
                    self.run.log("WARN", "ReceiveHelper", "Message handler failed, ignoring")
        with self.lock:
            connections = [c for c in self.connections if c.open]
        for connection in connections:
            notifications = []
            if connection.auto_subscribed:
                notifications.append(line)
            for number, account in list(connection.subscriptions.items()):
                if account == line["account"]:
                    notifications.append({"subscription": number, "result": line})
            for params in notifications:
                if connection.send({"jsonrpc": "2.0", "method": "receive", "params": params}):
                    reached.append(connection.name)
                else:
                    self.run.log("WARN", "ReceiveHelper", "Message handler failed, ignoring")
        return reached

    # -- connections and shutdown ---------------------------------------------------------

    def add_connection(self, connection):
        with self.lock:
            self.connections.append(connection)
        threading.Thread(target=connection.serve, daemon=True).start()

    def disconnected(self, connection):
        """The client stopped sending: it no longer counts for receiving (answers still go out)."""
        with self.lock:
            if connection in self.connections:
                self.connections.remove(connection)

    def listen(self):
        """Open every channel given; a socket file already there (or a port in use) is exit 3."""
        socket_path = self.ns.get("socket")
        if socket_path is not None:
            path = os.path.abspath(socket_path)
            if len(os.fsencode(path)) > _JAVA_MAX_SOCKET_PATH:
                raise CommandError(3, f"Failed to bind socket {path}: Unix domain path too long")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # bound and listening under a temporary name, then linked into place, so the socket
            # file appears only once connections are accepted; link() refuses an existing file.
            # A path too near sun_path's limit for the longer name is bound in place (bind() refuses
            # an existing file too)
            temporary = f"{path}.{os.getpid()}.tmp"
            if len(os.fsencode(temporary)) > _MAX_SOCKET_PATH:
                temporary = None
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(temporary or path)
                server.listen(16)
                if temporary:
                    os.link(temporary, path)
            except OSError as e:
                server.close()
                code = errno.EADDRINUSE if e.errno == errno.EEXIST else e.errno
                raise CommandError(3, f"Failed to bind socket {path}: {os.strerror(code or errno.EADDRINUSE)}")
            finally:
                if temporary and os.path.lexists(temporary):
                    os.remove(temporary)
            self.socket_paths.append(path)
            self._accept_on(server, f"Listening on socket: {path}")
        tcp = self.ns.get("tcp")
        if tcp is not None:
            host, _, port = tcp.rpartition(":")
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                server.bind((host or "localhost", int(port)))
            except (OSError, ValueError) as e:
                server.close()
                raise CommandError(3, f"Failed to bind to {tcp}: {e}")
            self._accept_on(server, f"Listening on tcp socket: {tcp}")
        if not self.listeners:
            raise CommandError(2, "fake signal-cli: daemon --http and --dbus are not implemented by this fake")

    def _accept_on(self, server, message):
        server.listen(16)
        server.settimeout(0.2)
        self.listeners.append(server)
        self.run.log("INFO", "DaemonCommand", message)
        threading.Thread(target=self._accept_loop, args=(server,), daemon=True).start()

    def _accept_loop(self, server):
        count = 0
        while not self.stopping.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            count += 1
            reader = client.makefile("rb")
            self.add_connection(Connection(self, reader, client.sendall, f"connection {count}", sock=client))

    def start_receiving(self):
        if self.mode in ("on-start", "on-connection"):
            for account in list(self.loaded):
                self.start_receiver(account)

    def handle_signals(self):
        """From now on SIGTERM/SIGINT shut the daemon down (installed before any channel opens)."""

        def on_signal(signum, frame):
            if not self.stopping.is_set():
                name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
                self.run.log("INFO", "Shutdown", f"Received {name} signal, shutting down ...")
                self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def wait_for_stop(self):
        """Block the main thread (where signals arrive) until SIGTERM/SIGINT or the end of stdin."""
        while not self.stopping.wait(0.1):
            pass

    def shut_down(self):
        """Stop accepting, finish the calls in flight, stop the receivers, remove the socket files."""
        self.stopping.set()
        for server in self.listeners:
            server.close()
        self.wait_idle()
        for thread in list(self.receivers.values()):
            thread.join()
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            connection.close()
        for path in self.socket_paths:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


def serve_daemon(run, ns):
    """``daemon``: serve until SIGTERM/SIGINT, then exit 0."""
    daemon = Daemon(run, ns, stdout_handler=not ns.get("no-receive-stdout"))
    daemon.handle_signals()
    daemon.listen()
    daemon.start_receiving()
    try:
        daemon.wait_for_stop()
    finally:
        daemon.shut_down()
    return 0


def serve_json_rpc(run, ns):
    """``jsonRpc``: one connection on stdin/stdout; EOF finishes the calls in flight and exits 0."""
    daemon = Daemon(run, ns, stdout_handler=False)
    daemon.handle_signals()

    def write(data):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    connection = Connection(daemon, sys.stdin.buffer, write, "stdout")
    original_disconnected = daemon.disconnected

    def at_eof(conn):
        original_disconnected(conn)
        daemon.stopping.set()

    daemon.disconnected = at_eof
    with daemon.lock:
        daemon.connections.append(connection)
    daemon.start_receiving()
    threading.Thread(target=connection.serve, daemon=True).start()
    try:
        daemon.wait_for_stop()
    finally:
        # the answers still to come go to stdout, so keep the connection open until they are out
        daemon.wait_idle()
        daemon.shut_down()
    return 0

"""Push receive: the inbox streamed to websocket and Server-Sent-Events clients as messages arrive.

A push client reads the inbox by id and takes nothing from the pollers of ``GET /v1/receive``: a
bot on the websocket and Home Assistant polling both get every message. A client that names no
``since`` starts after the account's push cursor (the last envelope written to any push client
of the account), so what arrives while no client is connected waits for the next one.

Waiting costs no SQLite query per connection: one :class:`InboxWatcher` per process looks at the
inbox's newest id while anyone waits and wakes the waiters. :class:`PushSlots` bounds the push
connections of a process, which get threads of their own beside the REST threads (see
:mod:`signal_rest.gunicorn_conf`).
"""

import contextlib
import socket
import threading
import time
import weakref

#: how many envelopes one read of the inbox hands a push client at most
BATCH = 100
#: seconds a push loop waits on the watcher before it looks whether its client is still there
CHECK_INTERVAL = 1.0
#: the key added to each frame: the envelope's id in the inbox (what ``since`` takes)
ID_KEY = "inbox_id"


def frame(envelope_id, line):
    """The line signal-cli wrote, unchanged but for the inbox id added as the first key."""
    text = line.strip()
    if not text.startswith("{"):
        return text
    rest = text[1:].lstrip()
    separator = "" if rest.startswith("}") else ","
    return f'{{"{ID_KEY}":{envelope_id}{separator}{rest}'


class InboxWatcher:
    """Wakes the push clients of one process when the inbox has something new.

    While anyone waits, one thread asks the inbox for its newest id every ``interval`` seconds;
    with nobody waiting it sleeps. :meth:`close` ends every wait (the worker stops).
    """

    def __init__(self, inbox, interval=0.05):
        self.inbox = inbox
        self.interval = interval
        self._condition = threading.Condition()
        self._newest = None
        self._waiters = 0
        self._closed = False
        self._thread = None

    @property
    def closed(self):
        """Whether :meth:`close` was called."""
        return self._closed

    def wait(self, seen, timeout):
        """Wait up to ``timeout`` seconds for an envelope newer than id ``seen``; returns whether
        there may be one (False: the time passed, or the watcher was closed)."""
        with self._condition:
            if self._closed:
                return False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-watcher", daemon=True)
                self._thread.start()
            self._waiters += 1
            self._condition.notify_all()
            try:
                return (
                    self._condition.wait_for(
                        lambda: self._closed or (self._newest is not None and self._newest > seen), timeout
                    )
                    and not self._closed
                )
            finally:
                self._waiters -= 1

    def close(self):
        """End every wait now and stop the thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _run(self):
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._waiters or self._closed)
                if self._closed:
                    return
            newest = self.inbox.last_id()
            with self._condition:
                if self._newest is None or newest > self._newest:
                    self._newest = newest
                    self._condition.notify_all()
            time.sleep(self.interval)


class PushError(Exception):
    """Raised when a push connection cannot be opened (the error table gives each its status)."""


class NotServed(PushError):
    """Raised when nothing receives in the background, so there is nothing to push."""


class UnknownAccount(PushError):
    """Raised when a push client asks for an account that is not in the config dir."""


class PushFull(PushError):
    """Raised when every push connection of this process is taken."""


class PushSlots:
    """At most ``size`` push connections at once in this process."""

    def __init__(self, size):
        self.size = size
        self._lock = threading.Lock()
        self.in_use = 0

    def take(self):
        """Take a slot; returns the function that gives it back (idempotent). Raises PushFull."""
        with self._lock:
            if self.in_use >= self.size:
                raise PushFull(f"All {self.size} push connections of this worker are in use; try again later.")
            self.in_use += 1
        given_back = threading.Event()

        def give_back():
            with self._lock:
                if not given_back.is_set():
                    given_back.set()
                    self.in_use -= 1

        return give_back


class KnownAccounts:
    """The accounts of the config dir, asked again when one is not among them (at most every
    ``refresh`` seconds)."""

    def __init__(self, list_accounts, refresh=10.0):
        self.list_accounts = list_accounts
        self.refresh = refresh
        self._accounts = frozenset()
        self._asked_at = None
        self._lock = threading.Lock()

    def __contains__(self, account):
        with self._lock:
            stale = self._asked_at is None or time.monotonic() - self._asked_at > self.refresh
            if account not in self._accounts and stale:
                self._accounts = frozenset(self.list_accounts())
                self._asked_at = time.monotonic()
            return account in self._accounts


def start_after(inbox, account, since):
    """Where a push client starts: after ``since`` if it named one, else after the push cursor."""
    return inbox.push_cursor(account) if since is None else since


def stream(inbox, watcher, account, after, still_there, keepalive):
    """The envelopes of ``account`` after id ``after`` as (id, line), oldest first, as they arrive;
    None after ``keepalive`` seconds without one. Ends when ``still_there()`` turns false or the
    watcher is closed. The caller records what it wrote with ``inbox.pushed``."""
    while still_there() and not watcher.closed:
        mark = inbox.last_id()
        rows = inbox.read_after(account, after, BATCH)
        for row in rows:
            yield row
            after = row[0]
        if rows:
            continue
        quiet_until = time.monotonic() + keepalive
        while not watcher.wait(mark, min(CHECK_INTERVAL, max(0.0, quiet_until - time.monotonic()))):
            if not still_there() or watcher.closed:
                return
            if time.monotonic() >= quiet_until:
                yield None
                quiet_until = time.monotonic() + keepalive


class BoundedSendSocket:
    """A connected socket whose sends go out whole, one at a time, and give up after ``timeout``
    seconds without progress (a client that does not read is dropped, not waited for forever).

    simple-websocket writes from two threads (the frames, and its reader's pongs and pings) with
    ``send``; here both become ``sendall`` under one lock, so frames never interleave. The kernel's
    send buffer is kept at ``buffer`` bytes, which bounds what waits for a client that stopped reading.
    """

    def __init__(self, sock, timeout, buffer=65536):
        self._sock = sock
        self._lock = threading.Lock()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
        sock.settimeout(timeout)

    def send(self, data):
        """Send all of ``data`` (OSError, e.g. TimeoutError, if the client does not take it)."""
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    sendall = send

    def shutdown_quietly(self):
        """Shut the connection down (waking any thread blocked on it); errors of a dead one ignored."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name):
        return getattr(self._sock, name)


#: every PushService of this process, for :func:`close_all`
_SERVICES = weakref.WeakSet()


def close_all():
    """End the push sessions of every PushService of this process (the worker stops)."""
    for service in list(_SERVICES):
        service.close()


class PushService:
    """The push side of one process: its watcher, its connection slots, and the sessions.

    ``connections``: push connections at once in this process; ``keepalive``: seconds between two
    keep-alives (websocket pings, SSE comments); ``send_timeout``: seconds a send may make no
    progress before the client is dropped.
    """

    def __init__(self, inbox, list_accounts, *, connections, keepalive, send_timeout, interval=0.05):
        self.inbox = inbox
        self.watcher = InboxWatcher(inbox, interval)
        self.slots = PushSlots(connections)
        self.accounts = KnownAccounts(list_accounts)
        self.keepalive = keepalive
        self.send_timeout = send_timeout
        _SERVICES.add(self)

    def open(self, account, receiving):
        """Check that push can be served for ``account`` (``receiving``: something fills the inbox
        on its own) and take a slot; returns the function that gives it back.

        Raises NotServed, UnknownAccount or PushFull.
        """
        if not receiving:
            raise NotServed(
                "Push receive needs something that receives on its own: json-rpc mode, or the receiver "
                "(SIGNAL_REST_RECEIVER=true). Poll GET /v1/receive instead."
            )
        if account not in self.accounts:
            raise UnknownAccount(f"{account} is not an account of this service.")
        return self.slots.take()

    def close(self):
        """End every push session of this process (the worker stops)."""
        self.watcher.close()

    def serve_websocket(self, environ, account, since, release):
        """Upgrade the request of ``environ`` and stream ``account``'s envelopes to it until the client
        goes, then give the slot back with ``release``. Returns what the server must be told
        (simple-websocket's mode: "gunicorn", "werkzeug", …)."""
        import simple_websocket  # imported here: only a push connection needs it

        environ = dict(environ)
        key = "werkzeug.socket" if "werkzeug.socket" in environ else "gunicorn.socket"
        sock = BoundedSendSocket(environ[key], self.send_timeout)
        environ[key] = sock
        try:
            # where the client starts is fixed before it is told it is connected: a message stored
            # once its handshake is done reaches it, even if another client took it a moment before
            after = start_after(self.inbox, account, since)
            ws = simple_websocket.Server(environ, ping_interval=self.keepalive, max_message_size=65536)
        except BaseException:
            release()
            raise
        try:
            self._push(ws, account, after)
        except (OSError, simple_websocket.ConnectionClosed):
            pass
        finally:
            self._close(ws, sock)
            release()
        return ws.mode

    def _push(self, ws, account, after):
        def still_there():
            # what the client sends is not asked for: read and dropped, so it cannot pile up
            while ws.connected and ws.receive(timeout=0) is not None:
                pass
            return ws.connected and ws.thread.is_alive()

        for row in stream(self.inbox, self.watcher, account, after, still_there, self.keepalive):
            if row is not None:
                ws.send(frame(*row))
                self.inbox.pushed(account, row[0])
        if ws.connected and self.watcher.closed:
            ws.close(1001, "The service is restarting; reconnect with since.")

    @staticmethod
    def _close(ws, sock):
        """Close the websocket and make sure its reader thread (and so its socket) is gone."""
        with contextlib.suppress(Exception):
            if ws.connected:
                ws.close()
        ws.thread.join(1.0)
        if ws.thread.is_alive():
            sock.shutdown_quietly()
            ws.thread.join()

    def events(self, account, since, release, sock=None):
        """The Server-Sent Events of ``account`` after ``since`` (bytes chunks); gives the slot back
        with ``release`` when the response is closed. ``sock``, the client's socket, gets the send
        timeout, so a client that does not read is dropped."""
        if sock is not None:
            BoundedSendSocket(sock, self.send_timeout)
        after = start_after(self.inbox, account, since)

        def chunks():
            # the first chunk goes out at once, so that the client sees the stream open
            yield b": signal_rest events\n\n"
            for row in stream(self.inbox, self.watcher, account, after, lambda: True, self.keepalive):
                if row is None:
                    yield b": keep-alive\n\n"
                    continue
                envelope_id, line = row
                yield f"id: {envelope_id}\nevent: message\ndata: {frame(envelope_id, line)}\n\n".encode()
                self.inbox.pushed(account, envelope_id)

        return _Closing(chunks(), release)


class _Closing:
    """An iterable that calls ``on_close`` when the server closes it, started or not."""

    def __init__(self, iterator, on_close):
        self._iterator = iterator
        self._on_close = on_close

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iterator)

    def close(self):
        """Close the iterator, then call ``on_close``."""
        try:
            self._iterator.close()
        finally:
            self._on_close()

"""A live HTTP server for tests that drive real clients: a WSGI app on 127.0.0.1, in a thread.

:class:`LiveServer` serves an app (werkzeug's threaded development server) on a free loopback port
for as long as its ``with`` block runs. :class:`Recorder` is a WSGI middleware that keeps every
exchange (request and answer, byte for byte), so a test can see what a client library really sent
and what the service answered, even when the library hides the answer.
"""

import io
import threading
from dataclasses import dataclass, field

from werkzeug.serving import make_server

LOOPBACK = "127.0.0.1"


@dataclass
class Exchange:
    """One request that reached the app and the answer it got."""

    method: str
    path: str
    query: str
    headers: dict
    body: bytes
    status: int = None
    response_headers: dict = field(default_factory=dict)
    response_body: bytes = b""


class Recorder:
    """WSGI middleware that records each :class:`Exchange` in ``exchanges`` (oldest first)."""

    def __init__(self, app):
        self.app = app
        self.exchanges = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
            body = environ["wsgi.input"].read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {
            key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        exchange = Exchange(
            environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), headers, body
        )

        def recording_start_response(status, response_headers, exc_info=None):
            exchange.status = int(status.split(" ", 1)[0])
            exchange.response_headers = dict(response_headers)
            return start_response(status, response_headers, exc_info)

        result = self.app(environ, recording_start_response)
        try:
            exchange.response_body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        with self._lock:
            self.exchanges.append(exchange)
        return [exchange.response_body]

    def clear(self):
        """Forget the exchanges recorded so far."""
        with self._lock:
            self.exchanges.clear()


class LiveServer:
    """Serve ``app`` on a free port of 127.0.0.1 in a background thread, inside a ``with`` block."""

    def __init__(self, app):
        self._server = make_server(LOOPBACK, 0, app, threaded=True)
        self.host = LOOPBACK
        self.port = self._server.server_port
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"live-server-{self.port}",
            daemon=True,
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

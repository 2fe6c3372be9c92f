"""What the tests of the receiver and of the webhooks share: an app with the receiver on, messages
queued in the fake signal-cli, waiting for a condition, and a webhook target on 127.0.0.1.
"""

import hashlib
import hmac
import http.server
import json
import threading
import time
from pathlib import Path

import conftest
from fake_signal_cli import message_line

from signal_rest import create_app
from signal_rest.receiving import webhooks

ACCOUNT = conftest.ACCOUNT
OTHER_ACCOUNT = "+4915199999999"
SENDER = "+4915100000001"
SECRET = "webhook-secret"
ROOT = Path(__file__).resolve().parent.parent


class WebhookTarget:
    """A webhook receiver on 127.0.0.1 that records every POST; it can be switched down (503)."""

    def __init__(self):
        self.received = []
        self.down = False
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if target.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                with target.lock:
                    target.received.append(
                        {
                            "delivery": self.headers[webhooks.DELIVERY_HEADER],
                            "signature": self.headers[webhooks.SIGNATURE_HEADER],
                            "body": body,
                            "path": self.path,
                        }
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def messages(self):
        """(delivery id, account, message text) of every POST, in arrival order."""
        with self.lock:
            items = list(self.received)
        result = []
        for item in items:
            line = json.loads(item["body"])
            result.append((item["delivery"], line["account"], line["envelope"]["dataMessage"]["message"]))
        return result

    def close(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def queue_texts(fake, account, count, prefix):
    """Queue ``count`` text messages ``<prefix>-<n>`` from SENDER for ``account``; returns their texts."""
    texts = [f"{prefix}-{index}" for index in range(count)]
    fake.queue_messages(
        account, [message_line(account, SENDER, text, timestamp=10_000 + i) for i, text in enumerate(texts)]
    )
    return texts


def receiver_app(fake_bin, config_dir, target=None, **extra):
    """An app with the receiver on (short interval and window) for ACCOUNT, POSTing to ``target``."""
    settings = {
        "SIGNAL_CLI_BIN": str(fake_bin),
        "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
        "SIGNAL_CLI_CMD_TIMEOUT": 20,
        "SIGNAL_CLI_LOCK_TIMEOUT": 20,
        "SIGNAL_REST_RECEIVER": True,
        "SIGNAL_REST_RECEIVE_INTERVAL": 0.05,
        "SIGNAL_REST_RECEIVE_WINDOW": 0.2,
        "SIGNAL_REST_RECEIVE_MAX_MESSAGES": 5,
        "SIGNAL_REST_RECEIVE_ACCOUNTS": ACCOUNT,
    }
    if target is not None:
        settings["SIGNAL_REST_WEBHOOKS"] = json.dumps([{"url": target.url, "secret": SECRET}])
    settings.update(extra)
    return create_app(settings)


def wait_for(condition, timeout, what):
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def valid_signature(item):
    """Whether a POST the target recorded carries the signature of its body with SECRET."""
    expected = "sha256=" + hmac.new(SECRET.encode(), item["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, item["signature"])

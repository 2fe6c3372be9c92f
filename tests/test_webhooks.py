"""Webhooks: their settings, signatures and back-off, and every received envelope delivered in order.

The webhook target is a real HTTP server on 127.0.0.1; the receiver runs in a thread where a test
needs envelopes to arrive through it.
"""

import base64
import http.server
import json
import textwrap
import threading
import time
import urllib.parse

import pytest
from fake_signal_cli import message_line
from receiving_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    ROOT,
    SECRET,
    SENDER,
    WebhookTarget,
    queue_texts,
    receiver_app,
    valid_signature,
    wait_for,
)

from signal_rest.receiving import webhooks
from signal_rest.receiving.inbox import Inbox


@pytest.fixture
def target():
    with WebhookTarget() as server:
        yield server


def test_webhook_settings(monkeypatch):
    hooks = webhooks.load_webhooks(
        {
            "SIGNAL_REST_WEBHOOK_URL": "http://127.0.0.1:1/all",
            "SIGNAL_REST_WEBHOOK_SECRET": "s",
            "SIGNAL_REST_WEBHOOKS": json.dumps(
                [{"url": "https://ha.local/api/webhook/x", "accounts": [ACCOUNT], "kinds": ["data", "reaction"]}]
            ),
        }
    )
    assert [h.url for h in hooks] == ["http://127.0.0.1:1/all", "https://ha.local/api/webhook/x"]
    assert hooks[0].wants(OTHER_ACCOUNT, "typing")
    assert hooks[1].wants(ACCOUNT, "reaction") and not hooks[1].wants(ACCOUNT, "typing")
    assert not hooks[1].wants(OTHER_ACCOUNT, "data")
    assert hooks[1].secret == "s"


@pytest.mark.parametrize(
    "raw",
    ["not json", '{"url": "x"}', '[{"no": "url"}]', '[{"url": "ftp://x"}]', '[{"url": "http://x", "kinds": ["nope"]}]'],
)
def test_bad_webhook_settings_are_refused(raw):
    with pytest.raises(ValueError, match="SIGNAL_REST_WEBHOOKS|Webhook"):
        webhooks.load_webhooks({"SIGNAL_REST_WEBHOOKS": raw})


def test_backoff_grows_with_jitter_and_a_cap():
    first = [webhooks.backoff(1) for _ in range(50)]
    assert min(first) >= webhooks.BASE_BACKOFF * 0.5 and max(first) <= webhooks.BASE_BACKOFF * 1.5
    assert len(set(first)) > 1
    assert webhooks.backoff(3) > webhooks.BASE_BACKOFF
    assert webhooks.backoff(50) <= webhooks.MAX_BACKOFF * 1.5


def test_signature_check_from_the_readme():
    body = json.dumps({"envelope": {"source": SENDER}, "account": ACCOUNT}).encode()
    header = webhooks.signature(SECRET, body)
    namespace = {}
    readme = (ROOT / "README.rst").read_text("utf-8")
    block = []
    for line in readme.split(".. code-block:: python", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    exec(textwrap.dedent("\n".join(block)), namespace)
    assert namespace["is_genuine"](body, header, SECRET)
    assert not namespace["is_genuine"](body + b" ", header, SECRET)


def test_webhook_down_then_up_gets_everything_in_order_and_signed(fake_bin, config_dir, fake, target, monkeypatch):
    monkeypatch.setattr(webhooks, "BASE_BACKOFF", 0.1)
    fake.add_account(OTHER_ACCOUNT)
    texts = {ACCOUNT: queue_texts(fake, ACCOUNT, 12, "a"), OTHER_ACCOUNT: queue_texts(fake, OTHER_ACCOUNT, 8, "b")}
    target.down = True
    app = receiver_app(fake_bin, config_dir, target, SIGNAL_REST_RECEIVE_ACCOUNTS=f"{ACCOUNT},{OTHER_ACCOUNT}")
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        client = app.test_client()
        wait_for(lambda: client.get(f"/v1/receive/{ACCOUNT}/status").json["webhooks"][0]["last_error"], 10, "a failure")
        status = client.get(f"/v1/receive/{ACCOUNT}/status").json
        assert status["webhooks"][0]["pending"] > 0 and "503" in status["webhooks"][0]["last_error"]
        target.down = False
        wait_for(lambda: len({m[2] for m in target.messages()}) == 20, 20, "every envelope at the webhook")
    finally:
        receiver.stop()
        thread.join()
    for account, expected in texts.items():
        first_arrivals = []
        for _, owner, text in target.messages():
            if owner == account and text not in first_arrivals:
                first_arrivals.append(text)
        assert first_arrivals == expected, f"order of {account}"
    assert all(valid_signature(item) for item in target.received)
    assert client.get(f"/v1/receive/{ACCOUNT}/status").json["webhooks"][0]["pending"] == 0


def test_kinds_filter_what_a_webhook_gets(fake_bin, config_dir, fake, target):
    lines = [
        message_line(ACCOUNT, SENDER, "text", timestamp=1),
        {
            "envelope": {"source": SENDER, "timestamp": 2, "typingMessage": {"action": "STARTED", "timestamp": 2}},
            "account": ACCOUNT,
        },
    ]
    fake.queue_messages(ACCOUNT, lines)
    app = receiver_app(
        fake_bin,
        config_dir,
        SIGNAL_REST_WEBHOOKS=json.dumps([{"url": target.url, "secret": SECRET, "kinds": ["data"]}]),
    )
    receiver = app.extensions["signal_rest.receiver"]
    thread = threading.Thread(target=receiver.run)
    thread.start()
    try:
        wait_for(lambda: len(target.received) == 1, 10, "the data message")
        wait_for(lambda: fake.inbox(ACCOUNT) == [], 10, "the typing message to be received")
        time.sleep(0.3)
    finally:
        receiver.stop()
        thread.join()
    assert [m[2] for m in target.messages()] == ["text"]
    assert len(app.test_client().get(f"/v1/receive/{ACCOUNT}?timeout=0").json) == 2


def test_a_delivery_failing_past_its_age_is_given_up_and_the_next_one_goes(tmp_path, target):
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: [target.url])
    deliverer = webhooks.Deliverer(inbox, [webhooks.Webhook(target.url, SECRET)], max_age=0.0)
    first, second = (json.dumps(message_line(ACCOUNT, SENDER, text, timestamp=n)) for n, text in ((1, "x"), (2, "y")))
    inbox.store(ACCOUNT, first)
    target.down = True
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    status = inbox.status(ACCOUNT, [target.url])
    assert status["abandoned_deliveries"] == 1
    assert status["webhooks"][0]["pending"] == 0 and "503" in status["webhooks"][0]["last_error"]
    # giving one up does not block the envelopes behind it
    target.down = False
    inbox.store(ACCOUNT, second)
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    assert [text for _, _, text in target.messages()] == ["y"]
    assert inbox.status(ACCOUNT, [target.url])["webhooks"][0]["last_delivered_at"] is not None


def test_a_delivery_to_a_webhook_no_longer_configured_is_given_up(tmp_path, target):
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: ["http://127.0.0.1:9/gone"])
    inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, SENDER, "x", timestamp=1)))
    deliverer = webhooks.Deliverer(inbox, [webhooks.Webhook(target.url, SECRET)])
    (row,) = inbox.due_deliveries()
    deliverer.attempt(row)
    assert inbox.status(ACCOUNT)["abandoned_deliveries"] == 1
    assert inbox.due_deliveries() == []
    assert target.received == []


def test_one_filter_says_which_webhooks_take_an_account_and_kind():
    hooks = [
        webhooks.Webhook("http://127.0.0.1:1/all"),
        webhooks.Webhook("http://127.0.0.1:1/data", kinds=frozenset({"data"})),
        webhooks.Webhook("http://127.0.0.1:1/other", accounts=frozenset({OTHER_ACCOUNT})),
    ]
    assert webhooks.targets(hooks, ACCOUNT, "data") == ["http://127.0.0.1:1/all", "http://127.0.0.1:1/data"]
    assert webhooks.targets(hooks, ACCOUNT, "typing") == ["http://127.0.0.1:1/all"]
    # without a kind: every webhook that takes the account (the status view, the receiver's log line)
    assert webhooks.targets(hooks, ACCOUNT) == ["http://127.0.0.1:1/all", "http://127.0.0.1:1/data"]
    assert webhooks.targets(hooks, OTHER_ACCOUNT, "typing") == ["http://127.0.0.1:1/all", "http://127.0.0.1:1/other"]
    assert webhooks.targets([], ACCOUNT) == []


# --- receivers that authenticate: headers, user info, and Activepieces' Catch Webhook -----------


def test_webhook_headers_and_user_info_settings():
    (hook,) = webhooks.load_webhooks(
        {
            "SIGNAL_REST_WEBHOOKS": json.dumps(
                [{"url": "https://flow:p%40ss@ap.local/api/v1/webhooks/F1", "headers": {"X-Flow-Token": "t0k"}}]
            )
        }
    )
    assert hook.safe_url == "https://ap.local/api/v1/webhooks/F1"
    assert hook.request_headers() == {"X-Flow-Token": "t0k", "Authorization": "Basic ZmxvdzpwQHNz"}
    assert webhooks.masked_url(hook.url) == "https://flow:••••••@ap.local/api/v1/webhooks/F1"


@pytest.mark.parametrize(
    ("url", "shown", "credentials"),
    [
        ("https://flow:secret@ap.local/x", "https://flow:••••••@ap.local/x", "flow:secret"),
        # a user name alone (a token) is sent too, so it is as secret as a password
        ("https://t0ken@ap.local/x", "https://••••••@ap.local/x", "t0ken:"),
        ("https://flow:@ap.local/x", "https://flow:••••••@ap.local/x", "flow:"),
        ("https://ap.local/x?to=a@b", "https://ap.local/x?to=a@b", None),
    ],
)
def test_whatever_the_url_sends_as_credentials_is_masked(url, shown, credentials):
    (hook,) = webhooks.load_webhooks({"SIGNAL_REST_WEBHOOKS": json.dumps([{"url": url}])})
    assert webhooks.masked_url(url) == shown
    sent = hook.request_headers().get("Authorization")
    assert sent == (None if credentials is None else "Basic " + base64.b64encode(credentials.encode()).decode())
    assert hook.safe_url == url if credentials is None else hook.safe_url == "https://ap.local/x"


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ([["X-A", "b"]], "JSON object"),
        ({"X A": "b"}, "letters, digits"),
        ({"X-A": "b\r\nX-Forged: 1"}, "without line breaks"),
        ({"X-A": 5}, "without line breaks"),
        ({"Content-Type": "text/plain"}, "set by the service"),
        ({"x-signal-rest-signature": "forged"}, "set by the service"),
    ],
)
def test_bad_webhook_headers_are_refused(headers, fragment):
    with pytest.raises(ValueError, match=fragment):
        webhooks.load_webhooks({"SIGNAL_REST_WEBHOOKS": json.dumps([{"url": "http://x", "headers": headers}])})


def test_a_webhook_password_is_never_shown(tmp_path, target, caplog):
    with pytest.raises(ValueError, match="must start with") as refused:
        webhooks.load_webhooks({"SIGNAL_REST_WEBHOOKS": json.dumps([{"url": "ftp://flow:s3cret@x/"}])})
    assert "s3cret" not in str(refused.value)
    url = target.url.replace("http://", "http://flow:s3cret@")
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: [url])
    deliverer = webhooks.Deliverer(inbox, [webhooks.Webhook(url, SECRET)])
    inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, SENDER, "x")))
    target.down = True
    (row,) = inbox.due_deliveries()
    with caplog.at_level("DEBUG", logger="signal_rest"):
        deliverer.attempt(row)
    assert "flow:••••••@" in caplog.text and "s3cret" not in caplog.text


class ActivepiecesCatchWebhook:
    """A replay of Activepieces' Catch Webhook trigger (pieces/community/webhook, catch-hook.ts) behind
    its webhook endpoint ``/api/v1/webhooks/{flowId}``: the endpoint answers every request at once;
    the trigger builds its payload ``{method, headers (lower-case names), body, queryParams}`` and,
    if the request passes the flow's authentication (none, Basic: ``username``/``password``, or
    Header: ``headerName``/``headerValue``), the flow runs with that payload; otherwise it does not."""

    def __init__(self, flow_id, auth_type, auth_fields):
        self.flow_id, self.auth_type, self.auth_fields = flow_id, auth_type, auth_fields
        self.runs, self.refused = [], 0
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path, _, query = self.path.partition("?")
                self.send_response(200 if path == f"/api/v1/webhooks/{hook.flow_id}" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")
                if path == f"/api/v1/webhooks/{hook.flow_id}":
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    payload = {
                        "method": "POST",
                        "headers": headers,
                        "body": json.loads(body) if "json" in headers.get("content-type", "") else body.decode(),
                        "queryParams": dict(urllib.parse.parse_qsl(query)),
                    }
                    hook.trigger(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"127.0.0.1:{self.server.server_port}/api/v1/webhooks/{flow_id}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def trigger(self, payload):
        """catch_webhook's run: [payload] when verifyAuth passes, else []."""
        headers, fields = payload["headers"], self.auth_fields
        if self.auth_type == "basic":
            value = headers.get("authorization", "")
            decoded = base64.b64decode(value[6:]).decode() if value.lower().startswith("basic ") else ""
            verified = decoded.split(":")[:2] == [fields["username"], fields["password"]]
        elif self.auth_type == "header":
            verified = headers.get(fields["headerName"].lower()) == fields["headerValue"]
        else:
            verified = True
        if verified:
            self.runs.append(payload)
        else:
            self.refused += 1

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("auth_type", "auth_fields", "webhook"),
    [
        ("basic", {"username": "flow", "password": "s3cret"}, lambda base: {"url": f"http://flow:s3cret@{base}"}),
        (
            "header",
            {"headerName": "X-Flow-Token", "headerValue": "t0k3n"},
            lambda base: {"url": f"http://{base}", "headers": {"X-Flow-Token": "t0k3n"}},
        ),
        ("none", {}, lambda base: {"url": f"http://{base}"}),
    ],
    ids=["basic", "header", "none"],
)
def test_replay_of_an_activepieces_catch_webhook_flow(fake_bin, config_dir, fake, auth_type, auth_fields, webhook):
    flow = ActivepiecesCatchWebhook("aBcD1234efGH", auth_type, auth_fields)
    try:
        texts = queue_texts(fake, ACCOUNT, 3, "ap")
        app = receiver_app(fake_bin, config_dir, SIGNAL_REST_WEBHOOKS=json.dumps([webhook(flow.base)]))
        receiver = app.extensions["signal_rest.receiver"]
        thread = threading.Thread(target=receiver.run)
        thread.start()
        try:
            wait_for(lambda: len(flow.runs) + flow.refused >= 3, 20, "three flow runs")
        finally:
            receiver.stop()
            thread.join()
        status = app.test_client().get(f"/v1/receive/{ACCOUNT}/status").json["webhooks"][0]
    finally:
        flow.close()
    assert flow.refused == 0
    # each message ran the flow once, in order, with signal-cli's line as the trigger's body
    assert [run["body"]["envelope"]["dataMessage"]["message"] for run in flow.runs] == texts
    assert {run["body"]["account"] for run in flow.runs} == {ACCOUNT}
    # the password is not shown where the deliveries are reported
    assert status["pending"] == 0 and "s3cret" not in status["url"]

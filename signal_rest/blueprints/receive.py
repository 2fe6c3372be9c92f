"""Receive: messages that arrived for an account: polled (each handed out once to the pollers) or
pushed (a websocket upgrade of the same URL, or Server-Sent Events), see :mod:`receiving.push`."""

import logging
import socket
import time

from flask import Response, current_app, request

from ..extensions import Blueprint, inbox, push_service, signal_cli
from ..receiving import spool, webhooks
from ..schemas.receive import (
    EventsHeadersSchema,
    PushQueryArgsSchema,
    ReceivedSchema,
    ReceiveQueryArgsSchema,
    ReceiveStatusSchema,
)

blp = Blueprint("Receive", __name__, description="Messages that arrived for an account.")
log = logging.getLogger(__name__)

#: how often a long poll of the inbox looks for new envelopes
POLL_INTERVAL = 0.2


def _receive_directly(number, args):
    """Run signal-cli receive for this request; returns the lines the inbox could not store."""
    spool.take_in(inbox(), number)
    received = spool.receive(
        signal_cli(),
        inbox(),
        number,
        timeout=args["timeout"],
        max_messages=args.get("max_messages"),
        ignore_attachments=args["ignore_attachments"],
        ignore_stories=args["ignore_stories"],
        read_receipts=args["send_read_receipts"],
    )
    return received.unsaved


def _wait_for_the_receiver(number, timeout):
    """Long-poll the inbox (filled by the receiver) for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while inbox().waiting(number) == 0 and time.monotonic() < deadline:
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


@blp.route("/v1/receive/<number:number>")
@blp.arguments(ReceiveQueryArgsSchema, location="query")
@blp.response(200, ReceivedSchema(many=True))
def receive(args, number):
    """Fetch the messages that arrived, oldest first, each exactly as signal-cli reports it.

    Every message signal-cli prints is stored in the inbox before anything else happens to it,
    so one that cannot be handed out now (the response fails, `max_messages` is reached) comes
    with the next call instead of being lost. With the receiver running, this reads its inbox and
    waits up to `timeout` seconds for something to arrive.
    """
    limit = args.get("max_messages")
    unsaved = []
    if receiving_in_background():
        _wait_for_the_receiver(number, args["timeout"])
    elif limit is None or inbox().waiting(number) < limit:
        unsaved = _receive_directly(number, args)
    if _client_gone():
        log.warning("the client of a receive for %s hung up; its messages stay in the inbox", number)
        return current_app.response_class(b"[]", mimetype="application/json")
    ids, lines = inbox().reserve(number, limit)
    # the lines are JSON as signal-cli printed it (checked when received): joined, they are the answer
    body = b"[" + b",".join(line.encode("utf-8") for line in lines + unsaved) + b"]"
    response = current_app.response_class(_handed_over(body, number, ids, inbox()), mimetype="application/json")
    response.headers["Content-Length"] = str(len(body))
    return response


def _handed_over(body, number, ids, store):
    """The body; if writing it fails (the client hung up), the envelopes wait in `store` again.

    (A generator, run by the server after the view has returned: it gets the inbox as argument.)
    """
    written = False
    try:
        yield body
        written = True
    finally:
        if not written and ids:
            log.warning("a receive answer for %s could not be written; its messages stay in the inbox", number)
            store.put_back(ids)


def _client_gone():
    """Whether the client closed its connection while the messages were being fetched."""
    connection = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if connection is None:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError, ValueError):
        # nothing to read (the usual case), or a socket (TLS) that cannot peek
        return False
    except OSError:
        return True


@blp.route("/v1/receive/<number:number>/status")
@blp.response(200, ReceiveStatusSchema)
def receive_status(number):
    """How receiving goes for an account: waiting envelopes, the receiver's last run, webhooks."""
    targets = webhooks.targets(current_app.extensions["signal_rest.webhooks"], number)
    return {**inbox().status(number, targets), "receiver": receiving_in_background()}


def receiving_in_background():
    """Whether something fills the inbox on its own: the receiver, or json-rpc mode's daemon."""
    return current_app.config["SIGNAL_REST_RECEIVER"] or signal_cli().mode == "json-rpc"


# -- push --------------------------------------------------------------------------------------------


def _open_push(number):
    """Check that push can be served for ``number`` and take a connection slot (before any upgrade)."""
    return push_service().open(number, receiving_in_background())


class _HandedOver(Response):
    """The answer to a websocket request once the websocket is over: the connection was the
    websocket's, so nothing more is written (as flask-sock hands it back to each server)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def __call__(self, environ, start_response):
        if self.mode == "gunicorn":
            # gunicorn takes this as "the connection is closed"
            raise StopIteration()
        return super().__call__(environ, start_response)


def receive_websocket(number):
    """The websocket form of GET /v1/receive: one text frame per message (see receiving.push)."""
    args = blp.ARGUMENTS_PARSER.parse(PushQueryArgsSchema(), request, location="query")
    release = _open_push(number)
    return _HandedOver(push_service().serve_websocket(request.environ, number, args.get("since"), release))


@blp.record
def _add_websocket_rule(state):
    # a websocket upgrade of GET /v1/receive/{number} matches this rule, a plain GET the polling view
    state.add_url_rule("/v1/receive/<number:number>", "receive_websocket", receive_websocket, websocket=True)


@blp.route("/v1/events/<number:number>")
@blp.arguments(PushQueryArgsSchema, location="query")
@blp.arguments(EventsHeadersSchema, location="headers")
@blp.response(200, content_type="text/event-stream", description="An event per message, as it arrives.")
def events(args, headers, number):
    """Stream the messages of an account as Server-Sent Events, as they arrive.

    Each event's `id` is the message's inbox id and its data the message as signal-cli reports it,
    with `inbox_id` added. A reconnecting client resumes with `Last-Event-ID` (or `since`); without
    either it starts after the last message pushed to any websocket or SSE client of the account.
    Comments keep the connection alive. Messages are not taken from GET /v1/receive's pollers.
    """
    since = headers.get("last_event_id", args.get("since"))
    release = _open_push(number)
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    body = push_service().events(number, since, release, sock)
    response = current_app.response_class(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    # nginx and others buffer responses unless told not to
    response.headers["X-Accel-Buffering"] = "no"
    return response

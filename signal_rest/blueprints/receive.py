"""Receive: messages that arrived for an account, handed out once each."""

import json
import logging
import sqlite3
import time

from flask import current_app

from ..extensions import Blueprint, inbox, signal_cli
from ..schemas.receive import ReceivedSchema, ReceiveQueryArgsSchema, ReceiveStatusSchema

blp = Blueprint("Receive", __name__, description="Messages that arrived for an account.")
log = logging.getLogger(__name__)

#: how often a long poll of the inbox looks for new envelopes
POLL_INTERVAL = 0.2


def _receive_directly(number, args):
    """Run signal-cli receive for this request; returns lines that could not be stored."""
    store = inbox()
    store.take_in_spools(number)
    unsaved = []

    def keep(line):
        try:
            store.store(number, line)
        except sqlite3.Error:
            log.exception("could not store a received message in the inbox; handing it out directly")
            unsaved.append(line)

    spool = store.new_spool(number)
    signal_cli().receive(
        number,
        spool,
        on_envelope=keep,
        timeout=args["timeout"],
        max_messages=args.get("max_messages"),
        ignore_attachments=args["ignore_attachments"],
        ignore_stories=args["ignore_stories"],
        read_receipts=args["send_read_receipts"],
    )
    if not unsaved:
        store.finish_spool(spool)
    return unsaved


def _wait_for_the_receiver(number, timeout):
    """Long-poll the inbox (filled by the receiver) for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while inbox().waiting(number) == 0 and time.monotonic() < deadline:
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


@blp.route("/v1/receive/<number:number>")
@blp.arguments(ReceiveQueryArgsSchema, location="query")
@blp.response(200, ReceivedSchema(many=True))
def receive(args, number):
    """Fetch the messages that arrived, oldest first, each exactly as signal-cli reports it.

    Every message signal-cli prints is stored in the inbox before anything else happens to it,
    so one that cannot be handed out now (the response fails, ``max_messages`` is reached) comes
    with the next call instead of being lost. With the receiver running, this reads its inbox and
    waits up to ``timeout`` seconds for something to arrive.
    """
    limit = args.get("max_messages")
    unsaved = []
    if current_app.config["SIGNAL_REST_RECEIVER"]:
        _wait_for_the_receiver(number, args["timeout"])
    elif limit is None or inbox().waiting(number) < limit:
        unsaved = _receive_directly(number, args)
    lines = inbox().hand_out(number, limit) + unsaved
    return [json.loads(line) for line in lines]


@blp.route("/v1/receive/<number:number>/status")
@blp.response(200, ReceiveStatusSchema)
def receive_status(number):
    """How receiving goes for an account: waiting envelopes, the receiver's last run, webhooks."""
    targets = [
        hook.url
        for hook in current_app.extensions["signal_rest.webhooks"]
        if hook.accounts is None or number in hook.accounts
    ]
    return {**inbox().status(number, targets), "receiver": current_app.config["SIGNAL_REST_RECEIVER"]}

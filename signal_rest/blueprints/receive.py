"""Receive: messages that arrived for an account, handed out once each."""

import json
import logging
import sqlite3

from ..extensions import Blueprint, inbox, signal_cli
from ..schemas import ReceivedSchema, ReceiveQueryArgsSchema

blp = Blueprint("Receive", __name__, description="Messages that arrived for an account.")
log = logging.getLogger(__name__)


@blp.route("/v1/receive/<number:number>")
@blp.arguments(ReceiveQueryArgsSchema, location="query")
@blp.response(200, ReceivedSchema(many=True))
def receive(args, number):
    """Fetch the messages that arrived, oldest first, each exactly as signal-cli reports it.

    Every message signal-cli prints is stored in the inbox before anything else happens to it,
    so one that cannot be handed out now (the response fails, ``max_messages`` is reached) comes
    with the next call instead of being lost.
    """
    store = inbox()
    limit = args.get("max_messages")
    unsaved = []

    def keep(line):
        try:
            store.store(number, line)
        except sqlite3.Error:
            log.exception("could not store a received message in the inbox; handing it out directly")
            unsaved.append(line)

    if limit is None or store.waiting(number) < limit:
        signal_cli().receive(
            number,
            on_envelope=keep,
            timeout=args["timeout"],
            max_messages=limit,
            ignore_attachments=args["ignore_attachments"],
            ignore_stories=args["ignore_stories"],
            read_receipts=args["send_read_receipts"],
        )
    lines = store.hand_out(number, limit) + unsaved
    return [json.loads(line) for line in lines]

"""Messages: sending text, attachments, mentions, styles, quotes, stickers, edits and previews."""

from flask import current_app

from ..attachments import materialized
from ..errors import recipient_failures
from ..extensions import Blueprint, signal_cli
from ..schemas import SendMessageSchema, SendMessageV1Schema, SendResultSchema, group_id_to_api
from ..signal_cli import GroupId
from ..text_styles import parse_styled_text

blp = Blueprint("Messages", __name__, description="Send messages.")


def _api_recipient(recipient):
    return group_id_to_api(recipient) if isinstance(recipient, GroupId) else recipient


def send_response(result, recipients):
    """The 201 body of a send: the timestamp as both APIs give it, and any per-recipient failures."""
    timestamp = str((result or {}).get("timestamp", ""))
    body = {
        "timestamp": timestamp,
        "timestamps": {timestamp: {"recipients": [_api_recipient(r) for r in recipients]}},
    }
    failures = recipient_failures(result)
    if failures:
        body["errors"] = {"recipients": failures}
    return body


def send_message(data):
    """Send what a validated /v2/send (or /v1/send) body describes; return the 201 body."""
    message = data.get("message")
    text_styles = []
    text_mode = data.get("text_mode") or current_app.config["SIGNAL_REST_DEFAULT_TEXT_MODE"]
    if message and text_mode == "styled":
        message, text_styles = parse_styled_text(message)
    quote = None
    if "quote_timestamp" in data:
        quote = {
            "timestamp": data["quote_timestamp"],
            "author": data["quote_author"],
            "message": data.get("quote_message"),
            "mentions": data.get("quote_mentions", []),
        }
    preview = data.get("link_preview")
    thumbnail = [preview["base64_thumbnail"]] if preview and preview.get("base64_thumbnail") else []
    with materialized(data.get("base64_attachments", [])) as paths, materialized(thumbnail) as thumbnails:
        if preview:
            preview = {**preview, "image": thumbnails[0] if thumbnails else None}
        result = signal_cli().send(
            data["number"],
            data["recipients"],
            message,
            attachments=paths,
            mentions=data.get("mentions", []),
            text_styles=text_styles,
            quote=quote,
            sticker=data.get("sticker"),
            edit_timestamp=data.get("edit_timestamp"),
            preview=preview,
            view_once=data.get("view_once", False),
            # the standard API notifies one's own devices unless told not to
            notify_self=data.get("notify_self", True),
        )
    return send_response(result, data["recipients"])


@blp.route("/v2/send", methods=["POST"])
@blp.arguments(SendMessageSchema)
@blp.response(201, SendResultSchema)
def send_v2(data):
    """Send a message to any mix of numbers, UUIDs, usernames and groups.

    Attachments are base64 or data URIs (``data:<mime>;filename=<name>;base64,<data>``); mentions,
    styled text, quotes, stickers, edits, link previews and view-once messages are supported.
    """
    return send_message(data)


@blp.route("/v1/send/<recipient:recipient>", methods=["POST"])
@blp.arguments(SendMessageV1Schema)
@blp.response(201, SendResultSchema)
def send_to_recipient(data, recipient):
    """Send a message to one recipient named in the path (the seed API's form)."""
    return send_message({**data, "recipients": [recipient]})

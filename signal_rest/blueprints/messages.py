"""Messages: sending text, attachments, mentions, styles, quotes, stickers, edits and previews."""

import json

from flask import current_app

from ..attachments import materialized
from ..extensions import Blueprint, service_state, signal_cli
from ..idempotency import idempotent
from ..schemas import TimestampSchema
from ..schemas.messages import (
    PollCloseSchema,
    PollSchema,
    PollVoteSchema,
    RemoteDeleteSchema,
    SendMessageSchema,
    SendMessageV1Schema,
    SendMessageV1StandardSchema,
    SendResultSchema,
    Sent,
    StorySchema,
    TypingSchema,
)
from ..text_styles import parse_styled_text

blp = Blueprint("Messages", __name__, description="Send messages.")


def send_message(data, target=None):
    """Send what a validated /v2/send (or /v1/send) body describes; return what was sent.

    ``target="recipient"`` when the route names the recipient (a missing group is then a 404).
    """
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
    outgoing = signal_cli().outgoing_dir
    with (
        materialized(data.get("base64_attachments", []), directory=outgoing) as paths,
        materialized(thumbnail, directory=outgoing) as thumbnails,
    ):
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
            no_urgent=data.get("no_urgent", False),
            voice_note=data.get("voice_note", False),
            # the standard API notifies one's own devices unless told not to
            notify_self=data.get("notify_self", True),
            target=target,
        )
    return Sent(result, data["recipients"])


@blp.route("/v2/send", methods=["POST"])
@blp.arguments(SendMessageSchema)
@idempotent
@blp.response(201, SendResultSchema, description="The result; with API level 0.101 a list of it.")
def send_v2(data):
    """Send a message to any mix of numbers, UUIDs, usernames and groups.

    Attachments are base64 or data URIs (`data:<mime>;filename=<name>;base64,<data>`); mentions,
    styled text, quotes, stickers, edits, link previews and view-once messages are supported.
    With SIGNAL_REST_API_LEVEL=0.101 the answer is a list holding the result, as the standard
    API answers since 0.101 (signalbot 2.1 and later expect it).
    """
    sent = send_message(data)
    if current_app.config["SIGNAL_REST_API_LEVEL"] == "0.101":
        return current_app.response_class(
            json.dumps(SendResultSchema(many=True).dump([sent])), status=201, mimetype="application/json"
        )
    return sent


@blp.route("/v1/send/<recipient:recipient>", methods=["POST"])
@blp.arguments(SendMessageV1Schema)
@idempotent
@blp.response(201, SendResultSchema)
def send_to_recipient(data, recipient):
    """Send a message to one recipient named in the path (the seed API's form)."""
    return send_message({**data, "recipients": [recipient]}, target="recipient")


@blp.route("/v1/send", methods=["POST"])
@blp.arguments(SendMessageV1StandardSchema)
@idempotent
@blp.response(201, TimestampSchema)
def send_v1(data):
    """Send a message (the old standard API's form: one attachment, `is_group` for groups)."""
    return send_message(data).result


@blp.route("/v1/typing-indicator/<number:number>", methods=["PUT"])
@blp.arguments(TypingSchema)
@blp.response(204)
def start_typing(data, number):
    """Show that the account is typing (`"action": "stop"` stops it)."""
    signal_cli().send_typing(number, data["recipient"], stop=data.get("action") == "stop")


@blp.route("/v1/typing-indicator/<number:number>", methods=["DELETE"])
@blp.arguments(TypingSchema)
@blp.response(204)
def stop_typing(data, number):
    """Stop showing that the account is typing."""
    signal_cli().send_typing(number, data["recipient"], stop=True)


@blp.route("/v1/remote-delete/<number:number>", methods=["DELETE"])
@blp.arguments(RemoteDeleteSchema)
@idempotent
@blp.response(201, TimestampSchema)
def remote_delete(data, number):
    """Delete a message for everyone in the conversation: one the account sent, or with
    `target_author` anyone's message in a group the account administers (needs signal-cli 0.14.0)."""
    if "target_author" in data:
        return signal_cli().admin_delete(number, data["recipient"], data["target_author"], data["timestamp"])
    return signal_cli().remote_delete(number, data["recipient"], data["timestamp"])


@blp.route("/v1/stories/<number:number>", methods=["POST"])
@blp.arguments(StorySchema)
@idempotent
@blp.response(201, TimestampSchema)
def send_story(data, number):
    """Post an image or video as a story to a group, or to My Story without `group_id`
    (needs signal-cli 0.14.6 or newer; older ones answer 501)."""
    with materialized([data["attachment"]], directory=signal_cli().outgoing_dir) as paths:
        return signal_cli().send_story(
            number, paths[0], group_id=data.get("group_id"), allow_replies=data["allow_replies"]
        )


@blp.route("/v1/polls/<number:number>", methods=["POST"])
@blp.arguments(PollSchema)
@idempotent
@blp.response(201, TimestampSchema)
def create_poll(data, number):
    """Send a poll (needs signal-cli 0.13.22 or newer; older ones answer 501)."""
    return signal_cli().create_poll(
        number,
        data["recipient"],
        data["question"],
        data["answers"],
        allow_multiple=data["allow_multiple_selections"],
    )


@blp.route("/v1/polls/<number:number>/vote", methods=["POST"])
@blp.arguments(PollVoteSchema)
@idempotent
@blp.response(204)
def vote_poll(data, number):
    """Vote in a poll; answers are counted from 1 (needs signal-cli 0.13.22 or newer)."""
    signal_cli().vote_poll(
        number,
        data["recipient"],
        data["poll_author"],
        data["poll_timestamp"],
        [answer - 1 for answer in data["selected_answers"]],
        lambda: service_state().next_vote_count(number, data["poll_author"], data["poll_timestamp"]),
    )


@blp.route("/v1/polls/<number:number>", methods=["DELETE"])
@blp.arguments(PollCloseSchema)
@idempotent
@blp.response(204)
def close_poll(data, number):
    """Close a poll the account sent (needs signal-cli 0.13.22 or newer)."""
    signal_cli().terminate_poll(number, data["recipient"], data["poll_timestamp"])
